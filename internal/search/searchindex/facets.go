package searchindex

import (
	"encoding/binary"
	"strings"
	"sync"
)

// facetSets holds each document's facet ids as two interned sets: its
// categories (keys "cpv:…") and the rest (places, kind, size, TRL…),
// which vary independently. Documents share sets — at 1 M organisations
// the 2.1 M offers hold a few hundred distinct category sets and about
// 300,000 of the rest — so a document costs two set numbers instead of
// its dozen facet ids.
type facetSets struct {
	// The sets' facet ids, one set after the other: two bytes each while
	// there are fewer than 65,536 keys (CPV prefixes and places are about
	// 10,000), four past that. Flat arrays without pointers, which the
	// garbage collector skips.
	ids widening[uint16, uint32]
	off []uint32 // set s is [off[s], off[s+1])
	doc []uint32 // document ord's sets: doc[2*ord] (categories) and doc[2*ord+1] (the rest)
	// known finds a set already held while the index is built; nil after
	// (a later document adds its sets unshared: a rebuild shares them again).
	known map[string]uint32
	buf   []byte
}

func newFacetSets() facetSets { return facetSets{off: []uint32{0}, known: map[string]uint32{}} }

// isCategory tells which of the two sets a facet key belongs to.
func isCategory(key string) bool { return strings.HasPrefix(key, "cpv:") }

// add records the next document's sets.
func (f *facetSets) add(cats, rest []uint32) {
	f.doc = append(f.doc, f.intern(cats), f.intern(rest))
}

// intern is the number of the set holding ids, added when new.
func (f *facetSets) intern(ids []uint32) uint32 {
	if f.known != nil {
		f.buf = f.buf[:0]
		for _, id := range ids {
			f.buf = binary.LittleEndian.AppendUint32(f.buf, id)
		}
		if s, ok := f.known[string(f.buf)]; ok {
			return s
		}
	}
	for _, id := range ids {
		f.ids.append(id)
	}
	s := uint32(len(f.off) - 1)
	f.off = append(f.off, uint32(f.ids.len()))
	if f.known != nil {
		f.known[string(f.buf)] = s
	}
	return s
}

// count adds one to counts[id] for each facet id of document ord.
func (f *facetSets) count(ord uint32, counts []int) {
	f.addSet(f.doc[2*ord], 1, counts)
	f.addSet(f.doc[2*ord+1], 1, counts)
}

// addSet adds n to counts[id] for each facet id of set s.
func (f *facetSets) addSet(s uint32, n int, counts []int) {
	if f.ids.wide != nil {
		for _, id := range f.ids.wide[f.off[s]:f.off[s+1]] {
			counts[id] += n
		}
		return
	}
	for _, id := range f.ids.narrow[f.off[s]:f.off[s+1]] {
		counts[id] += n
	}
}

// countAll adds one to counts[id] for each facet id of each document of
// matches (ascending ordinals). Many matches share sets: each set's
// matches are counted first (the documents' set numbers read in order),
// then each set touched adds its count to its facets once.
func (f *facetSets) countAll(matches []uint32, counts []int) {
	if len(matches) < 256 {
		for _, ord := range matches {
			f.count(ord, counts)
		}
		return
	}
	sc, _ := setCountsPool.Get().(*setCounts)
	if sc == nil {
		sc = &setCounts{}
	}
	if n := len(f.off) - 1; len(sc.n) < n {
		sc.n = make([]uint32, n+n/8)
	}
	touched := sc.touched[:0]
	for _, ord := range matches {
		for _, s := range f.doc[2*ord : 2*ord+2] {
			if sc.n[s] == 0 {
				touched = append(touched, s)
			}
			sc.n[s]++
		}
	}
	for _, s := range touched {
		f.addSet(s, int(sc.n[s]), counts)
		sc.n[s] = 0
	}
	sc.touched = touched
	setCountsPool.Put(sc)
}

// setCounts is countAll's scratch: a count per set (zero between uses)
// and the sets touched.
type setCounts struct {
	n       []uint32
	touched []uint32
}

var setCountsPool sync.Pool

// compact copies the arrays into allocations of their exact length and
// forgets the sets' lookup (the build is done).
func (f *facetSets) compact() {
	exact := func(s []uint32) []uint32 { return append(make([]uint32, 0, len(s)), s...) }
	f.ids.compact()
	f.off, f.doc = exact(f.off), exact(f.doc)
	f.known, f.buf = nil, nil
}

// bytes is what the arrays take.
func (f *facetSets) bytes() (sets, docs int64) {
	return f.ids.bytes() + 4*int64(len(f.off)), 4 * int64(len(f.doc))
}

// valid tells whether the sets and the documents' set numbers point
// inside the arrays (a snapshot read is checked before it is used).
func (f *facetSets) valid() bool {
	if len(f.off) == 0 || f.off[0] != 0 {
		return false
	}
	for i := 1; i < len(f.off); i++ {
		if f.off[i] < f.off[i-1] {
			return false
		}
	}
	if int(f.off[len(f.off)-1]) != f.ids.len() {
		return false
	}
	for _, s := range f.doc {
		if int(s) >= len(f.off)-1 {
			return false
		}
	}
	return true
}
