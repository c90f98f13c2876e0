package main

import (
	"context"
	"maps"
	"slices"

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
	pool, err := postgres.OpenWith(ctx, url, postgres.ServerPool("passerelle-bench-recompute", 0))
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
	// SMEs with no event on any request (their stored matches can be
	// handed to others, see calibrate).
	rows, err := pool.Query(ctx, `SELECT id FROM organisations g WHERE kind = 'pme' AND status = 'member'
		AND NOT EXISTS (SELECT 1 FROM request_events e WHERE e.organisation_id = g.id) ORDER BY random() LIMIT $1`, changed)
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
	// As a server runs it: whole rankings read part of the evidence from memory.
	svc := matching.NewService(pool, tax)
	if err := svc.KeepInMemory(ctx); err != nil {
		return err
	}
	matcher := matching.ForRequests{Service: svc, Limit: server.MatchLimit}
	if err := calibrate(ctx, pool, tax, matcher, ids, stderr); err != nil {
		return err
	}
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
	var stepsMu sync.Mutex
	steps := map[string]time.Duration{}
	matcher.Service.Trace = func(step string, d time.Duration) {
		stepsMu.Lock()
		defer stepsMu.Unlock()
		steps[step] += d
	}
	services := make([]*purchase.Service, 2)
	for i := range services {
		services[i] = purchase.NewService(pool, tax, search.NewIndexer(tax), nil)
		services[i].UseMatcher(matcher)
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
	for _, step := range slices.Sorted(maps.Keys(steps)) {
		fmt.Fprintf(out, "| — %s (summed) | %s |\n", step, steps[step].Round(100*time.Millisecond))
	}
	if elapsed > 0 {
		fmt.Fprintf(out, "| changed SMEs absorbed per minute | %.0f |\n", float64(changed-left)/elapsed.Minutes())
	}
	return nil
}

// calibrate makes the generated rankings look like the matching's where
// the recompute reads them (untimed, before the changes): their scores
// take the scale of real rankings of the same CPV division (the first and
// the 100th score of rankings worked out in full for a few open requests
// of each division), and the changed SMEs hold no place in them (their
// places go to other SMEs): otherwise random SMEs would sit in random
// rankings with scores no ranking would give them, and leave them as soon
// as they are scored.
func calibrate(ctx context.Context, pool *pgxpool.Pool, tax *taxonomy.Taxonomy, m matching.ForRequests, changed []int64, stderr io.Writer) error {
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_calibrated (at timestamptz NOT NULL)`); err != nil {
		return err
	}
	var done bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bench_calibrated)`).Scan(&done); err != nil {
		return err
	}
	if !done {
		if err := rescale(ctx, pool, tax, m, stderr); err != nil {
			return err
		}
	}
	fmt.Fprintln(stderr, "  handing the changed SMEs' places to other SMEs…")
	conn, err := pool.Acquire(ctx) // a temporary table lives in its connection
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE smes AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id
		FROM organisations WHERE kind = 'pme' AND status = 'member';
		ALTER TABLE smes ADD PRIMARY KEY (n); CREATE INDEX ON smes (id); ANALYZE smes`); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `UPDATE request_matches m SET organisation_id = o.id
		FROM smes s, smes o
		WHERE m.organisation_id = ANY($1) AND s.id = m.organisation_id
		  AND o.n = (s.n + 1 + m.request_id % 1000) % (SELECT count(*) FROM smes) AND o.id <> ALL($1)
		  AND NOT EXISTS (SELECT 1 FROM request_matches x WHERE x.request_id = m.request_id AND x.organisation_id = o.id)`, changed); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `DROP TABLE smes; ANALYZE request_matches`)
	return err
}

// rescale gives the generated rankings' scores the scale of real ones
// (once: the benchmark database remembers it).
func rescale(ctx context.Context, pool *pgxpool.Pool, tax *taxonomy.Taxonomy, m matching.ForRequests, stderr io.Writer) error {
	fmt.Fprintln(stderr, "Calibrating the generated rankings on real ones (a few per CPV division; once, about 10 minutes)…")
	rows, err := pool.Query(ctx, `SELECT division, ids[1:4] FROM (
			SELECT left(r.cpv_codes[1], 2) AS division, array_agg(r.id ORDER BY r.id) AS ids FROM purchase_requests r
			WHERE r.status = 'open' AND r.deadline >= current_date GROUP BY 1) x ORDER BY 1`)
	if err != nil {
		return err
	}
	type sample struct {
		Division string
		IDs      []int64
	}
	samples, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sample])
	if err != nil {
		return err
	}
	svc := purchase.NewService(pool, tax, search.NewIndexer(tax), nil)
	svc.UseMatcher(m)
	var divisions []string
	var firsts, lasts []float64
	for _, sm := range samples {
		var first, last []float64
		for _, id := range sm.IDs {
			list, err := svc.RankedInFull(ctx, id)
			if err != nil {
				return err
			}
			if len(list) == m.Limit {
				first, last = append(first, list[0].Score), append(last, list[len(list)-1].Score)
			}
		}
		if len(last) > 0 {
			slices.Sort(first)
			slices.Sort(last)
			divisions = append(divisions, sm.Division)
			firsts, lasts = append(firsts, first[len(first)/2]), append(lasts, last[len(last)/2])
		}
	}
	fmt.Fprintf(stderr, "  %d divisions with full real rankings; rescaling the generated scores…\n", len(divisions))
	if _, err := pool.Exec(ctx, `UPDATE request_matches m SET score = c.last + (100 - p.place) * (c.first - c.last) / 99
		FROM purchase_requests r, unnest($1::text[], $2::float8[], $3::float8[]) AS c(division, first, last),
			LATERAL (SELECT x.organisation_id, row_number() OVER (ORDER BY x.score DESC, x.organisation_id) AS place
				FROM request_matches x WHERE x.request_id = r.id AND x.ranked) p
		WHERE r.id = m.request_id AND p.organisation_id = m.organisation_id AND left(r.cpv_codes[1], 2) = c.division AND m.ranked
		  AND r.status = 'open' AND starts_with(r.description, $4)`, divisions, firsts, lasts, bench.Mark); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `INSERT INTO bench_calibrated VALUES (now())`)
	return err
}
