package matching

import (
	"encoding/json"
	"math"
)

// Fact is one thing the matching knows of an SME for a request, typed so
// that each reader gets it in their own voice (present renders it for the
// buyer, the SME or staff, in their language). Every count says which
// contracts it counts: Local counts a subset of Count's contracts (those
// in the request's département), so it can never exceed it.
type Fact struct {
	Code        string `json:"code"`
	Count       int    `json:"count,omitempty"`       // contracts counted
	Local       int    `json:"local,omitempty"`       // of those, in Departement
	Level       string `json:"level,omitempty"`       // the CPV level they share with the request (LevelNames)
	Prefix      string `json:"prefix,omitempty"`      // the request's code at that level
	Year        int    `json:"year,omitempty"`        // the latest of the Count contracts
	Title       string `json:"title,omitempty"`       // its offer's title
	OfferID     int64  `json:"offer,omitempty"`       // its offer
	NAF         string `json:"naf,omitempty"`         // its activity
	Percent     int    `json:"percent,omitempty"`     // share of the activity's contracts in Prefix
	Departement string `json:"departement,omitempty"` // the request's département
	Region      string `json:"region,omitempty"`      // the request's region
}

// Kind says who a fact is for.
type Kind uint8

// The kinds of fact.
const (
	// KindReason is why the SME fits: every reader sees it.
	KindReason Kind = iota
	// KindCaveat is what the buyer should check (missing data); the SME
	// reads advice instead.
	KindCaveat
)

// Fact codes: reasons, then caveats.
const (
	ReasonOffer          = "offer"            // its offer Title shares Level Prefix with the request
	ReasonPast           = "past_contracts"   // Count past contracts sharing Level Prefix, Local of them in Departement, latest Year
	ReasonWorkedForBuyer = "worked_for_buyer" // Count past contracts for the request's buyer
	ReasonSimilarForUs   = "similar_for_buyer"
	ReasonActivity       = "activity"     // Percent of the contracts of activity NAF are in group Prefix
	ReasonWords          = "words"        // its references share the request's words
	ReasonServes         = "serves_place" // it says it works where the request is
	// its establishment is in the request's département (Departement) / region
	ReasonBasedDepartement = "based_departement"
	ReasonBasedRegion      = "based_region"
	CaveatNoReferences     = "no_references" // no past contract on the platform
	CaveatNoOffer          = "no_offer"      // no published offer in the request's category
	CaveatNoTRL            = "no_trl"        // its closest offer gives no TRL
	CaveatNoNAF            = "no_naf"        // no activity code
)

// ReasonCodes and CaveatCodes are every code of each kind, for the
// catalogue's tests and the renderers.
var (
	ReasonCodes = []string{ReasonOffer, ReasonPast, ReasonWorkedForBuyer, ReasonSimilarForUs, ReasonActivity, ReasonWords,
		ReasonServes, ReasonBasedDepartement, ReasonBasedRegion}
	CaveatCodes = []string{CaveatNoReferences, CaveatNoOffer, CaveatNoTRL, CaveatNoNAF}
)

// Kind is the fact's kind, from its code.
func (f Fact) Kind() Kind {
	for _, c := range CaveatCodes {
		if f.Code == c {
			return KindCaveat
		}
	}
	return KindReason
}

// ActivityShare is the share of an activity's contracts in the request's
// CPV group from which it is given as a reason: the score reads the
// group's share (naf_affinity_group), so the reason names the group.
const ActivityShare = 0.1

// Facts explains a match: what matched, with the values a reader can
// check, then what is missing.
func Facts(e Evidence, r Request) []Fact {
	var out []Fact
	code := ""
	if len(r.CPV) > 0 {
		code = r.CPV[0]
	}
	if e.OfferLevel > LevelNone {
		out = append(out, Fact{Code: ReasonOffer, Title: e.OfferTitle, OfferID: e.OfferID, Level: levelName(e.OfferLevel), Prefix: Prefix(code, e.OfferLevel)})
	}
	for lvl := LevelExact; lvl >= LevelDivision; lvl-- {
		if n := e.RefsAt[lvl]; n > 0 {
			f := Fact{Code: ReasonPast, Count: n, Level: levelName(lvl), Prefix: Prefix(code, lvl), Year: e.LatestAt[lvl]}
			// The local contracts are counted at the same level, so they
			// are some of these; two reads that disagree (an SME cut by
			// the candidates' bound) never show a part above its whole.
			if d := min(e.RefsAtDep[lvl], n); d > 0 && r.Departement != "" {
				f.Local, f.Departement = d, r.Departement
			}
			out = append(out, f)
			break
		}
	}
	if e.SameBuyer > 0 {
		out = append(out, Fact{Code: ReasonWorkedForBuyer, Count: e.SameBuyer})
	}
	if e.SimilarForBuyer > 0.05 {
		out = append(out, Fact{Code: ReasonSimilarForUs})
	}
	if e.ServesPlace {
		out = append(out, Fact{Code: ReasonServes})
	}
	switch {
	case e.Departement != "" && e.Departement == r.Departement:
		out = append(out, Fact{Code: ReasonBasedDepartement, Departement: e.Departement})
	case e.Region != "" && e.Region == r.Region:
		out = append(out, Fact{Code: ReasonBasedRegion, Region: e.Region})
	}
	if e.AffinityGroup >= ActivityShare && e.NAF != "" && len(code) >= 3 {
		out = append(out, Fact{Code: ReasonActivity, NAF: e.NAF, Level: levelName(LevelGroup), Prefix: Prefix(code, LevelGroup),
			Percent: int(math.Round(e.AffinityGroup * 100))})
	}
	if e.Text > 0.05 {
		out = append(out, Fact{Code: ReasonWords})
	}
	if e.References == 0 {
		out = append(out, Fact{Code: CaveatNoReferences})
	}
	if e.OfferLevel == LevelNone {
		out = append(out, Fact{Code: CaveatNoOffer})
	} else if e.OfferTRL == 0 {
		out = append(out, Fact{Code: CaveatNoTRL, OfferID: e.OfferID, Title: e.OfferTitle})
	}
	if e.NAF == "" {
		out = append(out, Fact{Code: CaveatNoNAF})
	}
	return out
}

// LevelNames name the levels in messages ("match.level.<name>").
var LevelNames = []string{"division", "group", "class", "category", "exact"}

func levelName(lvl int) string { return LevelNames[lvl-1] }

// LevelOf is the level a name stands for (LevelNone if none).
func LevelOf(name string) int {
	for i, n := range LevelNames {
		if n == name {
			return i + 1
		}
	}
	return LevelNone
}

// FactsJSON stores facts with a match.
func FactsJSON(list []Fact) []byte {
	if list == nil {
		list = []Fact{}
	}
	b, _ := json.Marshal(list) // plain strings and numbers: cannot fail
	return b
}

// ParseFacts reads stored facts; unreadable ones are none.
func ParseFacts(b []byte) []Fact {
	var out []Fact
	_ = json.Unmarshal(b, &out)
	return out
}
