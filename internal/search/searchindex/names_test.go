package searchindex

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"passerelle/internal/platform/refdata"
)

// realNames indexes the winners' names of the shipped DECP contracts
// (real company names), one document each; it returns them by id.
func realNames(t *testing.T) (*Index, map[int64]string) {
	t.Helper()
	awards, err := refdata.ReadAwards()
	if err != nil {
		t.Fatal(err)
	}
	x, names := New(), map[int64]string{}
	seen := map[string]bool{}
	for _, a := range awards {
		for _, n := range strings.Split(a.WinnerNames, "|") {
			n = strings.TrimSpace(n)
			if n == "" || strings.ContainsRune(n, '\uFFFD') || seen[strings.ToLower(n)] {
				continue
			}
			seen[strings.ToLower(n)] = true
			id := int64(len(names) + 1)
			names[id] = n
			facets := []string{"all"}
			if a.Departement != "" {
				facets = append(facets, "dep:"+a.Departement)
			}
			if err := x.Put(Doc{ID: id, Sort: id, Facets: facets, Vector: "'x':1", Name: n}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(names) < 1000 {
		t.Fatalf("only %d real names", len(names))
	}
	return x, names
}

func idOf(names map[int64]string, name string) int64 {
	for id, n := range names {
		if n == name {
			return id
		}
	}
	return 0
}

// TestNameTypedApproximately finds real companies by their name typed
// with a typo, cut short, without accents or in another case, among the
// few thousand winners of the shipped contracts — and finds nothing for a
// word close to no name.
func TestNameTypedApproximately(t *testing.T) {
	x, names := realNames(t)
	for _, tc := range []struct {
		name, typed string
	}{
		{"MENUISERIE LABAIGS", "menuiserie labaig"},      // cut short
		{"MENUISERIE LABAIGS", "menuiseri labaigs"},      // a letter missing
		{"Génie Civil du Sud Est", "genie civil sud"},    // no accent, words left out
		{"LEHM PRODUCTION ET CONSEIL", "lehm prodution"}, // misspelt
		{"TRIADIS SERVICES", "triadys"},
		{"MENUISERIE LABAIGS", "menuiserie labiags"}, // two letters swapped: the other word makes up for it                  // one letter wrong
		{"Imprimerie Loire Impression", "IMPRIMERIE LOIRE"},
		{"VEOLIA EAU CGE", "veolia"},
	} {
		id := idOf(names, tc.name)
		if id == 0 {
			t.Fatalf("%q is not among the real names: choose another", tc.name)
		}
		r := x.SearchNames(tc.typed, Query{Limit: 10})
		var got []string
		for _, h := range r.Hits {
			got = append(got, names[h.ID])
		}
		if !slices.ContainsFunc(r.Hits, func(h Hit) bool { return h.ID == id }) {
			t.Errorf("%q: %q not in the first 10 of %d: %q", tc.typed, tc.name, r.Total, got)
		}
		if r.Total > 200 {
			t.Errorf("%q matched %d names: too loose", tc.typed, r.Total)
		}
	}
	for _, typed := range []string{"zzyzx", "qwkj", "ab"} {
		if r := x.SearchNames(typed, Query{Limit: 10}); r.Total != 0 {
			t.Errorf("%q matched %d names, want none", typed, r.Total)
		}
	}
}

// TestNamesKeepFacetsDeadAndPaging: a name match honours the facets,
// skips replaced and deleted documents, counts facets over every match
// and pages by offset.
func TestNamesKeepFacetsDeadAndPaging(t *testing.T) {
	x := New()
	for i := range 30 {
		dep := "dep:13"
		if i%3 == 0 {
			dep = "dep:69"
		}
		_ = x.Put(Doc{ID: int64(i + 1), Sort: int64(i), Facets: []string{dep}, Vector: "'x':1", Name: fmt.Sprintf("Boulangerie Martin %d", i)})
	}
	_ = x.Put(Doc{ID: 2, Sort: 1, Facets: []string{"dep:13"}, Vector: "'x':1", Name: "Plomberie Durand"}) // renamed
	x.Delete(3)
	r := x.SearchNames("boulangeri martn", Query{Limit: 100})
	if r.Total != 28 || r.Facets["dep:69"] != 10 || r.Facets["dep:13"] != 18 {
		t.Fatalf("total %d, facets %v; want 28, dep:69 10, dep:13 18", r.Total, r.Facets)
	}
	if slices.ContainsFunc(r.Hits, func(h Hit) bool { return h.ID == 2 || h.ID == 3 }) {
		t.Errorf("a renamed or deleted document matched: %v", r.Hits)
	}
	in69 := x.SearchNames("boulangeri martn", Query{Facets: []string{"dep:69"}, Limit: 100})
	if in69.Total != 10 {
		t.Errorf("with dep:69: %d, want 10", in69.Total)
	}
	page2 := x.SearchNames("boulangeri martn", Query{Offset: 20, Limit: 20})
	if len(page2.Hits) != 8 || page2.Hits[0] != r.Hits[20] {
		t.Errorf("page 2: %d hits, first %v; want 8 from %v", len(page2.Hits), page2.Hits, r.Hits[20])
	}
	if got := x.SearchNames("plomberie durand", Query{Limit: 5}); got.Total != 1 || got.Hits[0].ID != 2 {
		t.Errorf("the new name: %+v", got)
	}
}

// TestNamesSurviveASnapshot: the vocabulary is derived again from the
// terms when a snapshot is read.
func TestNamesSurviveASnapshot(t *testing.T) {
	x, names := realNames(t)
	var buf strings.Builder
	size, sum, err := writeSnapshot(&buf, []string{SMEs}, map[string]*Index{SMEs: x})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readSnapshot(strings.NewReader(buf.String()), size, sum)
	if err != nil {
		t.Fatal(err)
	}
	id := idOf(names, "MENUISERIE LABAIGS")
	r := got[SMEs].SearchNames("menuiseri labaig", Query{Limit: 10})
	if !slices.ContainsFunc(r.Hits, func(h Hit) bool { return h.ID == id }) {
		t.Errorf("after a snapshot, menuiseri labaig does not find MENUISERIE LABAIGS: %v", r.Hits)
	}
}
