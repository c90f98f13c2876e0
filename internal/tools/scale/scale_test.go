package scale_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/scale"
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
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM organisations WHERE legal_name = '' OR description = ''`), &bad)
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM offers o JOIN organisations g ON g.id = o.organisation_id
		WHERE o.listed <> (o.status = 'published' AND g.status = 'member')`), &listedWrong)
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM search_changes WHERE list = 'all'`), &rebuild)
	if bad != 0 || listedWrong != 0 || rebuild != 1 {
		t.Fatalf("empty texts %d, wrong listed %d, rebuild entries %d", bad, listedWrong, rebuild)
	}
	var invalid int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM organisations WHERE NOT siren ~ '^[0-9]{9}$'`), &invalid)
	sirens := pgtest.Rows[string](t, pool, `SELECT siren FROM organisations`)
	for _, s := range sirens {
		if !taxonomy.ValidSIREN(s) {
			invalid++
		}
	}
	if invalid != 0 {
		t.Errorf("%d invalid SIRENs", invalid)
	}

	ids := pgtest.Rows[int64](t, pool, `SELECT id FROM organisations WHERE kind IN ('pme', 'eti') ORDER BY id LIMIT 40`)
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
		for _, oid := range pgtest.Rows[int64](t, q, `SELECT id FROM offers WHERE organisation_id = $1`, id) {
			var f []string
			pgtest.Scan(t, q.QueryRow(ctx, `SELECT facets FROM offers WHERE id = $1`, oid), &f)
			s.offers[oid] = f
		}
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

// Each generated SME is one coherent business: a size band that fits its
// kind, and offers and references whose CPV codes suppliers with its
// activity code (SIRENE) really won in the public award data (DECP).
func TestGeneratedSMEsAreCoherent(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	tax := taxonomy.MustLoad()
	if _, err := scale.Generate(ctx, pool, tax, scale.Options{Organisations: 200, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	// What each activity code really won.
	nafOf := map[string]string{}
	if err := refdata.Each(refdata.SIRENE, func(r map[string]string) error {
		nafOf[r["siret"]] = r["activite_principale"]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	won := map[string]map[string]bool{} // NAF → CPV codes
	if err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		if naf, ok := nafOf[strings.Split(r["titulaires_ids"], "|")[0]]; ok {
			if won[naf] == nil {
				won[naf] = map[string]bool{}
			}
			won[naf][r["cpv8"]] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sizeOf := map[string]string{}
	for _, b := range tax.HeadcountBands() {
		sizeOf[b.Code] = b.Size
	}
	rows, err := pool.Query(ctx, `SELECT g.kind::text, g.naf_code, g.headcount_band,
			ARRAY(SELECT o.cpv_codes[1] FROM offers o WHERE o.organisation_id = g.id
			      UNION ALL SELECT r.cpv_code FROM org_references r WHERE r.organisation_id = g.id)
		FROM organisations g`)
	if err != nil {
		t.Fatal(err)
	}
	type org struct {
		kind, naf, band string
		cpvs            []string
	}
	orgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (org, error) {
		var o org
		return o, r.Scan(&o.kind, &o.naf, &o.band, &o.cpvs)
	})
	if err != nil {
		t.Fatal(err)
	}
	smes, codes := 0, 0
	for _, o := range orgs {
		size := sizeOf[o.band]
		switch {
		case o.kind == "pme" && size != "TPE" && size != "PME",
			o.kind == "eti" && size != "ETI",
			(o.kind == "ge" || o.kind == "public") && size != "ETI" && size != "GE":
			t.Errorf("a %s with headcount band %s (%s)", o.kind, o.band, size)
		}
		if o.kind != "pme" && o.kind != "eti" {
			continue
		}
		smes++
		for _, c := range o.cpvs {
			codes++
			if !won[o.naf][c] {
				t.Errorf("an SME of activity %s offers CPV %s, which no supplier of that activity won", o.naf, c)
			}
		}
	}
	if smes < 150 || codes < 300 {
		t.Fatalf("only %d SMEs with %d codes checked", smes, codes)
	}
}
