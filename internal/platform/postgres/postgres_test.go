package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"passerelle/internal/platform/postgres"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
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

// The French fold (migration 000006) loses nothing that matched before:
// on every real contract object of the DECP data, each of its words still
// finds it, and finds it typed without accents too.
func TestFrenchFoldKeepsEveryEarlierMatch(t *testing.T) {
	pool := pgtest.Pool(t)
	var docs []string
	if err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		if r["probleme_encodage"] == "0" {
			docs = append(docs, r["objet"], r["cpv_libelle_fr"])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(context.Background(), `
		WITH d AS (SELECT DISTINCT unnest($1::text[]) AS doc),
		w AS (SELECT doc, word FROM d, regexp_split_to_table(doc, '[][[:space:],.;:()''’"/?!&+*=<>«»_-]+') AS word WHERE length(word) > 1)
		SELECT doc, word,
		       to_tsvector('french_unaccent', doc) @@ websearch_to_tsquery('french_unaccent', word) AS before,
		       fr_tsvector(doc) @@ fr_tsquery(word) AS after,
		       fr_tsvector(doc) @@ fr_tsquery(immutable_unaccent(word)) AS unaccented
		FROM w WHERE numnode(fr_tsquery(word)) > 0`, docs)
	if err != nil {
		t.Fatal(err)
	}
	var pairs, lost int
	for rows.Next() {
		var doc, word string
		var before, after, unaccented bool
		if err := rows.Scan(&doc, &word, &before, &after, &unaccented); err != nil {
			t.Fatal(err)
		}
		pairs++
		if (before && !after) || (after && !unaccented) {
			lost++
			if lost <= 10 {
				t.Errorf("%q: word %q matched before %t, now %t, unaccented %t", doc, word, before, after, unaccented)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if pairs < 20000 {
		t.Fatalf("only %d (text, word) pairs checked", pairs)
	}
	if lost > 0 {
		t.Errorf("%d of %d (text, word) pairs no longer match", lost, pairs)
	}
}

// A schema newer than the binary (the next release migrated first, during
// a rolling deploy) keeps this server ready; an older or dirty one does not.
func TestReadyAcceptsANewerCleanSchema(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	head := int64(postgres.HeadVersion())
	for _, tc := range []struct {
		version int64
		dirty   bool
		ready   bool
	}{{head, false, true}, {head + 1, false, true}, {head - 1, false, false}, {head + 1, true, false}, {head, true, false}} {
		if _, err := pool.Exec(ctx, `UPDATE schema_migrations SET version = $1, dirty = $2`, tc.version, tc.dirty); err != nil {
			t.Fatal(err)
		}
		err := postgres.Ready(ctx, pool)
		if (err == nil) != tc.ready || (err != nil && !errors.Is(err, postgres.ErrNotMigrated)) {
			t.Errorf("schema at %d (dirty %t): %v, want ready %t", tc.version, tc.dirty, err, tc.ready)
		}
	}
}

// A pool opened with limits gives them to each of its connections.
func TestOpenWithLimits(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	pool, err := postgres.OpenWith(ctx, url, postgres.PoolOptions{Name: "passerelle-web", MaxConns: 3,
		StatementTimeout: 2 * time.Second, IdleInTxTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var name, stmt, idle string
	if err := pool.QueryRow(ctx, `SELECT current_setting('application_name'), current_setting('statement_timeout'),
		current_setting('idle_in_transaction_session_timeout')`).Scan(&name, &stmt, &idle); err != nil {
		t.Fatal(err)
	}
	if name != "passerelle-web" || stmt != "2s" || idle != "30s" || pool.Config().MaxConns != 3 {
		t.Errorf("name %q, statement_timeout %q, idle_in_transaction %q, max conns %d", name, stmt, idle, pool.Config().MaxConns)
	}
	// A statement past the limit is cancelled, not left running.
	if _, err := pool.Exec(ctx, `SELECT pg_sleep(3)`); err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("a 3 s statement under a 2 s limit: %v", err)
	}
}
