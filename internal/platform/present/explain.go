package present

import (
	"fmt"
	"strconv"

	"passerelle/internal/matching"
	"passerelle/web/components"
)

// Reader is who reads a match's facts: each gets them in their own voice
// ("Votre offre" for the SME, "Son offre" for the buyer and staff; "votre
// demande" for the buyer only).
type Reader string

// The readers.
const (
	Buyer Reader = "buyer"
	SME   Reader = "sme"
	Staff Reader = "staff"
)

// Readers are every reader, for the catalogue's tests.
var Readers = []Reader{Buyer, SME, Staff}

// Explain renders a match's stored facts for its reader: the reasons for
// everyone, the caveats (what to check) for the buyer and staff only — the
// SME reads advice instead (Advice).
func (p Labels) Explain(raw []byte, who Reader) components.Explanation {
	e := components.Explanation{ReasonsTitle: p.l.T("match.reasons_title." + string(who)), CaveatsTitle: p.l.T("match.caveats_title")}
	for _, f := range matching.ParseFacts(raw) {
		switch f.Kind() {
		case matching.KindReason:
			e.Reasons = append(e.Reasons, components.Line{Code: f.Code, Text: p.Fact(f, who)})
		case matching.KindCaveat:
			if who != SME {
				e.Caveats = append(e.Caveats, components.Line{Code: f.Code, Text: p.Fact(f, who)})
			}
		}
	}
	return e
}

// Fact is one fact as a sentence for its reader
// ("match.reason.<code>.<reader>", "match.caveat.<code>.<reader>").
func (p Labels) Fact(f matching.Fact, who Reader) string {
	kind := "reason"
	if f.Kind() == matching.KindCaveat {
		kind = "caveat"
	}
	return p.l.T("match."+kind+"."+f.Code+"."+string(who), p.factValues(f)...)
}

// factValues are a fact's values named as everywhere else: a CPV prefix
// with its label, a département with its code, counts grouped. Every name
// is given, empty when the fact has no such value, so that no message
// ever prints "<no value>".
func (p Labels) factValues(f matching.Fact) []any {
	named := func(v string, name func(string) string) string {
		if v == "" {
			return ""
		}
		return name(v)
	}
	year := ""
	if f.Year > 0 {
		year = strconv.Itoa(f.Year)
	}
	return []any{
		"Count", p.l.Int(int64(f.Count)), "Many", f.Count > 1,
		"Local", p.l.Int(int64(f.Local)), "HasLocal", f.Local > 0,
		"Title", f.Title, "Percent", f.Percent, "Year", year,
		"Level", named(f.Level, func(v string) string { return p.l.T("match.level." + v) }),
		"Prefix", named(f.Prefix, p.CPVPrefix),
		"NAF", named(f.NAF, p.NAF),
		"Departement", named(f.Departement, p.Departement),
		"Region", named(f.Region, func(v string) string { return p.Place("reg:" + v) }),
	}
}

// Advice renders what the SME could do, each with the link to the form
// that does it.
func (p Labels) Advice(list []matching.Advice) []components.Line {
	var out []components.Line
	for _, a := range list {
		line := components.Line{Code: a.Code, Link: p.l.T("match.advice_link." + a.Code),
			Text: p.l.T("match.advice."+a.Code, "Prefix", p.CPVPrefix(a.Prefix), "Title", a.Title)}
		switch a.Code {
		case matching.AdviceImport:
			line.URL = "/espace/profil/import"
		case matching.AdvicePublish:
			line.URL = "/espace/offres/nouvelle?cpv=" + a.CPV
		case matching.AdvicePlaces, matching.AdviceTRL:
			line.URL = fmt.Sprintf("/espace/offres/%d/modifier", a.OfferID)
		}
		out = append(out, line)
	}
	return out
}
