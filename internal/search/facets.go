package search

import (
	"sort"
	"strconv"
	"strings"

	"passerelle/internal/taxonomy"
)

// Facet dimensions. A facet key is "<dimension>:<value>", e.g. "reg:84";
// the certified facet is the bare key "cert".
const (
	DimCPV  = "cpv"  // CPV code prefixes: "cpv:72" (division), "cpv:722", "cpv:7221"…
	DimReg  = "reg"  // region served (INSEE code)
	DimDep  = "dep"  // département served
	DimTRL  = "trl"  // technology readiness level 1–9 (offers)
	DimKind = "kind" // offer kind (offers) or organisation kind pme/eti (directory)
	DimSize = "size" // headcount class TPE/PME/ETI/GE from the INSEE band
	KeyCert = "cert" // holds at least one certification that has not expired
)

// Place is a place served (taxonomy.Place); its facet key is itself.
type Place = taxonomy.Place

// CPVKeys are the facet keys of a CPV code: one per significant prefix, so
// "72212000" gives cpv:72, cpv:722, cpv:7221 and cpv:72212, and a search
// for a group finds the codes under it.
func CPVKeys(code string) []string {
	var keys []string
	for _, p := range taxonomy.CPVPrefixes(code) {
		keys = append(keys, DimCPV+":"+p)
	}
	return keys
}

// CPVPrefix turns a code typed by a user ("72212000", "72212000-4", "722")
// into the key that finds it and everything under it; ok is false when q is
// not a CPV code or prefix.
func CPVPrefix(q string) (key string, ok bool) {
	p, ok := taxonomy.CPVQueryPrefix(q)
	if !ok {
		return "", false
	}
	return DimCPV + ":" + p, true
}

// PlaceKeys expands places served into region and département keys.
func PlaceKeys(tax *taxonomy.Taxonomy, places []Place) []string {
	list := make([]string, len(places))
	for i, p := range places {
		list[i] = string(p)
	}
	return tax.PlaceKeys(list)
}

// OfferFacts is what the facets of an offer are computed from.
type OfferFacts struct {
	CPVCodes      []string
	TRL           int // 0: not given
	Kind          string
	Places        []Place
	HeadcountBand string // of the SME
	Certified     bool   // the SME holds a certification that has not expired
}

// OfferFacets returns the sorted, distinct facet keys of an offer.
func OfferFacets(tax *taxonomy.Taxonomy, f OfferFacts) []string {
	var keys []string
	for _, c := range f.CPVCodes {
		keys = append(keys, CPVKeys(c)...)
	}
	if f.TRL >= 1 && f.TRL <= 9 {
		keys = append(keys, DimTRL+":"+strconv.Itoa(f.TRL))
	}
	if f.Kind != "" {
		keys = append(keys, DimKind+":"+f.Kind)
	}
	keys = append(keys, PlaceKeys(tax, f.Places)...)
	keys = append(keys, sizeKeys(tax, f.HeadcountBand)...)
	if f.Certified {
		keys = append(keys, KeyCert)
	}
	return distinct(keys)
}

// OrgFacts is what the directory facets of an SME are computed from.
type OrgFacts struct {
	Kind          string // pme or eti
	HeadcountBand string
	Departement   string  // head office
	Places        []Place // served
	CPVCodes      []string
	Certified     bool
}

// OrgFacets returns the sorted, distinct facet keys of an SME: its CPV
// codes come from its published offers and its references.
func OrgFacets(tax *taxonomy.Taxonomy, f OrgFacts) []string {
	var keys []string
	for _, c := range f.CPVCodes {
		keys = append(keys, CPVKeys(c)[0]) // divisions only: an SME has many codes
	}
	if f.Kind != "" {
		keys = append(keys, DimKind+":"+f.Kind)
	}
	places := append([]Place{taxonomy.DepPlace(f.Departement)}, f.Places...)
	keys = append(keys, PlaceKeys(tax, places)...)
	keys = append(keys, sizeKeys(tax, f.HeadcountBand)...)
	if f.Certified {
		keys = append(keys, KeyCert)
	}
	return distinct(keys)
}

func sizeKeys(tax *taxonomy.Taxonomy, band string) []string {
	if b, ok := tax.HeadcountBand(band); ok {
		return []string{DimSize + ":" + strings.ToLower(b.Size)}
	}
	return nil
}

func distinct(keys []string) []string {
	sort.Strings(keys)
	out := keys[:0]
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			out = append(out, k)
		}
	}
	return out
}

// ValidFacet reports whether a key typed in a URL is one of the known
// dimensions' keys ("reg:84", "cert"); others are ignored.
func ValidFacet(f string) bool {
	if f == KeyCert {
		return true
	}
	dim, val, ok := strings.Cut(f, ":")
	if !ok || val == "" || len(val) > 20 {
		return false
	}
	switch dim {
	case DimCPV, DimReg, DimDep, DimTRL, DimKind, DimSize:
		return true
	}
	return false
}
