package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"passerelle/internal/matching"
	"passerelle/internal/member"
	"passerelle/internal/platform/config"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/present"
	"passerelle/internal/taxonomy"
)

func testServer(t *testing.T) *Server {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return &Server{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), catalog: i18n.MustLoad()}
}

func TestLocalPath(t *testing.T) {
	tests := map[string]string{
		"":                     "/",
		"/":                    "/",
		"/annuaire?q=logiciel": "/annuaire?q=logiciel",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"/a\r\nSet-Cookie: x":  "/",
		"relative/path":        "/",
		// The classic bypass list.
		"/\t/evil.example":             "/",
		"/\n/evil.example":             "/",
		"/\x00/evil.example":           "/",
		"\t//evil.example":             "/",
		" //evil.example":              "/",
		"\\\\evil.example":             "/",
		"/\\/evil.example":             "/",
		"/.\\evil.example":             "/",
		"https:evil.example":           "/",
		"https:/evil.example":          "/",
		"//evil.example/%2F..":         "/",
		"///evil.example":              "/",
		"/\u202e/evil.example":         "/",
		"/\xff/evil.example":           "/",
		"/profil?retour=//x":           "/profil?retour=//x",
		"/%2F%2Fevil.example":          "/", // a path, but refused: nothing legitimate looks like it
		"/offres?q=caf%C3%A9&f=reg:84": "/offres?q=caf%C3%A9&f=reg:84",
	}
	for in, want := range tests {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPanicBecomesFriendly500(t *testing.T) {
	s := testServer(t)
	var logged strings.Builder
	s.log = slog.New(slog.NewTextHandler(&logged, nil))
	h := middleware.RequestID(s.language(s.recoverPanic(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "Une erreur est survenue") || strings.Contains(body, "goroutine") {
		t.Errorf("500 page leaks or is not friendly: %.200s", body)
	}
	if !strings.Contains(logged.String(), "boom") || !strings.Contains(logged.String(), "request_id") {
		t.Errorf("panic not logged with its request id: %s", logged.String())
	}
}

// Shutdown lets a request that is already running finish.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	s := testServer(t)
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(500 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, h, s.cfg, s.log) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()
	<-started
	cancel()
	r := <-res
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + l.Addr().String() + "/"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

// panicStore is a session store that panics when it reads a session.
type panicStore struct{}

func (panicStore) Find(string) ([]byte, bool, error)      { panic("session store exploded") }
func (panicStore) Delete(string) error                    { return nil }
func (panicStore) Commit(string, []byte, time.Time) error { return nil }

// A panic in the session middleware, before any handler, still gets the
// friendly 500 page: the test goes through the real chain of routes().
func TestPanicInSessionMiddlewareBecomesFriendly500(t *testing.T) {
	s := testServer(t)
	var logged strings.Builder
	s.log = slog.New(slog.NewTextHandler(&logged, nil))
	s.sessions = newSessions(nil, false)
	s.sessions.Store = panicStore{}
	s.sessions.ErrorFunc = s.sessionError
	srv := httptest.NewServer(s.routes())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: "passerelle_session", Value: "any-session-token"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the connection was dropped instead of a 500 page: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	if !strings.Contains(string(body), `data-testid="error-page"`) || strings.Contains(string(body), "goroutine") {
		t.Errorf("500 page leaks or is not friendly: %.300s", body)
	}
	if !strings.Contains(logged.String(), "session store exploded") {
		t.Errorf("panic not logged: %s", logged.String())
	}
}

// A server whose password-hashing slots are all taken answers 503 with
// Retry-After, not 500.
func TestBusyIs503(t *testing.T) {
	s := testServer(t)
	rec := httptest.NewRecorder()
	h := middleware.RequestID(s.language(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serverError(w, r, fmt.Errorf("sign in: %w", member.ErrBusy))
	})))
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/connexion", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// At shutdown the server first says it is not ready (the load balancer
// stops sending), keeps answering for the drain delay, then closes.
func TestShutdownFailsReadinessFirstThenDrains(t *testing.T) {
	s := testServer(t)
	s.cfg.DrainDelay = 600 * time.Millisecond
	draining := new(atomic.Bool)
	s.draining = draining
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", s.readyz)
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "still serving") })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeDraining(ctx, l, mux, s.cfg, s.log, draining) }()
	base := "http://" + l.Addr().String()
	get := func(path string) (int, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, _ := get("/page"); code != http.StatusOK {
		t.Fatalf("before shutdown: %d", code)
	}
	cancel()
	time.Sleep(100 * time.Millisecond)
	if code, err := get("/readyz"); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("while draining, /readyz: %d %v, want 503", code, err)
	}
	if code, err := get("/page"); err != nil || code != http.StatusOK {
		t.Errorf("while draining, pages: %d %v, want still served", code, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := get("/page"); err == nil {
		t.Error("still accepting connections after the drain")
	}
}

// A match's stored facts read as sentences in the reader's language, with
// the codes they cite named: the CPV prefix, the level, the département.
func TestReasonTextsNameWhatTheyCite(t *testing.T) {
	s := testServer(t)
	s.tax = taxonomy.MustLoad()
	raw := matching.FactsJSON([]matching.Fact{
		{Code: matching.ReasonPast, Count: 3, Level: "group", Prefix: "722", Year: 2018},
		{Code: matching.ReasonBasedDepartement, Departement: "69"},
	})
	for lang, want := range map[string][]string{
		"fr": {"3", "le même groupe", "722 · Services de programmation", "2018", "69 · Rhône"},
		"en": {"3", "722 · ", "2018", "69 · Rhône"},
	} {
		var got []string
		for _, l := range s.labels(s.catalog.Localizer(lang)).Explain(raw, present.Buyer).Reasons {
			got = append(got, l.Text)
		}
		all := strings.Join(got, " | ")
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: %q lacks %q", lang, all, w)
			}
		}
		if strings.Contains(all, "match.") || strings.Contains(all, "{{") {
			t.Errorf("%s: an untranslated reason: %q", lang, all)
		}
	}
}
