// Package registersgen writes registers of national size in exactly the
// published layouts — INSEE's StockUniteLegale and StockEtablissement CSV
// files and the DECP's JSON (2019 schema) — for the import benchmark
// (`passerelle bench-registers`). Rows are made from the row number and a
// seed, so a second call with Changed > 0 gives the same files with that
// share of rows changed (a daily re-import). Activities, CPV codes and
// contract objects are drawn from the real reference data.
package registersgen

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"passerelle/internal/platform/refdata"
	"passerelle/internal/registers"
	"passerelle/internal/taxonomy"
)

// Options sizes the files.
type Options struct {
	Units, Establishments, Contracts int
	Buyers                           int     // public buyers among the units (the first ones)
	Seed                             uint64  // the same seed gives the same rows
	Changed                          float64 // share of rows changed from the seed's files (0: none)
}

// Files are the paths written.
type Files struct{ Units, Establishments, DECP string }

// luhnComplete appends the digit that makes base pass the Luhn check.
func luhnComplete(base string) string {
	for d := byte('0'); d <= '9'; d++ {
		s := base + string(d)
		if taxonomy.ValidSIREN(s) || (len(s) == 14 && taxonomy.ValidSIRET(s)) {
			return s
		}
	}
	return base + "0"
}

// SIREN is unit i's SIREN; SIRET establishment k of unit i.
func SIREN(i int) string    { return luhnComplete(fmt.Sprintf("%08d", 10_000_000+i)) }
func SIRET(i, k int) string { return luhnComplete(SIREN(i) + fmt.Sprintf("%04d", k+1)) }

// pick draws a number in [0, n) from the row, a salt and the seed.
func (o Options) pick(i int, salt string, n int) int {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d|%s", o.Seed, i, salt)
	return int(h.Sum64() % uint64(n))
}

// changed reports whether row i differs in the changed files.
func (o Options) changed(i int, what string) bool {
	return o.Changed > 0 && o.pick(i, "change-"+what, 1_000_000) < int(o.Changed*1_000_000)
}

type pools struct {
	naf       []string
	deps      []string
	cpv       []string
	objects   []string
	bands     []string
	names     []string
	legalForm []string
}

func loadPools() (pools, error) {
	tax, err := taxonomy.Load()
	if err != nil {
		return pools{}, err
	}
	var p pools
	for _, n := range tax.NAFSubclasses() {
		p.naf = append(p.naf, n.Code)
	}
	for _, d := range tax.Departements() {
		p.deps = append(p.deps, d.Code)
	}
	for _, b := range tax.HeadcountBands() {
		p.bands = append(p.bands, b.Code)
	}
	err = refdata.Each(refdata.DECP, func(r map[string]string) error {
		if r["cpv8"] != "" && r["objet"] != "" && r["probleme_encodage"] == "0" {
			p.cpv = append(p.cpv, r["cpv8"])
			p.objects = append(p.objects, r["objet"])
		}
		return nil
	})
	p.names = []string{"ATELIER", "BUREAU", "COMPAGNIE", "ETABLISSEMENTS", "GROUPE", "INGENIERIE", "LABORATOIRE", "SERVICES", "SOLUTIONS", "TECHNOLOGIES"}
	p.legalForm = []string{"5710", "5499", "5710", "5720", "1000", "1000", "5599", "6540", "9220"}
	return p, err
}

// Write writes the three files into dir.
func Write(dir string, o Options) (Files, error) {
	p, err := loadPools()
	if err != nil {
		return Files{}, err
	}
	f := Files{Units: filepath.Join(dir, "StockUniteLegale_utf8.csv"), Establishments: filepath.Join(dir, "StockEtablissement_utf8.csv"),
		DECP: filepath.Join(dir, "decp.json")}
	if err := writeFile(f.Units, func(w *bufio.Writer) error { return units(w, o, p) }); err != nil {
		return f, err
	}
	if err := writeFile(f.Establishments, func(w *bufio.Writer) error { return establishments(w, o, p) }); err != nil {
		return f, err
	}
	return f, writeFile(f.DECP, func(w *bufio.Writer) error { return contracts(w, o, p) })
}

func writeFile(path string, fn func(w *bufio.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(file, 1<<20)
	if err := fn(w); err != nil {
		file.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

func row(header []string) (map[string]int, []string) {
	idx := map[string]int{}
	for i, h := range header {
		idx[h] = i
	}
	return idx, make([]string, len(header))
}

func units(w io.Writer, o Options, p pools) error {
	c := csv.NewWriter(w)
	header := registers.UnitHeader()
	idx, rec := row(header)
	c.Write(header)
	for i := range o.Units {
		clear(rec)
		set := func(k, v string) { rec[idx[k]] = v }
		set("siren", SIREN(i))
		set("statutDiffusionUniteLegale", "O")
		set("dateCreationUniteLegale", fmt.Sprintf("%d-%02d-01", 1950+o.pick(i, "year", 74), 1+o.pick(i, "month", 12)))
		set("etatAdministratifUniteLegale", "A")
		if o.pick(i, "ceased", 100) < 8 {
			set("etatAdministratifUniteLegale", "C")
		}
		legal := p.legalForm[o.pick(i, "legal", len(p.legalForm))]
		cat := []string{"PME", "PME", "PME", "PME", "PME", "PME", "PME", "PME", "ETI", ""}[o.pick(i, "cat", 10)]
		if o.pick(i, "ge", 1000) < 2 {
			cat = "GE"
		}
		if i < o.Buyers {
			legal, cat = "7210", []string{"PME", "ETI", "GE"}[o.pick(i, "cat", 3)]
		}
		if o.changed(i, "unit") {
			cat = map[string]string{"PME": "ETI", "ETI": "GE", "GE": "PME", "": "PME"}[cat]
		}
		set("categorieJuridiqueUniteLegale", legal)
		set("categorieEntreprise", cat)
		set("anneeCategorieEntreprise", "2022")
		set("trancheEffectifsUniteLegale", p.bands[o.pick(i, "band", len(p.bands))])
		naf := p.naf[o.pick(i, "naf", len(p.naf))]
		set("activitePrincipaleUniteLegale", naf)
		set("nomenclatureActivitePrincipaleUniteLegale", "NAFRev2")
		set("nicSiegeUniteLegale", SIRET(i, 0)[9:])
		if legal == "1000" {
			set("nomUniteLegale", fmt.Sprintf("NOM%07d", i))
			set("prenom1UniteLegale", "CAMILLE")
			set("sexeUniteLegale", "F")
			if o.pick(i, "diff", 100) < 5 {
				set("statutDiffusionUniteLegale", "P")
				set("nomUniteLegale", "[ND]")
				set("prenom1UniteLegale", "[ND]")
			}
		} else {
			set("denominationUniteLegale", fmt.Sprintf("%s %s %d", p.names[o.pick(i, "name", len(p.names))], naf, i))
		}
		set("caractereEmployeurUniteLegale", "N")
		if err := c.Write(rec); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

func establishments(w io.Writer, o Options, p pools) error {
	c := csv.NewWriter(w)
	header := registers.EstablishmentHeader()
	idx, rec := row(header)
	c.Write(header)
	per := max(1, o.Establishments/max(1, o.Units))
	for j := range o.Establishments {
		i, k := j/per, j%per
		if i >= o.Units {
			i, k = j%o.Units, per+j/o.Units
		}
		clear(rec)
		set := func(key, v string) { rec[idx[key]] = v }
		siret := SIRET(i, k)
		set("siren", siret[:9])
		set("nic", siret[9:])
		set("siret", siret)
		set("statutDiffusionEtablissement", "O")
		set("etablissementSiege", strconv.FormatBool(k == 0))
		dep := p.deps[o.pick(j, "dep", len(p.deps))]
		if o.changed(j, "estab") {
			dep = p.deps[o.pick(j, "dep2", len(p.deps))]
		}
		commune := dep + fmt.Sprintf("%03d", 1+o.pick(j, "commune", 400))
		if len(dep) == 3 {
			commune = dep + fmt.Sprintf("%02d", 1+o.pick(j, "commune", 20))
		}
		set("codeCommuneEtablissement", commune)
		set("codePostalEtablissement", fmt.Sprintf("%s%03d", dep[:2], o.pick(j, "cp", 1000)))
		set("libelleCommuneEtablissement", "COMMUNE "+commune)
		set("numeroVoieEtablissement", strconv.Itoa(1+o.pick(j, "num", 200)))
		set("typeVoieEtablissement", []string{"RUE", "AV", "BD", "CHE", "ALL"}[o.pick(j, "voie", 5)])
		set("libelleVoieEtablissement", fmt.Sprintf("DES ARTISANS %d", o.pick(j, "street", 500)))
		set("etatAdministratifEtablissement", "A")
		set("activitePrincipaleEtablissement", p.naf[o.pick(i, "naf", len(p.naf))])
		set("nomenclatureActivitePrincipaleEtablissement", "NAFRev2")
		set("trancheEffectifsEtablissement", p.bands[o.pick(j, "band", len(p.bands))])
		set("dateCreationEtablissement", "2010-01-01")
		if err := c.Write(rec); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

type supplier struct {
	Type string `json:"typeIdentifiant"`
	ID   string `json:"id"`
	Name string `json:"denominationSociale"`
}

type place struct {
	Code string `json:"code"`
	Type string `json:"typeCode"`
	Name string `json:"nom"`
}

type record struct {
	ID            string            `json:"id"`
	Buyer         map[string]string `json:"acheteur"`
	Nature        string            `json:"nature"`
	Object        string            `json:"objet"`
	CPV           string            `json:"codeCPV"`
	Procedure     string            `json:"procedure"`
	Place         place             `json:"lieuExecution"`
	Duration      int               `json:"dureeMois"`
	Notified      string            `json:"dateNotification"`
	Published     string            `json:"datePublicationDonnees"`
	Amount        float64           `json:"montant"`
	PriceForm     string            `json:"formePrix"`
	Winners       []supplier        `json:"titulaires"`
	Modifications []any             `json:"modifications"`
}

// contracts writes {"marches": [ … ]}: each record from a real contract's
// object and CPV code, a generated public buyer and one to three winners
// among the generated establishments; one record in a hundred is a
// re-publication of the one before.
func contracts(w io.Writer, o Options, p pools) error {
	if _, err := io.WriteString(w, `{"marches": [`); err != nil {
		return err
	}
	enc := func(n int, r record) error {
		if n > 0 {
			io.WriteString(w, ",\n")
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	n := 0
	for i := range o.Contracts {
		src := o.pick(i, "src", len(p.objects))
		b := o.pick(i, "buyer", max(1, o.Buyers))
		year := 2019 + o.pick(i, "year", 6)
		day := fmt.Sprintf("%d-%02d-%02d", year, 1+o.pick(i, "m", 12), 1+o.pick(i, "d", 28))
		amount := float64(1000 + o.pick(i, "amount", 2_000_000))
		if o.changed(i, "contract") {
			amount += 1000
		}
		r := record{ID: fmt.Sprintf("%d%08d", year, i), Buyer: map[string]string{"id": SIRET(b, 0), "nom": fmt.Sprintf("COMMUNE %d", b)},
			Nature: "Marché", Object: p.objects[src], CPV: p.cpv[src], Procedure: "Procédure adaptée",
			Place:    place{Code: p.deps[o.pick(i, "dep", len(p.deps))], Type: "Code département", Name: "Département"},
			Duration: 1 + o.pick(i, "dur", 48), Notified: day, Published: day, Amount: amount, PriceForm: "Ferme", Modifications: []any{}}
		for k := range 1 + o.pick(i, "nw", 3)/2 {
			u := o.pick(i, fmt.Sprint("w", k), max(1, o.Units))
			r.Winners = append(r.Winners, supplier{Type: "SIRET", ID: SIRET(u, 0), Name: fmt.Sprintf("TITULAIRE %d", u)})
		}
		if err := enc(n, r); err != nil {
			return err
		}
		n++
		if o.pick(i, "dup", 100) == 0 {
			r.Published = fmt.Sprintf("%d-12-31", year)
			if err := enc(n, r); err != nil {
				return err
			}
			n++
		}
	}
	_, err := io.WriteString(w, "]}\n")
	return err
}
