// Command passerelle is the whole platform in one binary:
//
//	passerelle dev       start (or reuse) the private database, migrate, seed, serve: what `make run` does
//	passerelle serve     serve HTTP against DATABASE_URL
//	passerelle migrate   apply migrations (or `migrate down` to revert them all)
//	passerelle seed      load the demo data (refused in production)
//	passerelle db url    print the private cluster's URL, starting it if needed
//	passerelle db stop   stop the private cluster
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // deadlines and times are French: no dependence on the host's zone files

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/indicator"
	"passerelle/internal/matching"
	"passerelle/internal/platform/backup"
	"passerelle/internal/platform/config"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/metrics"
	"passerelle/internal/platform/pgcluster"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/search/searchindex"
	"passerelle/internal/server"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/bench"
	"passerelle/internal/tools/demo"
	"passerelle/internal/tools/scale"
	"passerelle/internal/tools/soak"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "passerelle:", err)
		os.Exit(1)
	}
}

const usage = `usage: passerelle <command>

commands:
  dev       start (or reuse) the private database, migrate, load demo data, serve
  serve     serve HTTP against DATABASE_URL
  migrate   apply every pending migration ("migrate down" reverts them all)
  seed      load the demo data (refused when PASSERELLE_ENV=production);
            seed --scale N generates N fictitious organisations with offers and references
  bench     measure search at scale (BENCH_DATABASE_URL or passerelle_bench; generates the data if missing)
  bench-registers
            import registers of national size in the published layouts (5 M units, 10 M establishments,
            1.5 M contracts by default): rows/s, peak memory, unchanged and 1 % changed re-imports
  eval      measure the matching on real public contracts against three baselines
            (-history, -directory, -queries, -json, -fit; EVAL_DATABASE_URL or passerelle_eval, made afresh)
  soak      run the platform 5 minutes under mixed traffic, report latency, errors and memory (SOAK_DATABASE_URL or passerelle_soak)
  import sirene UNITES ETABLISSEMENTS
            import INSEE's stock files (StockUniteLegale_utf8, StockEtablissement_utf8; .csv or .zip, paths or URLs)
  import decp FILE
            import the consolidated DECP (2019 or 2024 JSON schema; .json or .zip, path or URL)
  backup FILE
            write a backup of the database (pg_dump, custom format; the search index's snapshots left out)
  restore FILE
            load a backup into an empty database (DATABASE_URL); the search index is rebuilt at start
  db url    print the private cluster's connection URL (starting it if needed)
  db stop   stop the private cluster
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	switch args[0] {
	case "dev":
		return runDev(ctx, cfg, log, stdout)
	case "bench":
		return runBench(ctx, cfg, args[1:], getenv("BENCH_DATABASE_URL"), stdout, stderr)
	case "bench-registers":
		return runBenchRegisters(ctx, cfg, args[1:], getenv("BENCH_DATABASE_URL"), stdout, stderr)
	case "bench-start": // run by `bench` in a fresh process: one index start, measured
		return bench.MeasureStart(ctx, getenv("BENCH_START_DATABASE_URL"), slices.Contains(args[1:], "-scratch"), stdout)
	case "eval":
		return runEval(ctx, cfg, args[1:], getenv("EVAL_DATABASE_URL"), stdout, stderr)
	case "soak":
		return runSoak(ctx, cfg, args[1:], getenv("SOAK_DATABASE_URL"), stdout, stderr)
	case "serve":
		// Production is never the result of a variable someone forgot.
		if getenv("PASSERELLE_ENV") == "" {
			return errors.New("serve: set PASSERELLE_ENV (production, or development/test on a workstation); `make run` is the development command")
		}
		if cfg.DatabaseURL == "" {
			return errors.New("serve: DATABASE_URL is not set (use `passerelle dev` or `make run` for the private database)")
		}
		return serve(ctx, cfg, log, nil)
	case "import":
		return runImport(ctx, cfg, args[1:], stdout, stderr)
	case "backup", "restore":
		if len(args) != 2 {
			return fmt.Errorf("%s: want one file (passerelle %s FILE)", args[0], args[0])
		}
		url, err := databaseURL(ctx, cfg, stdout)
		if err != nil {
			return err
		}
		var took time.Duration
		if args[0] == "backup" {
			took, err = backup.Dump(ctx, url, args[1])
		} else {
			took, err = backup.Restore(ctx, args[1], url)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s in %s\n", args[0], args[1], took.Round(time.Millisecond))
		return nil
	case "migrate":
		url, err := databaseURL(ctx, cfg, stdout)
		if err != nil {
			return err
		}
		if len(args) > 1 && args[1] == "down" {
			if cfg.Production() && !slices.Contains(args[2:], "--drop-production-data") {
				return errors.New("migrate down: refused when PASSERELLE_ENV=production (it drops every table); add --drop-production-data if that is really what you want")
			}
			return postgres.MigrateDown(url)
		}
		if err := postgres.Migrate(url); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "migrations applied: schema at version %d\n", postgres.HeadVersion())
		return nil
	case "seed":
		// Checked before anything else: a production database is never touched.
		if cfg.Production() {
			return errors.New("seed: demo and generated data are refused when PASSERELLE_ENV=production")
		}
		url, err := databaseURL(ctx, cfg, stdout)
		if err != nil {
			return err
		}
		pool, err := postgres.Open(ctx, url)
		if err != nil {
			return err
		}
		defer pool.Close()
		fs := flag.NewFlagSet("seed", flag.ContinueOnError)
		fs.SetOutput(stderr)
		n := fs.Int("scale", 0, "also generate this many fictitious organisations (with offers and references) for load tests")
		seed := fs.Uint64("seed", 1, "random seed of the generated data")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *n > 0 {
			tax, err := taxonomy.Load()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Generating %d organisations with their offers and references…\n", *n)
			st, err := scale.Generate(ctx, pool, tax, scale.Options{Organisations: *n, Seed: *seed, Progress: stderr})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Generated %d organisations, %d offers, %d references, %d certifications in %s.\n",
				st.Organisations, st.Offers, st.References, st.Certifications, st.Elapsed.Round(time.Second))
			return nil
		}
		accounts, err := demo.Seed(ctx, pool, cfg.Production())
		if err != nil {
			return err
		}
		printAccounts(stdout, accounts)
		return nil
	case "db":
		fs := flag.NewFlagSet("db", flag.ContinueOnError)
		dir := fs.String("dir", filepath.Join(cfg.DataDir, "postgres"), "folder of the private cluster")
		if len(args) < 2 {
			return errors.New("db: want `db url` or `db stop`")
		}
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
		switch args[1] {
		case "url":
			c, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: *dir, Install: true, Log: stderr})
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, c.URL("passerelle"))
			return nil
		case "stop":
			return pgcluster.StopDir(ctx, *dir)
		}
		return fmt.Errorf("db: unknown subcommand %q", args[1])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// runDev is `make run`: the whole platform from nothing, reusing what a
// previous run left.
func runDev(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	if cfg.Production() {
		return errors.New("dev: refused when PASSERELLE_ENV=production (use migrate and serve)")
	}
	var cluster *pgcluster.Cluster
	if cfg.DatabaseURL == "" {
		c, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: filepath.Join(cfg.DataDir, "postgres"), Install: true, Log: stdout})
		if err != nil {
			return err
		}
		cluster = c
		if err := postgres.EnsureDatabase(ctx, c.URL("postgres"), "passerelle"); err != nil {
			return err
		}
		cfg.DatabaseURL = c.URL("passerelle")
		if c.Started {
			// We started it, so we stop it when the server stops; the data stays.
			defer func() {
				if err := c.Stop(context.Background()); err != nil {
					log.Error("stop private database", "err", err)
				} else {
					fmt.Fprintln(stdout, "PostgreSQL stopped; data kept in", c.Dir)
				}
			}()
		}
	}
	if err := postgres.Migrate(cfg.DatabaseURL); err != nil {
		return err
	}
	return serve(ctx, cfg, log, func(pool postgresPool, addr string) error {
		accounts, err := demo.Seed(ctx, pool, false)
		if err != nil {
			return err
		}
		// On a first start the catalogue and the directory would show the
		// demo SME alone: add a few hundred generated SMEs with offers and
		// references.
		var sellers int
		if err := pool.QueryRow(ctx, `SELECT count(DISTINCT organisation_id) FROM offers`).Scan(&sellers); err != nil {
			return err
		}
		if sellers <= 1 {
			fmt.Fprintln(stdout, "First start: generating 300 fictitious SMEs with offers and references for the demo…")
			if _, err := scale.Generate(ctx, pool, taxonomy.MustLoad(), scale.Options{Organisations: 300, Seed: 1}); err != nil {
				return err
			}
		}
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "  Passerelle is running at", "http://"+addr)
		if cluster != nil {
			fmt.Fprintln(stdout, "  Database:", config.MaskURL(cfg.DatabaseURL), "(private cluster in", cluster.Dir+")")
		} else {
			fmt.Fprintln(stdout, "  Database:", config.MaskURL(cfg.DatabaseURL))
		}
		printAccounts(stdout, accounts)
		fmt.Fprintln(stdout, "  Press Ctrl-C to stop.")
		fmt.Fprintln(stdout)
		return nil
	})
}

type postgresPool = *pgxpool.Pool

// serve opens the pool and serves until ctx ends; ready runs once the
// listener is open, before the first request is accepted.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready func(pool postgresPool, addr string) error) error {
	log.Info("starting", "config", cfg)
	// Two pools: web requests (bounded statements, no transaction left
	// open) and background work (jobs, the search index's rebuilds, which
	// may take minutes), so neither starves the other.
	web := postgres.ServerPool("passerelle-web", int32(cfg.DBMaxConns))
	web.StatementTimeout, web.IdleInTxTimeout = cfg.RequestTimeout, 30*time.Second
	pool, err := postgres.OpenWith(ctx, cfg.DatabaseURL, web)
	if err != nil {
		return err
	}
	defer pool.Close()
	background, err := postgres.OpenWith(ctx, cfg.DatabaseURL, postgres.ServerPool("passerelle-background", 4))
	if err != nil {
		return err
	}
	defer background.Close()
	tax, err := taxonomy.Load()
	if err != nil {
		return err
	}
	catalog, err := i18n.Load()
	if err != nil {
		return err
	}
	// Every server also works the job queue (every domain's background
	// work); River lets any number of them share it safely.
	var sender mail.Sender = mail.LogSender{Log: log}
	if cfg.SMTPAddr != "" {
		sender = mail.SMTPSender{Addr: cfg.SMTPAddr, From: cfg.MailFrom, AllowPlain: cfg.SMTPPlain}
	}
	reg := jobs.NewRegistry()
	// The matching's memory of SMEs loads in the background; rankings read
	// PostgreSQL alone until then.
	evidence := matching.NewKeeper(background)
	evidence.Loaded = func(orgs, refs, offers int, took time.Duration) {
		log.Info("matching memory loaded", "organisations", orgs, "past_contracts", refs, "offer_rows", offers, "took", took.Round(100*time.Millisecond))
	}
	go func() {
		if err := evidence.Run(ctx); err != nil {
			log.Error("matching memory not loaded: rankings read PostgreSQL alone", "err", err)
		}
	}()
	server.Background(reg, cfg, background, tax, sender, log, evidence)
	quiet := jobs.NewQuiet(log, background) // one line when the database goes, one when it returns
	queue, err := jobs.New(background, reg, log, jobs.Options{Quiet: quiet})
	if err != nil {
		return err
	}
	if err := queue.Start(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := queue.Stop(stopCtx); err != nil {
			log.Error("stop job workers", "err", err)
		}
	}()
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	addr := l.Addr().String()
	if ready != nil {
		if err := ready(pool, displayAddr(addr)); err != nil {
			l.Close()
			return err
		}
	}
	// The search index builds in the background; search runs in SQL until then.
	index := searchindex.NewSyncer(background, log)
	go func() {
		if err := index.Run(ctx); err != nil {
			log.Error("search index stopped: search runs in SQL", "err", err)
		}
	}()
	log.Info("listening", "addr", addr)
	draining := new(atomic.Bool)
	m := metrics.New(metrics.Sources{Queue: quiet, Pools: map[string]*pgxpool.Pool{"web": pool, "background": background},
		DB: background, Index: index, Log: log})
	if cfg.MetricsAddr != "" {
		// Operators only: never on the public address.
		ml, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics: listen on %s: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		go func() {
			if err := server.Serve(ctx, ml, mux, cfg, log); err != nil {
				log.Error("metrics server stopped", "err", err)
			}
		}()
		log.Info("metrics", "addr", ml.Addr().String())
	}
	// Offer views are counted in memory and written every few seconds,
	// then once more after the last request.
	views := indicator.NewViews(pool)
	go views.Run(ctx, indicator.FlushEvery, func(err error) { log.Error("offer views: kept for the next flush", "err", err) })
	h := server.New(server.Deps{Config: cfg, Logger: log, DB: pool, Taxonomy: tax, Catalog: catalog, Jobs: queue, Index: index,
		Draining: draining, Metrics: m, Views: views, Evidence: evidence})
	err = server.ServeDraining(ctx, l, h, cfg, log, draining)
	flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ferr := views.Flush(flushCtx); ferr != nil {
		log.Error("offer views: the last ones are lost", "views", views.Pending(), "err", ferr)
	}
	return err
}

// displayAddr turns 127.0.0.1:8080 into localhost:8080 for the banner.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "127.0.0.1" || host == "::1" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// databaseURL is DATABASE_URL, or the private cluster's database.
func databaseURL(ctx context.Context, cfg config.Config, logw io.Writer) (string, error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, nil
	}
	if cfg.Production() {
		return "", errors.New("DATABASE_URL is required in production")
	}
	c, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: filepath.Join(cfg.DataDir, "postgres"), Install: true, Log: logw})
	if err != nil {
		return "", err
	}
	if err := postgres.EnsureDatabase(ctx, c.URL("postgres"), "passerelle"); err != nil {
		return "", err
	}
	return c.URL("passerelle"), nil
}

func printAccounts(w io.Writer, accounts []demo.Account) {
	if len(accounts) == 0 {
		return
	}
	fmt.Fprintln(w, "  Demo accounts (password "+demo.Password+"):")
	for _, a := range accounts {
		fmt.Fprintf(w, "    %-28s %s\n", a.Email, a.Role)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runBench measures search at scale in its own database (BENCH_DATABASE_URL
// or passerelle_bench in the private cluster), generating the data first
// when it holds fewer organisations than asked.
func runBench(ctx context.Context, cfg config.Config, args []string, benchURL string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("scale", 1000000, "organisations the benchmark database must hold")
	opt := bench.Options{}
	fs.IntVar(&opt.Queries, "queries", 300, "searches sampled and timed one at a time")
	fs.DurationVar(&opt.Duration, "duration", 20*time.Second, "length of each load phase")
	fs.Uint64Var(&opt.Workers, "workers", 8, "concurrent clients of the load phases")
	fs.Uint64Var(&opt.Seed, "seed", 1, "random seed of the sampled searches")
	out := fs.String("out", filepath.Join(".artifacts", "bench.md"), "where to write the Markdown report too")
	matchingOnly := fs.Int("matching", 0, "only time the ranking of this many requests (the matching benchmark)")
	memory := fs.Bool("memory", false, "with -matching: rank with the evidence held in memory (matching.Memory)")
	fs.IntVar(&opt.Requests, "requests", 100000, "purchase requests of the buyer side (made once, 100 matches each); 0 skips it")
	fs.BoolVar(&opt.IndexOnly, "index-only", false, "leave out the searches in PostgreSQL alone (comparing two versions of the index)")
	fs.BoolVar(&opt.BuyerOnly, "buyer", false, "only measure the buyer side (request page, requests for an SME, observatory, staff figures)")
	recompute := fs.Int("recompute", 0, "only time the recompute of this many changed SMEs against the open requests")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile (go tool pprof) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.Production() {
		return errors.New("bench: refused when PASSERELLE_ENV=production")
	}
	url, err := measureDatabase(ctx, cfg, benchURL, "passerelle_bench", *n, false, stderr)
	if err != nil {
		return err
	}
	f, err := reportFile(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	if *matchingOnly > 0 {
		return benchMatching(ctx, url, *matchingOnly, *memory, io.MultiWriter(stdout, f), stderr)
	}
	if *recompute > 0 {
		return benchRecompute(ctx, url, opt.Requests, *recompute, io.MultiWriter(stdout, f), stderr)
	}
	fmt.Fprintln(stderr, "Measuring (about 6 minutes)…")
	opt.Progress = stderr
	if err := bench.Run(ctx, url, opt, io.MultiWriter(stdout, f)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Report written to %s\n", *out)
	return nil
}

// runSoak is `make soak`: the whole platform under mixed traffic for a
// while, on a database of its own, with a report per minute.
func runSoak(ctx context.Context, cfg config.Config, args []string, soakURL string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opt := soak.Options{Progress: stderr}
	fs.DurationVar(&opt.Duration, "duration", 5*time.Minute, "length of the run")
	fs.DurationVar(&opt.Window, "window", 30*time.Second, "one line of the report")
	fs.IntVar(&opt.Workers, "workers", 16, "concurrent clients")
	orgs := fs.Int("scale", 20000, "organisations the soak database holds (generated once)")
	out := fs.String("out", filepath.Join(".artifacts", "soak.md"), "where to write the report too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Production() {
		return errors.New("soak: refused when PASSERELLE_ENV=production")
	}
	url, err := measureDatabase(ctx, cfg, soakURL, "passerelle_soak", *orgs, true, stderr)
	if err != nil {
		return err
	}
	f, err := reportFile(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(stderr, "Soaking for %s with %d clients…\n", opt.Duration, opt.Workers)
	if err := soak.Run(ctx, url, opt, io.MultiWriter(stdout, f)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Report written to %s\n", *out)
	return nil
}

// measureDatabase is the database a measuring command works on (url when
// set, else the database name of the private cluster), migrated, with the
// demo accounts when asked and at least 90 % of orgs organisations,
// generated once (about 13 minutes per million here).
func measureDatabase(ctx context.Context, cfg config.Config, url, name string, orgs int, withDemo bool, stderr io.Writer) (string, error) {
	if url == "" {
		c, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: filepath.Join(cfg.DataDir, "postgres"), Install: true, Log: stderr})
		if err != nil {
			return "", err
		}
		if err := postgres.EnsureDatabase(ctx, c.URL("postgres"), name); err != nil {
			return "", err
		}
		url = c.URL(name)
	}
	if err := postgres.Migrate(url); err != nil {
		return "", err
	}
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	if withDemo {
		if _, err := demo.Seed(ctx, pool, false); err != nil {
			return "", err
		}
	}
	var have int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM organisations`).Scan(&have); err != nil {
		return "", err
	}
	if have < orgs*9/10 {
		fmt.Fprintf(stderr, "The %s database holds %d organisations; generating %d more (about 13 minutes per million here)…\n", name, have, orgs-have)
		if _, err := scale.Generate(ctx, pool, taxonomy.MustLoad(), scale.Options{Organisations: orgs - have, Seed: 1, Progress: stderr}); err != nil {
			return "", err
		}
	}
	return url, nil
}

// reportFile creates a measuring command's report file, and its folder.
func reportFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.Create(path)
}
