package main

import (
	"context"

	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"io"
	"sync"
	"time"

	"passerelle/internal/matching"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/purchase"
	"passerelle/internal/search"
	"passerelle/internal/server"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/bench"
)

// recomputeLimit is how long the recompute benchmark lets the work run.
const recomputeLimit = 10 * time.Minute

// benchRecompute times the recompute at the benchmark database's scale:
// changed SMEs, each gaining a real DECP contract as a reference (as a
// registers import gives them), are brought into every open request they
// concern by two workers, as two servers would; at most recomputeLimit.
func benchRecompute(ctx context.Context, url string, requests, changed int, out io.Writer, stderr io.Writer) error {
	tax, err := taxonomy.Load()
	if err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := bench.BuyerSide(ctx, pool, tax, requests, stderr); err != nil {
		return err
	}
	awards, err := refdata.ReadAwards()
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `DELETE FROM match_changes`); err != nil {
		return err
	}
	var open, orgs int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM purchase_requests WHERE status = 'open' AND deadline >= current_date),
			(SELECT count(*) FROM organisations)`).Scan(&open, &orgs); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d SMEs gain a past contract…\n", changed)
	rows, err := pool.Query(ctx, `SELECT id FROM organisations WHERE kind = 'pme' AND status = 'member' ORDER BY random() LIMIT $1`, changed)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var usable []refdata.Award
	for _, a := range awards {
		if a.Buyer != "" && a.Object != "" && a.Departement != "" && !a.Damaged {
			usable = append(usable, a)
		}
	}
	for i, id := range ids {
		a := usable[(i*7919)%len(usable)]
		if _, err := pool.Exec(ctx, `INSERT INTO org_references (organisation_id, client, object, cpv_code, year, departement)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, a.Buyer, a.Object, a.CPV, max(a.Year, 2015), a.Departement); err != nil {
			return err
		}
	}
	services := make([]*purchase.Service, 2)
	for i := range services {
		services[i] = purchase.NewService(pool, tax, search.NewIndexer(tax), nil)
		services[i].UseMatcher(matching.ForRequests{Service: matching.NewService(pool, tax), Limit: server.MatchLimit})
	}
	fmt.Fprintf(stderr, "Recomputing (two workers, at most %s)…\n", recomputeLimit)
	limited, cancel := context.WithTimeout(ctx, recomputeLimit)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(services))
	for i, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.ApplyMatchChanges(limited)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var st purchase.RecomputeStats
	for _, s := range services {
		r := s.Recomputed()
		st.Merged, st.Unchanged, st.Ranked = st.Merged+r.Merged, st.Unchanged+r.Unchanged, st.Ranked+r.Ranked
		st.LongestLock = max(st.LongestLock, r.LongestLock)
		st.Scored, st.Scoring, st.Bringing = st.Scored+r.Scored, st.Scoring+r.Scoring, st.Bringing+r.Bringing
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT organisation_id) FROM match_changes`).Scan(&left); err != nil {
		return err
	}
	finished := true
	for _, err := range errs {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(limited.Err(), context.DeadlineExceeded) {
			finished = false
		} else if err != nil {
			return err
		}
	}
	// Some requests the changed SMEs entered, ranked again in full: does
	// the merged ranking equal it?
	same, sampled, err := compareWithFull(ctx, pool, services[0], ids, 30)
	if err != nil {
		return err
	}
	done := st.Merged + st.Ranked
	fmt.Fprintf(out, "\n## Recompute: %d changed SMEs against %d open requests (%d organisations) — %s\n\n", changed, open, orgs, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(out, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(out, "| finished | %v (%d SMEs' changes left) |\n| time | %s |\n", finished, left, elapsed.Round(time.Second))
	fmt.Fprintf(out, "| requests brought up to date | %d (%d merged, of which %d left as they were; %d ranked again) |\n", done, st.Merged, st.Unchanged, st.Ranked)
	if done > 0 {
		fmt.Fprintf(out, "| per request (two workers) | %s |\n", (elapsed / time.Duration(done)).Round(10*time.Microsecond))
	}
	fmt.Fprintf(out, "| longest a request row was locked | %s |\n", st.LongestLock.Round(100*time.Microsecond))
	fmt.Fprintf(out, "| requests scored (a request once per batch) | %d |\n", st.Scored)
	fmt.Fprintf(out, "| time scoring / bringing up to date (both workers, summed) | %s / %s |\n", st.Scoring.Round(time.Second), st.Bringing.Round(time.Second))
	fmt.Fprintf(out, "| of %d requests a changed SME entered, ranked again in full: same ranking (SMEs, order, scores) | %d |\n", sampled, same)
	if elapsed > 0 {
		fmt.Fprintf(out, "| changed SMEs absorbed per minute | %.0f |\n", float64(changed-left)/elapsed.Minutes())
	}
	return nil
}

// compareWithFull ranks again in full n random open requests that suggest
// one of the changed SMEs and counts those whose ranking (SMEs, order,
// scores) is the one the recompute stored.
func compareWithFull(ctx context.Context, pool *pgxpool.Pool, s *purchase.Service, changed []int64, n int) (same, sampled int, err error) {
	rows, err := pool.Query(ctx, `SELECT DISTINCT m.request_id FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
		WHERE m.organisation_id = ANY($1) AND m.matched AND m.rank IS NOT NULL AND r.status = 'open' ORDER BY 1`, changed)
	if err != nil {
		return 0, 0, err
	}
	reqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, 0, err
	}
	ranking := func(id int64) (string, error) {
		var s string
		err := pool.QueryRow(ctx, `SELECT coalesce(string_agg(organisation_id || ':' || score, ' ' ORDER BY rank), '')
			FROM request_matches WHERE request_id = $1 AND matched AND rank IS NOT NULL`, id).Scan(&s)
		return s, err
	}
	for i := 0; i < len(reqs) && sampled < n; i += max(1, len(reqs)/n) {
		before, err := ranking(reqs[i])
		if err != nil {
			return 0, 0, err
		}
		if err := s.Rerank(ctx, reqs[i]); err != nil {
			return 0, 0, err
		}
		after, err := ranking(reqs[i])
		if err != nil {
			return 0, 0, err
		}
		sampled++
		if before == after {
			same++
		}
	}
	return same, sampled, nil
}
