package searchindex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lists the index holds, and the SQL that reads their documents.
const (
	Offers = "offers"
	SMEs   = "smes"
)

var sources = map[string]string{
	Offers: `SELECT id, (extract(epoch FROM published_at) * 1e6)::bigint, facets, search::text, '' AS name FROM offers WHERE listed`,
	SMEs: `SELECT id, (extract(epoch FROM created_at) * 1e6)::bigint, facets, search::text, legal_name FROM organisations
		WHERE status = 'member' AND kind IN ('pme', 'eti')`,
}

// maxQuiet is how long the log may go unread before the indexes are
// rebuilt instead of followed: the log keeps a day (search.prune_changes).
const maxQuiet = 12 * time.Hour

// Syncer builds the indexes from the database and keeps them in step with
// the change log. Every server runs its own.
type Syncer struct {
	db      *pgxpool.Pool
	log     *slog.Logger
	indexes map[string]*atomic.Pointer[Index]
	mu      sync.Mutex // one catch-up at a time
	applied atomic.Int64
	ready   atomic.Bool
	// snap is the database snapshot (pg_snapshot, as text) the indexes
	// reflect: every change committed in it is applied, none after.
	snap string
	// lastApply is when the log was last read: past maxQuiet, pruning may
	// have removed changes never applied, and the indexes are rebuilt.
	lastApply time.Time
	// rebuild asks the background loop (Run) for a rebuild; searches use
	// SQL meanwhile, never a rebuild inside a request.
	rebuild atomic.Bool
	// Poll is the pause between two reads of the change log.
	Poll time.Duration
	// writing: a snapshot is being written; searches use SQL meanwhile.
	writing atomic.Bool
	// FromSnapshot reports whether the last start loaded a snapshot.
	fromSnapshot atomic.Bool
}

// FromSnapshot reports whether the indexes were loaded from a snapshot
// (rather than built from the documents) at the last start.
func (s *Syncer) FromSnapshot() bool { return s.fromSnapshot.Load() }

// NewSyncer returns a syncer; Run builds and follows.
func NewSyncer(db *pgxpool.Pool, log *slog.Logger) *Syncer {
	s := &Syncer{db: db, log: log, indexes: map[string]*atomic.Pointer[Index]{}, Poll: 500 * time.Millisecond}
	for list := range sources {
		s.indexes[list] = &atomic.Pointer[Index]{}
	}
	return s
}

// Ready reports whether the indexes are built; until then search runs in SQL.
func (s *Syncer) Ready() bool { return s != nil && s.ready.Load() }

// Applied is the last change-log sequence number applied (metrics: the
// lag is the log's last number minus this).
func (s *Syncer) Applied() int64 { return s.applied.Load() }

// Index returns the index of a list (nil before the first build).
func (s *Syncer) Index(list string) *Index { return s.indexes[list].Load() }

// Run builds the indexes, then follows the change log until ctx ends.
func (s *Syncer) Run(ctx context.Context) error {
	// A database that is down at start is waited for: search runs in SQL
	// (and fails the same way) until the index is built.
	for !s.Ready() { // a caller may have built it already
		loadErr := s.LoadSnapshot(ctx)
		if loadErr == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(loadErr, ErrNoSnapshot) {
			s.log.Warn("search index: snapshot not used, building from the database", "err", loadErr)
		}
		var err error
		if err = s.Rebuild(ctx); err == nil {
			if errors.Is(loadErr, ErrNoSnapshot) {
				s.snapshotIfDue(ctx)
			} else if _, _, err := s.WriteSnapshot(ctx); err != nil && ctx.Err() == nil {
				// The snapshot that could not be used is replaced now,
				// so the next server to start does not refuse it too.
				s.log.Warn("search index: snapshot not written", "err", err)
			}
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("search index: build failed, retrying in 10 s", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Second):
		}
	}
	t := time.NewTicker(s.Poll)
	defer t.Stop()
	lastSnapshotCheck := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if s.rebuild.Load() || time.Since(s.lastApplied()) > maxQuiet {
				if err := s.Rebuild(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("search index: rebuild failed, search runs in SQL", "err", err)
				} else {
					s.snapshotIfDue(ctx)
				}
				continue
			}
			_ = s.CatchUp(ctx) // logs its own failure
			if time.Since(lastSnapshotCheck) > SnapshotEvery/4 {
				lastSnapshotCheck = time.Now()
				s.snapshotIfDue(ctx)
			}
			// Replaced documents stay as tombstones: rebuild once they
			// weigh a quarter of the index's memory (and at least 1 MiB).
			for _, list := range []string{Offers, SMEs} {
				if x := s.Index(list); x != nil && tooMuchDead(x.Memory()) {
					s.rebuild.Store(true)
					break
				}
			}
		}
	}
}

// snapshotIfDue writes a snapshot when one is due (SnapshotDue: one
// server does, the others then find it fresh).
func (s *Syncer) snapshotIfDue(ctx context.Context) {
	due, err := s.SnapshotDue(ctx)
	if err != nil {
		s.log.Warn("search index: snapshot", "err", err)
		return
	}
	if !due {
		return
	}
	if _, _, err := s.WriteSnapshot(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("search index: snapshot not written", "err", err)
	}
}

func (s *Syncer) lastApplied() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastApply
}

// Rebuild reads every document in one consistent snapshot and swaps the
// new indexes in.
func (s *Syncer) Rebuild(ctx context.Context) error {
	start := time.Now()
	tx, err := s.db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("searchindex: rebuild: %w", err)
	}
	defer tx.Rollback(ctx)
	var upTo int64
	var snap string
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0), pg_current_snapshot()::text FROM search_changes`).Scan(&upTo, &snap); err != nil {
		return fmt.Errorf("searchindex: rebuild: %w", err)
	}
	built := map[string]*Index{}
	for list, sql := range sources {
		x := New()
		if err := load(ctx, tx, x.putParsed, sql); err != nil {
			return fmt.Errorf("searchindex: rebuild %s: %w", list, err)
		}
		x.compact()
		built[list] = x
	}
	s.install(built, upTo, snap)
	s.rebuild.Store(false)
	s.ready.Store(true)
	// The build's garbage (rows, parsed vectors, the lists' growth) back
	// to the system now, rather than kept as resident memory for hours.
	debug.FreeOSMemory()
	s.log.Info("search index built", "offers", built[Offers].Len(), "smes", built[SMEs].Len(), "duration", time.Since(start).Round(time.Millisecond))
	// Changes committed since the build's snapshot.
	return s.CatchUp(ctx)
}

// install swaps in indexes reflecting the database snapshot snap, with
// the change log applied up to sequence applied.
func (s *Syncer) install(built map[string]*Index, applied int64, snap string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for list, x := range built {
		s.indexes[list].Store(x)
	}
	s.applied.Store(applied)
	s.snap, s.lastApply = snap, time.Now()
}

// load reads documents and parses their tsvectors on every core; Put
// happens in row order, so ordinals follow the query.
func load(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, put func(Doc, []Term), sql string, args ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	type parsed struct {
		d     Doc
		terms []Term
		err   error
		done  chan struct{}
	}
	queue := make(chan *parsed, 4096)
	work := make(chan *parsed, 4096)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				p.terms, p.err = docTerms(p.d)
				close(p.done)
			}
		}()
	}
	errc := make(chan error, 1)
	go func() {
		var first error
		for p := range queue {
			<-p.done
			if p.err != nil && first == nil {
				first = p.err
			}
			if first == nil {
				put(p.d, p.terms)
			}
		}
		errc <- first
	}()
	var scanErr error
	for rows.Next() {
		p := &parsed{done: make(chan struct{})}
		var sort *int64
		if scanErr = rows.Scan(&p.d.ID, &sort, &p.d.Facets, &p.d.Vector, &p.d.Name); scanErr != nil {
			break
		}
		if sort != nil {
			p.d.Sort = *sort
		}
		queue <- p
		work <- p
	}
	close(work)
	close(queue)
	wg.Wait()
	if err := <-errc; err != nil {
		return err
	}
	if scanErr != nil {
		return scanErr
	}
	return rows.Err()
}

// CatchUp applies the changes committed since the indexes' snapshot.
// Searches call it first, so a user finds what they just published on any
// server. A rebuild entry in the log does not rebuild here (no search
// waits for a rebuild): the indexes step aside, search runs in SQL, and
// the background loop (Run) rebuilds.
func (s *Syncer) CatchUp(ctx context.Context) error {
	if !s.Ready() {
		return nil
	}
	if s.writing.Load() {
		return errWriting // not logged: a search uses SQL for these seconds
	}
	rebuild, err := s.apply(ctx)
	if err == nil && rebuild {
		s.ready.Store(false)
		s.rebuild.Store(true)
	}
	if err != nil && ctx.Err() == nil {
		// Logged here, once, for the background loop and the searches
		// alike: a search then runs in SQL and says nothing.
		s.log.Warn("search index: catch up failed", "err", err)
	}
	return err
}

// apply reads the changes visible in a new snapshot but not in the last
// one: each change exactly once, however long its transaction ran.
func (s *Syncer) apply(ctx context.Context) (rebuild bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var now string
	var gap bool
	if err := s.db.QueryRow(ctx, `SELECT pg_current_snapshot()::text,
			coalesce((SELECT xid <> '0' AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot) FROM search_changes_pruned), false)`,
		s.snap).Scan(&now, &gap); err != nil {
		return false, err
	}
	if gap {
		// Pruning removed a change this index may not have applied.
		s.log.Warn("search index: the change log was pruned past this index, rebuilding")
		return true, nil
	}
	rows, err := s.db.Query(ctx, `SELECT seq, list, id FROM search_changes
		WHERE xid >= pg_snapshot_xmin($1::pg_snapshot)
		  AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot) AND pg_visible_in_snapshot(xid, $2::pg_snapshot)
		ORDER BY seq`, s.snap, now)
	if err != nil {
		return false, err
	}
	ids := map[string]map[int64]bool{Offers: {}, SMEs: {}}
	last := s.applied.Load()
	for rows.Next() {
		var seq, id int64
		var list string
		if err := rows.Scan(&seq, &list, &id); err != nil {
			rows.Close()
			return false, err
		}
		last = max(last, seq)
		if list == "all" {
			rebuild = true
		} else if m, ok := ids[list]; ok {
			m[id] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	if rebuild {
		return true, nil
	}
	for list, set := range ids {
		if len(set) == 0 {
			continue
		}
		want := make([]int64, 0, len(set))
		for id := range set {
			want = append(want, id)
		}
		type parsed struct {
			d     Doc
			terms []Term
		}
		found := map[int64]parsed{}
		err := load(ctx, s.db, func(d Doc, t []Term) { found[d.ID] = parsed{d, t} }, "SELECT * FROM ("+sources[list]+") d WHERE id = ANY($1)", want)
		if err != nil {
			return false, err
		}
		x := s.Index(list)
		for _, id := range want {
			if p, ok := found[id]; ok {
				x.putParsed(p.d, p.terms)
			} else {
				x.Delete(id) // no longer listed
			}
		}
	}
	s.applied.Store(last)
	s.snap, s.lastApply = now, time.Now()
	return false, nil
}

// tooMuchDead is the rebuild threshold: dead copies weighing a quarter of
// the memory, past 1 MiB, whatever their number (a few large documents
// changed often weigh more than many small ones).
func tooMuchDead(total, dead int64) bool { return dead > 1<<20 && dead > total/4 }
