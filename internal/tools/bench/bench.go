// Package bench measures search at national scale against a database
// filled by `passerelle seed --scale`: the server time of catalogue and
// directory searches (one word or two, with two facets) taken one at a
// time, then the requests per second of the directory and catalogue pages
// under a concurrent load generator (vegeta), beside the same load on a
// bare handler that runs one indexed query — the floor this machine allows.
// It prints a Markdown report and the EXPLAIN output of the queries.
package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
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
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"passerelle/internal/platform/config"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/search"
	"passerelle/internal/search/searchindex"
	"passerelle/internal/server"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/demo"
)

// Options of a run.
type Options struct {
	Queries  int           // sampled searches timed one at a time
	Duration time.Duration // of each load phase
	Workers  uint64        // concurrent clients of the load phases
	Seed     uint64
	Progress io.Writer // one line per phase (the report goes to out); nil for none
	// Requests is how many purchase requests the buyer side holds (made
	// once, with 100 matches each: BuyerSide); 0 skips the buyer side.
	Requests int
	// BuyerOnly measures the buyer side alone (no search index, no search).
	BuyerOnly bool
	// IndexOnly leaves out the searches in PostgreSQL alone and their
	// plans (a comparison of two versions of the index).
	IndexOnly bool
}

func (o Options) say(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Query is one sampled search.
type Query struct {
	Words  string
	Facets []string
}

// Sample draws searches the way members type them: one or two words of a
// real contract object (so frequent words come often, as in real use) and
// two facets, the contract's CPV division and its region.
func Sample(tax *taxonomy.Taxonomy, n int, seed uint64) ([]Query, error) {
	type c struct {
		words    []string
		div, reg string
	}
	var pool []c
	err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		if r["probleme_encodage"] != "0" || r["cpv_valide"] != "1" {
			return nil
		}
		d, ok := tax.Departement(r["lieu_departement"])
		if !ok {
			return nil
		}
		var words []string
		for _, w := range strings.FieldsFunc(strings.ToLower(r["objet"]), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'à' && r <= 'ÿ' || r == 'œ')
		}) {
			if len([]rune(w)) >= 5 && !stop[w] {
				words = append(words, w)
			}
		}
		if len(words) > 0 {
			pool = append(pool, c{words: words, div: r["cpv8"][:2], reg: d.RegionCode})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rnd := rand.New(rand.NewPCG(seed, 7))
	out := make([]Query, n)
	for i := range out {
		x := pool[rnd.IntN(len(pool))]
		words := x.words[rnd.IntN(len(x.words))]
		if len(x.words) > 1 && rnd.IntN(10) < 3 {
			words += " " + x.words[rnd.IntN(len(x.words))]
		}
		out[i] = Query{Words: words, Facets: []string{"cpv:" + x.div, "reg:" + x.reg}}
	}
	return out, nil
}

// stop lists frequent French words of five letters or more that carry no
// meaning in a search (the French stemmer drops the shorter ones).
var stop = map[string]bool{"leurs": true, "entre": true, "après": true, "avant": true, "selon": true, "autres": true,
	"concernant": true, "relatif": true, "relative": true, "relatifs": true, "relatives": true, "cadre": true, "objet": true}

func (q Query) url(path string) string {
	v := url.Values{"q": {q.Words}, "f": q.Facets}
	return path + "?" + v.Encode()
}

// Run measures and writes the report to out.
func Run(ctx context.Context, databaseURL string, opt Options, out io.Writer) error {
	db, err := postgres.OpenWith(ctx, databaseURL, postgres.ServerPool("passerelle-bench", 0))
	if err != nil {
		return err
	}
	defer db.Close()
	var orgs, offers, refs int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM organisations), (SELECT count(*) FROM offers), (SELECT count(*) FROM org_references)`).
		Scan(&orgs, &offers, &refs); err != nil {
		return err
	}
	if _, err := demo.Seed(ctx, db, false); err != nil { // the buyer the load signs in as
		return err
	}
	tax := taxonomy.MustLoad()
	if opt.Requests > 0 {
		if err := BuyerSide(ctx, db, tax, opt.Requests, opt.Progress); err != nil {
			return err
		}
	}
	if opt.BuyerOnly {
		return buyerOnly(ctx, db, databaseURL, opt, out)
	}
	queries, err := Sample(tax, opt.Queries, opt.Seed)
	if err != nil {
		return err
	}

	// The real application, as `passerelle serve` builds it.
	deps, err := appDeps(db, databaseURL)
	if err != nil {
		return err
	}
	cfg, log, queue := deps.Config, deps.Logger, deps.Jobs
	// The in-memory search index, built as every server builds it at start.
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	index := searchindex.NewSyncer(db, log)
	opt.say("Building the search index from %d offers (about 40 s per 2 million)…", offers)
	buildStart := time.Now()
	if err := index.Rebuild(ctx); err != nil {
		return err
	}
	buildTime := time.Since(buildStart)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	go func() { _ = index.Run(ctx) }() // follows the change log, as in production
	app, err := listen(server.New(server.Deps{Config: cfg, Logger: log, DB: db, Jobs: queue, Index: index}))
	if err != nil {
		return err
	}
	defer app.close()
	sqlOnly, err := listen(server.New(server.Deps{Config: cfg, Logger: log, DB: db, Jobs: queue}))
	if err != nil {
		return err
	}
	defer sqlOnly.close()
	floor, err := listen(floorHandler(db, offers))
	if err != nil {
		return err
	}
	defer floor.close()
	cookie, err := signIn(app.url)
	if err != nil {
		return err
	}

	host, _ := os.Hostname()
	fmt.Fprintf(out, "## Search at scale — %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(out, "Machine: %s, %d CPU, %s %s/%s. PostgreSQL: %s.\n\n", host, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, pgVersion(ctx, db))
	fmt.Fprintf(out, "Data: %d organisations, %d offers, %d references (`passerelle seed --scale`).\n\n", orgs, offers, refs)
	fmt.Fprintf(out, "Search index: %d offers and %d SMEs built from PostgreSQL in %s, %.0f MiB of Go heap.\n\n",
		index.Index(searchindex.Offers).Len(), index.Index(searchindex.SMEs).Len(), buildTime.Round(time.Second), float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))
	if err := indexStarts(ctx, databaseURL, index, opt, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "Queries: %d searches sampled from real DECP contract objects (one word, or two for 30 %%) with two facets (the contract's CPV division and region), seed %d.\n\n", len(queries), opt.Seed)

	// 1. Server time, one request at a time (Server-Timing header), after
	// one warm-up pass over the same queries (caches filled, as in use).
	fmt.Fprintf(out, "### Server time, one request at a time (after a warm-up pass)\n\n")
	fmt.Fprintf(out, "Page: the whole request until the page is rendered (`Server-Timing: app`); search: the search service's call in it (`Server-Timing: search`).\n\n")
	fmt.Fprintf(out, "| Page | search runs in | p50 | p95 | p99 | max | search p50 | search p95 | search p99 |\n|---|---|---|---|---|---|---|---|---|\n")
	var slowest []string
	runs := []struct {
		base, name string
	}{{app.url, "the index"}, {sqlOnly.url, "PostgreSQL only"}}
	if opt.IndexOnly {
		runs = runs[:1]
	}
	for _, run := range runs {
		c, err := signIn(run.base)
		if err != nil {
			return err
		}
		for _, page := range []string{"/offres", "/annuaire"} {
			opt.say("Timing %d searches twice on %s (%s)…", len(queries), page, run.name)
			if _, _, err := serverTimes(run.base, page, c, queries); err != nil {
				return err
			}
			times, st, err := serverTimes(run.base, page, c, queries)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "| `%s?q=…&f=cpv:…&f=reg:…` | %s | %s | %s | %s | %s | %s | %s | %s |\n", page, run.name,
				pct(times, 50), pct(times, 95), pct(times, 99), pct(times, 100), pct(st, 50), pct(st, 95), pct(st, 99))
			if run.base != app.url {
				continue
			}
			order := make([]int, len(times))
			for i := range order {
				order[i] = i
			}
			slices.SortFunc(order, func(a, b int) int { return int(times[b] - times[a]) })
			for _, i := range order[:3] {
				slowest = append(slowest, fmt.Sprintf("`%s` %s", queries[i].url(page), ms(times[i])))
			}
		}
	}
	fmt.Fprintf(out, "\nSlowest with the index: %s.\n", strings.Join(slowest, ", "))
	if err := searchCosts(ctx, db, index, queries, out); err != nil {
		return err
	}

	// 2. Throughput under concurrent load, against the floor.
	fmt.Fprintf(out, "\n### Throughput under load (vegeta, %d concurrent clients, %s each)\n\n", opt.Workers, opt.Duration)
	fmt.Fprintf(out, "| Target | requests/s | p50 | p95 | p99 | success | ratio to floor |\n|---|---|---|---|---|---|---|\n")
	opt.say("Load: %s on the floor, then on each page…", opt.Duration)
	floorM := attack(floor.url, "/floor", "", nil, opt)
	for _, t := range []struct{ name, path string }{{"directory `/annuaire` (keyword + 2 facets)", "/annuaire"}, {"catalogue `/offres` (keyword + 2 facets)", "/offres"}} {
		m := attack(app.url, t.path, cookie, queries, opt)
		fmt.Fprintf(out, "| %s | %.1f | %s | %s | %s | %.1f %% | %.3f |\n", t.name, m.Throughput, ms(m.Latencies.P50), ms(m.Latencies.P95), ms(m.Latencies.P99), m.Success*100, m.Throughput/floorM.Throughput)
	}
	fmt.Fprintf(out, "| floor: bare handler, one primary-key query | %.1f | %s | %s | %s | %.1f %% | 1 |\n", floorM.Throughput, ms(floorM.Latencies.P50), ms(floorM.Latencies.P95), ms(floorM.Latencies.P99), floorM.Success*100)
	if opt.Requests > 0 {
		if err := buyerPages(ctx, db, app.url, floorM.Throughput, opt, out); err != nil {
			return err
		}
	}

	// 3. Plans.
	if opt.IndexOnly {
		return nil
	}
	opt.say("EXPLAIN of the SQL path…")
	return explain(ctx, db, queries, out)
}

// buyerOnly measures the buyer side alone: the application without the
// search index, the floor, then the pages.
func buyerOnly(ctx context.Context, db *pgxpool.Pool, databaseURL string, opt Options, out io.Writer) error {
	deps, err := appDeps(db, databaseURL)
	if err != nil {
		return err
	}
	app, err := listen(server.New(deps))
	if err != nil {
		return err
	}
	defer app.close()
	var offers int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM offers`).Scan(&offers); err != nil {
		return err
	}
	floor, err := listen(floorHandler(db, offers))
	if err != nil {
		return err
	}
	defer floor.close()
	host, _ := os.Hostname()
	fmt.Fprintf(out, "## The buyer side at scale — %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(out, "Machine: %s, %d CPU, %s. PostgreSQL: %s.\n", host, runtime.NumCPU(), runtime.Version(), pgVersion(ctx, db))
	opt.say("Load: %s on the floor…", opt.Duration)
	floorM := attack(floor.url, "/floor", "", nil, opt)
	return buyerPages(ctx, db, app.url, floorM.Throughput, opt, out)
}

// appDeps are the application's parts as `passerelle serve` builds them,
// on the benchmark database, its log discarded and its mails queued but
// never sent; without the search index.
func appDeps(db *pgxpool.Pool, databaseURL string) (server.Deps, error) {
	cfg, err := config.Load(func(k string) string {
		if k == "DATABASE_URL" {
			return databaseURL
		}
		return ""
	})
	if err != nil {
		return server.Deps{}, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	queue, err := jobs.InsertOnly(db, log)
	if err != nil {
		return server.Deps{}, err
	}
	return server.Deps{Config: cfg, Logger: log, DB: db, Jobs: queue}, nil
}

type listener struct {
	url string
	srv *http.Server
}

func listen(h http.Handler) (*listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return &listener{url: "http://" + l.Addr().String(), srv: srv}, nil
}

func (l *listener) close() { _ = l.srv.Close() }

// floorHandler runs one indexed query (an offer by primary key) and writes
// its title: what any page costs at least on this machine.
func floorHandler(db *pgxpool.Pool, offers int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var title string
		err := db.QueryRow(r.Context(), `SELECT title FROM offers WHERE id = $1`, 1+rand.IntN(max(offers, 1))).Scan(&title)
		if err != nil && err.Error() != "no rows in result set" {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, title)
	})
}

func signIn(base string) (string, error) { return signInAs(base, "acheteur@passerelle.test") }

// signInAs signs a demo account in and returns its session cookie.
func signInAs(base, email string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/connexion", url.Values{"email": {email}, "password": {demo.Password}})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("bench: sign-in answered %d", resp.StatusCode)
	}
	u, _ := url.Parse(base)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "passerelle_session" {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", fmt.Errorf("bench: no session cookie")
}

// serverTimes requests each query once, in order, and reads the server's
// own measure from the Server-Timing header.
func serverTimes(base, path, cookie string, queries []Query) (app, searchTimes []time.Duration, err error) {
	c := &http.Client{Timeout: time.Minute}
	for _, q := range queries {
		req, _ := http.NewRequest(http.MethodGet, base+q.url(path), nil)
		req.Header.Set("Cookie", cookie)
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, nil, fmt.Errorf("bench: %s answered %d", q.url(path), resp.StatusCode)
		}
		a, ok1 := timing(resp.Header, "app")
		s, ok2 := timing(resp.Header, "search")
		if !ok1 || !ok2 {
			return nil, nil, fmt.Errorf("bench: no Server-Timing on %s", path)
		}
		app, searchTimes = append(app, a), append(searchTimes, s)
	}
	return app, searchTimes, nil
}

func attack(base, path, cookie string, queries []Query, opt Options) vegeta.Metrics {
	urls := []string{path}
	if len(queries) > 0 {
		urls = urls[:0]
		for _, q := range queries {
			urls = append(urls, q.url(path))
		}
	}
	return attackURLs(base, cookie, urls, opt)
}

// attackURLs loads the paths in turn with opt.Workers clients for
// opt.Duration.
func attackURLs(base, cookie string, urls []string, opt Options) vegeta.Metrics {
	i := 0
	path := urls[0]
	targeter := func(t *vegeta.Target) error {
		t.Method, t.URL = http.MethodGet, base+urls[i%len(urls)]
		i++
		t.Header = http.Header{}
		if cookie != "" {
			t.Header.Set("Cookie", cookie)
		}
		return nil
	}
	atk := vegeta.NewAttacker(vegeta.MaxWorkers(opt.Workers), vegeta.Workers(opt.Workers), vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second))
	var m vegeta.Metrics
	for res := range atk.Attack(targeter, vegeta.Rate{Freq: 0}, opt.Duration, path) {
		m.Add(res)
	}
	m.Close()
	return m
}

// searchCosts reports how many offers the sampled searches match, since
// the cost follows it.
func searchCosts(ctx context.Context, db *pgxpool.Pool, index *searchindex.Syncer, queries []Query, out io.Writer) error {
	s := search.NewService(db)
	s.UseIndex(index)
	var totals []int
	for _, q := range queries[:min(len(queries), 200)] {
		res, err := s.Offers(ctx, search.Query{Text: q.Words, Facets: q.Facets})
		if err != nil {
			return err
		}
		totals = append(totals, res.Counts.Total)
	}
	slices.Sort(totals)
	fmt.Fprintf(out, "\nOffers matched by the first %d searches: median %d, p95 %d, max %d.\n",
		len(totals), totals[len(totals)/2], totals[len(totals)*95/100], totals[len(totals)-1])
	return nil
}

func explain(ctx context.Context, db *pgxpool.Pool, queries []Query, out io.Writer) error {
	// The first sampled search (a typical one) and the heaviest word of the sample.
	picks := []Query{queries[0], {Words: "travaux", Facets: []string{"cpv:45", "reg:11"}}}
	for _, q := range picks {
		count, page, args := search.Explain(search.Query{Text: q.Words, Facets: q.Facets})
		for _, st := range []struct{ name, sql string }{{"counts", count}, {"page", page}} {
			rows, err := db.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+st.sql, args...)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\n#### EXPLAIN — %s of `q=%s` `f=%s`\n\n```\n", st.name, q.Words, strings.Join(q.Facets, "&f="))
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					return err
				}
				fmt.Fprintln(out, line)
			}
			rows.Close()
			fmt.Fprintf(out, "```\n")
		}
	}
	return nil
}

// timing reads one metric of the Server-Timing header ("app;dur=12.3").
func timing(h http.Header, metric string) (time.Duration, bool) {
	for _, v := range h.Values("Server-Timing") {
		for _, part := range strings.Split(v, ",") {
			name, dur, ok := strings.Cut(strings.TrimSpace(part), ";dur=")
			if !ok || name != metric {
				continue
			}
			f, err := strconv.ParseFloat(dur, 64)
			if err != nil {
				return 0, false
			}
			return time.Duration(f * float64(time.Millisecond)), true
		}
	}
	return 0, false
}

func pgVersion(ctx context.Context, db *pgxpool.Pool) string {
	var v string
	_ = db.QueryRow(ctx, `SHOW server_version`).Scan(&v)
	return v
}

func pct(d []time.Duration, p int) string {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return ms(s[max(0, min(len(s)-1, i-1))])
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// indexStarts writes a snapshot, then starts a fresh process twice: once
// building the indexes from the documents, once from the snapshot, each
// measuring the time from its start to the index ready and its memory.
func indexStarts(ctx context.Context, databaseURL string, index *searchindex.Syncer, opt Options, out io.Writer) error {
	opt.say("Writing a snapshot of the search index…")
	t := time.Now()
	written, size, err := index.WriteSnapshot(ctx)
	if err != nil {
		return err
	}
	if !written {
		return errors.New("bench: another process is writing a snapshot")
	}
	writeTime := time.Since(t)
	opt.say("Starting a fresh process from scratch, then from the snapshot…")
	scratch, err := startIn(ctx, databaseURL, true)
	if err != nil {
		return err
	}
	warm, err := startIn(ctx, databaseURL, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "### A serving process's search index: memory and start\n\n")
	fmt.Fprintf(out, "Snapshot: %s, written in %s (into PostgreSQL, in chunks).\n\n", mib(size), writeTime.Round(100*time.Millisecond))
	fmt.Fprintf(out, "| Start | process start → index ready | resident memory (VmRSS) | Go heap in use |\n|---|---|---|---|\n")
	for _, s := range []struct {
		name string
		s    Start
	}{{"from the documents (no snapshot)", scratch}, {"from the snapshot", warm}} {
		fmt.Fprintf(out, "| %s | %s | %s | %s |\n", s.name, s.s.Ready.Round(100*time.Millisecond), mib(s.s.RSS), mib(s.s.Heap))
	}
	fmt.Fprintf(out, "\nRatio of the starts: %.1f× faster from the snapshot.\n\n", float64(scratch.Ready)/float64(warm.Ready))
	fmt.Fprintf(out, "What the indexes hold, from the snapshot (`Index.Sizes`, both indexes):\n\n| part | size |\n|---|---|\n")
	parts := slices.SortedFunc(maps.Keys(warm.Sizes), func(a, b string) int { return cmp.Compare(warm.Sizes[b], warm.Sizes[a]) })
	var total int64
	for _, k := range parts {
		fmt.Fprintf(out, "| %s | %s |\n", k, mib(warm.Sizes[k]))
		total += warm.Sizes[k]
	}
	fmt.Fprintf(out, "| all | %s |\n\n", mib(total))
	return nil
}
