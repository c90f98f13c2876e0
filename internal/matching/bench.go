package matching

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Timings are the latencies of one kind of work, sorted.
type Timings []time.Duration

// Quantile is the q-quantile (0 < q ≤ 1), nearest rank.
func (t Timings) Quantile(q float64) time.Duration {
	if len(t) == 0 {
		return 0
	}
	i := int(float64(len(t))*q+0.5) - 1
	return t[min(max(i, 0), len(t)-1)]
}

// BenchRequests ranks each request one at a time and times it, beside a
// baseline measured in the same run on the same requests: the one query
// the hierarchical popularity needs (past contracts in the divisions),
// which any ranking must at least run. It returns the two timings and how
// many candidates the rankings scored, and writes a table to out.
func BenchRequests(ctx context.Context, s *Service, requests []Request, out io.Writer) (rank, base Timings, candidates []int, steps map[string]Timings, err error) {
	if _, err := s.LoadAffinity(ctx); err != nil {
		return nil, nil, nil, nil, err
	}
	var mu sync.Mutex
	steps = map[string]Timings{}
	s.Trace = func(step string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		steps[step] = append(steps[step], d)
	}
	defer func() {
		s.Trace = nil
		for _, t := range steps {
			slices.Sort(t)
		}
	}()
	for i, r := range requests {
		start := time.Now()
		if err := s.baseline(ctx, r); err != nil {
			return nil, nil, nil, nil, err
		}
		base = append(base, time.Since(start))
		start = time.Now()
		_, n, err := s.rank(ctx, r, 2026, 100)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		rank = append(rank, time.Since(start))
		candidates = append(candidates, n)
		if out != nil && (i+1)%20 == 0 {
			fmt.Fprintf(out, "  %d/%d requests ranked\n", i+1, len(requests))
		}
	}
	slices.Sort(rank)
	slices.Sort(base)
	return rank, base, candidates, steps, nil
}

// baseline reads the references of the request's divisions from the
// covering index: what the hierarchical popularity baseline needs.
func (s *Service) baseline(ctx context.Context, r Request) error {
	var p params
	rows, err := s.db.Query(ctx, `SELECT r.organisation_id, r.cpv_code FROM org_references r WHERE `+p.prefixed(r.CPV, 2), p...)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	rows.Close()
	return rows.Err()
}
