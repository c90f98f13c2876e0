package taxonomy

import (
	"slices"
	"strings"
)

// Place is a place served: a département ("dep:75") or a whole region
// ("reg:11"). Stored as such on offers and organisations, and used as is
// as search facet keys.
type Place string

// Prefixes of places.
const (
	PlaceDep = "dep"
	PlaceReg = "reg"
)

// DepPlace is the place of a département.
func DepPlace(code string) Place { return Place(PlaceDep + ":" + code) }

// RegPlace is the place of a whole region.
func RegPlace(code string) Place { return Place(PlaceReg + ":" + code) }

// Places checks the regions and départements chosen in a form and returns
// them as stored places, regions first, without duplicates. badRegions and
// badDepartements say which list held an unknown code.
func (t *Taxonomy) Places(regions, departements []string) (places []string, badRegions, badDepartements bool) {
	places = []string{}
	add := func(p Place) {
		if !slices.Contains(places, string(p)) {
			places = append(places, string(p))
		}
	}
	for _, r := range regions {
		if _, ok := t.Region(r); ok {
			add(RegPlace(r))
		} else {
			badRegions = true
		}
	}
	for _, d := range departements {
		if _, ok := t.Departement(d); ok {
			add(DepPlace(d))
		} else {
			badDepartements = true
		}
	}
	return places, badRegions, badDepartements
}

// SplitPlaces separates stored places into region and département codes,
// as forms show them.
func SplitPlaces(places []string) (regions, departements []string) {
	for _, p := range places {
		kind, code, _ := strings.Cut(p, ":")
		if kind == PlaceReg {
			regions = append(regions, code)
		} else {
			departements = append(departements, code)
		}
	}
	return regions, departements
}

// PlaceKeys expands places into region and département keys: a département
// brings its region, a region brings all its départements, so that looking
// for either finds it (search facets, matching).
func (t *Taxonomy) PlaceKeys(places []string) []string {
	var keys []string
	for _, p := range places {
		kind, code, _ := strings.Cut(p, ":")
		switch kind {
		case PlaceDep:
			if d, ok := t.Departement(code); ok {
				keys = append(keys, string(DepPlace(d.Code)), string(RegPlace(d.RegionCode)))
			}
		case PlaceReg:
			if _, ok := t.Region(code); ok {
				keys = append(keys, string(RegPlace(code)))
				for _, d := range t.DepartementsIn(code) {
					keys = append(keys, string(DepPlace(d.Code)))
				}
			}
		}
	}
	return keys
}

// CPVPrefixes are the significant prefixes of a CPV code, from its
// division: "72212000" gives 72, 722, 7221 and 72212. A code matches
// another at the deepest prefix they share (same division, group, class…).
func CPVPrefixes(code string) []string {
	sig := strings.TrimRight(code, "0")
	if len(sig) < 2 {
		sig = code[:min(2, len(code))]
	}
	out := make([]string, 0, len(sig)-1)
	for n := 2; n <= len(sig); n++ {
		out = append(out, sig[:n])
	}
	return out
}

// CPVQueryPrefix turns a code typed by a user ("72212000", "72212000-4",
// "722") into the prefix that finds it and everything under it; ok is
// false when q is not a CPV code or prefix.
func CPVQueryPrefix(q string) (prefix string, ok bool) {
	q, _, _ = strings.Cut(strings.TrimSpace(q), "-")
	if len(q) < 2 || len(q) > 8 || strings.Trim(q, "0123456789") != "" {
		return "", false
	}
	sig := strings.TrimRight(q, "0")
	if len(sig) < 2 {
		sig = q[:2]
	}
	return sig, true
}

// SearchPlaces finds régions and départements by name or code, as place
// keys ("reg:53", "dep:35"), régions first: "bretagne" gives the région
// and its four départements; "rhone" the Rhône, the Bouches-du-Rhône and
// Auvergne-Rhône-Alpes; "2a" Corse-du-Sud. Accents and case do not count.
// An empty query gives every région.
func (t *Taxonomy) SearchPlaces(q string) []string {
	words := strings.Fields(Fold(q))
	matches := func(code, name string) bool {
		if len(words) == 1 && strings.EqualFold(words[0], code) {
			return true
		}
		f := " " + Fold(name) + " "
		for _, w := range words {
			if !strings.Contains(f, w) {
				return false
			}
		}
		return len(words) > 0
	}
	var regs, deps []string
	for _, r := range t.Regions() {
		if len(words) == 0 || matches(r.Code, r.Name) {
			regs = append(regs, string(RegPlace(r.Code)))
		}
	}
	if len(words) == 0 {
		return regs
	}
	for _, d := range t.Departements() {
		in := slices.Contains(regs, string(RegPlace(d.RegionCode)))
		if in || matches(d.Code, d.Name) {
			deps = append(deps, string(DepPlace(d.Code)))
		}
	}
	return append(regs, deps...)
}
