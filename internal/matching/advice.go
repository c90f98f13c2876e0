package matching

import (
	"slices"

	"passerelle/internal/taxonomy"
)

// Advice is what an SME could do to rank higher for a request, read from
// the evidence that scored nothing for it; each leads to the form that
// does it. Only the SME reads advice.
type Advice struct {
	Code    string
	Prefix  string // the request's CPV class (import, publish)
	CPV     string // the request's first code (publish: the new offer's)
	OfferID int64  // the offer to complete (places, TRL)
	Title   string
	// Raises: following it raises the SME's score for the request (the
	// advice test measures it); otherwise it answers a buyer's caveat.
	Raises bool
}

// Advice codes.
const (
	AdviceImport    = "import_contracts" // its past contracts in the request's class would count
	AdvicePublish   = "publish_offer"    // an offer in the request's class would count
	AdvicePlaces    = "add_places"       // its offer in the class does not serve the request's place, so it is not read
	AdviceTRL       = "state_trl"        // its closest offer gives no TRL: the buyer is told so
	adviceLevelNeed = LevelClass         // the level from which a contract or an offer weighs in the score
)

// AdviceCodes are every advice code, for the catalogue's tests.
var AdviceCodes = []string{AdviceImport, AdvicePublish, AdvicePlaces, AdviceTRL}

// OwnOffer is one of the SME's published offers, as advice reads it.
type OwnOffer struct {
	ID     int64
	Title  string
	CPV    []string
	Places []string // place keys ("dep:69", "reg:84")
	TRL    int
}

// Advise lists what would raise the SME's rank for request r, from the
// match's facts and its own published offers: import its contracts of the
// request's class (past contracts weigh from the class down), publish an
// offer there, or add the request's place to the offer it has there (an
// offer that does not serve the place is not read); and state the TRL of
// the offer the buyer sees, which the buyer is told is missing.
func Advise(facts []Fact, r Request, own []OwnOffer, tax *taxonomy.Taxonomy) []Advice {
	if len(r.CPV) == 0 || len(r.CPV[0]) < 4 {
		return nil
	}
	code := r.CPV[0]
	class := Prefix(code, LevelClass)
	past, offer := LevelNone, LevelNone
	var noTRL *Fact
	for i, f := range facts {
		switch f.Code {
		case ReasonPast:
			past = LevelOf(f.Level)
		case ReasonOffer:
			offer = LevelOf(f.Level)
		case CaveatNoTRL:
			noTRL = &facts[i]
		}
	}
	var out []Advice
	if past < adviceLevelNeed {
		out = append(out, Advice{Code: AdviceImport, Prefix: class, Raises: true})
	}
	if offer < adviceLevelNeed {
		if a, ok := offerAdvice(r, own, tax, class); ok {
			out = append(out, a)
		}
	}
	if noTRL != nil && noTRL.OfferID != 0 {
		out = append(out, Advice{Code: AdviceTRL, OfferID: noTRL.OfferID, Title: noTRL.Title})
	}
	return out
}

// offerAdvice is the advice about offers for an SME none of whose offers
// the matching read in the request's class: complete the one it has there,
// or publish one. None when an offer it has there already serves the
// place: the match is read again after each change of an offer.
func offerAdvice(r Request, own []OwnOffer, tax *taxonomy.Taxonomy, class string) (Advice, bool) {
	wanted := tax.PlaceKeys(requestPlaces(r))
	for _, o := range own {
		lvl := LevelNone
		for _, c := range o.CPV {
			lvl = max(lvl, bestLevel(c, r.CPV))
		}
		if lvl < adviceLevelNeed {
			continue
		}
		if len(wanted) > 0 && !slices.ContainsFunc(tax.PlaceKeys(o.Places), func(k string) bool { return slices.Contains(wanted, k) }) {
			return Advice{Code: AdvicePlaces, OfferID: o.ID, Title: o.Title, Raises: true}, true
		}
		return Advice{}, false
	}
	return Advice{Code: AdvicePublish, Prefix: class, CPV: r.CPV[0], Raises: true}, true
}
