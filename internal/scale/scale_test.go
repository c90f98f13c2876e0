package scale_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/postgres/pgtest"
	"passerelle/internal/scale"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

// The generator writes what the services would: recomputing an SME's
// search entry and its offers' facets with the indexer changes nothing.
func TestGeneratedDataMatchesWhatServicesWrite(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	tax := taxonomy.MustLoad()
	st, err := scale.Generate(ctx, pool, tax, scale.Options{Organisations: 300, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if st.Organisations != 300 || st.Offers < 600 || st.References < 150 {
		t.Fatalf("generated %+v", st)
	}
	var bad, listedWrong, rebuild int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM organisations WHERE legal_name = '' OR description = ''`).Scan(&bad)
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM offers o JOIN organisations g ON g.id = o.organisation_id
		WHERE o.listed <> (o.status = 'published' AND g.status = 'member')`).Scan(&listedWrong)
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM search_changes WHERE list = 'all'`).Scan(&rebuild)
	if bad != 0 || listedWrong != 0 || rebuild != 1 {
		t.Fatalf("empty texts %d, wrong listed %d, rebuild entries %d", bad, listedWrong, rebuild)
	}
	var invalid int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM organisations WHERE NOT siren ~ '^[0-9]{9}$'`).Scan(&invalid)
	rows, _ := pool.Query(ctx, `SELECT siren FROM organisations`)
	sirens, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, s := range sirens {
		if !taxonomy.ValidSIREN(s) {
			invalid++
		}
	}
	if invalid != 0 {
		t.Errorf("%d invalid SIRENs", invalid)
	}

	rows, _ = pool.Query(ctx, `SELECT id FROM organisations WHERE kind IN ('pme', 'eti') ORDER BY id LIMIT 40`)
	ids, _ := pgx.CollectRows(rows, pgx.RowTo[int64])
	x := search.NewIndexer(tax)
	type snapshot struct {
		facets []string
		extra  string
		offers map[int64][]string
	}
	read := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
		Query(context.Context, string, ...any) (pgx.Rows, error)
	}, id int64) snapshot {
		var s snapshot
		if err := q.QueryRow(ctx, `SELECT facets, search_extra FROM organisations WHERE id = $1`, id).Scan(&s.facets, &s.extra); err != nil {
			t.Fatal(err)
		}
		s.offers = map[int64][]string{}
		rows, _ := q.Query(ctx, `SELECT id, facets FROM offers WHERE organisation_id = $1`, id)
		for rows.Next() {
			var oid int64
			var f []string
			_ = rows.Scan(&oid, &f)
			s.offers[oid] = f
		}
		rows.Close()
		return s
	}
	for _, id := range ids {
		before := read(pool, id)
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Refresh(ctx, tx, id); err != nil {
			t.Fatal(err)
		}
		after := read(tx, id)
		_ = tx.Rollback(ctx)
		if !slices.Equal(before.facets, after.facets) || before.extra != after.extra {
			t.Errorf("organisation %d: generated %v / %q\nservices write %v / %q", id, before.facets, before.extra, after.facets, after.extra)
		}
		for oid, f := range before.offers {
			if !slices.Equal(f, after.offers[oid]) {
				t.Errorf("offer %d: generated %v, services write %v", oid, f, after.offers[oid])
			}
		}
	}
}
