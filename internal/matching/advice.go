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
	Prefix  string // the request's CPV class (import) or category (publish)
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
	AdvicePublish   = "publish_offer"    // an offer in the request's category would count
	AdvicePlaces    = "add_places"       // its offer in the category does not serve the request's place, so it is not read
	AdviceTRL       = "state_trl"        // its closest offer gives no TRL: the buyer is told so
	adviceLevelNeed = LevelClass         // the level from which a contract or an offer weighs in the score
)

// offerKeys are the facet keys of the offers the matching reads for
// request codes: those sharing each code down to its category (5 digits),
// or to the code itself when it stands for a class or a group ("90910000"
// reads every offer of class 9091). A category may hold thousands of
// offers nationally; a group, tens of thousands.
func offerKeys(codes []string) []string {
	var keys []string
	for _, c := range codes {
		if p := offerPrefix(c); p != "" && !slices.Contains(keys, "cpv:"+p) {
			keys = append(keys, "cpv:"+p)
		}
	}
	return keys
}

// offerPrefix is the prefix of a request code the offers read for it share.
func offerPrefix(code string) string {
	list := taxonomy.CPVPrefixes(code)
	for i := len(list) - 1; i >= 0; i-- {
		if len(list[i]) <= 5 {
			return list[i]
		}
	}
	return ""
}

// reads tells whether the matching reads an offer of these codes for the
// request: one of them shares a request code's offer prefix.
func reads(offerCodes, requestCodes []string) bool {
	keys := offerKeys(requestCodes)
	for _, c := range offerCodes {
		for _, p := range taxonomy.CPVPrefixes(c) {
			if slices.Contains(keys, "cpv:"+p) {
				return true
			}
		}
	}
	return false
}

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
// request's class (past contracts weigh from the class down); without an
// offer the matching read, publish one in the request's category, or add
// the request's place to the one it has there (an offer that does not
// serve the place is not read); and state the TRL of the offer the buyer
// sees, which the buyer is told is missing.
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
	if offer == LevelNone {
		if a, ok := offerAdvice(r, own, tax); ok {
			out = append(out, a)
		}
	}
	if noTRL != nil && noTRL.OfferID != 0 {
		out = append(out, Advice{Code: AdviceTRL, OfferID: noTRL.OfferID, Title: noTRL.Title})
	}
	return out
}

// offerAdvice is the advice about offers for an SME none of whose offers
// the matching read for the request: complete the one it has in the
// request's category (it does not serve the place), or publish one there.
// None when an offer it has there already serves the place: the match is
// read again after each change of an offer.
func offerAdvice(r Request, own []OwnOffer, tax *taxonomy.Taxonomy) (Advice, bool) {
	wanted := tax.PlaceKeys(requestPlaces(r))
	for _, o := range own {
		if !reads(o.CPV, r.CPV) {
			continue
		}
		if len(wanted) > 0 && !slices.ContainsFunc(tax.PlaceKeys(o.Places), func(k string) bool { return slices.Contains(wanted, k) }) {
			return Advice{Code: AdvicePlaces, OfferID: o.ID, Title: o.Title, Raises: true}, true
		}
		return Advice{}, false
	}
	return Advice{Code: AdvicePublish, Prefix: offerPrefix(r.CPV[0]), CPV: r.CPV[0], Raises: true}, true
}
