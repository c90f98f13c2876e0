// Package present names reference data for people, in their language: CPV
// codes, places served, search facet keys and an organisation's facts.
// Every page that shows such labels goes through it, so a CPV code or a
// place reads the same everywhere.
package present

import (
	"strings"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/taxonomy"
	"passerelle/web/components"
)

// Labels names things for one reader.
type Labels struct {
	tax *taxonomy.Taxonomy
	l   *i18n.Localizer
}

// New returns the labels in l's language.
func New(tax *taxonomy.Taxonomy, l *i18n.Localizer) Labels { return Labels{tax: tax, l: l} }

// CPV names a CPV code with its check digit: "72212000-4 · Services de
// programmation de logiciels d'application". An unknown code stays as is.
func (p Labels) CPV(code string) string {
	if c, ok := p.tax.CPV(code); ok {
		return c.Full + " · " + c.Label(p.l.Lang())
	}
	return code
}

// CPVs names each known code.
func (p Labels) CPVs(codes []string) []string {
	var out []string
	for _, c := range codes {
		if _, ok := p.tax.CPV(c); ok {
			out = append(out, p.CPV(c))
		}
	}
	return out
}

// CPVPrefix names a CPV code prefix (a division, group, class or
// category) by the code it stands for: "722 · Services de programmation
// et de conseil en logiciels". An unknown prefix stays as is.
func (p Labels) CPVPrefix(prefix string) string {
	if len(prefix) <= 8 {
		if c, ok := p.tax.CPV((prefix + "00000000")[:8]); ok {
			return prefix + " · " + c.Label(p.l.Lang())
		}
	}
	return prefix
}

// Departement names a département by its code and name: "69 · Rhône".
func (p Labels) Departement(code string) string {
	if d, ok := p.tax.Departement(code); ok {
		return d.Code + " · " + d.Name
	}
	return code
}

// NAF names an activity by its code and label: "62.01Z · Programmation
// informatique".
func (p Labels) NAF(code string) string {
	if n, ok := p.tax.NAF(code); ok {
		return n.Code + " · " + n.Label
	}
	return code
}

// DepartementOptions are the départements as choices, by code.
func (p Labels) DepartementOptions() []components.Option {
	var out []components.Option
	for _, d := range p.tax.Departements() {
		out = append(out, components.Option{Value: d.Code, Label: p.Departement(d.Code)})
	}
	return out
}

// CPVOption is a code as a choice of the CPV picker.
func (p Labels) CPVOption(c taxonomy.CPV) components.Option {
	return components.Option{Value: c.Code, Label: c.Full + " · " + c.Label(p.l.Lang())}
}

// Place names a place served: a region by its name, a département by its
// code and name.
func (p Labels) Place(place string) string {
	kind, code, _ := strings.Cut(place, ":")
	switch kind {
	case taxonomy.PlaceReg:
		if r, ok := p.tax.Region(code); ok {
			return r.Name
		}
	case taxonomy.PlaceDep:
		if _, ok := p.tax.Departement(code); ok {
			return p.Departement(code)
		}
	}
	return place
}

// Places names the places served, in a comma-separated list.
func (p Labels) Places(places []string) string {
	names := make([]string, len(places))
	for i, pl := range places {
		names[i] = p.Place(pl)
	}
	return strings.Join(names, ", ")
}

// PlacesServed is the sentence "Serves: …", empty without places.
func (p Labels) PlacesServed(places []string) string {
	if len(places) == 0 {
		return ""
	}
	return p.l.T("offer.places_served", "Places", p.Places(places))
}

// Org is what the facts of an organisation are made of.
type Org struct {
	SIREN         string
	Kind          string
	NAFCode       string
	HeadcountBand string
	Departement   string
	Website       string
	Places        []string
}

// OrgFacts lists an organisation's facts with their labels.
func (p Labels) OrgFacts(o Org) []components.Fact {
	facts := []components.Fact{{Label: "SIREN", Value: o.SIREN}, {Label: p.l.T("profile.kind"), Value: p.l.T("kind." + o.Kind)}}
	if _, ok := p.tax.NAF(o.NAFCode); ok {
		facts = append(facts, components.Fact{Label: p.l.T("profile.naf"), Value: p.NAF(o.NAFCode)})
	}
	if b, ok := p.tax.HeadcountBand(o.HeadcountBand); ok {
		facts = append(facts, components.Fact{Label: p.l.T("profile.headcount"), Value: p.l.T("apply.headcount", "Range", b.Label)})
	}
	if d, ok := p.tax.Departement(o.Departement); ok {
		reg, _ := p.tax.RegionOf(d.Code)
		facts = append(facts, components.Fact{Label: p.l.T("profile.head_office"), Value: p.Departement(d.Code) + " (" + reg.Name + ")"})
	}
	if len(o.Places) > 0 {
		facts = append(facts, components.Fact{Label: p.l.T("offer.places"), Value: p.Places(o.Places)})
	}
	if o.Website != "" {
		facts = append(facts, components.Fact{Label: p.l.T("profile.website"), Value: o.Website})
	}
	return facts
}

// OrgLines is OrgFacts as lines of text ("Label : value"), for lists.
func (p Labels) OrgLines(o Org) []string {
	var out []string
	for _, f := range p.OrgFacts(o) {
		out = append(out, p.l.T("fact.line", "Label", f.Label, "Value", f.Value))
	}
	return out
}
