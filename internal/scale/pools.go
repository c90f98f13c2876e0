package scale

import (
	"strconv"
	"strings"

	"passerelle/internal/refdata"
	"passerelle/internal/taxonomy"
)

// contract is one real public contract (DECP) the generator borrows words
// and figures from.
type contract struct {
	object, buyer, cpv, dept string
	amount                   int64
	year                     int
}

// pools holds the real reference data texts are composed from.
type pools struct {
	contracts []contract
	byDiv     map[string][]int // CPV division → contracts
	cpvs      []string         // CPV codes of real contracts (with repeats: their real frequency)
	nafs      []taxonomy.NAF
	depts     []taxonomy.Departement
	regions   []taxonomy.Region
	bands     []string // SME headcount bands
}

func loadPools(tax *taxonomy.Taxonomy) (*pools, error) {
	p := &pools{byDiv: map[string][]int{}}
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
		p.byDiv[c.cpv[:2]] = append(p.byDiv[c.cpv[:2]], len(p.contracts))
		p.contracts = append(p.contracts, c)
		p.cpvs = append(p.cpvs, c.cpv)
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.nafs = tax.NAFSubclasses()
	p.depts = tax.Departements()
	p.regions = tax.Regions()
	for _, b := range tax.HeadcountBands() {
		if b.Size == "TPE" || b.Size == "PME" || b.Size == "ETI" {
			p.bands = append(p.bands, b.Code)
		}
	}
	return p, nil
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
