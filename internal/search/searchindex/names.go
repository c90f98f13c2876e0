package searchindex

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/RoaringBitmap/roaring/v2"

	"passerelle/internal/taxonomy"
)

// Names: a company found by a name typed with a typo or cut short
// ("sitreva" for SITREVAL, "boulang" for BOULANGERIE DUPONT), without a
// scan of every name.
//
// A document's name is split into folded words (accents and case aside),
// each held as a term of the index under namePrefix, so its postings are
// kept, snapshotted and compacted with the others. Beside them, the
// vocabulary of name words (a few hundred thousand at national scale) is
// indexed by trigram, as pg_trgm does: a typed word is looked up among
// the words sharing its trigrams, and the documents holding the close ones
// are read from their postings. The vocabulary's trigrams are derived
// (rebuilt from the terms after a snapshot is read), never stored.

// namePrefix marks a name word among the terms: no lexeme PostgreSQL
// prints starts with a control character.
const namePrefix = "\x01"

// NameThreshold is how much of the typed words' trigrams a name must
// hold (pg_trgm's word_similarity, whose default threshold is 0.6).
const NameThreshold = 0.6

// wordThreshold is how much of one typed word's trigrams a name word must
// hold to count: a word with one letter out of place keeps about half of
// them ("azruial" 4 of "azurial"'s 8), which the others typed may make up.
const wordThreshold = 0.4

// maxNameWords bounds the name words one typed word brings (the closest
// first), so a short common stem does not read half the index.
const maxNameWords = 64

// minNameWord is the shortest typed word looked up among names: two
// letters share their trigrams with too many words to mean anything.
const minNameWord = 3

// vocabulary indexes the name words by trigram.
type vocabulary struct {
	words []string            // word id → word (without the prefix)
	tri   map[string][]uint32 // trigram → word ids holding it, ascending
}

func (v *vocabulary) add(word string) {
	if v.tri == nil {
		v.tri = map[string][]uint32{}
	}
	id := uint32(len(v.words))
	v.words = append(v.words, word)
	for _, t := range trigrams(word) {
		v.tri[t] = append(v.tri[t], id)
	}
}

// NameWords are the words of a name as the index holds them: folded,
// one letter or digit words dropped, each once.
func NameWords(name string) []string {
	var out []string
	for _, w := range strings.Fields(taxonomy.Fold(name)) {
		if utf8.RuneCountInString(w) >= 2 && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// nameTerms are the terms a document's name adds.
func nameTerms(name string) []Term {
	words := NameWords(name)
	out := make([]Term, len(words))
	for i, w := range words {
		out[i] = Term{Lexeme: namePrefix + w}
	}
	return out
}

// trigrams are a word's trigrams as pg_trgm takes them: the word padded
// with two spaces before and one after, each trigram once.
func trigrams(word string) []string {
	r := []rune("  " + word + " ")
	out := make([]string, 0, len(r)-2)
	for i := 0; i+3 <= len(r); i++ {
		t := string(r[i : i+3])
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// closeWord is a name word close to a typed word, and how close.
type closeWord struct {
	id     uint32
	shared int // the typed word's trigrams it holds
	len    int // its length: of two as close, the shorter is nearer
}

// closeWords are the name words holding at least wordThreshold of a
// typed word's trigrams ts, the closest first, at most maxNameWords.
func (v *vocabulary) closeWords(ts []string, shared []uint8) []closeWord {
	var touched []uint32
	for _, t := range ts {
		for _, id := range v.tri[t] {
			if shared[id] == 0 {
				touched = append(touched, id)
			}
			shared[id]++
		}
	}
	var out []closeWord
	for _, id := range touched {
		if float64(shared[id]) >= wordThreshold*float64(len(ts)) {
			out = append(out, closeWord{id: id, shared: int(shared[id]), len: utf8.RuneCountInString(v.words[id])})
		}
		shared[id] = 0
	}
	slices.SortFunc(out, func(a, b closeWord) int {
		if a.shared != b.shared {
			return cmp.Compare(b.shared, a.shared)
		}
		return cmp.Compare(a.len, b.len)
	})
	return out[:min(len(out), maxNameWords)]
}

// scratch is a search's per-document and per-word work space, reused.
type scratch struct {
	score  []float32
	last   []int8
	shared []uint8
	docs   []uint32
}

var scratchPool sync.Pool

func (x *Index) scratch() *scratch {
	s, _ := scratchPool.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	if n := x.ids.len(); len(s.score) < n {
		s.score, s.last = make([]float32, n+n/8), make([]int8, n+n/8)
	}
	if n := len(x.names.words); len(s.shared) < n {
		s.shared = make([]uint8, n+n/8)
	}
	return s
}

// SearchNames finds the documents whose name is close to text, as
// pg_trgm's word_similarity would (without reading every name): each
// typed word of three letters or more is matched to the name words holding
// at least wordThreshold of its trigrams, and a document scores the
// trigrams its closest word for each typed word holds, over all the typed
// words' trigrams. Documents scoring NameThreshold or more match, filtered
// by q.Facets; they are counted, facets included, and ranked by score,
// then recency. q.Terms is ignored.
func (x *Index) SearchNames(text string, q Query) Result {
	x.mu.RLock()
	defer x.mu.RUnlock()
	res := Result{Facets: map[string]int{}}
	var typed []string
	for _, w := range strings.Fields(taxonomy.Fold(text)) {
		if utf8.RuneCountInString(w) >= minNameWord && !slices.Contains(typed, w) {
			typed = append(typed, w)
		}
	}
	if len(typed) == 0 || len(typed) > 127 {
		return res
	}
	var facets []*roaring.Bitmap
	for _, k := range q.Facets {
		id, ok := x.facetIDs[k]
		if !ok {
			return res
		}
		facets = append(facets, x.facetDoc[id])
	}
	s := x.scratch()
	defer scratchPool.Put(s)
	var touched []uint32
	all := 0
	grams := make([][]string, len(typed))
	for i, w := range typed {
		grams[i] = trigrams(w)
		all += len(grams[i])
	}
	for i := range typed {
		// The closest words first: a document holding two of them counts
		// the closer.
		for _, c := range x.names.closeWords(grams[i], s.shared) {
			p := x.terms[namePrefix+x.names.words[c.id]]
			if p == nil {
				continue
			}
			s.docs = p.all(s.docs[:0])
			for _, ord := range s.docs {
				if s.last[ord] == int8(i+1) {
					continue
				}
				if s.last[ord] == 0 {
					touched = append(touched, ord)
				}
				s.last[ord] = int8(i + 1)
				s.score[ord] += float32(c.shared)
			}
		}
	}
	var matches []cand
	need := float32(NameThreshold * float64(all))
	for _, ord := range touched {
		sc := s.score[ord]
		s.score[ord], s.last[ord] = 0, 0
		if sc < need-1e-6 || x.dead[ord] {
			continue
		}
		if !slices.ContainsFunc(facets, func(b *roaring.Bitmap) bool { return !b.Contains(ord) }) {
			matches = append(matches, cand{score: sc / float32(all), sort: x.sorts[ord], id: int64(ord)})
		}
	}
	res.Total = len(matches)
	if q.TotalOnly {
		return res
	}
	counts := make([]int, len(x.keys))
	for _, m := range matches {
		x.facets.count(uint32(m.id), counts)
	}
	for id, n := range counts {
		if n == 0 {
			continue
		}
		res.Facets[x.keys[id]] = n
	}
	for i := range matches {
		matches[i].id = x.ids.get(uint32(matches[i].id))
	}
	slices.SortFunc(matches, compareCands)
	if q.Offset < len(matches) {
		for _, c := range matches[q.Offset:min(len(matches), q.Offset+q.Limit)] {
			res.Hits = append(res.Hits, Hit{ID: c.id, Score: c.score})
		}
	}
	return res
}

// Known reports, for each term, how many postings it has (documents
// replaced or deleted since the last build included): what orders words
// from the rarest, read from the list's length, not by walking it.
func (x *Index) Known(terms []string) []int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]int, len(terms))
	for i, t := range terms {
		if p := x.terms[t]; p != nil {
			out[i] = p.len()
		}
	}
	return out
}

// buildVocabulary indexes the name words the terms hold (after a
// snapshot is read: the vocabulary is derived, never stored).
func (x *Index) buildVocabulary() {
	var words []string
	for t := range x.terms {
		if w, ok := strings.CutPrefix(t, namePrefix); ok {
			words = append(words, w)
		}
	}
	slices.Sort(words)
	x.names = vocabulary{}
	for _, w := range words {
		x.names.add(w)
	}
}
