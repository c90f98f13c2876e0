package matching

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/scale"
)

// generated is a fresh database holding n generated SMEs (with offers
// and past contracts), the same for the same seed.
func generated(t testing.TB, n int, seed uint64) (*pgxpool.Pool, *taxonomy.Taxonomy) {
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
	requests := offerRequests(t, pool, tax)
	compare := func(when string) int {
		t.Helper()
		found := 0
		for _, q := range requests {
			r, placeKeys := q.r, q.placeKeys
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
		return found
	}
	afterEachOfferChange(t, pool, compare)
	var moved int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM offer_categories WHERE category LIKE '72212%' OR category LIKE '4521%'`), &moved)
	if moved == 0 {
		t.Fatal("no offer recoded: the updates missed")
	}
}

// offerRequest is a request and its place keys.
type offerRequest struct {
	r         Request
	placeKeys []string
}

// offerRequests are requests of every code the generated offers hold,
// shortened to each of its prefixes (a request in a division or a group
// reads wider), one of two with a second code, in the place of an SME,
// in its region, and nowhere.
func offerRequests(t *testing.T, pool *pgxpool.Pool, tax *taxonomy.Taxonomy) []offerRequest {
	codes := pgtest.Rows[string](t, pool, `SELECT DISTINCT c FROM offers, unnest(cpv_codes) c ORDER BY c`)
	deps := pgtest.Rows[string](t, pool, `SELECT DISTINCT departement FROM organisations WHERE departement <> '' ORDER BY 1 LIMIT 6`)
	var places [][]string
	places = append(places, nil)
	for _, d := range deps {
		dep, _ := tax.Departement(d)
		places = append(places, []string{"dep:" + d, "reg:" + dep.RegionCode}, []string{"reg:" + dep.RegionCode})
	}
	var out []offerRequest
	for i, code := range codes {
		for n := 2; n <= 8; n += 3 {
			r := Request{CPV: []string{code[:n] + "00000000"[n:]}}
			if i%2 == 1 { // two codes: two category keys
				r.CPV = append(r.CPV, codes[(i*7)%len(codes)])
			}
			out = append(out, offerRequest{r, tax.PlaceKeys(places[(i+n)%len(places)])})
		}
	}
	return out
}

// offerChanges withdraw, recode, move and publish offers and suspend
// SMEs (the narrow copy's triggers, the memory's change log).
var offerChanges = []string{
	`UPDATE offers SET status = 'archived' WHERE id % 7 = 0`,
	`UPDATE offers SET cpv_codes = ARRAY['72212000', '45210000'], facets = array(SELECT f FROM unnest(facets) f WHERE f NOT LIKE 'cpv:%') || '{cpv:72,cpv:722,cpv:7221,cpv:72212,cpv:45,cpv:452,cpv:4521}' WHERE id % 7 = 1`,
	`UPDATE offers SET places = '{}', facets = array(SELECT f FROM unnest(facets) f WHERE f NOT LIKE 'reg:%' AND f NOT LIKE 'dep:%') WHERE id % 7 = 2`,
	`UPDATE organisations SET status = 'suspended' WHERE id IN (SELECT organisation_id FROM offers WHERE id % 7 = 3)`,
	`DELETE FROM offers WHERE id % 7 = 4`,
	`UPDATE offers SET status = 'published' WHERE id % 7 = 0 AND id % 2 = 0`,
	// an offer of many codes (more than a row of memory holds inline)
	`UPDATE offers SET cpv_codes = ARRAY['45210000', '45220000', '45230000', '45240000', '45250000', '72212000'],
		facets = array(SELECT f FROM unnest(facets) f WHERE f NOT LIKE 'cpv:%') || '{cpv:45,cpv:452,cpv:4521,cpv:4522,cpv:4523,cpv:4524,cpv:4525,cpv:72,cpv:722,cpv:7221,cpv:72212}'
		WHERE id % 7 = 5 AND id % 3 = 0`,
}

// afterEachOfferChange runs compare on the generated offers, then after
// each of offerChanges; the first must find at least 1,000 (offers or
// SMEs), or the test says little.
func afterEachOfferChange(t *testing.T, pool *pgxpool.Pool, compare func(when string) int) {
	t.Helper()
	if found := compare("generated"); found < 1000 {
		t.Fatalf("%d found in all: the test says little", found)
	}
	for _, q := range offerChanges {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		compare(q)
	}
}

// The listed offers read from memory are those the narrow copy gives in
// SQL, each SME's best under the request's codes (its level, offer and
// TRL) for every request of offerRequests — once loaded, and again after
// each of offerChanges, which the memory reads from the change log.
func TestOffersFromMemoryAsFromSQL(t *testing.T) {
	ctx := context.Background()
	pool, tax := generated(t, 300, 11)
	s := NewService(pool, tax)
	m, err := LoadMemory(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	type best struct {
		lvl int
		id  int64
		trl int
	}
	collect := func(into map[int64]best) func(org, offerID int64, lvl, trl int) {
		return func(org, offerID int64, lvl, trl int) {
			b := into[org]
			if betterOffer(lvl, offerID, b.lvl, b.id) {
				b = best{lvl, offerID, trl}
			}
			into[org] = b
		}
	}
	requests := offerRequests(t, pool, tax)
	compare := func(when string) (found int) {
		t.Helper()
		if _, err := m.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		for _, q := range requests {
			want, got := map[int64]best{}, map[int64]best{}
			if err := s.offersFromSQL(ctx, q.r, q.placeKeys, collect(want)); err != nil {
				t.Fatal(err)
			}
			m.offers(q.r, s.offerRegions(q.placeKeys), collect(got))
			if !maps.Equal(got, want) {
				t.Fatalf("%s: request %v in %v: memory %v, SQL %v", when, q.r.CPV, q.placeKeys, got, want)
			}
			found += len(want)
		}
		return found
	}
	afterEachOfferChange(t, pool, compare)
	if len(m.moreCodes) == 0 {
		t.Fatal("no offer of more than two codes in memory: the last change missed")
	}
	// Loaded again from scratch, it holds what it caught up with.
	fresh, err := LoadMemory(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	_, _, held := m.Size()
	if _, _, want := fresh.Size(); held != want {
		t.Fatalf("%d rows of offers caught up, %d loaded", held, want)
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

// A request's category key takes, from memory, exactly the offers whose
// category starts with it (offer_categories' LIKE), for every real CPV
// code of the works and IT divisions as a request against an offer of
// every code. No real code has a key ending in zero ("45010" of a code
// 45010010), which a shorter category ("4501" of 45010000) falls in the
// range of without starting with: one such pair, made up, is added.
func TestOfferCategoryRangesAsPrefixes(t *testing.T) {
	tax := taxonomy.MustLoad()
	m := newMemory(nil)
	var codes []string
	for _, div := range []string{"45", "72"} {
		for _, c := range tax.SearchCPV(div, 10000) {
			codes = append(codes, c.Code)
		}
	}
	codes = append(codes, "45010000", "45010010")
	byID := map[int64]string{} // offer → its category
	for i, code := range codes {
		cat := strings.TrimRight(code, "0")
		cat = cat[:min(max(len(cat), 2), 5)]
		m.readOffer(memRead{orgs: m.orgs, offers: m.offerLists, moreCodes: m.moreCodes, extraLists: m.extraLists}, "reg:11", cat, int64(i+1), int64(i+1), 0, []string{code})
		byID[int64(i+1)] = cat
	}
	for l, list := range m.offerLists {
		slices.SortFunc(list, byCategory)
		m.offerLists[l] = list
	}
	zeroEnded := 0
	for _, code := range codes {
		r := Request{CPV: []string{code}}
		prefix := strings.TrimPrefix(offerKeys(r.CPV)[0], "cpv:")
		if strings.HasSuffix(prefix, "0") && len(prefix) > 2 {
			zeroEnded++
		}
		var want, got []int64
		for id, cat := range byID {
			if strings.HasPrefix(cat, prefix) {
				want = append(want, id)
			}
		}
		m.offers(r, []string{"reg:11"}, func(org, offerID int64, lvl, trl int) { got = append(got, offerID) })
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("request %s (key %s): memory gives %d offers, the prefix %d", code, prefix, len(got), len(want))
		}
	}
	if len(codes) < 500 || zeroEnded == 0 {
		t.Fatalf("%d codes, %d keys ending in zero: the test says little", len(codes), zeroEnded)
	}
}
