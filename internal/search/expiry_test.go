package search_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/search"
)

// A certification that expires after the SME's last change stops counting
// at the next daily run.
func TestCertExpiryJob(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	x := search.NewIndexer(tax)
	var org int64
	if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
		VALUES ('007050065', 'Terrassements des Alpes', 'pme', '43.12A', '11', '04', 'member') RETURNING id`).Scan(&org); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO certifications (organisation_id, name, expires_on) VALUES ($1, 'Qualibat RGE', current_date + 30)`, org); err != nil {
		t.Fatal(err)
	}
	facets := func() []string {
		var f []string
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT facets FROM organisations WHERE id = $1`, org), &f)
		return f
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return x.Refresh(ctx, tx, org) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(facets(), search.KeyCert) {
		t.Fatalf("valid certification not counted: %v", facets())
	}
	// Time passes: the certification expired yesterday.
	if _, err := pool.Exec(ctx, `UPDATE certifications SET expires_on = current_date - 1 WHERE organisation_id = $1`, org); err != nil {
		t.Fatal(err)
	}
	w := &search.CertExpiryWorker{DB: pool, Index: x}
	if err := w.Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(facets(), search.KeyCert) {
		t.Errorf("expired certification still counted: %v", facets())
	}
}

// The change log keeps a day.
func TestPruneChangesJob(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO search_changes (list, id, at) VALUES
		('offers', 1, now() - interval '2 days'), ('offers', 2, now() - interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	if err := (&search.PruneChangesWorker{DB: pool}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ids := pgtest.Rows[int64](t, pool, `SELECT id FROM search_changes ORDER BY seq`)
	if !slices.Equal(ids, []int64{2}) {
		t.Errorf("left %v, want [2]", ids)
	}
}
