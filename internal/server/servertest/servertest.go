// Package servertest starts the real application handler on a real HTTP
// server against a fresh migrated database, for handler and browser tests.
package servertest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/matching"
	"passerelle/internal/platform/config"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/mail/mailtest"
	"passerelle/internal/platform/metrics"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/search/searchindex"
	"passerelle/internal/server"
	"passerelle/internal/taxonomy"
)

// App is a running application for one test.
type App struct {
	URL    string
	DB     *pgxpool.Pool
	Config config.Config
	Server *httptest.Server
	Mail   *mailtest.Server // the SMTP server the application delivers to
	// Handler is the application's router, for tests that walk its routes.
	Handler http.Handler
	// Metrics is what METRICS_ADDR serves (not on the public router).
	Metrics http.Handler
	// Jobs is the application's job queue, for tests that run a job now.
	Jobs jobs.Client
}

// Options change the application's settings for one test.
type Options struct {
	RateLimit    int       // attempts per IP and minute; default: high enough not to interfere
	SessionStore scs.Store // default: PostgreSQL, as in production
	// TrustedProxies is TRUSTED_PROXIES (comma-separated CIDRs); default none.
	TrustedProxies string
	// DB shares another app's database: a second server of the same
	// platform, with its own job workers, search index and mail relay.
	DB *pgxpool.Pool
}

// Start serves the application on a random port until t ends, with its
// job workers delivering mail to an in-process SMTP server.
func Start(t testing.TB) *App { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *App {
	t.Helper()
	if o.RateLimit == 0 {
		o.RateLimit = 10000
	}
	pool := o.DB
	if pool == nil {
		pool = pgtest.Pool(t)
	}
	smtp := mailtest.Start(t)
	// The handler needs its base URL (links in mails) before the listener
	// exists, so the listener is made first.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PASSERELLE_ENV": config.EnvTest, "PORT": "0", "PASSERELLE_BASE_URL": base,
			"SMTP_ADDR": smtp.Addr, "RATE_LIMIT_PER_MINUTE": strconv.Itoa(o.RateLimit), "TRUSTED_PROXIES": o.TrustedProxies}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	// The server's warnings and errors are kept and shown when the test
	// fails (a 500 page only gives a reference); -v shows every line live.
	kept := &logTail{}
	log := slog.New(slog.NewTextHandler(kept, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	t.Cleanup(func() {
		if t.Failed() {
			if lines := kept.String(); lines != "" {
				t.Logf("server warnings and errors:\n%s", lines)
			}
		}
	})
	reg := jobs.NewRegistry()
	evidence := matching.NewKeeper(pool) // run below, as servers run it
	server.Background(reg, cfg, pool, taxonomy.MustLoad(), mail.SMTPSender{Addr: smtp.Addr, From: cfg.MailFrom, AllowPlain: true}, log, evidence)
	queue, err := jobs.New(pool, reg, log, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = queue.Stop(stopCtx)
		cancel()
	})
	index := searchindex.NewSyncer(pool, log)
	index.Poll = 100 * time.Millisecond
	go func() { _ = index.Run(ctx) }()
	go func() { _ = evidence.Run(ctx) }()
	m := metrics.New(metrics.Sources{Pools: map[string]*pgxpool.Pool{"web": pool}, DB: pool, Index: index, Log: log})
	h := server.New(server.Deps{Config: cfg, Logger: log, DB: pool, Jobs: queue, Index: index, SessionStore: o.SessionStore, Metrics: m,
		Evidence: evidence})
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return &App{URL: srv.URL, DB: pool, Config: cfg, Server: srv, Mail: smtp, Handler: h, Metrics: m.Handler(), Jobs: queue}
}

// Client returns an HTTP client with its own cookie jar that does not follow
// redirects, so tests see each 303.
func (a *App) Client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// logTail keeps the last lines a server logged.
type logTail struct {
	mu    sync.Mutex
	lines []string
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	if len(l.lines) > 200 {
		l.lines = l.lines[len(l.lines)-200:]
	}
	return len(p), nil
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
