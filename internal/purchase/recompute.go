package purchase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// Rescorer is a Matcher that can score a few SMEs for many requests the
// way Match ranks them all: an SME's score depends on its own evidence
// only, so a change to a few SMEs is merged into each request's stored
// ranking instead of ranking every candidate again.
type Rescorer interface {
	Matcher
	// Rescoring reads once what scoring orgs needs.
	Rescoring(ctx context.Context, orgs []int64) (Rescoring, error)
	// Keep is how many SMEs Match suggests at most.
	Keep() int
}

// Rescoring scores a batch of SMEs for requests; Rescore may be called
// from several goroutines at once.
type Rescoring interface {
	// Rescore returns, for each request, those of the batch's SMEs Match
	// would suggest were they within its limit (at most Keep, best
	// first), with their scores and reasons.
	Rescore(ctx context.Context, reqs []Request) ([][]Suggestion, error)
}

// ChangeBatch is how many changed SMEs one pass takes (a request changed
// by several of them is merged once); requestChunk how many requests are
// scored at once (what a pass holds in memory: the evidence of the SMEs
// each may rank).
const ChangeBatch = 10000

var requestChunk = 250 // a variable for tests: several chunks of a few requests

// passWorkers is how many chunks of a pass are worked on at once.
const passWorkers = 2

// changeLease is how long a pass holds its changes before another server
// may take them (it renews the lease once a quarter of it has gone by).
const changeLease = 10 * time.Minute

// RecomputeStats says what the recompute did since the service started:
// requests merged (Unchanged of them left as they were: their stored
// ranking already was the merged one) and ranked again, and the longest
// a request row was locked (the merge's transaction).
type RecomputeStats struct {
	Merged, Unchanged, Ranked int
	LongestLock               time.Duration
	// Scored requests, and the time spent scoring batches (reading the
	// SMEs included) and bringing requests up to date (reading their
	// stored rankings included).
	Scored            int
	Scoring, Bringing time.Duration
}

type recomputeStats struct {
	mu sync.Mutex
	RecomputeStats
}

func (r *recomputeStats) timed(scored int, scoring, bringing time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Scored += scored
	r.Scoring += scoring
	r.Bringing += bringing
}

func (r *recomputeStats) add(merged, unchanged bool, locked time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case unchanged:
		r.Merged++
		r.Unchanged++
	case merged:
		r.Merged++
	default:
		r.Ranked++
	}
	r.LongestLock = max(r.LongestLock, locked)
}

// Recomputed reports what the recompute did since the service started.
func (s *Service) Recomputed() RecomputeStats {
	s.recomputed.mu.Lock()
	defer s.recomputed.mu.Unlock()
	return s.recomputed.RecomputeStats
}

// ApplyMatchChanges takes the SMEs whose offers or references changed (a
// batch at a time, each leased by one server only) and brings every open
// request they may concern up to date: those in the CPV divisions of
// their offers and references, and those that suggest them now. With a
// Rescorer, the changed SMEs alone are scored for 250 requests at
// a time, outside any lock; a request whose stored ranking the new scores
// leave as it is gets no write, the others are merged in a transaction of
// their own; without one, or when the merge cannot know the result (see
// merge), the request is ranked again. The changes are deleted when the
// batch is done; a failure leaves them to the next run (once their lease
// is over). It returns how many requests it brought up to date.
func (s *Service) ApplyMatchChanges(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := s.applyChangeBatch(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("purchase: recompute matches: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

// applyChangeBatch takes one batch of changes. Its lease is committed at
// once: no transaction stays open while the batch is worked through.
func (s *Service) applyChangeBatch(ctx context.Context) (n int, more bool, err error) {
	changes, orgs, err := s.store.leaseMatchChanges(ctx, s.db, ChangeBatch, changeLease)
	if err != nil || len(orgs) == 0 {
		return 0, false, err
	}
	lease := &leaseRenewal{at: time.Now()}
	defer func() {
		if err != nil { // another pass may take them at once
			_ = s.store.releaseMatchChanges(context.WithoutCancel(ctx), s.db, changes)
		}
	}()
	ids, err := s.store.concerning(ctx, s.db, orgs, s.today())
	if err != nil {
		return 0, true, err
	}
	rs, incremental := s.matcher.(Rescorer)
	if !incremental {
		for _, id := range ids {
			done, err := s.rankAgain(ctx, id)
			if err != nil {
				return n, true, err
			}
			if done {
				n++
			}
			if err := lease.renew(ctx, s, changes); err != nil {
				return n, true, err
			}
		}
		return n, true, s.store.dropMatchChanges(ctx, s.db, changes)
	}
	start := time.Now()
	scoring, err := rs.Rescoring(ctx, orgs)
	if err != nil {
		return 0, true, fmt.Errorf("rescore: %w", err)
	}
	s.recomputed.timed(0, time.Since(start), 0)
	// The chunks of requests, passWorkers at a time: one scores in Go
	// while another's merge waits on PostgreSQL.
	var brought atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(passWorkers)
	for chunk := range slices.Chunk(ids, requestChunk) {
		g.Go(func() error {
			k, err := s.bringChunk(gctx, scoring, rs.Keep(), chunk, orgs)
			brought.Add(int64(k))
			if err != nil {
				return err
			}
			return lease.renew(gctx, s, changes)
		})
	}
	err = g.Wait()
	n = int(brought.Load())
	if err != nil {
		return n, true, err
	}
	return n, true, s.store.dropMatchChanges(ctx, s.db, changes)
}

// leaseRenewal renews a pass's lease on its changes once a quarter of it
// has gone by (every chunk would rewrite thousands of change rows, twice
// when two chunks end together).
type leaseRenewal struct {
	mu sync.Mutex
	at time.Time // the last renewal (or the lease)
}

func (l *leaseRenewal) renew(ctx context.Context, s *Service, changes []int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.at) < changeLease/4 {
		return nil
	}
	if err := s.store.renewMatchChanges(ctx, s.db, changes, changeLease); err != nil {
		return err
	}
	l.at = time.Now()
	return nil
}

// bringChunk brings a chunk of the requests a batch of changed SMEs
// concerns up to date: the batch scored for them, then merged into those
// whose stored ranking the new scores may change. It returns how many
// requests it brought up to date.
func (s *Service) bringChunk(ctx context.Context, scoring Rescoring, keep int, chunk, orgs []int64) (n int, err error) {
	start := time.Now()
	reqs, err := s.store.requestsOpen(ctx, s.db, chunk, s.today())
	if err != nil {
		return 0, err
	}
	fresh, err := scoring.Rescore(ctx, reqs)
	if err != nil {
		return 0, fmt.Errorf("rescore: %w", err)
	}
	scored := time.Now()
	s.recomputed.timed(len(reqs), scored.Sub(start), 0)
	stored, err := s.store.storedOf(ctx, s.db, chunk, orgs)
	if err != nil {
		return 0, err
	}
	// The requests the new scores may change, merged mergeGroup to a
	// transaction; the others are already up to date.
	var changed []int
	for i, r := range reqs {
		if stored[r.ID].changedBy(fresh[i], keep) {
			changed = append(changed, i)
			continue
		}
		s.recomputed.add(true, true, 0)
		n++
	}
	for part := range slices.Chunk(changed, mergeGroup) {
		group, groupFresh := make([]Request, len(part)), make([][]Suggestion, len(part))
		for k, i := range part {
			group[k], groupFresh[k] = reqs[i], fresh[i]
		}
		done, err := s.mergeAll(ctx, group, groupFresh, orgs, keep)
		n += done
		if err != nil {
			return n, err
		}
	}
	s.recomputed.timed(0, 0, time.Since(scored))
	return n, nil
}

// storedPart is what a request's stored ranking holds of a batch's SMEs,
// and its last place.
type storedPart struct {
	batch map[int64]Suggestion
	last  Suggestion
	count int
}

// changedBy tells whether merging fresh into the ranking may change it:
// an SME of the batch stored with other scores, reasons or offer, or
// gone; or a new one placed before the last (or a ranking not full).
func (p storedPart) changedBy(fresh []Suggestion, keep int) bool {
	seen := 0
	for _, f := range fresh {
		old, ok := p.batch[f.OrgID]
		if ok {
			seen++
			if !sameSuggestion(old, f) {
				return true
			}
			continue
		}
		if p.count < keep || better(f, p.last) {
			return true
		}
	}
	return seen < len(p.batch)
}

// rankAgain ranks an open request again in a transaction of its own;
// false when it is no longer open.
func (s *Service) rankAgain(ctx context.Context, id int64) (done bool, err error) {
	start := time.Now()
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var status Status
		err := tx.QueryRow(ctx, `SELECT status FROM purchase_requests WHERE id = $1 AND deadline >= $2 FOR NO KEY UPDATE`,
			id, s.today()).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && status != StatusOpen) {
			return nil
		}
		if err != nil {
			return err
		}
		done = true
		r, err := s.store.request(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.suggest(ctx, tx, r)
	})
	if done && err == nil {
		s.recomputed.add(false, false, time.Since(start))
	}
	return done, err
}

// mergeGroup is how many requests one transaction merges at most: their
// rows stay locked while their rankings are read, merged and written —
// at most 546 ms at twenty in the national bench, 2.6 s at fifty.
const mergeGroup = 20

// mergeAll merges the new scores of orgs into the rankings of reqs in one
// transaction (their rows locked in id order, their rankings read and
// written in a statement each); a request edited meanwhile, or whose
// merge cannot know the result, is then brought up to date alone
// (bringUpToDate). It returns how many requests it brought up to date.
func (s *Service) mergeAll(ctx context.Context, reqs []Request, fresh [][]Suggestion, orgs []int64, keep int) (int, error) {
	var alone []int
	var done int
	start := time.Now()
	var merges, unchanged int
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		alone, done, merges, unchanged = nil, 0, 0, 0
		ids := make([]int64, len(reqs))
		for i, r := range reqs {
			ids[i] = r.ID
		}
		rows, err := tx.Query(ctx, `SELECT id, status, updated_at FROM purchase_requests WHERE id = ANY($1) AND deadline >= $2
			ORDER BY id FOR NO KEY UPDATE`, ids, s.today())
		if err != nil {
			return err
		}
		open := map[int64]time.Time{}
		var id int64
		var status Status
		var updated time.Time
		if _, err := pgx.ForEachRow(rows, []any{&id, &status, &updated}, func() error {
			if status == StatusOpen {
				open[id] = updated
			}
			return nil
		}); err != nil {
			return err
		}
		stored, err := s.store.rankings(ctx, tx, ids)
		if err != nil {
			return err
		}
		var writes []rankingMerge
		for i, r := range reqs {
			at, ok := open[r.ID]
			if !ok {
				continue
			}
			list, exact := merge(stored[r.ID], orgs, fresh[i], keep)
			if !at.Equal(r.UpdatedAt) || !exact {
				alone = append(alone, i)
				continue
			}
			done++
			merges++
			if slices.EqualFunc(list, stored[r.ID], sameSuggestion) {
				unchanged++
				continue
			}
			writes = append(writes, rankingMerge{r.ID, stored[r.ID], list})
		}
		return s.store.storeMerged(ctx, tx, writes, s.Now())
	})
	if err != nil {
		return 0, err
	}
	locked := time.Since(start)
	for k := range merges {
		s.recomputed.add(true, k < unchanged, locked)
	}
	for _, i := range alone {
		ok, err := s.bringUpToDate(ctx, reqs[i], orgs, fresh[i], keep)
		if err != nil {
			return done, err
		}
		if ok {
			done++
		}
	}
	return done, nil
}

// bringUpToDate merges the new scores of orgs into request r's ranking,
// or ranks it again; false when the request is no longer open. A ranking
// again is worked out outside the lock, then stored if the stored ranking
// did not change meanwhile; if it did (another server merged its own
// changes), the merge is tried again on it, and so on a few times before
// the request is ranked under its lock: the row stays locked only while
// rankings are read and written.
func (s *Service) bringUpToDate(ctx context.Context, r Request, orgs []int64, fresh []Suggestion, keep int) (bool, error) {
	const passes = 4
	var whole, replaced []Suggestion // a whole ranking, and the stored one it replaces
	for pass := 0; pass < passes; pass++ {
		done, merged, unchanged, again := false, false, false, false
		start := time.Now()
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			var status Status
			var updated time.Time
			err := tx.QueryRow(ctx, `SELECT status, updated_at FROM purchase_requests WHERE id = $1 AND deadline >= $2 FOR NO KEY UPDATE`,
				r.ID, s.today()).Scan(&status, &updated)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && status != StatusOpen) {
				return nil
			}
			if err != nil {
				return err
			}
			done = true
			if !updated.Equal(r.UpdatedAt) { // edited meanwhile: its text or codes may differ
				if r, err = s.store.request(ctx, tx, r.ID); err != nil {
					return err
				}
				return s.suggest(ctx, tx, r)
			}
			stored, err := s.store.ranking(ctx, tx, r.ID)
			if err != nil {
				return err
			}
			if whole != nil && slices.EqualFunc(stored, replaced, sameSuggestion) { // the whole ranking
				return s.store.storeMerged(ctx, tx, []rankingMerge{{r.ID, stored, whole}}, s.Now())
			}
			list, ok := merge(stored, orgs, fresh, keep)
			if !ok && pass == passes-1 {
				return s.suggest(ctx, tx, r)
			}
			if !ok {
				again, replaced = true, stored
				return nil
			}
			merged = true
			if slices.EqualFunc(list, stored, sameSuggestion) {
				unchanged = true
				return nil // nothing written
			}
			return s.store.storeMerged(ctx, tx, []rankingMerge{{r.ID, stored, list}}, s.Now())
		})
		if err != nil || !done {
			return done, err
		}
		if !again {
			s.recomputed.add(merged, unchanged, time.Since(start))
			return true, nil
		}
		if err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			whole, err = s.matcher.Match(ctx, tx, r)
			return err
		}); err != nil {
			return false, fmt.Errorf("purchase: match %d: %w", r.ID, err)
		}
	}
	return true, nil
}

// better tells whether a ranks before b (Compare).
func better(a, b Suggestion) bool { return Compare(a, b) < 0 }

// merge is a stored ranking (best first, at most keep) where the SMEs
// changed were scored again (fresh: those the matcher still suggests).
// Every SME not stored and not changed ranked after the stored last
// (scores depend on each SME's own evidence): when the stored ranking was
// full, the merged one is exact only if its own last is not worse than
// that old last; otherwise an SME never stored might belong, and merge
// says it cannot know (false). changed is sorted (a pass's SMEs are).
func merge(stored []Suggestion, changed []int64, fresh []Suggestion, keep int) ([]Suggestion, bool) {
	out := make([]Suggestion, 0, len(stored)+len(fresh))
	for _, x := range stored {
		if _, found := slices.BinarySearch(changed, x.OrgID); !found {
			out = append(out, x)
		}
	}
	out = append(out, fresh...)
	slices.SortFunc(out, Compare)
	out = out[:min(len(out), keep)]
	if len(stored) >= keep && (len(out) < keep || better(stored[len(stored)-1], out[len(out)-1])) {
		return nil, false
	}
	return out, true
}

// sameSuggestion: the same SME, score, reasons and offer.
func sameSuggestion(a, b Suggestion) bool {
	return a.OrgID == b.OrgID && a.Score == b.Score && a.OfferID == b.OfferID && jsonEqual(a.Reasons, b.Reasons)
}

// jsonEqual compares two JSON texts as values (stored reasons come back
// from jsonb with its own spacing).
func jsonEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func suggestionOf(list []Suggestion) suggestion {
	sg := suggestion{orgs: make([]int64, len(list)), scores: make([]float64, len(list)), reasons: make([]string, len(list)),
		offers: make([]*int64, len(list))}
	for i, x := range list {
		sg.orgs[i], sg.scores[i], sg.reasons[i] = x.OrgID, x.Score, string(x.Reasons)
		if len(x.Reasons) == 0 {
			sg.reasons[i] = "[]"
		}
		if x.OfferID != 0 {
			sg.offers[i] = &x.OfferID
		}
	}
	return sg
}

// Rerank ranks an open request again, every candidate, in a transaction
// of its own (what opening it does; the recompute's reference).
func (s *Service) Rerank(ctx context.Context, id int64) error {
	if _, err := s.rankAgain(ctx, id); err != nil {
		return fmt.Errorf("purchase: rerank %d: %w", id, err)
	}
	return nil
}

// RankedInFull ranks a request in full without storing anything (the
// benchmarks' reference).
func (s *Service) RankedInFull(ctx context.Context, id int64) (list []Suggestion, err error) {
	err = pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		r, err := s.store.request(ctx, tx, id)
		if err != nil {
			return err
		}
		list, err = s.matcher.Match(ctx, tx, r)
		return err
	})
	return list, err
}
