package search_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/offer"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/platform/validate"
	"passerelle/internal/search"
	"passerelle/internal/search/searchindex"
	"passerelle/internal/taxonomy"
)

var tax = taxonomy.MustLoad()

// contract is a real DECP record the fixtures are built from: its winner
// becomes a member SME and its object the title of that SME's offer.
type contract struct{ object, cpv, dept, siren, winner string }

// realContract finds the first clean DECP record whose object starts with
// prefix, so fixtures hold real French purchasing text.
func realContract(t *testing.T, prefix string) contract {
	t.Helper()
	var c contract
	err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		if c.object == "" && r["probleme_encodage"] == "0" && strings.HasPrefix(r["objet"], prefix) {
			id := strings.Split(r["titulaires_ids"], "|")[0]
			c = contract{object: r["objet"], cpv: r["cpv8"], dept: r["lieu_departement"], siren: id[:9],
				winner: strings.Split(r["titulaires_noms"], "|")[0]}
		}
		return nil
	})
	if err != nil || c.object == "" {
		t.Fatalf("no DECP record starts with %q (%v)", prefix, err)
	}
	if c.dept == "" {
		c.dept = "75"
	}
	return c
}

type world struct {
	pool    *pgxpool.Pool
	offers  *offer.Service
	search  *search.Service // SQL only
	indexed *search.Service // the in-memory index, SQL for what it does not take
	index   *search.Indexer
	staff   member.Actor
	ids     map[string]int64 // offer id by contract prefix
	orgs    map[string]member.Actor
	sync    *searchindex.Syncer
}

var fixtures = []string{
	"Acquisition d'un logiciel de gestion du patrimoine immobilier",
	"Fourniture d'énergie électrique pour l'alimentation des points de livraison",
	"Réalisation d'un générateur photovoltaïque sur la toiture",
	"Prestations de nettoyage des locaux de PNA",
	"Mise en place d'un logiciel de gestion des demandes d'urbanisme",
}

// newWorld makes each fixture contract's winner a member SME that
// published one offer titled with the contract's object.
func newWorld(t *testing.T) *world { return newWorldOf(t, fixtures) }

// newWorldOf is newWorld with other contracts.
func newWorldOf(t *testing.T, fixtures []string) *world {
	t.Helper()
	pool := pgtest.Pool(t)
	w := &world{pool: pool, index: search.NewIndexer(tax), search: search.NewService(pool), ids: map[string]int64{},
		orgs: map[string]member.Actor{}, staff: member.Actor{UserID: -1, Name: "Sam Staff", Role: member.RoleStaff, Kind: member.KindAssociation}}
	w.offers = offer.NewService(pool, tax, w.index)
	ctx := context.Background()
	if err := pool.QueryRow(ctx, `WITH a AS (INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
			VALUES ('999000002', 'Association', 'association', '94.99Z', '03', '75', 'member') RETURNING id)
		INSERT INTO users (organisation_id, email, name, password_hash, role)
		SELECT id, 'staff@passerelle.test', 'Sam Staff', 'x', 'staff' FROM a RETURNING id`).Scan(&w.staff.UserID); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range fixtures {
		c := realContract(t, prefix)
		a, ok := w.orgs[c.siren]
		if !ok {
			var id int64
			if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
				VALUES ($1, $2, 'pme', '43.21A', '11', $3, 'member') RETURNING id`, c.siren, c.winner, c.dept).Scan(&id); err != nil {
				t.Fatal(err)
			}
			a = member.Actor{UserID: id, OrgID: id, Name: c.winner, Role: member.RoleOwner, Kind: member.KindPME}
			w.orgs[c.siren] = a
		}
		cv, _ := tax.CPV(c.cpv)
		in := offer.Input{Title: validate.Clip(c.object, 150), Summary: cv.LabelFR, Kind: "service", CPVCodes: []string{c.cpv},
			TRL: "7", Departements: []string{c.dept}}
		id, err := w.offers.Create(ctx, a, in, true)
		if err != nil {
			t.Fatalf("%s: %v", prefix, err)
		}
		if err := w.offers.Review(ctx, w.staff, id, true, ""); err != nil {
			t.Fatal(err)
		}
		w.ids[prefix] = id
	}
	sy := searchindex.NewSyncer(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := sy.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	w.indexed = search.NewService(pool)
	w.indexed.UseIndex(sy)
	w.sync = sy
	return w
}

// agreed runs q on both paths, fails if they disagree, and returns the titles.
func (w *world) agreed(t *testing.T, q search.Query) []string {
	t.Helper()
	a, b := w.titles(t, w.search, q), w.titles(t, w.indexed, q)
	if !sameSet(a, b) {
		t.Fatalf("%+v: SQL found %q, the index %q", q, a, b)
	}
	return a
}

// both runs a check against the SQL path and the index path, which must
// agree on every search.
func (w *world) both(t *testing.T, check func(t *testing.T, s *search.Service)) {
	t.Run("sql", func(t *testing.T) { check(t, w.search) })
	t.Run("index", func(t *testing.T) { check(t, w.indexed) })
}

func (w *world) titles(t *testing.T, s *search.Service, q search.Query) []string {
	t.Helper()
	res, err := s.Offers(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range res.Hits {
		for f, id := range w.ids {
			if id == h.ID {
				out = append(out, f)
			}
		}
	}
	return out
}

func TestCatalogueFrenchSearch(t *testing.T) {
	w := newWorld(t)
	logiciel := fixtures[0]
	energie := fixtures[1]
	photo := fixtures[2]
	nettoyage := fixtures[3]
	urbanisme := fixtures[4]
	tests := []struct {
		name  string
		query string
		want  []string // in any order, exactly these
	}{
		{"plural finds singular", "logiciels", []string{logiciel, urbanisme}},
		{"no accent finds accent", "energie", []string{energie}},
		{"capitals and accents", "ÉNERGIE électrique", []string{energie}},
		{"accent typed where the text has none... and plural", "générateurs photovoltaïques", []string{photo}},
		{"stop words are ignored", "le nettoyage des locaux", []string{nettoyage}},
		{"every word must match", "logiciel urbanisme", []string{urbanisme}},
		{"quoted phrase", `"gestion du patrimoine"`, []string{logiciel}},
		{"a word that is nowhere", "cryogénie", nil},
		{"CPV label typed in the box", "Services de nettoyage", []string{nettoyage}},
		{"CPV code typed in the box", "90910000", []string{nettoyage}},
		{"CPV code with its check digit", "90910000-9", []string{nettoyage}},
		{"CPV division prefix", "48", []string{logiciel, urbanisme}},
	}
	w.both(t, func(t *testing.T, s *search.Service) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got := w.titles(t, s, search.Query{Text: tc.query})
				if !sameSet(got, tc.want) {
					t.Errorf("%q found %q, want %q", tc.query, got, tc.want)
				}
			})
		}

		t.Run("only stop words lists everything, newest first", func(t *testing.T) {
			res, err := s.Offers(context.Background(), search.Query{Text: "de la"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Counts.Total != len(fixtures) || res.Sort != search.SortRecent {
				t.Errorf("total %d sort %s, want %d recent", res.Counts.Total, res.Sort, len(fixtures))
			}
		})

		t.Run("SIREN typed in the box, with spaces", func(t *testing.T) {
			c := realContract(t, nettoyage)
			spaced := c.siren[:3] + " " + c.siren[3:6] + " " + c.siren[6:]
			got := w.titles(t, s, search.Query{Text: spaced})
			if !slices.Contains(got, nettoyage) || slices.Contains(got, energie) {
				t.Errorf("SIREN %q found %q", spaced, got)
			}
		})
	})
}

func TestCatalogueRankingAndFacets(t *testing.T) {
	w := newWorld(t)
	w.both(t, func(t *testing.T, s *search.Service) {
		// "logiciel de gestion" is in both software titles; only one says
		// "patrimoine": asking for both words ranks it alone.
		res, err := s.Offers(context.Background(), search.Query{Text: "logiciel gestion patrimoine"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 || res.Hits[0].ID != w.ids[fixtures[0]] {
			t.Fatalf("hits %+v", res.Hits)
		}
		// The title (weight A) outranks the same word in the summary only
		// (weight B): "Logiciels et systèmes d'information" is the summary of both.
		res, err = s.Offers(context.Background(), search.Query{Text: "logiciel"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Counts.Total != 2 || res.Sort != search.SortRelevance {
			t.Fatalf("total %d sort %s", res.Counts.Total, res.Sort)
		}
		// Facet counts: division 48 for both, and the départements' regions.
		if !hasCount(res.Counts.Facets["cpv"], "cpv:48", 2) {
			t.Errorf("cpv facet %+v", res.Counts.Facets["cpv"])
		}
		if !hasCount(res.Counts.Facets["trl"], "trl:7", 2) {
			t.Errorf("trl facet %+v", res.Counts.Facets["trl"])
		}
		// Two facets together narrow to the offers having both.
		c := realContract(t, fixtures[0])
		d, _ := tax.Departement(c.dept)
		res, err = s.Offers(context.Background(), search.Query{Text: "logiciel", Facets: []string{"reg:" + d.RegionCode, "cpv:48"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			if !strings.Contains(strings.ToLower(h.Title), "logiciel") {
				t.Errorf("hit %q", h.Title)
			}
		}
		if !slices.ContainsFunc(res.Hits, func(h search.OfferHit) bool { return h.ID == w.ids[fixtures[0]] }) {
			t.Errorf("region %s + cpv:48 lost %q", d.RegionCode, fixtures[0])
		}
	})
}

func TestCatalogueShowsOnlyListedOffers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := realContract(t, fixtures[3])
	a := w.orgs[c.siren]
	// A draft and an offer sent back are never listed.
	draft, err := w.offers.Create(ctx, a, offer.Input{Title: "Nettoyage des vitres en hauteur", Summary: "Services de nettoyage",
		Kind: "service", CPVCodes: []string{"90910000"}, Departements: []string{"75"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.agreed(t, search.Query{Text: "vitres"}); len(got) != 0 {
		t.Fatalf("draft listed: %v", got)
	}
	if err := w.offers.Submit(ctx, a, draft); err != nil {
		t.Fatal(err)
	}
	if err := w.offers.Review(ctx, w.staff, draft, false, "Précisez la zone d'intervention."); err != nil {
		t.Fatal(err)
	}
	if got := w.agreed(t, search.Query{Text: "vitres"}); len(got) != 0 {
		t.Fatalf("offer sent back is listed")
	}
	// Suspending the SME hides its published offers at once (trigger).
	if _, err := w.pool.Exec(ctx, `UPDATE organisations SET status = 'suspended' WHERE id = $1`, a.OrgID); err != nil {
		t.Fatal(err)
	}
	if got := w.agreed(t, search.Query{Text: "nettoyage"}); len(got) != 0 {
		t.Fatalf("suspended SME's offer listed: %v", got)
	}
	if _, err := w.pool.Exec(ctx, `UPDATE organisations SET status = 'member' WHERE id = $1`, a.OrgID); err != nil {
		t.Fatal(err)
	}
	if got := w.agreed(t, search.Query{Text: "nettoyage"}); len(got) != 1 {
		t.Fatalf("reinstated SME's offer not listed again: %v", got)
	}
	// Archiving takes it off for good.
	if err := w.offers.Archive(ctx, a, w.ids[fixtures[3]]); err != nil {
		t.Fatal(err)
	}
	if got := w.agreed(t, search.Query{Text: "nettoyage"}); len(got) != 0 {
		t.Fatalf("archived offer listed: %v", got)
	}
}

func TestDirectorySearch(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := realContract(t, fixtures[2]) // the photovoltaic installer
	w.both(t, func(t *testing.T, s *search.Service) {
		tests := []struct {
			name, query string
		}{
			{"its name", c.winner},
			{"its name in lower case without accents", strings.ToLower(taxonomy.Fold(c.winner))},
			{"its name with a typo", typo(c.winner)},
			{"a word of its published offer, plural and no accent", "photovoltaiques"},
			{"its SIREN", c.siren},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res, err := s.SMEs(ctx, search.Query{Text: tc.query})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(res.Hits, func(h search.SMEHit) bool { return h.SIREN == c.siren }) {
					t.Errorf("%q did not find %s (%s): %+v", tc.query, c.winner, c.siren, res.Hits)
				}
			})
		}
		// Facets: the directory counts each SME once per division it works in.
		res, err := s.SMEs(ctx, search.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Counts.Total != len(w.orgs) || res.Sort != search.SortName {
			t.Errorf("total %d sort %s, want %d by name", res.Counts.Total, res.Sort, len(w.orgs))
		}
		if !hasCount(res.Counts.Facets["kind"], "kind:pme", len(w.orgs)) {
			t.Errorf("kind facet %+v", res.Counts.Facets["kind"])
		}
	})
}

// TestWordsFoundNowhereTogether: when the words typed, all together, are
// in no document, the index answers without a scan of the names — a
// company whose name is close to what was typed (a typo, a name cut
// short), or else the words that are found, naming those left out — and
// the directory's page by name no longer asks PostgreSQL for names close
// to the words.
func TestWordsFoundNowhereTogether(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := realContract(t, fixtures[2])                      // the photovoltaic installer
	cut := string([]rune(strings.Fields(c.winner)[0])[:6]) // "AQUITA": no word stems to it
	for _, typed := range []string{typo(c.winner), strings.ToLower(cut)} {
		res, err := w.indexed.SMEs(ctx, search.Query{Text: typed})
		if err != nil {
			t.Fatal(err)
		}
		if !res.ByName || !slices.ContainsFunc(res.Hits, func(h search.SMEHit) bool { return h.SIREN == c.siren }) {
			t.Errorf("%q: by name %v, hits %+v; want %s (%s) by name", typed, res.ByName, res.Hits, c.winner, c.siren)
		}
	}
	for _, tc := range []struct {
		text, ignored string
	}{
		{"photovoltaïques zzyzxq", "zzyzxq"},    // a word found nowhere
		{"photovoltaïque logiciel", "logiciel"}, // each found, never together: the rarer kept (photovoltaïque: one offer, logiciel: two)
	} {
		res, err := w.indexed.Offers(ctx, search.Query{Text: tc.text})
		if err != nil {
			t.Fatal(err)
		}
		if res.Counts.Total == 0 || !slices.Equal(res.Ignored, []string{tc.ignored}) {
			t.Errorf("catalogue %q: %d hits, ignored %q; want hits and %q ignored", tc.text, res.Counts.Total, res.Ignored, tc.ignored)
		}
		d, err := w.indexed.SMEs(ctx, search.Query{Text: tc.text})
		if err != nil {
			t.Fatal(err)
		}
		if d.Counts.Total == 0 || d.ByName || !slices.Equal(d.Ignored, []string{tc.ignored}) {
			t.Errorf("directory %q: %d hits (by name %v), ignored %q; want hits and %q ignored", tc.text, d.Counts.Total, d.ByName, d.Ignored, tc.ignored)
		}
	}
	res, err := w.indexed.Offers(ctx, search.Query{Text: "zzyzxq"})
	if err != nil || res.Counts.Total != 0 || !slices.Equal(res.Ignored, []string{"zzyzxq"}) {
		t.Errorf("a lone unknown word: %d hits, ignored %q (%v)", res.Counts.Total, res.Ignored, err)
	}
}

// typo swaps two letters in the middle of the name's longest word.
func typo(name string) string {
	words := strings.Fields(name)
	longest := 0
	for i, w := range words {
		if len(w) > len(words[longest]) {
			longest = i
		}
	}
	r := []rune(words[longest])
	if len(r) > 4 {
		r[2], r[3] = r[3], r[2]
	}
	words[longest] = string(r)
	return strings.Join(words, " ")
}

func TestDeepPagesByCursor(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	// 45 published offers of one SME, then page through by date.
	var org int64
	if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
		VALUES ('784712267', 'DS Avocats', 'pme', '69.10Z', '11', '75', 'member') RETURNING id`).Scan(&org); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO offers (organisation_id, title, summary, kind, cpv_codes, status, published_at)
		SELECT $1, 'Prestations juridiques ' || i, 'Services juridiques', 'service', '{79100000}', 'published', now() - i * interval '1 hour'
		FROM generate_series(1, 45) i`, org); err != nil {
		t.Fatal(err)
	}
	s := search.NewService(pool)
	var seen []int64
	q := search.Query{}
	for page := 0; page < 5; page++ {
		res, err := s.Offers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			seen = append(seen, h.ID)
		}
		if !res.More {
			break
		}
		q.After = res.Next
	}
	if len(seen) != 45 {
		t.Fatalf("paged through %d offers, want 45", len(seen))
	}
	slices.Sort(seen)
	if len(slices.Compact(seen)) != 45 {
		t.Fatalf("a page repeated offers")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func hasCount(list []search.FacetCount, key string, n int) bool {
	return slices.Contains(list, search.FacetCount{Key: key, Count: n})
}
