package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"passerelle/internal/postgres"
	"passerelle/internal/postgres/pgtest"
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
	if err := run(context.Background(), []string{"seed"}, func(k string) string {
		return map[string]string{"PASSERELLE_ENV": "production", "DATABASE_URL": "postgres://x@127.0.0.1:1/x"}[k]
	}, &out, &errw); err == nil {
		t.Fatal("seed ran in production")
	}
}

func TestMigrateAndSeedAreIdempotent(t *testing.T) {
	url := pgtest.URL(t)
	getenv := func(k string) string { return map[string]string{"DATABASE_URL": url}[k] }
	for range 2 {
		var out, errw bytes.Buffer
		if err := run(context.Background(), []string{"migrate"}, getenv, &out, &errw); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		if err := run(context.Background(), []string{"seed"}, getenv, &out, &errw); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	pool, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Ready(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
}
