package postgres_test

import (
	"context"
	"errors"
	"testing"

	"passerelle/internal/postgres"
	"passerelle/internal/postgres/pgtest"
)

// Every migration must go down and up again cleanly (house rule 10).
func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Ready(ctx, pool); err != nil {
		t.Fatalf("fresh test database not at head: %v", err)
	}
	if err := postgres.MigrateDown(url); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := postgres.Ready(ctx, pool); !errors.Is(err, postgres.ErrNotMigrated) {
		t.Fatalf("after down, Ready = %v, want ErrNotMigrated", err)
	}
	var leftovers int
	if err := pool.QueryRow(ctx, `SELECT
		  (SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
		     AND c.relname NOT LIKE 'schema\_migrations%')
		+ (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)
		+ (SELECT count(*) FROM pg_ts_config WHERE cfgnamespace = 'public'::regnamespace)
		+ (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typname NOT LIKE '%schema\_migrations')`).Scan(&leftovers); err != nil {
		t.Fatal(err)
	}
	if leftovers != 0 {
		t.Errorf("after down, %d objects remain in schema public", leftovers)
	}
	if err := postgres.Migrate(url); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if err := postgres.Ready(ctx, pool); err != nil {
		t.Fatalf("after up again: %v", err)
	}
}

func TestFrenchUnaccentSearchConfiguration(t *testing.T) {
	pool := pgtest.Pool(t)
	tests := []struct {
		doc, query string
		want       bool
	}{
		{"Logiciels de gestion de l'énergie", "logiciel", true},
		{"Logiciels de gestion de l'énergie", "energie", true},
		{"Services de nettoyage de bâtiments", "batiment", true},
		{"Services de nettoyage de bâtiments", "logiciel", false},
	}
	for _, tt := range tests {
		var got bool
		err := pool.QueryRow(context.Background(),
			`SELECT to_tsvector('french_unaccent', $1) @@ plainto_tsquery('french_unaccent', $2)`, tt.doc, tt.query).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%q matches %q = %t, want %t", tt.doc, tt.query, got, tt.want)
		}
	}
}
