package searchindex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5"
)

// Snapshots in PostgreSQL: any server writes one (the latest is kept),
// any starting server loads it and catches up from the change log.
const (
	chunkSize = 8 << 20
	// SnapshotEvery is the least time between two snapshots, and
	// SnapshotChanges the changes since the latest that make a new one
	// worth writing (each replaces hundreds of MB at national scale); past
	// SnapshotMaxAge one is written anyway, well within the day the change
	// log keeps. A start thus catches up at most SnapshotChanges changes
	// or SnapshotMaxAge of the log.
	SnapshotEvery   = time.Hour
	SnapshotChanges = 5000
	SnapshotMaxAge  = 6 * time.Hour
)

// ErrNoSnapshot: no complete snapshot of this format exists.
var ErrNoSnapshot = errors.New("searchindex: no snapshot")

// ErrStaleSnapshot: the change log was pruned past the snapshot; changes
// it needs are gone.
var ErrStaleSnapshot = errors.New("searchindex: the snapshot is older than the pruned change log")

// errWriting tells a search that the index is being written to a
// snapshot: it searches in SQL for those seconds.
var errWriting = errors.New("searchindex: writing a snapshot")

var snapshotLists = []string{Offers, SMEs}

// chunkWriter stores what is written as numbered chunks of one snapshot.
type chunkWriter struct {
	ctx context.Context
	tx  pgx.Tx
	id  int64
	n   int
	buf []byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), chunkSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, written = p[k:], written+k
		if len(w.buf) == chunkSize {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.tx.Exec(w.ctx, `INSERT INTO search_snapshot_chunks (snapshot_id, n, data) VALUES ($1, $2, $3)`, w.id, w.n, w.buf)
	w.n++
	w.buf = w.buf[:0]
	return err
}

// chunkReader reads a snapshot's chunks in order.
type chunkReader struct {
	rows pgx.Rows
	cur  []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if !r.rows.Next() {
			if err := r.rows.Err(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		if err := r.rows.Scan(&r.cur); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// WriteSnapshot writes the indexes and the change-log position they
// reflect to the database, replacing the older snapshots. A server
// already writing one makes it return false: two servers never write at
// once. Meanwhile this server searches in SQL (a few seconds).
func (s *Syncer) WriteSnapshot(ctx context.Context) (written bool, size int64, err error) {
	if !s.Ready() {
		return false, 0, nil
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('search_snapshot'))`).Scan(&got); err != nil || !got {
			return err
		}
		s.mu.Lock()
		s.writing.Store(true)
		defer func() {
			s.writing.Store(false)
			s.mu.Unlock()
		}()
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO search_snapshots (format, snap, applied, size, checksum) VALUES ($1, $2, $3, 0, 0) RETURNING id`,
			snapshotVersion, s.snap, s.applied.Load()).Scan(&id); err != nil {
			return err
		}
		indexes := map[string]*Index{}
		for _, l := range snapshotLists {
			indexes[l] = s.indexes[l].Load()
		}
		w := &chunkWriter{ctx: ctx, tx: tx, id: id, buf: make([]byte, 0, chunkSize)}
		n, sum, err := writeSnapshot(w, snapshotLists, indexes)
		if err == nil {
			err = w.flush()
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE search_snapshots SET size = $2, checksum = $3 WHERE id = $1`, id, n, int64(sum)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM search_snapshots WHERE id <> $1`, id); err != nil {
			return err
		}
		written, size = true, n
		return nil
	})
	if err != nil {
		return false, 0, fmt.Errorf("searchindex: write snapshot: %w", err)
	}
	if written {
		s.log.Info("search index snapshot written", "bytes", size)
	}
	return written, size, nil
}

// SnapshotDue reports whether a new snapshot is worth writing: there is
// none of this format, or "everything changed" since the latest, or it is
// older than SnapshotEvery with at least SnapshotChanges changes logged
// since, or older than SnapshotMaxAge.
func (s *Syncer) SnapshotDue(ctx context.Context) (bool, error) {
	var age *float64
	var changes int
	var everything bool
	err := s.db.QueryRow(ctx, `WITH latest AS (SELECT created_at, applied FROM search_snapshots
			WHERE format = $1 AND size > 0 ORDER BY id DESC LIMIT 1)
		SELECT (SELECT extract(epoch FROM now() - created_at) FROM latest),
			(SELECT count(*) FROM (SELECT 1 FROM search_changes WHERE seq > (SELECT applied FROM latest) LIMIT $2) c),
			EXISTS (SELECT 1 FROM search_changes WHERE seq > (SELECT applied FROM latest) AND list = 'all')`,
		snapshotVersion, SnapshotChanges).Scan(&age, &changes, &everything)
	if err != nil {
		return false, fmt.Errorf("searchindex: snapshot due: %w", err)
	}
	// An "everything changed" entry (a migration that changes the text
	// analysis) makes every server that loads the latest rebuild: replace it.
	if age == nil || everything {
		return true, nil
	}
	d := time.Duration(*age * float64(time.Second))
	return d >= SnapshotMaxAge || (d >= SnapshotEvery && changes >= SnapshotChanges), nil
}

// LoadSnapshot loads the latest snapshot and applies the changes
// committed since. A snapshot that is damaged, of another format, or older
// than the pruned change log is refused with the reason and nothing is
// served from it.
func (s *Syncer) LoadSnapshot(ctx context.Context) error {
	start := time.Now()
	tx, err := s.db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("searchindex: load snapshot: %w", err)
	}
	defer tx.Rollback(ctx)
	var id, applied, size, sum int64
	var snap string
	err = tx.QueryRow(ctx, `SELECT id, snap, applied, size, checksum FROM search_snapshots WHERE format = $1 AND size > 0
		ORDER BY id DESC LIMIT 1`, snapshotVersion).Scan(&id, &snap, &applied, &size, &sum)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNoSnapshot
	}
	if err != nil {
		return fmt.Errorf("searchindex: load snapshot: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT data FROM search_snapshot_chunks WHERE snapshot_id = $1 ORDER BY n`, id)
	if err != nil {
		return fmt.Errorf("searchindex: load snapshot: %w", err)
	}
	built, err := readSnapshot(&chunkReader{rows: rows}, size, uint32(sum))
	rows.Close()
	if err != nil {
		return err
	}
	for _, l := range snapshotLists {
		if built[l] == nil {
			return fmt.Errorf("%w: no %s", ErrBadSnapshot, l)
		}
	}
	_ = tx.Rollback(ctx)
	s.install(built, applied, snap)
	// The changes since, before anything is served.
	rebuild, err := s.apply(ctx)
	if err != nil {
		return fmt.Errorf("searchindex: catch up after the snapshot: %w", err)
	}
	if rebuild {
		return ErrStaleSnapshot
	}
	s.rebuild.Store(false)
	s.fromSnapshot.Store(true) // before ready: whoever sees it ready sees where it came from
	s.ready.Store(true)
	debug.FreeOSMemory()
	s.log.Info("search index loaded from a snapshot", "offers", built[Offers].Len(), "smes", built[SMEs].Len(), "bytes", size,
		"duration", time.Since(start).Round(time.Millisecond))
	return nil
}
