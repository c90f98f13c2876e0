package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"passerelle/internal/platform/config"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/server"
)

// With its database stopped the server keeps running and /readyz says 503;
// when the database comes back, readiness recovers without a restart. This
// test needs a cluster of its own, since it stops it.
func TestReadinessFollowsTheDatabase(t *testing.T) {
	ctx := context.Background()
	c := pgtest.OwnCluster(t)
	pool := c.Pool(t)
	cfg, _ := config.Load(func(string) string { return "" })
	srv := httptest.NewServer(server.New(server.Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), DB: pool}))
	defer srv.Close()

	status := func(path string) int {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/readyz"); got != http.StatusOK {
		t.Fatalf("database up: /readyz = %d", got)
	}

	// Clients keep searching while PostgreSQL goes down and comes back:
	// every answer is a page or a 503, never a 500 or a dropped connection.
	load, stopLoad := context.WithCancel(ctx)
	var mu sync.Mutex
	answers := map[int]int{}
	var broken []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for load.Err() == nil {
				resp, err := http.Get(srv.URL + "/offres?q=logiciel")
				mu.Lock()
				if err != nil {
					broken = append(broken, err.Error())
				} else {
					answers[resp.StatusCode]++
					resp.Body.Close()
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("database down: /readyz = %d, want 503", got)
	}
	// It says what is wrong, not the driver's message (addresses, users).
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if len(body) != 2 || body["status"] != "unavailable" || body["reason"] != "database" {
		t.Errorf("database down: /readyz says %q", body)
	}
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("database down: /healthz = %d, want 200 (process alive)", got)
	}
	if got := status("/"); got != http.StatusOK {
		t.Errorf("database down: home page = %d, want 200 (it needs no database)", got)
	}
	// A page that needs the database says "come back in a moment" (503
	// with Retry-After), not "our bug" (500).
	if got := status("/offres?q=logiciel"); got != http.StatusServiceUnavailable {
		t.Errorf("database down: catalogue = %d, want 503", got)
	}

	c.Restart(t)
	deadline := time.Now().Add(15 * time.Second)
	for status("/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("database back: /readyz did not recover within 15 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := status("/offres?q=logiciel"); got != http.StatusOK {
		t.Errorf("database back: catalogue = %d, want 200 without restarting the server", got)
	}
	time.Sleep(300 * time.Millisecond)
	stopLoad()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(broken) > 0 || answers[http.StatusInternalServerError] > 0 || len(answers) > 2 ||
		answers[http.StatusOK] == 0 || answers[http.StatusServiceUnavailable] == 0 {
		t.Errorf("under load through the outage: answers %v, dropped %d (%v); want only 200 and 503", answers, len(broken), broken[:min(3, len(broken))])
	}
	t.Logf("under load through the outage: %v", answers)
}
