package main

import (
	"bytes"
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"passerelle/internal/platform/postgres"
	"passerelle/internal/platform/postgres/pgtest"
)

func TestRunRejectsBadConfigurationClearly(t *testing.T) {
	var out, errw bytes.Buffer
	err := run(context.Background(), []string{"serve"}, func(k string) string {
		return map[string]string{"PORT": "huit-mille"}[k]
	}, &out, &errw)
	if err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Fatalf("bad PORT: %v", err)
	}
	if err := run(context.Background(), []string{"fly"}, func(string) string { return "" }, &out, &errw); err == nil {
		t.Fatal("unknown command accepted")
	}
	// serve never guesses the environment.
	err = run(context.Background(), []string{"serve"}, func(k string) string {
		return map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x"}[k]
	}, &out, &errw)
	if err == nil || !strings.Contains(err.Error(), "PASSERELLE_ENV") {
		t.Errorf("serve without PASSERELLE_ENV: %v", err)
	}
}

func TestMigrateAndSeedAreIdempotent(t *testing.T) {
	url := pgtest.URL(t)
	getenv := func(k string) string { return map[string]string{"DATABASE_URL": url}[k] }
	pool, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// What the demo data consists of, table by table.
	counts := func() map[string]int {
		m := map[string]int{}
		for _, table := range []string{"organisations", "users", "offers", "org_references", "certifications", "audit_entries", "emails"} {
			var n int
			if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			m[table] = n
		}
		return m
	}
	var first map[string]int
	for i := range 2 {
		var out, errw bytes.Buffer
		if err := run(context.Background(), []string{"migrate"}, getenv, &out, &errw); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		if err := run(context.Background(), []string{"seed"}, getenv, &out, &errw); err != nil {
			t.Fatalf("seed: %v", err)
		}
		if !strings.Contains(out.String(), "pme@passerelle.test") {
			t.Errorf("seed %d does not print the demo accounts: %s", i+1, out.String())
		}
		if i == 0 {
			first = counts()
			continue
		}
		if second := counts(); !maps.Equal(first, second) {
			t.Errorf("second seed changed the data: %v, then %v", first, second)
		}
	}
	if first["organisations"] == 0 || first["users"] == 0 {
		t.Fatalf("seed wrote no demo data: %v", first)
	}
	// Every demo account can be found with its role.
	for email, role := range map[string]string{"admin@passerelle.test": "admin", "equipe@passerelle.test": "staff",
		"acheteur@passerelle.test": "owner", "pme@passerelle.test": "owner"} {
		var got string
		if err := pool.QueryRow(context.Background(), `SELECT role::text FROM users WHERE email = $1`, email).Scan(&got); err != nil || got != role {
			t.Errorf("demo account %s: role %q, %v; want %q", email, got, err, role)
		}
	}
	if err := postgres.Ready(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
}

// Demo data (and generated data) are refused in production, by the guard
// itself: the configuration is valid and the database reachable, and
// nothing is written.
func TestSeedRefusedInProduction(t *testing.T) {
	url := pgtest.URL(t)
	getenv := func(k string) string {
		return map[string]string{"PASSERELLE_ENV": "production", "DATABASE_URL": url, "SMTP_ADDR": "127.0.0.1:25"}[k]
	}
	for _, args := range [][]string{{"seed"}, {"seed", "--scale", "10"}} {
		var out, errw bytes.Buffer
		err := run(context.Background(), args, getenv, &out, &errw)
		if err == nil || !strings.Contains(err.Error(), "refused when PASSERELLE_ENV=production") {
			t.Fatalf("%v in production: %v, want the production guard's refusal", args, err)
		}
	}
	pool, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM organisations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d organisations written in production", n)
	}
}

// migrate down drops every table: refused in production without its flag.
func TestMigrateDownRefusedInProduction(t *testing.T) {
	url := pgtest.URL(t)
	getenv := func(k string) string {
		return map[string]string{"PASSERELLE_ENV": "production", "DATABASE_URL": url, "SMTP_ADDR": "127.0.0.1:25"}[k]
	}
	var out, errw bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "down"}, getenv, &out, &errw); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("migrate down in production: %v", err)
	}
	pool, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Ready(context.Background(), pool); err != nil {
		t.Errorf("the schema was touched: %v", err)
	}
}

// A server without an SMTP relay still runs every domain's background
// jobs: search's daily pruning of its change log runs at start.
func TestServeRunsPeriodicJobsWithoutSMTP(t *testing.T) {
	url := pgtest.URL(t)
	pool, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO search_changes (list, id, at) VALUES ('offers', 1, now() - interval '2 days')`); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		return map[string]string{"PASSERELLE_ENV": "test", "DATABASE_URL": url, "PORT": "0", "LOG_LEVEL": "error"}[k]
	}
	srvCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		var out, errw bytes.Buffer
		done <- run(srvCtx, []string{"serve"}, getenv, &out, &errw)
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var completed, left int
		if err := pool.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM river_job WHERE kind = 'search.prune_changes' AND state = 'completed'),
				(SELECT count(*) FROM search_changes WHERE at < now() - interval '1 day')`).Scan(&completed, &left); err != nil {
			t.Fatal(err)
		}
		if completed > 0 && left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s without SMTP_ADDR: %d prune jobs completed, %d stale changes left", completed, left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
