// Package taxonomy holds the reference lists every part of Passerelle speaks
// in: CPV 2008 purchasing categories, NAF rév. 2 activity codes, INSEE
// départements and regions, and headcount bands. The lists are the real
// files copied from shared/data (see data/SOURCES.md), embedded in the binary
// and loaded once at start.
package taxonomy

import (
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"passerelle/internal/platform/refdata"
)

//go:embed data/*.csv
var dataFS embed.FS

// CPV is one code of the CPV 2008 main vocabulary.
type CPV struct {
	Code     string // 8 digits without check digit, e.g. "72212000"
	Full     string // official code with its check digit, e.g. "72212000-4"
	LabelFR  string
	LabelEN  string
	Level    int    // 1 = division … 7
	Division string // first two digits
	Parent   string // 8-digit code of the nearest existing ancestor; "" for a division

	words []string // folded label words, for search
}

// Label returns the label in lang ("fr" or "en"), French by default.
func (c CPV) Label(lang string) string {
	if lang == "en" {
		return c.LabelEN
	}
	return c.LabelFR
}

// NAF is one node of the NAF rév. 2 hierarchy.
type NAF struct {
	Code   string // e.g. "62.01Z", "62.01", "62.0", "62", "J"
	Level  string // section, division, groupe, classe, sous_classe
	Parent string
	Label  string
}

// Departement is an INSEE département (COG 2020).
type Departement struct {
	Code       string // "01" … "95", "2A", "2B", "971" … "976"
	Name       string
	RegionCode string
}

// Region is an INSEE region (COG 2020).
type Region struct {
	Code string
	Name string
}

// HeadcountBand is an INSEE trancheEffectifs code.
type HeadcountBand struct {
	Code  string // "00" … "53"
	Label string // e.g. "10-19"
	Size  string // TPE, PME, ETI or GE, by headcount alone
}

// Taxonomy is the loaded reference data. It is read-only after Load and safe
// for concurrent use.
type Taxonomy struct {
	cpv     map[string]*CPV
	cpvList []*CPV // in code order

	naf           map[string]*NAF
	nafSubclasses []*NAF

	depts   map[string]*Departement
	deptOrd []*Departement
	regions map[string]*Region
	regOrd  []*Region

	bands []HeadcountBand
}

// Load parses the embedded data files.
func Load() (*Taxonomy, error) {
	t := &Taxonomy{
		cpv:     map[string]*CPV{},
		naf:     map[string]*NAF{},
		depts:   map[string]*Departement{},
		regions: map[string]*Region{},
	}
	steps := []struct {
		file string
		fn   func(map[string]string) error
	}{
		{"cpv_2008_fr.csv", t.addCPV},
		{"naf_rev2_levels_fr.csv", t.addNAF},
		{"regions.csv", t.addRegion},
		{"departements_regions.csv", t.addDepartement},
		{"tranches_effectif.csv", t.addBand},
	}
	for _, s := range steps {
		if err := refdata.EachRow(dataFS, "data/"+s.file, s.fn); err != nil {
			return nil, fmt.Errorf("taxonomy: %w", err)
		}
	}
	sort.Slice(t.cpvList, func(i, j int) bool { return t.cpvList[i].Code < t.cpvList[j].Code })
	sort.Slice(t.nafSubclasses, func(i, j int) bool { return t.nafSubclasses[i].Code < t.nafSubclasses[j].Code })
	sort.Slice(t.deptOrd, func(i, j int) bool { return deptKey(t.deptOrd[i].Code) < deptKey(t.deptOrd[j].Code) })
	sort.Slice(t.regOrd, func(i, j int) bool { return t.regOrd[i].Name < t.regOrd[j].Name })
	return t, nil
}

// MustLoad is Load for program start and tests: the data is embedded, so a
// failure is a build defect.
func MustLoad() *Taxonomy {
	t, err := Load()
	if err != nil {
		panic(err)
	}
	return t
}

func (t *Taxonomy) addCPV(r map[string]string) error {
	level, err := strconv.Atoi(r["niveau"])
	if err != nil {
		return err
	}
	c := &CPV{
		Code: r["code8"], Full: r["code"], LabelFR: r["libelle_fr"], LabelEN: r["label_en"],
		Level: level, Division: r["division"],
	}
	if p := r["code_parent"]; p != "" {
		c.Parent, _, _ = strings.Cut(p, "-")
	}
	c.words = strings.Fields(Fold(c.LabelFR))
	t.cpv[c.Code] = c
	t.cpvList = append(t.cpvList, c)
	return nil
}

func (t *Taxonomy) addNAF(r map[string]string) error {
	n := &NAF{Code: r["code"], Level: r["niveau"], Parent: r["code_parent"], Label: r["libelle"]}
	t.naf[n.Code] = n
	if n.Level == "sous_classe" {
		t.nafSubclasses = append(t.nafSubclasses, n)
	}
	return nil
}

func (t *Taxonomy) addRegion(r map[string]string) error {
	reg := &Region{Code: r["code_region"], Name: r["nom_region"]}
	t.regions[reg.Code] = reg
	t.regOrd = append(t.regOrd, reg)
	return nil
}

func (t *Taxonomy) addDepartement(r map[string]string) error {
	d := &Departement{Code: r["code_departement"], Name: r["nom_departement"], RegionCode: r["code_region"]}
	if _, ok := t.regions[d.RegionCode]; !ok {
		return fmt.Errorf("département %s: unknown region %s", d.Code, d.RegionCode)
	}
	t.depts[d.Code] = d
	t.deptOrd = append(t.deptOrd, d)
	return nil
}

func (t *Taxonomy) addBand(r map[string]string) error {
	t.bands = append(t.bands, HeadcountBand{Code: r["code_tranche"], Label: r["libelle_effectif"], Size: r["taille_lbb"]})
	return nil
}

// deptKey sorts "2A" and "2B" between "19" and "21", and overseas last.
func deptKey(code string) string {
	switch code {
	case "2A":
		return "200"
	case "2B":
		return "201"
	}
	if len(code) == 2 {
		return code + "0"
	}
	return code
}

// CPV returns the code given as 8 digits or with its check digit ("72212000-4").
func (t *Taxonomy) CPV(code string) (CPV, bool) {
	code, _, _ = strings.Cut(strings.TrimSpace(code), "-")
	c, ok := t.cpv[code]
	if !ok {
		return CPV{}, false
	}
	return *c, true
}

// CPVChain returns the code followed by its ancestors up to its division:
// 72212000 → 72210000 → 72200000 → 72000000. Nil for an unknown code.
func (t *Taxonomy) CPVChain(code string) []CPV {
	c, ok := t.CPV(code)
	if !ok {
		return nil
	}
	chain := []CPV{c}
	for c.Parent != "" {
		c = *t.cpv[c.Parent]
		chain = append(chain, c)
	}
	return chain
}

// CPVCount is the number of codes in the main vocabulary.
func (t *Taxonomy) CPVCount() int { return len(t.cpvList) }

// SearchCPV finds codes whose French label holds every word of query as a
// word prefix, accents and case ignored and plurals folded; a query of
// digits matches code prefixes instead.
func (t *Taxonomy) SearchCPV(query string, limit int) []CPV {
	q := strings.TrimSpace(query)
	if q == "" || limit <= 0 {
		return nil
	}
	var out []CPV
	if digits := strings.ReplaceAll(strings.ReplaceAll(q, "-", ""), " ", ""); isDigits(digits) {
		if len(digits) > 8 {
			digits = digits[:8]
		}
		for _, c := range t.cpvList {
			if strings.HasPrefix(c.Code, digits) {
				out = append(out, *c)
				if len(out) == limit {
					break
				}
			}
		}
		return out
	}
	terms := searchTerms(q)
	if len(terms) == 0 {
		return nil
	}
	for _, c := range t.cpvList {
		if matchesAll(c.words, terms) {
			out = append(out, *c)
		}
	}
	// Labels that start with the first term ("Logiciels et systèmes…" for
	// "logiciel") beat those that mention it in passing, then broader codes.
	leads := func(c CPV) bool { return len(c.words) > 0 && strings.HasPrefix(c.words[0], terms[0]) }
	sort.SliceStable(out, func(i, j int) bool {
		if li, lj := leads(out[i]), leads(out[j]); li != lj {
			return li
		}
		return out[i].Level < out[j].Level
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// NAF returns a node of any level by its code ("62.01Z", "62", "J").
func (t *Taxonomy) NAF(code string) (NAF, bool) {
	n, ok := t.naf[strings.ToUpper(strings.TrimSpace(code))]
	if !ok {
		return NAF{}, false
	}
	return *n, true
}

// NAFChain returns the node followed by its ancestors up to its section:
// 62.01Z → 62.01 → 62.0 → 62 → J.
func (t *Taxonomy) NAFChain(code string) []NAF {
	n, ok := t.NAF(code)
	if !ok {
		return nil
	}
	chain := []NAF{n}
	for n.Parent != "" {
		n = *t.naf[n.Parent]
		chain = append(chain, n)
	}
	return chain
}

// NAFSubclasses lists the 732 sub-classes (the codes an organisation has), in code order.
func (t *Taxonomy) NAFSubclasses() []NAF {
	out := make([]NAF, len(t.nafSubclasses))
	for i, n := range t.nafSubclasses {
		out[i] = *n
	}
	return out
}

// Departement returns a département by its INSEE code.
func (t *Taxonomy) Departement(code string) (Departement, bool) {
	d, ok := t.depts[strings.ToUpper(strings.TrimSpace(code))]
	if !ok {
		return Departement{}, false
	}
	return *d, true
}

// Departements lists the 101 départements in code order.
func (t *Taxonomy) Departements() []Departement {
	out := make([]Departement, len(t.deptOrd))
	for i, d := range t.deptOrd {
		out[i] = *d
	}
	return out
}

// Region returns a region by its INSEE code.
func (t *Taxonomy) Region(code string) (Region, bool) {
	r, ok := t.regions[strings.TrimSpace(code)]
	if !ok {
		return Region{}, false
	}
	return *r, true
}

// RegionOf returns the region of a département.
func (t *Taxonomy) RegionOf(deptCode string) (Region, bool) {
	d, ok := t.Departement(deptCode)
	if !ok {
		return Region{}, false
	}
	return t.Region(d.RegionCode)
}

// Regions lists the 18 regions by name.
func (t *Taxonomy) Regions() []Region {
	out := make([]Region, len(t.regOrd))
	for i, r := range t.regOrd {
		out[i] = *r
	}
	return out
}

// HeadcountBands lists the INSEE headcount bands in code order.
func (t *Taxonomy) HeadcountBands() []HeadcountBand {
	return append([]HeadcountBand(nil), t.bands...)
}

// HeadcountBand returns a band by its code.
func (t *Taxonomy) HeadcountBand(code string) (HeadcountBand, bool) {
	for _, b := range t.bands {
		if b.Code == code {
			return b, true
		}
	}
	return HeadcountBand{}, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// DepartementsIn lists the départements of a region in code order.
func (t *Taxonomy) DepartementsIn(regionCode string) []Departement {
	var out []Departement
	for _, d := range t.deptOrd {
		if d.RegionCode == regionCode {
			out = append(out, *d)
		}
	}
	return out
}
