// Package searchindex is an in-memory search index derived from
// PostgreSQL, for the catalogue and the directory at national scale.
//
// PostgreSQL stays the source of truth and does the language work: the
// documents are the tsvectors it computes (fr_tsvector: accents
// ignored, French stemming, stop words dropped) and queries are parsed by
// its websearch_to_tsquery, so both paths find exactly the same documents.
// What the index adds is what PostgreSQL cannot do fast over millions of
// rows: intersecting posting lists of words and facet keys, counting every
// facet of every match and ranking all matches, without reading a table
// row. Any server rebuilds it from the database at start and follows the
// change log (see Syncer); until it is ready, search runs in SQL.
package searchindex

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// Doc is one searchable row: its id, a sort key (recency), its facet keys,
// its tsvector as PostgreSQL prints it and, for the directory, the name
// looked up when typed approximately (see SearchNames).
type Doc struct {
	ID     int64
	Sort   int64
	Facets []string
	Vector string
	Name   string
}

// Index holds one list (offers or SMEs). It is safe for concurrent use:
// searches share a read lock; changes take the write lock briefly.
type Index struct {
	mu    sync.RWMutex
	ids   idList
	sorts []int64
	// facets: each doc's facet ids, as shared sets.
	facets   facetSets
	dead     []bool
	byID     ordinals
	live     int
	terms    map[string]*postings
	facetIDs map[string]uint32
	keys     []string
	// facetDoc: facet id → the docs holding it, a compressed bitmap
	// (roaring): facets are only ever tested for membership, and the
	// common ones (a CPV division, a region) hold a large part of the
	// docs, where a bitmap costs a bit per doc instead of four bytes.
	facetDoc []*roaring.Bitmap
	// cost is what each document's entries take in memory (ids, sort key,
	// facets, postings), so dead copies are weighed in bytes, not counted.
	cost      []uint32
	bytes     int64 // live and dead
	deadBytes int64
	names     vocabulary
}

// New returns an empty index.
func New() *Index {
	return &Index{byID: ordinals{sparse: map[int64]uint32{}}, terms: map[string]*postings{}, facetIDs: map[string]uint32{}, facets: newFacetSets()}
}

// Len is the number of live documents.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live
}

// Dead is the number of replaced or deleted documents still held.
func (x *Index) Dead() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ids.len() - x.live
}

// Memory estimates the bytes the documents' entries take, all of them and
// the dead copies' share (the rebuild threshold).
func (x *Index) Memory() (total, dead int64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.bytes, x.deadBytes
}

// Put adds a document, replacing the one with the same id. A new document
// takes the next ordinal, so every posting list stays sorted by appending.
func (x *Index) Put(d Doc) error {
	terms, err := docTerms(d)
	if err != nil {
		return err
	}
	x.putParsed(d, terms)
	return nil
}

// docTerms are a document's terms: its tsvector's lexemes, then its
// name's words.
func docTerms(d Doc) ([]Term, error) {
	terms, err := ParseVector(d.Vector)
	if err != nil {
		return nil, err
	}
	return append(terms, nameTerms(d.Name)...), nil
}

// putParsed adds a document whose tsvector is already parsed.
func (x *Index) putParsed(d Doc, terms []Term) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.deleteLocked(d.ID)
	ord := uint32(x.ids.len())
	x.ids.append(d.ID)
	x.sorts = append(x.sorts, d.Sort)
	x.dead = append(x.dead, false)
	x.byID.set(d.ID, ord, x.ids.len())
	x.live++
	var cats, rest []uint32
	for _, k := range d.Facets {
		id, ok := x.facetIDs[k]
		if !ok {
			id = uint32(len(x.keys))
			x.facetIDs[k] = id
			x.keys = append(x.keys, k)
			x.facetDoc = append(x.facetDoc, roaring.New())
		}
		if isCategory(k) {
			cats = append(cats, id)
		} else {
			rest = append(rest, id)
		}
		x.facetDoc[id].Add(ord)
	}
	x.facets.add(cats, rest)
	// 4 id + 8 sort + 1 dead + 8 sets + 4 cost + 4 ordinal by id; 6 a
	// facet (its list, and its set's share, or all of it when the set is
	// not shared); about 2 a posting (its gap and weight).
	c := uint32(29 + 6*len(d.Facets) + 2*len(terms))
	x.cost = append(x.cost, c)
	x.bytes += int64(c)
	for _, t := range terms {
		p := x.terms[t.Lexeme]
		if p == nil {
			p = &postings{}
			x.terms[t.Lexeme] = p
			if w, ok := strings.CutPrefix(t.Lexeme, namePrefix); ok {
				x.names.add(w)
			}
		}
		p.add(ord, uint8(min(t.Score, 255))) // the term's weight in the doc, ×100 (at most 2.55: see termScore)
	}
}

// compact copies every list into an allocation of its exact length: a
// list built by appending holds up to twice what it needs. Called once a
// build is done; a later change grows only the lists it touches.
func (x *Index) compact() {
	x.mu.Lock()
	defer x.mu.Unlock()
	exact := func(s []uint32) []uint32 { return append(make([]uint32, 0, len(s)), s...) }
	x.ids.compact()
	x.sorts = append(make([]int64, 0, len(x.sorts)), x.sorts...)
	x.dead = append(make([]bool, 0, len(x.dead)), x.dead...)
	x.facets.compact()
	x.cost = exact(x.cost)
	x.byID.dense = exact(x.byID.dense)
	for _, b := range x.facetDoc {
		b.RunOptimize()
	}
	// The postings of all terms in three arenas: one allocation each
	// instead of three per term.
	var nskips, ndata, nscores int
	for _, p := range x.terms {
		nskips, ndata, nscores = nskips+len(p.skips), ndata+len(p.data), nscores+len(p.scores)
	}
	skips, data, scores := make([]uint32, 0, nskips), make([]byte, 0, ndata), make([]uint8, 0, nscores)
	for _, p := range x.terms {
		// Capped: an append to one list reallocates it, never overwrites the next.
		if p.skips != nil {
			o := len(skips)
			skips = append(skips, p.skips...)
			p.skips = skips[o:len(skips):len(skips)]
		}
		o := len(data)
		data = append(data, p.data...)
		p.data = data[o:len(data):len(data)]
		o = len(scores)
		scores = append(scores, p.scores...)
		p.scores = scores[o:len(scores):len(scores)]
	}
}

// idList is the documents' ids by ordinal: four bytes each while every
// id fits in them (identity columns count from 1), eight once one does
// not.
type idList = widening[uint32, int64]

// ordinals finds a document's ordinal by its id: a dense array indexed by
// id (4 bytes per id up to the largest) while ids are dense, as identity
// columns are; a map otherwise.
type ordinals struct {
	dense  []uint32 // id → ordinal + 1; 0: none
	sparse map[int64]uint32
}

func (o *ordinals) get(id int64) (uint32, bool) {
	if id >= 0 && id < int64(len(o.dense)) {
		if v := o.dense[id]; v != 0 {
			return v - 1, true
		}
		return 0, false
	}
	v, ok := o.sparse[id]
	return v, ok
}

// set records id's ordinal; docs is how many documents the index holds,
// which bounds how large the dense array may grow.
func (o *ordinals) set(id int64, ord uint32, docs int) {
	if id >= 0 && id < int64(len(o.dense)) {
		o.dense[id] = ord + 1
		return
	}
	if id >= 0 && id < int64(2*docs+1<<16) {
		grown := make([]uint32, max(id+1, int64(len(o.dense))*5/4))
		copy(grown, o.dense)
		o.dense = grown
		o.dense[id] = ord + 1
		for k, v := range o.sparse { // now in the dense range
			if k >= 0 && k < int64(len(o.dense)) {
				o.dense[k] = v + 1
				delete(o.sparse, k)
			}
		}
		return
	}
	o.sparse[id] = ord
}

func (o *ordinals) del(id int64) {
	if id >= 0 && id < int64(len(o.dense)) {
		o.dense[id] = 0
		return
	}
	delete(o.sparse, id)
}

// Delete removes a document (it stays as a tombstone until a rebuild).
func (x *Index) Delete(id int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.deleteLocked(id)
}

func (x *Index) deleteLocked(id int64) {
	if ord, ok := x.byID.get(id); ok {
		x.dead[ord] = true
		x.byID.del(id)
		x.live--
		x.deadBytes += int64(x.cost[ord])
	}
}

// Query is a search: every term (lexemes from websearch_to_tsquery) and
// every facet key must match. Without terms, hits are the most recent.
type Query struct {
	Terms  []string
	Facets []string
	Offset int
	Limit  int
	// TotalOnly skips facet counts and ranking.
	TotalOnly bool
}

// Hit is one match.
type Hit struct {
	ID    int64
	Score float32
}

// Result is a page of hits, the exact total and the exact count of every
// facet key among all matches.
type Result struct {
	Total  int
	Facets map[string]int
	Hits   []Hit
}

// Search runs q.
func (x *Index) Search(q Query) Result {
	x.mu.RLock()
	defer x.mu.RUnlock()
	res := Result{Facets: map[string]int{}}

	// The words' lists to intersect, shortest first, and the facets.
	var scored []*postings
	for _, t := range q.Terms {
		p := x.terms[t]
		if p == nil {
			return res
		}
		scored = append(scored, p)
	}
	var facets []*roaring.Bitmap
	smallest := uint64(math.MaxUint64)
	for _, k := range q.Facets {
		id, ok := x.facetIDs[k]
		if !ok {
			return res
		}
		facets = append(facets, x.facetDoc[id])
		smallest = min(smallest, x.facetDoc[id].GetCardinality())
	}
	lists := slices.Clone(scored)
	slices.SortFunc(lists, func(a, b *postings) int { return cmp.Compare(a.len(), b.len()) })
	// The facets lead when they hold fewer docs than the shortest word
	// list (or there is no word): their intersection is a list to walk.
	// Otherwise the shortest word list leads, decoded: as a bitmap, it
	// meets the facets container by container, faster than a lookup per
	// document.
	var lead []uint32
	var leadWeights []uint8 // its weights, by index
	var others []*cursor
	switch {
	case len(facets) > 0 && (len(lists) == 0 || smallest < uint64(lists[0].len())):
		both := facets[0]
		if len(facets) > 1 {
			both = roaring.FastAnd(facets...)
		}
		lead = both.ToArray()
	case len(facets) > 0:
		whole, ats := lists[0].allAt(nil, nil)
		b := roaring.BitmapOf(whole...)
		for _, f := range facets {
			b.And(f)
		}
		lead = b.ToArray()
		others = append(others, decodedCursor(lists[0], whole, ats))
		lists = lists[1:]
	case len(lists) > 0:
		var ats []int32
		lead, ats = lists[0].allAt(nil, nil)
		leadWeights = lists[0].allWeights(make([]uint8, 0, len(lead)), ats)
		lists = lists[1:]
	}
	for _, p := range lists {
		others = append(others, newCursor(p))
	}
	var matches []uint32
	var sums []float32
	if len(q.Terms) == 0 && len(facets) == 0 {
		matches = make([]uint32, 0, x.live)
		for ord := range x.ids.len() {
			if !x.dead[ord] {
				matches = append(matches, uint32(ord))
			}
		}
		sums = make([]float32, len(matches))
	} else {
		matches, sums = intersect(lead, leadWeights, others, x.dead, !q.TotalOnly)
	}
	res.Total = len(matches)
	if q.TotalOnly {
		return res
	}

	counts := make([]int, len(x.keys))
	x.facets.countAll(matches, counts)
	for id, n := range counts {
		if n > 0 {
			res.Facets[x.keys[id]] = n
		}
	}

	// Score every match (sum of its terms' weights), then keep the page:
	// the best Offset+Limit in a bounded heap, so a word found in a third of
	// the catalogue costs one comparison per match, not a sort.
	k := q.Offset + q.Limit
	if k <= 0 || q.Offset >= len(matches) {
		return res
	}
	h := make(candHeap, 0, min(k, len(matches)))
	for i, ord := range matches {
		c := cand{score: sums[i], sort: x.sorts[ord], id: x.ids.get(ord)}
		if len(h) < k {
			h.push(c)
		} else if c.better(h[0]) {
			h[0] = c
			h.down(0)
		}
	}
	slices.SortFunc(h, compareCands)
	for _, c := range h[q.Offset:] {
		res.Hits = append(res.Hits, Hit{ID: c.id, Score: c.score})
	}
	return res
}

// cand is a scored match; better orders by score, then recency, then id.
type cand struct {
	score float32
	sort  int64
	id    int64
}

func (a cand) better(b cand) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.sort != b.sort {
		return a.sort > b.sort
	}
	return a.id > b.id
}

// compareCands sorts the best first.
func compareCands(a, b cand) int {
	if a.better(b) {
		return -1
	}
	if b.better(a) {
		return 1
	}
	return 0
}

// candHeap keeps the worst of the best at its root.
type candHeap []cand

func (h *candHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[p].better(s[i]) {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h candHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		w := l
		if r := l + 1; r < len(h) && h[l].better(h[r]) {
			w = r
		}
		if !h[i].better(h[w]) {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// intersect returns the docs of lead (sorted) present in every other list
// and not dead, and, when scores is set, the sum of each one's weights in
// every term: leadWeights (when lead is a term's whole list, by index) and the
// others' (where their cursors found it) — one walk for both.
func intersect(lead []uint32, leadWeights []uint8, others []*cursor, dead []bool, scores bool) ([]uint32, []float32) {
	out := make([]uint32, 0, len(lead))
	var sums []float32
	if scores {
		sums = make([]float32, 0, len(lead))
	}
next:
	for i, d := range lead {
		if dead[d] {
			continue
		}
		var sc uint32 // weights ×100, summed exactly whatever the order of the terms
		if leadWeights != nil {
			sc = uint32(leadWeights[i])
		}
		for _, c := range others {
			pos, ord, ok := c.seek(d)
			if !ok {
				break next
			}
			if ord != d {
				continue next
			}
			sc += uint32(c.weight(pos))
		}
		out = append(out, d)
		if scores {
			sums = append(sums, float32(sc)/100)
		}
	}
	return out, sums
}

// termScore weighs a lexeme's positions as ts_rank does (A 1.0, B 0.4,
// C 0.2, D 0.1), with diminishing returns for repeats.
func termScore(weights []byte) uint16 {
	var best, sum float64
	for _, w := range weights {
		v := weightOf(w)
		sum += v
		best = max(best, v)
	}
	s := best + 0.1*math.Log1p(sum-best)
	return uint16(min(s*100, 65535))
}

func weightOf(w byte) float64 {
	switch w {
	case 'A':
		return 1.0
	case 'B':
		return 0.4
	case 'C':
		return 0.2
	}
	return 0.1
}

// Sizes are the bytes each part of the index holds (the lengths of its
// arrays; maps and bitmaps as their contents), what the benchmark reports
// beside the resident memory.
func (x *Index) Sizes() map[string]int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	sets, docs := x.facets.bytes()
	s := map[string]int64{
		"ids":               x.ids.bytes(),
		"sort keys":         8 * int64(len(x.sorts)),
		"dead flags":        int64(len(x.dead)),
		"facet sets":        sets,
		"facet sets by doc": docs,
		"costs":             4 * int64(len(x.cost)),
		"ordinals":          4*int64(len(x.byID.dense)) + 16*int64(len(x.byID.sparse)),
	}
	for _, b := range x.facetDoc {
		s["docs by facet"] += int64(b.GetSizeInBytes())
	}
	for t, p := range x.terms {
		s["posting gaps and packed weights"] += int64(len(p.data))
		s["posting weights (open blocks)"] += int64(len(p.scores))
		s["posting skips"] += 4 * int64(len(p.skips))
		s["terms"] += int64(len(t)) + 16 + 8 + 72 // key, its header, the pointer, the postings struct
	}
	for _, w := range x.names.words {
		s["name vocabulary"] += int64(len(w)) + 16
	}
	for t, ids := range x.names.tri {
		s["name trigrams"] += int64(len(t)) + 16 + 24 + 4*int64(len(ids))
	}
	return s
}
