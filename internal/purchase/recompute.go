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
	"time"

	"github.com/jackc/pgx/v5"
)

// Rescorer is a Matcher that can score a few SMEs for a request the way
// Match ranks them all: an SME's score depends on its own evidence only,
// so a change to a few SMEs is merged into a request's stored ranking
// instead of ranking every candidate again.
type Rescorer interface {
	Matcher
	// Rescore returns those of orgs Match would suggest were they within
	// its limit, with their scores and reasons.
	Rescore(ctx context.Context, tx pgx.Tx, r Request, orgs []int64) ([]Suggestion, error)
	// Keep is how many SMEs Match suggests at most.
	Keep() int
}

// ChangeBatch is how many changed SMEs one pass takes.
const ChangeBatch = 100

// RecomputeStats says what the recompute did since the service started:
// requests merged (Unchanged of them left as they were) and ranked again,
// and the longest a request row was locked (the merge's transaction).
type RecomputeStats struct {
	Merged, Unchanged, Ranked int
	LongestLock               time.Duration
}

type recomputeStats struct {
	mu sync.Mutex
	RecomputeStats
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
// batch at a time, each taken by one server only) and brings every open
// request they may concern up to date: those in the CPV divisions of
// their offers and references, and those that suggest them now. With a
// Rescorer, the changed SMEs alone are scored (outside any lock), then
// merged into each request's stored ranking in a transaction of its own;
// without one, or when the merge cannot know the result (see merge), the
// request is ranked again. The changes are deleted when the batch is
// done; a failure leaves them to the next run. It returns how many
// requests it brought up to date.
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

// applyChangeBatch takes one batch of changes: its transaction holds the
// change rows only (another server skips them), never a request.
func (s *Service) applyChangeBatch(ctx context.Context) (n int, more bool, err error) {
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		orgs, err := s.store.takeMatchChanges(ctx, tx, ChangeBatch)
		if err != nil || len(orgs) == 0 {
			return err
		}
		more = true
		ids, err := s.store.concerning(ctx, s.db, orgs, s.today())
		if err != nil {
			return err
		}
		for _, id := range ids {
			done, err := s.bringUpToDate(ctx, id, orgs)
			if err != nil {
				return err
			}
			if done {
				n++
			}
		}
		return nil
	})
	return n, more, err
}

// bringUpToDate merges the new scores of orgs into request id's ranking,
// or ranks it again; false when the request is no longer open.
func (s *Service) bringUpToDate(ctx context.Context, id int64, orgs []int64) (bool, error) {
	r, err := s.store.request(ctx, s.db, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rs, incremental := s.matcher.(Rescorer)
	var fresh []Suggestion
	if incremental {
		if err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			fresh, err = rs.Rescore(ctx, tx, r, orgs)
			return err
		}); err != nil {
			return false, fmt.Errorf("rescore request %d: %w", id, err)
		}
	}
	done, merged, unchanged := false, false, false
	start := time.Now()
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var status Status
		var updated time.Time
		err := tx.QueryRow(ctx, `SELECT status, updated_at FROM purchase_requests WHERE id = $1 AND deadline >= $2 FOR NO KEY UPDATE`,
			id, s.today()).Scan(&status, &updated)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && status != StatusOpen) {
			return nil
		}
		if err != nil {
			return err
		}
		done = true
		if !incremental || !updated.Equal(r.UpdatedAt) { // edited meanwhile: its text or codes may differ
			if r, err = s.store.request(ctx, tx, id); err != nil {
				return err
			}
			return s.suggest(ctx, tx, r)
		}
		stored, err := s.store.ranking(ctx, tx, id)
		if err != nil {
			return err
		}
		list, ok := merge(stored, orgs, fresh, rs.Keep())
		if !ok {
			return s.suggest(ctx, tx, r)
		}
		merged = true
		if slices.EqualFunc(list, stored, sameSuggestion) {
			unchanged = true
			return nil // most changes leave most rankings as they were: nothing written
		}
		return s.store.storeRanking(ctx, tx, id, suggestionOf(list), s.Now())
	})
	if done && err == nil {
		s.recomputed.add(merged, unchanged, time.Since(start))
	}
	return done, err
}

// better orders suggestions as the matching ranks them: by score, then
// by organisation.
func better(a, b Suggestion) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.OrgID < b.OrgID
}

// merge is a stored ranking (best first, at most keep) where the SMEs
// changed were scored again (fresh: those the matcher still suggests).
// Every SME not stored and not changed ranked after the stored last
// (scores depend on each SME's own evidence): when the stored ranking was
// full, the merged one is exact only if its own last is not worse than
// that old last; otherwise an SME never stored might belong, and merge
// says it cannot know (false).
func merge(stored []Suggestion, changed []int64, fresh []Suggestion, keep int) ([]Suggestion, bool) {
	out := make([]Suggestion, 0, len(stored)+len(fresh))
	for _, x := range stored {
		if !slices.Contains(changed, x.OrgID) {
			out = append(out, x)
		}
	}
	out = append(out, fresh...)
	slices.SortFunc(out, func(a, b Suggestion) int {
		switch {
		case better(a, b):
			return -1
		case better(b, a):
			return 1
		}
		return 0
	})
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
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var status Status
		if err := tx.QueryRow(ctx, `SELECT status FROM purchase_requests WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&status); err != nil {
			return fmt.Errorf("purchase: rerank %d: %w", id, err)
		}
		if status != StatusOpen {
			return nil
		}
		r, err := s.store.request(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.suggest(ctx, tx, r)
	})
}
