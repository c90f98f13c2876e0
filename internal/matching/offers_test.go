package matching

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/scale"
)

// generated is a fresh database holding n generated SMEs (with offers
// and past contracts), the same for the same seed.
func generated(t *testing.T, n int, seed uint64) (*pgxpool.Pool, *taxonomy.Taxonomy) {
	t.Helper()
	pool := pgtest.Pool(t)
	tax := taxonomy.MustLoad()
	if _, err := scale.Generate(context.Background(), pool, tax, scale.Options{Organisations: n, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return pool, tax
}

// The narrow copy of offers by category and region (offer_categories)
// finds, for every category key a request may have and every kind of
// place, the offers the catalogue's facets find: once generated in bulk,
// and again after offers are withdrawn, recoded, moved and published
// (its triggers).
func TestOffersByCategoryAsTheirFacetsSay(t *testing.T) {
	ctx := context.Background()
	pool, tax := generated(t, 300, 11)
	s := NewService(pool, tax)
	// Requests of every code the offers hold, shortened to each of its
	// prefixes (a request in a division or a group reads wider), in the
	// place of one offer, in its region, and nowhere.
	codes := pgtest.Rows[string](t, pool, `SELECT DISTINCT c FROM offers, unnest(cpv_codes) c ORDER BY c`)
	deps := pgtest.Rows[string](t, pool, `SELECT DISTINCT departement FROM organisations WHERE departement <> '' ORDER BY 1 LIMIT 6`)
	var places [][]string
	places = append(places, nil)
	for _, d := range deps {
		dep, _ := tax.Departement(d)
		places = append(places, []string{"dep:" + d, "reg:" + dep.RegionCode}, []string{"reg:" + dep.RegionCode})
	}
	compare := func(when string) int {
		t.Helper()
		found := 0
		for i, code := range codes {
			for n := 2; n <= 8; n += 3 {
				r := Request{CPV: []string{code[:n] + "00000000"[n:]}}
				if i%2 == 1 { // two codes: two category keys
					r.CPV = append(r.CPV, codes[(i*7)%len(codes)])
				}
				placeKeys := tax.PlaceKeys(places[(i+n)%len(places)])
				query, p := s.offersQuery(r, placeKeys)
				keys := offerKeys(r.CPV)
				want := pgtest.Rows[int64](t, pool, `SELECT id FROM offers WHERE listed AND facets && $1
					AND (cardinality($2::text[]) = 0 OR facets && $2) ORDER BY id`, keys, nonNil(placeKeys))
				got := pgtest.Rows[int64](t, pool, `SELECT DISTINCT offer_id FROM (`+query+`) x ORDER BY 1`, p...)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: request %v in %v: the narrow copy finds %d offers, the facets %d", when, r.CPV, placeKeys, len(got), len(want))
				}
				found += len(want)
			}
		}
		return found
	}
	if found := compare("generated"); found < 1000 {
		t.Fatalf("%d offers found in all: the test says little", found)
	}
	for _, q := range []string{
		`UPDATE offers SET status = 'archived' WHERE id % 7 = 0`,
		`UPDATE offers SET cpv_codes = ARRAY['72212000', '45210000'], facets = array(SELECT f FROM unnest(facets) f WHERE f NOT LIKE 'cpv:%') || '{cpv:72,cpv:722,cpv:7221,cpv:72212,cpv:45,cpv:452,cpv:4521}' WHERE id % 7 = 1`,
		`UPDATE offers SET places = '{}', facets = array(SELECT f FROM unnest(facets) f WHERE f NOT LIKE 'reg:%' AND f NOT LIKE 'dep:%') WHERE id % 7 = 2`,
		`UPDATE organisations SET status = 'suspended' WHERE id IN (SELECT organisation_id FROM offers WHERE id % 7 = 3)`,
		`DELETE FROM offers WHERE id % 7 = 4`,
		`UPDATE offers SET status = 'published' WHERE id % 7 = 0 AND id % 2 = 0`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		compare(q)
	}
	var moved int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM offer_categories WHERE category LIKE '72212%' OR category LIKE '4521%'`), &moved)
	if moved == 0 {
		t.Fatal("no offer recoded: the updates missed")
	}
}

// An offer's places meet a request's as their place keys overlap exactly
// when they share a région: for every département and région of the
// taxonomy (and a code it does not know) against every request place.
func TestSharesRegionAsPlaceKeysOverlap(t *testing.T) {
	tax := taxonomy.MustLoad()
	s := &Service{tax: tax}
	var places []string
	for _, d := range tax.Departements() {
		places = append(places, "dep:"+d.Code)
	}
	for _, r := range tax.Regions() {
		places = append(places, "reg:"+r.Code)
	}
	places = append(places, "dep:00", "reg:00")
	var requests [][]string
	for _, d := range tax.Departements() {
		requests = append(requests, []string{"dep:" + d.Code, "reg:" + d.RegionCode}, []string{"dep:" + d.Code})
	}
	for _, r := range tax.Regions() {
		requests = append(requests, []string{"reg:" + r.Code})
	}
	met := 0
	for _, req := range requests {
		keys := tax.PlaceKeys(req)
		regions := placeRegions(keys)
		for i, p := range places {
			offer := []string{p, places[(i*37)%len(places)]}
			want := overlaps(tax.PlaceKeys(offer), keys)
			if got := s.sharesRegion(offer, regions); got != want {
				t.Fatalf("offer in %v, request in %v: shares a région %v, place keys overlap %v", offer, req, got, want)
			}
			if want {
				met++
			}
		}
	}
	if met < 100 {
		t.Fatalf("%d places met: the test says little", met)
	}
}
