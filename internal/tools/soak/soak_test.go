package soak_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"passerelle/internal/platform/postgres"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/demo"
	"passerelle/internal/tools/scale"
	"passerelle/internal/tools/soak"
)

// A short soak (the tool of `make soak`): mixed traffic, no error, one
// report line per window.
func TestShortSoak(t *testing.T) {
	url := pgtest.URL(t) // a migrated database of its own
	ctx := context.Background()
	p, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := demo.Seed(ctx, p, false); err != nil {
		t.Fatal(err)
	}
	if _, err := scale.Generate(ctx, p, taxonomy.MustLoad(), scale.Options{Organisations: 200, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	var out, logged bytes.Buffer
	if err := soak.Run(ctx, url, soak.Options{Duration: 4 * time.Second, Window: 2 * time.Second, Workers: 8,
		Log: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))}, &out); err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), logged.String())
	}
	lines := strings.Count(out.String(), "\n| ")
	if lines != 2 || !strings.Contains(out.String(), " 0 errors;") {
		t.Errorf("report:\n%s", out.String())
	}
}
