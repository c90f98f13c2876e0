package matching_test

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"passerelle/internal/matching"
	"passerelle/internal/taxonomy"
)

func TestLevel(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"72212000", "72212000", matching.LevelExact},
		{"72212100", "72212200", matching.LevelCategory},
		{"72212000", "72211000", matching.LevelClass},
		{"72212000", "72200000", matching.LevelGroup}, // a code and its group's own code
		{"72212000", "72300000", matching.LevelDivision},
		{"72212000", "45000000", matching.LevelNone},
		{"45000000", "45000000", matching.LevelExact},
		{"45000000", "45200000", matching.LevelDivision},
	}
	for _, tc := range tests {
		if got := matching.Level(tc.a, tc.b); got != tc.want {
			t.Errorf("Level(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func codes(fs []matching.Fact) map[string]matching.Fact {
	m := map[string]matching.Fact{}
	for _, f := range fs {
		m[f.Code] = f
	}
	return m
}

// Each fact appears when its evidence does, with the values a reader can
// check, and not otherwise.
func TestFacts(t *testing.T) {
	req := matching.Request{CPV: []string{"72212000"}, Departement: "69", Region: "84"}
	bare := matching.Evidence{NAF: "62.01Z", References: 1}
	tests := []struct {
		name string
		ev   func(e *matching.Evidence)
		want matching.Fact
	}{
		{"an offer in the same group", func(e *matching.Evidence) {
			e.OfferLevel, e.OfferID, e.OfferTitle, e.OfferTRL = matching.LevelGroup, 4, "Logiciels métier", 7
		}, matching.Fact{Code: matching.ReasonOffer, Level: "group", Prefix: "722", Title: "Logiciels métier", OfferID: 4}},
		{"past contracts in the class, latest of the class", func(e *matching.Evidence) {
			e.RefsAt = [6]int{0, 5, 4, 3, 0, 0}
			e.LatestAt = [6]int{0, 2020, 2020, 2018, 0, 0}
			e.Latest = 2019
		}, matching.Fact{Code: matching.ReasonPast, Count: 3, Level: "class", Prefix: "7221", Year: 2018}},
		{"some of them in the département, counted at the same level", func(e *matching.Evidence) {
			e.RefsAt = [6]int{0, 4, 4, 2, 0, 0}
			e.RefsAtDep = [6]int{0, 3, 3, 1, 0, 0}
		}, matching.Fact{Code: matching.ReasonPast, Count: 2, Local: 1, Departement: "69", Level: "class", Prefix: "7221"}},
		{"has already worked for the buyer", func(e *matching.Evidence) { e.SameBuyer = 3 }, matching.Fact{Code: matching.ReasonWorkedForBuyer, Count: 3}},
		{"held a similar contract for the buyer", func(e *matching.Evidence) { e.SameBuyer, e.SimilarForBuyer = 1, 0.3 }, matching.Fact{Code: matching.ReasonSimilarForUs}},
		{"works where the request is", func(e *matching.Evidence) { e.ServesPlace = true }, matching.Fact{Code: matching.ReasonServes}},
		{"based in the request's département", func(e *matching.Evidence) { e.Departement, e.Region = "69", "84" },
			matching.Fact{Code: matching.ReasonBasedDepartement, Departement: "69"}},
		{"based in the request's region", func(e *matching.Evidence) { e.Departement, e.Region = "42", "84" }, matching.Fact{Code: matching.ReasonBasedRegion, Region: "84"}},
		{"its activity often wins in the request's group", func(e *matching.Evidence) { e.AffinityGroup = 0.42 },
			matching.Fact{Code: matching.ReasonActivity, NAF: "62.01Z", Level: "group", Prefix: "722", Percent: 42}},
		{"shares words", func(e *matching.Evidence) { e.Text = 0.3 }, matching.Fact{Code: matching.ReasonWords}},
		{"no past contract", func(e *matching.Evidence) { e.References = 0 }, matching.Fact{Code: matching.CaveatNoReferences}},
		{"no TRL given", func(e *matching.Evidence) {
			e.OfferLevel, e.OfferID, e.OfferTitle = matching.LevelExact, 4, "Logiciels"
		},
			matching.Fact{Code: matching.CaveatNoTRL, OfferID: 4, Title: "Logiciels"}},
		{"no activity code", func(e *matching.Evidence) { e.NAF = "" }, matching.Fact{Code: matching.CaveatNoNAF}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := codes(matching.Facts(bare, req))[tc.want.Code]; ok {
				t.Fatalf("%s given without its evidence", tc.want.Code)
			}
			e := bare
			tc.ev(&e)
			got, ok := codes(matching.Facts(e, req))[tc.want.Code]
			if !ok {
				t.Fatalf("%s missing: %v", tc.want.Code, matching.Facts(e, req))
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	// No offer in the category is said; with one, it is not.
	if _, ok := codes(matching.Facts(bare, req))[matching.CaveatNoOffer]; !ok {
		t.Error("no_offer missing without an offer")
	}
	// A division's share alone, which the score does not read, is no reason.
	e := bare
	e.AffinityDiv = 0.75
	if _, ok := codes(matching.Facts(e, req))[matching.ReasonActivity]; ok {
		t.Error("the division's share given as a reason: the score reads the group's")
	}
}

// On any evidence, the local count of the past contracts' line is a part
// of it, and its year is the latest of the counted contracts' level.
func TestPastLineHoldsItsParts(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 5))
	req := matching.Request{CPV: []string{"90911200"}, Departement: "83"}
	for range 2000 {
		var e matching.Evidence
		for l := 1; l <= 5; l++ {
			e.RefsAt[l], e.RefsAtDep[l], e.LatestAt[l] = rnd.IntN(4), rnd.IntN(6), 2010+rnd.IntN(10)
		}
		for _, f := range matching.Facts(e, req) {
			if f.Code != matching.ReasonPast {
				continue
			}
			lvl := matching.LevelOf(f.Level)
			if f.Local > f.Count || f.Count != e.RefsAt[lvl] || f.Year != e.LatestAt[lvl] {
				t.Fatalf("%+v from %+v", f, e)
			}
		}
	}
}

// The score grows with each kind of evidence, so more evidence never
// ranks an SME lower: with every weight positive, each piece raises it;
// with the fitted weights, each piece raises it unless the fit gave every
// feature it feeds a zero weight, and then it leaves it equal.
func TestScoreGrowsWithEvidence(t *testing.T) {
	req := matching.Request{CPV: []string{"72212000"}, Departement: "69", Region: "84"}
	base := matching.Evidence{OrgID: 1, References: 1}
	more := []func(e *matching.Evidence){
		func(e *matching.Evidence) { e.RefsAt[matching.LevelExact] = 1 },
		func(e *matching.Evidence) { e.RefsAtDep[matching.LevelDivision] = 1 },
		func(e *matching.Evidence) { e.SameBuyer = 1 },
		func(e *matching.Evidence) { e.SameBuyer, e.SameBuyerClass, e.SimilarForBuyer = 1, 1, 0.2 },
		func(e *matching.Evidence) { e.Text = 0.2 },
		func(e *matching.Evidence) { e.AffinityDiv = 0.3 },
		func(e *matching.Evidence) { e.Departement = "69" },
		func(e *matching.Evidence) { e.Departement, e.AffinityGroup = "69", 0.3 },
	}
	var ones matching.Weights
	for i := range ones {
		ones[i] = 1
	}
	f0 := matching.FeaturesOf(base, req, 2019)
	for name, w := range map[string]matching.Weights{"all positive": ones, "fitted": matching.DefaultWeights()} {
		s0 := matching.Score(f0, w)
		for i, add := range more {
			e := base
			add(&e)
			f := matching.FeaturesOf(e, req, 2019)
			weighed := false // a feature it raises has a weight
			for j := range f {
				if f[j] < f0[j] {
					t.Errorf("evidence %d lowers feature %s", i, matching.FeatureNames[j])
				}
				weighed = weighed || (f[j] > f0[j] && w[j] > 0)
			}
			s := matching.Score(f, w)
			switch {
			case weighed && s <= s0:
				t.Errorf("%s weights: evidence %d does not raise the score: %.3f <= %.3f", name, i, s, s0)
			case !weighed && s != s0:
				t.Errorf("%s weights: evidence %d, with no weight, moves the score: %.3f, %.3f", name, i, s, s0)
			case name == "all positive" && !weighed:
				t.Errorf("evidence %d feeds no feature", i)
			}
		}
	}
	w := matching.DefaultWeights()
	for i, x := range w {
		if x < 0 {
			t.Errorf("weight %s is negative: %v", matching.FeatureNames[i], x)
		}
		if matching.ExhaustiveOnly[i] && x != 0 {
			t.Errorf("weight %s is %v: the platform does not read that feature at scale", matching.FeatureNames[i], x)
		}
	}
}

// The same evidence, in any order, ranks the same way: ties broken by
// organisation, not by the order the database returned the rows in.
func TestRankIsReproducible(t *testing.T) {
	req := matching.Request{CPV: []string{"72212000"}}
	var w matching.Weights
	w[matching.FSameBuyer] = 1
	var ev []matching.Evidence
	for id := int64(1); id <= 40; id++ {
		ev = append(ev, matching.Evidence{OrgID: id, SameBuyer: int(id % 3)}) // three scores, many ties
	}
	order := func(list []matching.Evidence) []int64 {
		var ids []int64
		for _, m := range matching.Rank(slices.Clone(list), req, w, 0) {
			ids = append(ids, m.OrgID)
		}
		return ids
	}
	want := order(ev)
	if len(want) != 40 || want[0] != 2 || want[1] != 5 || want[39] != 39 {
		t.Fatalf("order %v: want the best first (2, 5, …), ties by organisation, 39 last", want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		rng.Shuffle(len(ev), func(a, b int) { ev[a], ev[b] = ev[b], ev[a] })
		if got := order(ev); !slices.Equal(got, want) {
			t.Fatalf("shuffle %d ranks %v, want %v", i, got, want)
		}
	}
}

// The first n of a ranking are those of the whole ranking, in the same
// order, whatever n and however the candidates arrive: sorted, reversed,
// shuffled, with few scores (many ties) or all different.
func TestRankFirstIsTheStartOfRank(t *testing.T) {
	req := matching.Request{CPV: []string{"72212000"}}
	var w matching.Weights
	w[matching.FSameBuyer], w[matching.FText] = 1, 1
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name   string
		size   int
		scores int // distinct SameBuyer counts; 0: a random text rank each
		order  string
	}{
		{"a few, many ties", 40, 3, "shuffled"},
		{"thousands, many ties", 5000, 7, "shuffled"},
		{"thousands, all different", 5000, 0, "shuffled"},
		{"best first", 3000, 0, "best first"},
		{"worst first", 3000, 0, "worst first"},
		{"one score", 2000, 1, "shuffled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := make([]matching.Evidence, tc.size)
			for i := range ev {
				ev[i].OrgID = int64(i + 1)
				if tc.scores > 0 {
					ev[i].SameBuyer = rng.IntN(tc.scores)
				} else {
					ev[i].Text = rng.Float64()
				}
			}
			whole := matching.Rank(slices.Clone(ev), req, w, 0)
			switch tc.order {
			case "shuffled":
				rng.Shuffle(len(ev), func(a, b int) { ev[a], ev[b] = ev[b], ev[a] })
			case "best first", "worst first":
				for i, m := range whole {
					ev[i] = m.Evidence
				}
				if tc.order == "worst first" {
					slices.Reverse(ev)
				}
			}
			for _, n := range []int{0, 1, 2, 10, 100, 300, tc.size - 1, tc.size, tc.size + 5} {
				got := matching.RankFirst(slices.Clone(ev), req, w, 0, n)
				want := whole[:min(max(n, 0), len(whole))]
				if len(got) != len(want) {
					t.Fatalf("first %d: %d ranked, want %d", n, len(got), len(want))
				}
				for k := range got {
					if got[k].OrgID != want[k].OrgID || got[k].Score != want[k].Score {
						t.Fatalf("first %d: place %d is %d (%.4f), the whole ranking has %d (%.4f)",
							n, k+1, got[k].OrgID, got[k].Score, want[k].OrgID, want[k].Score)
					}
				}
			}
		})
	}
}

// weights.json names every feature and only features; a file that does
// not is refused, whichever way it differs.
func TestWeightsFileNamesEveryFeature(t *testing.T) {
	w := matching.DefaultWeights() // panics on a difference
	if w == (matching.Weights{}) {
		t.Fatal("weights.json weighs nothing")
	}
	full := map[string]float64{}
	for _, name := range matching.FeatureNames {
		full[name] = 1
	}
	file := func(m map[string]float64) []byte {
		b, err := json.Marshal(matching.WeightsFile{Weights: m})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := matching.ParseWeights(file(full)); err != nil {
		t.Fatalf("every feature named: %v", err)
	}
	missing := maps.Clone(full)
	delete(missing, "text")
	extra := maps.Clone(full)
	extra["txet"] = 1
	for name, m := range map[string]map[string]float64{"a feature missing": missing, "an unknown feature": extra} {
		if _, err := matching.ParseWeights(file(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// levelByPrefixes is Level as it was first written, from the lists of
// prefixes (taxonomy.CPVPrefixes): the reference of the allocation-free one.
func levelByPrefixes(a, b string) int {
	pa, pb := taxonomy.CPVPrefixes(a), taxonomy.CPVPrefixes(b)
	lvl := matching.LevelNone
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] != pb[i] {
			break
		}
		lvl = map[int]int{2: matching.LevelDivision, 3: matching.LevelGroup, 4: matching.LevelClass, 5: matching.LevelCategory}[len(pa[i])]
		if len(pa[i]) > 5 {
			lvl = matching.LevelExact
		}
	}
	if a == b {
		lvl = matching.LevelExact
	}
	return lvl
}

// TestLevelAsPrefixesSayIt: 200,000 pairs of codes made of few digits (so
// that they share prefixes and end in zeros often).
func TestLevelAsPrefixesSayIt(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	code := func() string {
		b := make([]byte, 8)
		for i := range b {
			b[i] = "0012"[r.IntN(4)]
		}
		if r.IntN(3) == 0 {
			b[0], b[1] = '4', '5'
		}
		return string(b)
	}
	for range 200_000 {
		a, b := code(), code()
		if got, want := matching.Level(a, b), levelByPrefixes(a, b); got != want {
			t.Fatalf("Level(%s, %s) = %d, the prefixes say %d", a, b, got, want)
		}
	}
}
