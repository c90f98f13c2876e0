// Package soak runs the whole platform for a while under mixed traffic and
// reports, window by window, the answers' latency, the errors and the
// server's memory: `make soak` (`passerelle soak`). Browsing, search and
// writes come from concurrent clients (visitors; a signed-in buyer writing
// requests and messages; a signed-in SME writing offers, messages and an
// answer; applicants) against the real application, its job workers and its
// search index, in one process, on a database of its own.
package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/indicator"
	"passerelle/internal/platform/config"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/once"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/search/searchindex"
	"passerelle/internal/server"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/bench"
	"passerelle/internal/tools/demo"
)

// Options of a run.
type Options struct {
	Duration time.Duration // whole run
	Window   time.Duration // one line of the report
	Workers  int           // concurrent clients
	Progress io.Writer     // one line per window while it runs; nil for none
	Log      *slog.Logger  // the application's log; nil: discarded
}

// sample is one answer.
type sample struct {
	at      time.Time
	latency time.Duration
	failed  bool   // transport error or 5xx
	what    string // for a failure: the request and what came back
}

// Run serves the platform on databaseURL for opt.Duration under load, then
// writes the Markdown report to out. It returns an error when any answer
// failed.
func Run(ctx context.Context, databaseURL string, opt Options, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if opt.Log != nil {
		log = opt.Log
	}
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PASSERELLE_ENV": config.EnvTest, "DATABASE_URL": databaseURL, "RATE_LIMIT_PER_MINUTE": "1000000"}[k]
	})
	if err != nil {
		return err
	}
	web, err := postgres.OpenWith(ctx, databaseURL, postgres.PoolOptions{Name: "soak-web", MaxConns: int32(cfg.DBMaxConns),
		StatementTimeout: cfg.RequestTimeout, IdleInTxTimeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer web.Close()
	background, err := postgres.OpenWith(ctx, databaseURL, postgres.PoolOptions{Name: "soak-background", MaxConns: 4})
	if err != nil {
		return err
	}
	defer background.Close()
	tax := taxonomy.MustLoad()
	reg := jobs.NewRegistry()
	server.Background(reg, cfg, background, tax, mail.LogSender{Log: log}, log, nil)
	queue, err := jobs.New(background, reg, log, jobs.Options{})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if err := queue.Start(runCtx); err != nil {
		return err
	}
	defer func() { _ = queue.Stop(context.Background()) }()
	index := searchindex.NewSyncer(background, log)
	if err := index.Rebuild(ctx); err != nil {
		return err
	}
	go func() { _ = index.Run(runCtx) }()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// Offer views are written in batches, as on a server.
	views := indicator.NewViews(web)
	go views.Run(runCtx, indicator.FlushEvery, func(err error) { log.Error("offer views", "err", err) })
	srv := &http.Server{Handler: server.New(server.Deps{Config: cfg, Logger: log, DB: web, Taxonomy: tax, Jobs: queue, Index: index, Views: views})}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	base := "http://" + l.Addr().String()

	queries, err := bench.Sample(tax, 500, 3)
	if err != nil {
		return err
	}
	var offerIDs, orgIDs []int64
	if offerIDs, err = ids(ctx, web, `SELECT id FROM offers WHERE listed ORDER BY id LIMIT 2000`); err != nil {
		return err
	}
	if orgIDs, err = ids(ctx, web, `SELECT id FROM organisations WHERE status = 'member' AND kind IN ('pme', 'eti') ORDER BY id LIMIT 2000`); err != nil {
		return err
	}
	if len(offerIDs) == 0 || len(orgIDs) == 0 {
		return errors.New("soak: the database has no listed offer or member SME")
	}
	// The buyer side of the demo: the demo SME's conversation with the demo
	// buyer, and an open request for SMEs to answer.
	var talk, open, smeOrg int64
	if err := web.QueryRow(ctx, `SELECT
			coalesce((SELECT min(m.request_id) FROM request_matches m WHERE m.organisation_id = u.organisation_id AND m.state = 'discussion'), 0),
			coalesce((SELECT min(r.id) FROM purchase_requests r WHERE r.status = 'open'), 0), u.organisation_id
		FROM users u WHERE u.email = $1`, demo.SMEEmail).Scan(&talk, &open, &smeOrg); err != nil {
		return fmt.Errorf("soak: the demo's requests: %w", err)
	}
	if talk == 0 || open == 0 {
		return errors.New("soak: the demo has no conversation or open request")
	}
	conversation := fmt.Sprintf("%s/demandes/%d/echanges/%d", base, talk, smeOrg)
	deadline := time.Now().AddDate(0, 2, 0).Format(time.DateOnly)

	var (
		mu       sync.Mutex
		samples  []sample
		writes   atomic.Int64
		serial   atomic.Int64
		stopLoad = make(chan struct{})
		wg       sync.WaitGroup
	)
	var failures []string
	record := func(start time.Time, resp *http.Response, err error) {
		failed := err != nil || resp.StatusCode >= 500
		s := sample{at: start, latency: time.Since(start), failed: failed}
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if failed {
				s.what = resp.Request.Method + " " + resp.Request.URL.Path + ": " + resp.Status + " (request id " + resp.Header.Get("X-Request-Id") + ")"
			}
		} else if failed {
			s.what = err.Error()
		}
		mu.Lock()
		samples = append(samples, s)
		if failed && len(failures) < 5 {
			failures = append(failures, s.what)
		}
		mu.Unlock()
	}
	signedIn := func(email string) (*http.Client, error) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		resp, err := c.PostForm(base+"/connexion", url.Values{"email": {email}, "password": {demo.Password}})
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return c, nil
	}
	for w := range opt.Workers {
		role := w % 4 // visitor, buyer, SME, applicant
		var c *http.Client
		switch role {
		case 1:
			c, err = signedIn("acheteur@passerelle.test")
		case 2:
			c, err = signedIn(demo.SMEEmail)
		default:
			c = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 11))
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				q := queries[rnd.IntN(len(queries))]
				start := time.Now()
				var resp *http.Response
				var err error
				switch {
				case role == 0 && rnd.IntN(3) == 0:
					resp, err = c.Get(fmt.Sprintf("%s/offres/%d", base, offerIDs[rnd.IntN(len(offerIDs))]))
				case role == 0:
					resp, err = c.Get(base + "/offres?" + url.Values{"q": {q.Words}, "f": q.Facets}.Encode())
				case role == 1 && rnd.IntN(8) == 0: // the buyer writes a request
					writes.Add(1)
					resp, err = c.PostForm(base+"/espace/demandes/nouvelle", url.Values{"title": {"Demande d'endurance " + strconv.FormatInt(serial.Add(1), 10)},
						"description": {q.Words}, "budget_band": {"lt40k"}, "deadline": {deadline}, "visibility": {"all"}, "cpv": {"90910000"},
						"regions": {"32"}, "action": {"draft"}, "envoi": {once.New()}})
				case role == 1 && rnd.IntN(7) == 0: // … and writes to the SME it talks with
					writes.Add(1)
					resp, err = c.PostForm(conversation, url.Values{"body": {"Message de l'acheteur " + strconv.FormatInt(serial.Add(1), 10)},
						"envoi": {once.New()}})
				case role == 1 && rnd.IntN(6) == 0:
					resp, err = c.Get(fmt.Sprintf("%s/espace/demandes/%d", base, talk))
				case role == 1 && rnd.IntN(3) == 0:
					resp, err = c.Get(fmt.Sprintf("%s/entreprises/%d", base, orgIDs[rnd.IntN(len(orgIDs))]))
				case role == 1:
					resp, err = c.Get(base + "/annuaire?" + url.Values{"q": {q.Words}}.Encode())
				case role == 2 && rnd.IntN(6) == 0:
					writes.Add(1)
					resp, err = c.PostForm(base+"/espace/offres/nouvelle", url.Values{"title": {"Offre d'endurance " + strconv.FormatInt(serial.Add(1), 10)},
						"summary": {q.Words}, "kind": {"service"}, "regions": {"32"}, "cpv": {"90910000"}, "action": {"draft"}, "envoi": {once.New()}})
				case role == 2 && rnd.IntN(5) == 0: // the SME writes back
					writes.Add(1)
					resp, err = c.PostForm(conversation, url.Values{"body": {"Message de la PME " + strconv.FormatInt(serial.Add(1), 10)},
						"envoi": {once.New()}})
				case role == 2 && rnd.IntN(4) == 0: // … answers a request (once; later answers are refused, not errors)
					writes.Add(1)
					resp, err = c.PostForm(fmt.Sprintf("%s/demandes/%d/interet", base, open), url.Values{"message": {q.Words},
						"answer0": {"Sous quinze jours."}, "answer1": {"Trois contrats comparables."}, "answer2": {"Oui."}, "envoi": {once.New()}})
				case role == 2 && rnd.IntN(3) == 0:
					resp, err = c.Get(base + "/demandes/pour-vous")
				case role == 2:
					resp, err = c.Get(base + "/espace/offres")
				case role == 3 && rnd.IntN(4) == 0:
					writes.Add(1)
					siren := nextSIREN(&serial)
					resp, err = c.PostForm(base+"/adhesion", url.Values{"siren": {siren}, "legal_name": {"Société " + siren}, "kind": {"pme"},
						"naf_code": {"62.01Z"}, "headcount_band": {"11"}, "departement": {"59"}, "name": {"Dirigeant " + siren},
						"email": {"soak-" + siren + "@exemple.fr"}, "password": {"une phrase de passe solide"}})
				default:
					resp, err = c.Get(base + "/")
				}
				record(start, resp, err)
			}
		}()
	}

	// The report, a line per window.
	fmt.Fprintf(out, "| minute | requests | errors | p50 ms | p99 ms | RSS MiB | Go heap MiB | goroutines |\n|---|---|---|---|---|---|---|---|\n")
	begin := time.Now()
	var total, failedTotal int
	var all []time.Duration
	for at := begin.Add(opt.Window); at.Sub(begin) <= opt.Duration; at = at.Add(opt.Window) {
		select {
		case <-ctx.Done():
			close(stopLoad)
			wg.Wait()
			return ctx.Err()
		case <-time.After(time.Until(at)):
		}
		mu.Lock()
		var lat []time.Duration
		failed := 0
		keep := samples[:0]
		for _, s := range samples {
			if s.at.Before(at) {
				lat = append(lat, s.latency)
				if s.failed {
					failed++
				}
			} else {
				keep = append(keep, s)
			}
		}
		samples = keep
		mu.Unlock()
		slices.Sort(lat)
		all = append(all, lat...)
		total += len(lat)
		failedTotal += failed
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		line := fmt.Sprintf("| %.1f | %d | %d | %.1f | %.1f | %d | %d | %d |", at.Sub(begin).Minutes(), len(lat), failed,
			ms2(quantile(lat, .5)), ms2(quantile(lat, .99)), rss()>>20, ms.HeapAlloc>>20, runtime.NumGoroutine())
		fmt.Fprintln(out, line)
		if opt.Progress != nil {
			fmt.Fprintln(opt.Progress, line)
		}
	}
	close(stopLoad)
	wg.Wait()
	slices.Sort(all)
	fmt.Fprintf(out, "\n%d requests (%d writes) by %d clients in %s: %d errors; p50 %.1f ms, p99 %.1f ms over the run.\n",
		total, writes.Load(), opt.Workers, opt.Duration, failedTotal, ms2(quantile(all, .5)), ms2(quantile(all, .99)))
	if failedTotal > 0 {
		return fmt.Errorf("soak: %d failed answers, first: %s", failedTotal, strings.Join(failures, "; "))
	}
	return nil
}

func ids(ctx context.Context, db *pgxpool.Pool, sql string) ([]int64, error) {
	rows, err := db.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// nextSIREN returns a valid SIREN no other applicant of this run uses
// (a time-based base keeps two runs on one database apart).
var sirenBase = int64(time.Now().Unix()%5000000) * 10

func nextSIREN(serial *atomic.Int64) string {
	for {
		n := 50000000 + (sirenBase+serial.Add(1))%49999999
		for d := 0; d <= 9; d++ {
			if s := strconv.FormatInt(n, 10) + strconv.Itoa(d); taxonomy.ValidSIREN(s) {
				return s
			}
		}
	}
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms2(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rss is the process's resident memory, from /proc (0 where absent).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
