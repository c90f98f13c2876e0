// Package servertest starts the real application handler on a real HTTP
// server against a fresh migrated database, for handler and browser tests.
package servertest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/config"
	"passerelle/internal/postgres/pgtest"
	"passerelle/internal/server"
)

// App is a running application for one test.
type App struct {
	URL    string
	DB     *pgxpool.Pool
	Config config.Config
	Server *httptest.Server
}

// Start serves the application on a random port until t ends.
func Start(t testing.TB) *App {
	t.Helper()
	pool := pgtest.Pool(t)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PASSERELLE_ENV": config.EnvTest, "PORT": "0"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	h := server.New(server.Deps{Config: cfg, Logger: log, DB: pool})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL
	return &App{URL: srv.URL, DB: pool, Config: cfg, Server: srv}
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

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
