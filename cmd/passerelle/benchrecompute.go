package main

import (
	"context"
	"errors"
	"fmt"
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
	done := st.Merged + st.Ranked
	fmt.Fprintf(out, "\n## Recompute: %d changed SMEs against %d open requests (%d organisations) — %s\n\n", changed, open, orgs, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(out, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(out, "| finished | %v (%d SMEs' changes left) |\n| time | %s |\n", finished, left, elapsed.Round(time.Second))
	fmt.Fprintf(out, "| requests brought up to date | %d (%d merged, of which %d left as they were; %d ranked again) |\n", done, st.Merged, st.Unchanged, st.Ranked)
	if done > 0 {
		fmt.Fprintf(out, "| per request (two workers) | %s |\n", (elapsed / time.Duration(done)).Round(10*time.Microsecond))
	}
	fmt.Fprintf(out, "| longest a request row was locked | %s |\n", st.LongestLock.Round(100*time.Microsecond))
	return nil
}
