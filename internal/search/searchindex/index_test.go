package searchindex

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestParseVector(t *testing.T) {
	got, err := ParseVector(`'énergi':3B 'fourn':1A,7 'it''s':2 'a\\b':4C 'sans'`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"énergi", "fourn", "it's", `a\b`, "sans"}
	var lex []string
	for _, x := range got {
		lex = append(lex, x.Lexeme)
	}
	if !slices.Equal(lex, want) {
		t.Fatalf("lexemes %q, want %q", lex, want)
	}
	if !(got[1].Score > got[0].Score && got[0].Score > got[3].Score && got[3].Score > got[4].Score) {
		t.Errorf("scores A+D > B > C > D expected: %+v", got)
	}
	for _, bad := range []string{`'open`, `word`} {
		if _, err := ParseVector(bad); err == nil {
			t.Errorf("ParseVector(%q) accepted", bad)
		}
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`'traval' & 'maternel'`, []string{"traval", "maternel"}, true},
		{`'logiciel'`, []string{"logiciel"}, true},
		{``, nil, true},
		{`'a' | 'b'`, nil, false},
		{`!'a'`, nil, false},
		{`'gestion' <-> 'patrimoin'`, nil, false},
	}
	for _, tc := range tests {
		got, ok := ParseQuery(tc.in)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("ParseQuery(%q) = %q %v", tc.in, got, ok)
		}
	}
}

// TestSearchMatchesBruteForce compares the index with a plain scan over
// random documents: same matches, same facet counts, same order.
func TestSearchMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"traval", "logiciel", "nettoyag", "energ", "maintenanc", "form", "etud", "fourn"}
	facets := []string{"cpv:45", "cpv:72", "reg:11", "reg:84", "trl:7", "cert"}
	type doc struct {
		Doc
		words map[string]byte
		fs    []string
	}
	x := New()
	var docs []doc
	for i := range 3000 {
		d := doc{Doc: Doc{ID: int64(i + 1), Sort: int64(r.IntN(500))}, words: map[string]byte{}}
		vec := ""
		for _, w := range words {
			if r.IntN(3) == 0 {
				wt := "ABCD"[r.IntN(4)]
				d.words[w] = wt
				vec += fmt.Sprintf("'%s':%d%c ", w, r.IntN(50)+1, wt)
			}
		}
		for _, f := range facets {
			if r.IntN(3) == 0 {
				d.fs = append(d.fs, f)
			}
		}
		d.Vector, d.Facets = vec, d.fs
		docs = append(docs, d)
		if err := x.Put(d.Doc); err != nil {
			t.Fatal(err)
		}
	}
	// The build is done (lists exact, facet sets no longer looked up);
	// then replace and delete some: the index must forget the old versions.
	x.compact()
	for i := 0; i < 300; i++ {
		j := r.IntN(len(docs))
		docs[j].Sort += 1000
		if err := x.Put(docs[j].Doc); err != nil {
			t.Fatal(err)
		}
	}
	deleted := map[int64]bool{}
	for i := 0; i < 200; i++ {
		id := int64(r.IntN(len(docs)) + 1)
		x.Delete(id)
		deleted[id] = true
	}
	if x.Len() != len(docs)-len(deleted) {
		t.Fatalf("Len %d, want %d", x.Len(), len(docs)-len(deleted))
	}
	for n := 0; n < 200; n++ {
		q := Query{Limit: 20, Offset: r.IntN(3) * 20}
		for _, w := range words {
			if r.IntN(5) == 0 {
				q.Terms = append(q.Terms, w)
			}
		}
		for _, f := range facets {
			if r.IntN(4) == 0 {
				q.Facets = append(q.Facets, f)
			}
		}
		got := x.Search(q)

		type m struct {
			id    int64
			score float32
			sort  int64
		}
		var want []m
		counts := map[string]int{}
	docs:
		for _, d := range docs {
			if deleted[d.ID] {
				continue
			}
			var sum uint32
			for _, w := range q.Terms {
				wt, ok := d.words[w]
				if !ok {
					continue docs
				}
				sum += uint32(termScore([]byte{wt}))
			}
			s := float32(sum) / 100
			for _, f := range q.Facets {
				if !slices.Contains(d.fs, f) {
					continue docs
				}
			}
			want = append(want, m{d.ID, s, d.Sort})
			for _, f := range d.fs {
				counts[f]++
			}
		}
		slices.SortFunc(want, func(a, b m) int {
			if a.score != b.score {
				return cmp.Compare(b.score, a.score)
			}
			if a.sort != b.sort {
				return cmp.Compare(b.sort, a.sort)
			}
			return cmp.Compare(b.id, a.id)
		})
		if got.Total != len(want) {
			t.Fatalf("%+v: total %d, want %d", q, got.Total, len(want))
		}
		for k, v := range counts {
			if got.Facets[k] != v {
				t.Fatalf("%+v: facet %s = %d, want %d", q, k, got.Facets[k], v)
			}
		}
		for i, h := range got.Hits {
			if h.ID != want[q.Offset+i].id {
				t.Fatalf("%+v: hit %d is %d, want %d", q, i, h.ID, want[q.Offset+i].id)
			}
		}
		if wantN := max(0, min(q.Limit, len(want)-q.Offset)); len(got.Hits) != wantN {
			t.Fatalf("%+v: %d hits, want %d", q, len(got.Hits), wantN)
		}
	}
}

// Dead copies are weighed in bytes: a large document replaced weighs more
// than a small one.
func TestDeadCopiesAreWeighedInBytes(t *testing.T) {
	x := New()
	small := Doc{ID: 1, Facets: []string{"cpv:45"}, Vector: "'terrass':1"}
	large := Doc{ID: 2, Facets: []string{"cpv:45", "reg:84", "dep:69"}, Vector: "'terrass':1 'giratoir':2 'parking':3 'enroch':4 'berg':5 'cur':6"}
	for _, d := range []Doc{small, large} {
		if err := x.Put(d); err != nil {
			t.Fatal(err)
		}
	}
	total, dead := x.Memory()
	if dead != 0 || total <= 0 {
		t.Fatalf("fresh index: total %d, dead %d", total, dead)
	}
	_ = x.Put(small) // replaced: one small dead copy
	_, deadSmall := x.Memory()
	_ = x.Put(large) // replaced: one large dead copy
	_, deadBoth := x.Memory()
	if deadSmall <= 0 || deadBoth-deadSmall <= deadSmall {
		t.Errorf("dead bytes: after the small one %d, after the large one +%d (want more)", deadSmall, deadBoth-deadSmall)
	}
	if x.Dead() != 2 || x.Len() != 2 {
		t.Errorf("dead %d, live %d", x.Dead(), x.Len())
	}
}

func TestRebuildThresholdIsMemory(t *testing.T) {
	for _, tc := range []struct {
		total, dead int64
		want        bool
	}{{100 << 20, 10 << 20, false}, {100 << 20, 30 << 20, true}, {2 << 20, 900 << 10, false}, {3 << 20, 2 << 20, true}} {
		if got := tooMuchDead(tc.total, tc.dead); got != tc.want {
			t.Errorf("total %d, dead %d: rebuild %t, want %t", tc.total, tc.dead, got, tc.want)
		}
	}
}

// Past 65,536 facet keys the facets take four bytes each; counts and
// snapshots stay exact.
func TestManyFacetKeys(t *testing.T) {
	x := New()
	const n = 70_000
	for i := range n {
		if err := x.Put(Doc{ID: int64(i + 1), Sort: int64(i), Facets: []string{"all", fmt.Sprintf("own:%d", i)}, Vector: "'mot':1A"}); err != nil {
			t.Fatal(err)
		}
	}
	if x.facets.ids.wide == nil || x.facets.ids.narrow != nil {
		t.Fatal("the facets did not widen")
	}
	check := func(x *Index) {
		t.Helper()
		r := x.Search(Query{Terms: []string{"mot"}, Facets: []string{"all"}, Limit: 1})
		if r.Total != n || len(r.Facets) != n+1 || r.Facets["own:69999"] != 1 || r.Facets["all"] != n {
			t.Fatalf("total %d, %d facet keys", r.Total, len(r.Facets))
		}
	}
	check(x)
	x.compact()
	check(x)
	check(throughSnapshot(t, x))
}

// throughSnapshot is x written to a snapshot and read back.
func throughSnapshot(t *testing.T, x *Index) *Index {
	t.Helper()
	var b bytes.Buffer
	size, sum, err := writeSnapshot(&b, []string{"l"}, map[string]*Index{"l": x})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readSnapshot(&b, size, sum)
	if err != nil {
		t.Fatal(err)
	}
	return got["l"]
}

// A snapshot cut anywhere, or with any byte changed, is refused with
// ErrBadSnapshot, never loaded and never a panic.
func TestSnapshotBytesAreChecked(t *testing.T) {
	x := New()
	for i := range 200 {
		_ = x.Put(Doc{ID: int64(i + 1), Sort: int64(i), Facets: []string{fmt.Sprintf("cpv:%02d", i%7)}, Vector: fmt.Sprintf("'w%d':1A 'commun':2B", i%13)})
	}
	x.Delete(5)
	var b bytes.Buffer
	size, sum, err := writeSnapshot(&b, []string{"l"}, map[string]*Index{"l": x})
	if err != nil {
		t.Fatal(err)
	}
	full := b.Bytes()
	if got, err := readSnapshot(bytes.NewReader(full), size, sum); err != nil || got["l"].Len() != 199 {
		t.Fatalf("the whole snapshot: %v", err)
	}
	for cut := int64(0); cut < size; cut += 7 {
		if _, err := readSnapshot(bytes.NewReader(full[:cut]), size, sum); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
	for at := 0; at < len(full); at += 5 {
		bad := bytes.Clone(full)
		bad[at] ^= 0x5a
		if _, err := readSnapshot(bytes.NewReader(bad), size, sum); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("byte %d changed: %v", at, err)
		}
	}
}

// Ids take four bytes while they fit; one that does not (past 2³² or
// below 0) widens them all, and searches, deletes and snapshots still give
// every id back as it was put.
func TestIDsWidenPastFourBytes(t *testing.T) {
	for _, ids := range [][]int64{{1, 2, 3}, {1, 5_000_000_000, 3}, {7, -3, math.MaxUint32}} {
		x := New()
		for i, id := range ids {
			if err := x.Put(Doc{ID: id, Sort: int64(i), Facets: []string{"all"}, Vector: "'mot':1A"}); err != nil {
				t.Fatal(err)
			}
		}
		_ = x.Put(Doc{ID: 99, Sort: 99, Vector: "'autre':1A"})
		x.Delete(99)
		wide := slices.ContainsFunc(ids, func(id int64) bool { return id < 0 || id > math.MaxUint32 })
		if (x.ids.wide != nil) != wide {
			t.Fatalf("%v: wide %t, want %t", ids, x.ids.wide != nil, wide)
		}
		check := func(x *Index) {
			t.Helper()
			r := x.Search(Query{Terms: []string{"mot"}, Limit: 10})
			var got []int64
			for _, h := range r.Hits {
				got = append(got, h.ID)
			}
			want := slices.Clone(ids)
			slices.Reverse(want) // same score: the most recent first
			if !slices.Equal(got, want) || x.Len() != len(ids) {
				t.Fatalf("hits %v, want %v (%d live)", got, want, x.Len())
			}
		}
		check(x)
		x.compact()
		check(x)
		check(throughSnapshot(t, x))
	}
}
