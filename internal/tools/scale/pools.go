package scale

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"passerelle/internal/platform/refdata"
	"passerelle/internal/taxonomy"
)

// contract is one real public contract (DECP) the generator borrows words
// and figures from.
type contract struct {
	object, buyer, cpv, dept string
	amount                   int64
	year                     int
}

// activity is what a real kind of supplier does: an activity code (NAF)
// of DECP winners, from SIRENE, with the contracts such winners won. An
// SME generated around it gets that code and CPV codes and texts from
// those contracts, so that its trade, its offers and its references agree.
type activity struct {
	naf       taxonomy.NAF
	contracts []int
}

// pools holds the real reference data texts are composed from.
type pools struct {
	contracts  []contract
	activities []activity // weighted draw: see activityAt
	weights    []int      // cumulative number of contracts of the activities
	nafs       []taxonomy.NAF
	depts      []taxonomy.Departement
	regions    []taxonomy.Region
	bands      map[string][]string // headcount bands by size class (TPE, PME, ETI, GE)
}

// minContracts is how many real contracts an activity needs to make an
// SME of: fewer would repeat one text everywhere.
const minContracts = 3

func loadPools(tax *taxonomy.Taxonomy) (*pools, error) {
	p := &pools{bands: map[string][]string{}}
	// The activity code of each winning establishment.
	nafOf := map[string]string{}
	if err := refdata.Each(refdata.SIRENE, func(r map[string]string) error {
		if n, ok := tax.NAF(r["activite_principale"]); ok && n.Level == "sous_classe" && r["nomenclature_activite"] == "NAFRev2" {
			nafOf[r["siret"]] = n.Code
		}
		return nil
	}); err != nil {
		return nil, err
	}
	byNAF := map[string][]int{}
	err := refdata.Each(refdata.DECP, func(r map[string]string) error {
		// Records damaged upstream (U+FFFD) would spread mojibake.
		if r["probleme_encodage"] != "0" || r["cpv_valide"] != "1" || len(r["objet"]) < 12 || r["acheteur_nom"] == "" {
			return nil
		}
		if _, ok := tax.CPV(r["cpv8"]); !ok {
			return nil
		}
		amount, _ := strconv.ParseFloat(r["montant"], 64)
		year, _ := strconv.Atoi(strings.SplitN(r["date_notification"], "-", 2)[0])
		if year < 2000 || year > 2026 {
			year = 2019
		}
		c := contract{object: strings.Join(strings.Fields(r["objet"]), " "), buyer: r["acheteur_nom"], cpv: r["cpv8"],
			dept: r["lieu_departement"], amount: int64(amount), year: year}
		if _, ok := tax.Departement(c.dept); !ok {
			c.dept = ""
		}
		if naf, ok := nafOf[strings.Split(r["titulaires_ids"], "|")[0]]; ok {
			byNAF[naf] = append(byNAF[naf], len(p.contracts))
		}
		p.contracts = append(p.contracts, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	codes := make([]string, 0, len(byNAF))
	for code := range byNAF {
		codes = append(codes, code)
	}
	slices.Sort(codes) // the same seed gives the same data
	total := 0
	for _, code := range codes {
		if len(byNAF[code]) < minContracts {
			continue
		}
		n, _ := tax.NAF(code)
		p.activities = append(p.activities, activity{naf: n, contracts: byNAF[code]})
		total += len(byNAF[code])
		p.weights = append(p.weights, total)
	}
	if len(p.activities) == 0 {
		return nil, errors.New("scale: no activity with enough real contracts in the reference data")
	}
	p.nafs = tax.NAFSubclasses()
	p.depts = tax.Departements()
	p.regions = tax.Regions()
	for _, b := range tax.HeadcountBands() {
		p.bands[b.Size] = append(p.bands[b.Size], b.Code)
	}
	return p, nil
}

// activityAt picks an activity, as often as real contracts were won in it.
func (p *pools) activityAt(x int) activity {
	i, _ := slices.BinarySearch(p.weights, x%p.weights[len(p.weights)-1]+1)
	return p.activities[i]
}

// band picks a headcount band consistent with an organisation's kind
// (décret 2008-1354: a PME has fewer than 250 staff).
func (p *pools) band(kind string, x int) string {
	var classes []string
	switch kind {
	case "pme":
		classes = slices.Concat(p.bands["TPE"], p.bands["PME"])
	case "eti":
		classes = p.bands["ETI"]
	default:
		classes = slices.Concat(p.bands["ETI"], p.bands["GE"])
	}
	return classes[x%len(classes)]
}

// Syllables of invented company names: pronounceable, French-sounding and
// not any real company's name on purpose.
var (
	nameStarts = []string{"Al", "Bel", "Cor", "Dal", "Éo", "Fal", "Gal", "Hel", "Ira", "Ker", "Lum", "Mar", "Nov", "Océ",
		"Pra", "Quar", "Rho", "Sil", "Ter", "Ulm", "Val", "Ver", "Xal", "Yse", "Zen", "Arv", "Bré", "Cal", "Dor", "Esc"}
	nameMiddles = []string{"a", "e", "i", "o", "ys", "ia", "eo", "an", "or", "el", "is", "um"}
	nameEnds    = []string{"tech", "log", "nova", "sys", "lab", "tis", "via", "flux", "data", "line", "gie", "prim", "dis", "mat",
		"bat", "éco", "med", "form", "ker", "sun"}
	nameWords = []string{"", "", "", " Ingénierie", " Services", " Solutions", " Industrie", " Conseil", " Technologies",
		" Environnement", " Bâtiment", " Numérique", " Innovation", " Systèmes", " Energies"}
	legalForms = []string{"SAS", "SARL", "SA", "SAS", "EURL", "SASU"}

	offerLeads = []string{"Solution innovante de", "Offre clé en main :", "Plateforme de", "Nouvelle génération de",
		"Service de", "Procédé breveté de", "Dispositif de", "Approche éco-conçue de"}
	summaryLeads = []string{"Nous proposons", "Notre équipe réalise", "Une offre éprouvée pour", "Conçu pour les acheteurs publics :",
		"Déjà retenu pour"}
	certNames = []string{"ISO 9001", "ISO 14001", "ISO 27001", "Qualibat RGE", "Label Lucie 26000", "EcoVadis Silver",
		"Label French Tech", "Qualiopi", "MASE", "HDS (hébergeur de données de santé)", "Label Numérique Responsable"}
)
