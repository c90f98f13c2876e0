package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/indicator"
	"passerelle/internal/matching"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/purchase"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/demo"
)

// Mark starts the description of every request the benchmark writes.
const Mark = "Besoin (banc d'essai) : "

// BuyerSide makes the buyer side of the benchmark database once: n
// purchase requests written from real DECP contracts (object, CPV code,
// département), by the generated large accounts and public buyers (the
// demo buyer holds one in a hundred), published over the last 24 months
// and all still open (the recompute's load: 100,000 open requests), each with 100
// ranked matches among the member SMEs (the demo SME is one of them for
// 300 open requests), 5 interests and 2 shortlistings in a hundred
// matches: 10 M matches and about 700,000 events at n = 100,000. Then the
// monthly roll-ups are brought up to date, as the job would.
func BuyerSide(ctx context.Context, db *pgxpool.Pool, tax *taxonomy.Taxonomy, n int, progress io.Writer) error {
	var have, unmatched int
	if err := db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM request_matches m WHERE m.request_id = r.id))
		FROM purchase_requests r WHERE starts_with(description, $1)`, Mark).Scan(&have, &unmatched); err != nil {
		return err
	}
	if have >= n && unmatched == 0 {
		return nil
	}
	say := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", args...)
		}
	}
	if err := writeRequests(ctx, db, tax, have, n, say); err != nil {
		return err
	}
	return matchRequests(ctx, db, say)
}

// writeRequests writes requests have to n.
func writeRequests(ctx context.Context, db *pgxpool.Pool, tax *taxonomy.Taxonomy, have, n int, say func(string, ...any)) error {
	if have >= n {
		return nil
	}
	var buyers []int64
	rows, err := db.Query(ctx, `SELECT id FROM organisations WHERE kind IN ('ge', 'public') AND status = 'member' ORDER BY id`)
	if err != nil {
		return err
	}
	if buyers, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return err
	}
	if len(buyers) == 0 {
		return fmt.Errorf("bench: no large account in the benchmark database")
	}
	var demoBuyer int64
	if err := db.QueryRow(ctx, `SELECT organisation_id FROM users WHERE email = 'acheteur@passerelle.test'`).Scan(&demoBuyer); err != nil {
		return fmt.Errorf("bench: the demo buyer: %w", err)
	}
	type need struct{ title, cpv, dep string }
	var needs []need
	if err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		t := strings.TrimSpace(r["objet"])
		if r["probleme_encodage"] == "0" && r["cpv_valide"] == "1" && r["lieu_departement"] != "" && len(t) >= 10 && len(t) <= 150 {
			needs = append(needs, need{t, r["cpv8"], r["lieu_departement"]})
		}
		return nil
	}); err != nil {
		return err
	}
	say("Writing %d purchase requests from real DECP contracts…", n-have)
	now := time.Now().UTC()
	rnd := rand.New(rand.NewPCG(uint64(have), 11))
	bands := []string{"lt40k", "40k_100k", "100k_500k", "500k_2m", "gt2m"}
	src := make([][]any, 0, n-have)
	for i := have; i < n; i++ {
		x := needs[rnd.IntN(len(needs))]
		published := now.Add(-time.Duration(rnd.Int64N(int64(730 * 24 * time.Hour))))
		status, deadline := "open", now.AddDate(0, 0, 10+rnd.IntN(60))
		buyer := buyers[rnd.IntN(len(buyers))]
		if i%100 == 0 {
			buyer = demoBuyer
		}
		band := bands[rnd.IntN(len(bands))]
		places := []string{"dep:" + x.dep}
		cv, _ := tax.CPV(x.cpv)
		src = append(src, []any{buyer, x.title, Mark + x.title, []string{x.cpv}, cv.LabelFR, band, deadline, places, status,
			purchase.Facets(tax, []string{x.cpv}, places, band), published, published, published, published})
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"purchase_requests"}, []string{"organisation_id", "title", "description", "cpv_codes",
		"cpv_text", "budget_band", "deadline", "places", "status", "facets", "created_at", "updated_at", "submitted_at", "published_at"},
		pgx.CopyFromRows(src)); err != nil {
		return fmt.Errorf("bench: requests: %w", err)
	}
	return nil
}

// matchRequests gives every request of the benchmark without matches its
// 100 ranked matches and its events, the demo SME its 300, and rolls the
// platform figures up.
func matchRequests(ctx context.Context, db *pgxpool.Pool, say func(string, ...any)) error {
	var demoSME int64
	if err := db.QueryRow(ctx, `SELECT organisation_id FROM users WHERE email = $1`, demo.SMEEmail).Scan(&demoSME); err != nil {
		return fmt.Errorf("bench: the demo SME: %w", err)
	}
	// The member SMEs numbered, for a match to pick the k-th.
	if _, err := db.Exec(ctx, `DROP TABLE IF EXISTS bench_smes;
		CREATE UNLOGGED TABLE bench_smes AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id FROM organisations WHERE kind = 'pme' AND status = 'member';
		ALTER TABLE bench_smes ADD PRIMARY KEY (n); ANALYZE bench_smes`); err != nil {
		return err
	}
	reasons := sampleReasons()
	var lo, hi int64
	if err := db.QueryRow(ctx, `SELECT min(id), max(id) FROM purchase_requests WHERE starts_with(description, $1)`, Mark).Scan(&lo, &hi); err != nil {
		return err
	}
	say("Writing 100 ranked matches per request (10 M at 100,000 requests; about 10 minutes)…")
	start := time.Now()
	const step = 2000
	for from := lo; from <= hi; from += step {
		if _, err := db.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, matched, ranked, state, score, rank, reasons, created_at, updated_at, computed_at, viewed_at)
			SELECT r.id, s.id, true, true, 'suggested', 4.0 - k * 0.03, k + 1, $4::jsonb,
				r.published_at, r.published_at, r.published_at, CASE WHEN k % 4 = 0 THEN r.published_at + interval '1 day' END
			FROM purchase_requests r CROSS JOIN generate_series(0, 99) k
			JOIN bench_smes s ON s.n = (r.id * 7919 + k * 104729) % (SELECT count(*) FROM bench_smes)
			WHERE r.id BETWEEN $1 AND $2 AND starts_with(r.description, $3) AND NOT EXISTS (SELECT 1 FROM request_matches m WHERE m.request_id = r.id)
			ON CONFLICT DO NOTHING`, from, from+step-1, Mark, reasons); err != nil {
			return fmt.Errorf("bench: matches: %w", err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO request_events (request_id, organisation_id, kind, at)
			SELECT x.request_id, x.organisation_id, e.kind, x.created_at + e.after
			FROM request_matches x JOIN purchase_requests r ON r.id = x.request_id,
				(VALUES ('interested', interval '2 days', 20), ('shortlisted', interval '5 days', 50)) e(kind, after, every)
			WHERE x.request_id BETWEEN $1 AND $2 AND starts_with(r.description, $3) AND (x.organisation_id + x.request_id) % e.every = 0
			  AND NOT EXISTS (SELECT 1 FROM request_events v WHERE v.request_id = x.request_id)`, from, from+step-1, Mark); err != nil {
			return fmt.Errorf("bench: events: %w", err)
		}
		if done := from - lo + step; done%20000 == 0 {
			say("  %d/%d requests matched (%s)", done, hi-lo+1, time.Since(start).Round(time.Second))
		}
	}
	// The demo SME among the matches of 300 open requests, first.
	if _, err := db.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, matched, ranked, state, score, rank, reasons, created_at, updated_at, computed_at)
		SELECT r.id, $2, true, true, 'suggested', 4.5, 1, $3::jsonb, r.published_at, r.published_at, r.published_at
		FROM purchase_requests r WHERE starts_with(r.description, $1) AND r.status = 'open' ORDER BY r.id LIMIT 300
		ON CONFLICT DO NOTHING`, Mark, demoSME, reasons); err != nil {
		return fmt.Errorf("bench: the demo SME's matches: %w", err)
	}
	say("Rolling up the platform figures…")
	if _, err := db.Exec(ctx, `ANALYZE purchase_requests; ANALYZE request_matches; ANALYZE request_events`); err != nil {
		return err
	}
	if _, err := indicator.NewService(db, nil).Rollup(ctx); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `DROP TABLE bench_smes`)
	return err
}

// sampleReasons are the stored facts of a typical match: past contracts
// in the request's class, one of them local, an offer in its category and
// the trade's share.
func sampleReasons() string {
	facts := []matching.Fact{
		{Code: matching.ReasonPast, Count: 4, Local: 1, Level: "class", Prefix: "7226", Year: 2024, Departement: "69"},
		{Code: matching.ReasonOffer, Title: "Maintenance applicative et tierce maintenance", OfferID: 1, Level: "category", Prefix: "72267"},
		{Code: matching.ReasonActivity, NAF: "62.02A", Percent: 31, Prefix: "722"},
		{Code: matching.ReasonBasedRegion, Region: "84"},
	}
	return string(matching.FactsJSON(facts))
}

// buyerPages times the pages a buyer, an SME and staff wait on, one at a
// time, then under load beside the floor.
func buyerPages(ctx context.Context, db *pgxpool.Pool, base string, floor float64, opt Options, out io.Writer) error {
	rows, err := db.Query(ctx, `SELECT r.id FROM purchase_requests r JOIN users u ON u.organisation_id = r.organisation_id
		WHERE u.email = 'acheteur@passerelle.test' AND r.status = 'open' AND starts_with(r.description, $1)
		  AND (SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.matched) >= 100
		ORDER BY r.id LIMIT $2`, Mark, opt.Queries)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("bench: the demo buyer has no open request with 100 matches")
	}
	var requests, counts [4]int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM purchase_requests), (SELECT count(*) FROM purchase_requests WHERE status = 'open'),
			(SELECT count(*) FROM request_matches), (SELECT count(*) FROM request_events)`).Scan(&requests[0], &requests[1], &counts[0], &counts[1]); err != nil {
		return err
	}
	type page struct {
		name, email string
		urls        []string
	}
	var own []string
	for _, id := range ids {
		own = append(own, fmt.Sprintf("/demandes/%d", id))
	}
	pages := []page{
		{"buyer's request page `/demandes/{id}` (100 ranked matches stored, the first 20 shown)", "acheteur@passerelle.test", own},
		{"SME's \"Demandes pour vous\" `/demandes/pour-vous`", demo.SMEEmail, []string{"/demandes/pour-vous"}},
		{"observatory `/observatoire`", "acheteur@passerelle.test", []string{"/observatoire"}},
		{"staff's platform figures `/equipe/indicateurs`", "equipe@passerelle.test", []string{"/equipe/indicateurs"}},
	}
	// The roll-ups brought up to date, as the job does every minute.
	opt.say("Rolling the platform figures up…")
	start := time.Now()
	months, err := indicator.NewService(db, nil).Rollup(ctx)
	if err != nil {
		return err
	}
	rolled := time.Since(start)
	fmt.Fprintf(out, "\n### The buyer side (%d requests, %d open; %d matches; %d events)\n\n", requests[0], requests[1], counts[0], counts[1])
	fmt.Fprintf(out, "The roll-up job brought %d months up to date in %s before the pages were timed.\n\n", months, rolled.Round(100*time.Millisecond))
	fmt.Fprintf(out, "One at a time, %d requests each after a warm-up pass (server time, `Server-Timing: app`); then %d clients for %s, beside the floor of the search phase (%.0f requests/s).\n\n",
		opt.Queries, opt.Workers, opt.Duration, floor)
	fmt.Fprintf(out, "| Page | p50 | p95 | p99 | max | under load: requests/s | p95 | success | ratio to floor |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range pages {
		cookie, err := signInAs(base, p.email)
		if err != nil {
			return err
		}
		var urls []string
		for i := range opt.Queries {
			urls = append(urls, p.urls[i%len(p.urls)])
		}
		opt.say("Timing %s…", p.name)
		if _, err := pageTimes(base, cookie, urls); err != nil {
			return err
		}
		times, err := pageTimes(base, cookie, urls)
		if err != nil {
			return err
		}
		m := attackURLs(base, cookie, urls, opt)
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %.1f | %s | %.1f %% | %.3f |\n", p.name, pct(times, 50), pct(times, 95), pct(times, 99),
			pct(times, 100), m.Throughput, ms(m.Latencies.P95), m.Success*100, m.Throughput/floor)
	}
	// The baseline of the staff's page: the direct queries it ran on each
	// visit before the roll-ups (what the roll-up job now runs).
	opt.say("Timing the platform figures' direct queries…")
	now := time.Now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -11, 0)
	svc := indicator.NewService(db, nil)
	var direct []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := svc.Months(ctx, db, first, first.AddDate(1, 0, 0)); err != nil {
			return err
		}
		direct = append(direct, time.Since(start))
	}
	fmt.Fprintf(out, "\nBaseline of the same run: the twelve months counted directly from the matches and events, as the staff's page did on each visit before the roll-ups (5 runs): median %s, max %s.\n",
		pct(direct, 50), pct(direct, 100))
	return nil
}

// pageTimes requests each path once, in order, and reads the server's own
// measure of each.
func pageTimes(base, cookie string, paths []string) ([]time.Duration, error) {
	c := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var out []time.Duration
	for _, p := range paths {
		req, _ := http.NewRequest(http.MethodGet, base+p, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("bench: %s answered %d", p, resp.StatusCode)
		}
		d, ok := timing(resp.Header, "app")
		if !ok {
			return nil, fmt.Errorf("bench: no Server-Timing on %s", p)
		}
		out = append(out, d)
	}
	return out, nil
}
