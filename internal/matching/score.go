// Package matching ranks SMEs for a purchase request, each with the
// reasons a buyer can check: the CPV codes of its offers and of its past
// contracts (with fallback to their parents), contracts for the same
// buyer, where it works, the affinity of its activity (NAF) with the
// category, the French words its references share with the request, and
// what missing data would improve the match. Scoring is pure (this file):
// the service gathers the evidence from PostgreSQL and ranks.
package matching

import (
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Levels of the CPV hierarchy a code is matched at, from the division
// (2 digits) to the exact code.
const (
	LevelNone = iota
	LevelDivision
	LevelGroup
	LevelClass
	LevelCategory
	LevelExact
)

// Request is a purchase request as the matching reads it.
type Request struct {
	CPV         []string // 8-digit codes
	Departement string   // where it is (its first département, or its region's none)
	Region      string
	Text        string // title and description
	BuyerSIREN  string // the buyer's SIREN: its past contracts are those of any of its establishments
	BuyerName   string
	// EvalExclude, for the evaluation only, are reference uids to leave out: its query
	// contract and its re-publications (leave-one-out).
	EvalExclude []string
	// Among, when set, are the only SMEs looked at, each scored as the
	// whole ranking would score it: the reference the recompute's Batch is
	// tested against.
	Among []int64
}

// Evidence is what the platform knows of one SME for one request.
type Evidence struct {
	OrgID       int64
	Name        string
	NAF         string
	Departement string
	Region      string
	// Past contracts sharing the request's code at each level (index
	// LevelDivision…LevelExact; 0 unused), overall and in its département.
	RefsAt    [6]int
	RefsAtDep [6]int
	// Latest year of a past contract sharing the request's class (0
	// unknown), which the score reads; and at each level, which the
	// reasons cite beside their counts.
	Latest   int
	LatestAt [6]int
	// Past contracts for this very buyer, and those in the request's division.
	SameBuyer, SameBuyerDiv int
	// Of them, those sharing the request's class; and how close the
	// object of the closest is to the request's words (ts_rank): the
	// buyer's incumbent on a similar need.
	SameBuyerClass  int
	SimilarForBuyer float64
	// The deepest level one of its published offers shares with the
	// request, and that offer.
	OfferLevel int
	OfferID    int64
	OfferTitle string
	OfferTRL   int // 0: not given
	// Whether its offers or profile serve a place of the request.
	ServesPlace bool
	// French full-text similarity of its references to the request (ts_rank).
	Text float64
	// Share of the platform's past contracts won by SMEs of its activity
	// (NAF) that fall in the request's division and group.
	AffinityDiv, AffinityGroup float64
	References                 int // all its past contracts
	latestHere                 int // Latest, as the département's contracts say
}

// Features are the inputs of the score, in the order of Weights.
type Features [NumFeatures]float64

// The features.
const (
	FRefsDivision = iota
	FRefsGroup
	FRefsClass
	FRefsCategory
	FRefsExact
	FRefsDepDivision
	FRefsDepGroup
	FRefsDepClass
	FRefsDepCategory
	FRefsDepExact
	FSameBuyer
	FSameBuyerDiv
	FOffer
	FText
	FAffinity
	FAffinityGroup
	FLocal
	FRecent
	FVolume
	FLocalAffinity
	FSameBuyerClass
	FSimilarForBuyer
	NumFeatures
)

// FeatureNames name the features in the weights file and the docs.
var FeatureNames = [NumFeatures]string{"refs_division", "refs_group", "refs_class", "refs_category", "refs_exact",
	"refs_dep_division", "refs_dep_group", "refs_dep_class", "refs_dep_category", "refs_dep_exact",
	"same_buyer", "same_buyer_division", "offer_level", "text", "naf_affinity", "naf_affinity_group", "local", "recent", "volume", "local_affinity",
	"same_buyer_class", "similar_for_buyer"}

// ExhaustiveOnly are the features the platform's ranking does not read at
// national scale (contracts counted at the division level across France,
// every contract of a candidate): their weights stay 0, and the fit
// leaves them there.
var ExhaustiveOnly = [NumFeatures]bool{FRefsDivision: true, FVolume: true}

// Weights multiply the features.
type Weights [NumFeatures]float64

// Level is the deepest level at which two CPV codes share a prefix: the
// length of the common prefix of their significant digits (as
// taxonomy.CPVPrefixes lists them), without allocating — the matching
// calls it for every contract and offer of every candidate.
func Level(a, b string) int {
	if a == b {
		return LevelExact
	}
	sa, sb := significant(a), significant(b)
	c, m := 0, min(len(sa), len(sb))
	for c < m && sa[c] == sb[c] {
		c++
	}
	if c < 2 {
		return LevelNone
	}
	return levelOf(c)
}

// significant is a code without its trailing zeros, at least its division.
func significant(code string) string {
	sig := strings.TrimRight(code, "0")
	if len(sig) < 2 {
		sig = code[:min(2, len(code))]
	}
	return sig
}

// levelOf maps a prefix length to its level: 2 division, 3 group, 4
// class, 5 category, more the exact code.
func levelOf(n int) int {
	switch {
	case n <= 2:
		return LevelDivision
	case n == 3:
		return LevelGroup
	case n == 4:
		return LevelClass
	case n == 5:
		return LevelCategory
	}
	return LevelExact
}

// Prefix is the code's prefix at a level ("722" for the group of 72212000).
func Prefix(code string, level int) string {
	n := map[int]int{LevelDivision: 2, LevelGroup: 3, LevelClass: 4, LevelCategory: 5, LevelExact: 8}[level]
	return code[:min(n, len(code))]
}

// FeaturesOf turns evidence into features: counts on a log scale, so the
// tenth contract adds less than the first.
// year is the request's, for the recency of past contracts.
func FeaturesOf(e Evidence, r Request, year int) Features {
	var f Features
	for lvl := LevelDivision; lvl <= LevelExact; lvl++ {
		f[FRefsDivision+lvl-1] = math.Log1p(float64(e.RefsAt[lvl]))
		f[FRefsDepDivision+lvl-1] = math.Log1p(float64(e.RefsAtDep[lvl]))
	}
	f[FVolume] = math.Log1p(float64(e.References))
	f[FSameBuyer] = math.Log1p(float64(e.SameBuyer))
	f[FSameBuyerDiv] = math.Log1p(float64(e.SameBuyerDiv))
	f[FSameBuyerClass] = math.Log1p(float64(e.SameBuyerClass))
	f[FSimilarForBuyer] = e.SimilarForBuyer
	f[FOffer] = float64(e.OfferLevel) / LevelExact
	f[FText] = e.Text
	f[FAffinity] = e.AffinityDiv
	f[FAffinityGroup] = e.AffinityGroup
	switch {
	case e.Departement != "" && e.Departement == r.Departement:
		f[FLocal] = 1
	case e.Region != "" && e.Region == r.Region:
		f[FLocal] = 0.5
	}
	// An SME of an activity that often wins the group's contracts, based
	// where the request is: what ranks an SME new to public contracts.
	f[FLocalAffinity] = f[FAffinityGroup] * f[FLocal]
	if e.Latest > 0 && year > 0 {
		f[FRecent] = 1 / (1 + math.Max(0, float64(year-e.Latest)))
	}
	return f
}

// Score is the weighted sum of the features.
func Score(f Features, w Weights) float64 {
	s := 0.0
	for i := range f {
		s += f[i] * w[i]
	}
	return s
}

// Ranked is an SME with its score, best first.
type Ranked struct {
	Evidence
	Score float64
}

// Rank scores every candidate and sorts them, best first; ties go to the
// lower organisation id so that a ranking is reproducible.
func Rank(evidence []Evidence, r Request, w Weights, year int) []Ranked {
	return RankFirst(evidence, r, w, year, len(evidence))
}

// RankFirst is the first n of Rank: the evidence, a few hundred bytes
// each, is copied for those only (thousands are scored per request).
func RankFirst(evidence []Evidence, r Request, w Weights, year, n int) []Ranked {
	keys := make([]rankKey, len(evidence))
	for i := range evidence {
		keys[i] = rankKey{Score(FeaturesOf(evidence[i], r, year), w), evidence[i].OrgID, int32(i)}
	}
	keys = firstKeys(keys, n)
	out := make([]Ranked, len(keys))
	for k := range out {
		out[k] = Ranked{Evidence: evidence[keys[k].i], Score: keys[k].score}
	}
	return out
}

// rankKey is a scored SME's place in a list: best score first, then the
// lower id.
type rankKey struct {
	score float64
	org   int64
	i     int32
}

// before orders keys best first; an organisation is in a list once, so
// no two keys are equal.
func before(a, b rankKey) bool {
	return a.score > b.score || (a.score == b.score && a.org < b.org)
}

func sortKeys(keys []rankKey) {
	slices.SortFunc(keys, func(a, b rankKey) int {
		switch {
		case before(a, b):
			return -1
		case before(b, a):
			return 1
		}
		return 0
	})
}

// firstKeys are the n best keys, in order: selected in linear time, then
// only those sorted (a ranking keeps 100 or 3,000 of up to 100,000
// candidates, and sorting them all was most of its time in Go). It
// reorders keys.
func firstKeys(keys []rankKey, n int) []rankKey {
	if n <= 0 {
		return keys[:0]
	}
	if n < len(keys) {
		selectKeys(keys, n)
		keys = keys[:n]
	}
	sortKeys(keys)
	return keys
}

// selectKeys moves the n best keys (0 < n < len(keys)) to keys[:n], in
// no order: Hoare's selection, the pivot a median of three, and a sort of
// what is left should the partitions keep coming out lopsided.
func selectKeys(keys []rankKey, n int) {
	lo, hi := 0, len(keys)-1 // the n-th best is in keys[lo:hi+1]
	for budget := 2 * bits.Len(uint(len(keys))); lo < hi; budget-- {
		if budget == 0 {
			sortKeys(keys[lo : hi+1])
			return
		}
		mid := lo + (hi-lo)/2
		if before(keys[mid], keys[lo]) {
			keys[mid], keys[lo] = keys[lo], keys[mid]
		}
		if before(keys[hi], keys[lo]) {
			keys[hi], keys[lo] = keys[lo], keys[hi]
		}
		if before(keys[hi], keys[mid]) {
			keys[hi], keys[mid] = keys[mid], keys[hi]
		}
		pivot := keys[mid]
		i, j := lo, hi
		for i <= j {
			for before(keys[i], pivot) {
				i++
			}
			for before(pivot, keys[j]) {
				j--
			}
			if i <= j {
				keys[i], keys[j] = keys[j], keys[i]
				i++
				j--
			}
		}
		// keys[lo:j+1] are no worse than the pivot, keys[i:hi+1] no
		// better, and those between are the pivot itself.
		switch {
		case n-1 <= j:
			hi = j
		case n-1 >= i:
			lo = i
		default:
			return
		}
	}
}
