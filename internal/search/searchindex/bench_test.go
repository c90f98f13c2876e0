package searchindex

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

var (
	benchOnce  sync.Once
	benchIndex *Index
)

// benchmarkIndex holds 500,000 synthetic documents whose words follow a
// Zipf law (word 0 is in about a third of them, like "travaux" in the
// catalogue) and whose facets are spread like CPV divisions and regions.
func benchmarkIndex() *Index {
	benchOnce.Do(func() {
		r := rand.New(rand.NewPCG(1, 1))
		z := rand.NewZipf(r, 1.1, 1, 20000)
		x := New()
		for i := range 500_000 {
			vec := ""
			for range 30 {
				vec += fmt.Sprintf("'w%d':%d%c ", z.Uint64(), r.IntN(100)+1, "ABCD"[r.IntN(4)])
			}
			facets := []string{fmt.Sprintf("cpv:%02d", r.IntN(45)), fmt.Sprintf("reg:%02d", r.IntN(13)), fmt.Sprintf("trl:%d", r.IntN(9)+1)}
			if err := x.Put(Doc{ID: int64(i + 1), Sort: int64(r.IntN(1_000_000)), Facets: facets, Vector: vec}); err != nil {
				panic(err)
			}
		}
		benchIndex = x
	})
	return benchIndex
}

func BenchmarkSearchFrequentWordTwoFacets(b *testing.B) {
	x := benchmarkIndex()
	q := Query{Terms: []string{"w0"}, Facets: []string{"cpv:01", "reg:02"}, Limit: 21}
	b.ResetTimer()
	for b.Loop() {
		_ = x.Search(q)
	}
}

func BenchmarkSearchFrequentWordNoFacet(b *testing.B) {
	x := benchmarkIndex()
	q := Query{Terms: []string{"w0"}, Limit: 21}
	b.ResetTimer()
	for b.Loop() {
		_ = x.Search(q)
	}
}

func BenchmarkSearchRareWordTwoFacets(b *testing.B) {
	x := benchmarkIndex()
	q := Query{Terms: []string{"w500"}, Facets: []string{"cpv:01", "reg:02"}, Limit: 21}
	b.ResetTimer()
	for b.Loop() {
		_ = x.Search(q)
	}
}

func BenchmarkSearchTwoWordsTwoFacets(b *testing.B) {
	x := benchmarkIndex()
	q := Query{Terms: []string{"w0", "w40"}, Facets: []string{"cpv:01"}, Limit: 21}
	b.ResetTimer()
	for b.Loop() {
		_ = x.Search(q)
	}
}

func BenchmarkSearchTwoWords(b *testing.B) {
	x := benchmarkIndex()
	q := Query{Terms: []string{"w0", "w3"}, Limit: 21}
	b.ResetTimer()
	for b.Loop() {
		_ = x.Search(q)
	}
}
