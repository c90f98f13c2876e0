package refdata

import (
	"slices"
	"strconv"
	"strings"
)

// Award is a public contract of the DECP data.
type Award struct {
	UID         string
	Buyer       string
	Object      string
	CPV         string
	AmountEUR   int64
	Year        int // 0: unknown
	Departement string
	Damaged     bool     // the source mis-encoded accents upstream (U+FFFD)
	Winners     []string // the winners' SIRENs (a SIRET starts with its SIREN)
	WinnerNames string   // as published, "|" between co-contractors
}

// ReadAwards reads every contract of the shipped DECP data, once each (the
// data holds re-publications of some records under the same uid). Callers
// keep what they need: nothing is cached here.
func ReadAwards() ([]Award, error) {
	var out []Award
	seen := map[string]bool{}
	err := Each(DECP, func(r map[string]string) error {
		if seen[r["uid"]] {
			return nil
		}
		seen[r["uid"]] = true
		amount, _ := strconv.ParseFloat(r["montant"], 64)
		year, _ := strconv.Atoi(strings.SplitN(r["date_notification"], "-", 2)[0])
		if year < 1990 || year > 2100 {
			year = 0
		}
		a := Award{UID: r["uid"], Buyer: r["acheteur_nom"], Object: strings.Join(strings.Fields(r["objet"]), " "),
			CPV: r["cpv8"], AmountEUR: int64(amount), Year: year, Departement: r["lieu_departement"],
			Damaged: r["probleme_encodage"] == "1", WinnerNames: r["titulaires_noms"]}
		for _, id := range strings.Split(r["titulaires_ids"], "|") {
			id = strings.ReplaceAll(id, " ", "")
			if len(id) >= 9 && !slices.Contains(a.Winners, id[:9]) {
				a.Winners = append(a.Winners, id[:9])
			}
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// AwardsBySIREN indexes contracts by each of their winners' SIREN.
func AwardsBySIREN(list []Award) map[string][]Award {
	by := map[string][]Award{}
	for _, a := range list {
		for _, s := range a.Winners {
			by[s] = append(by[s], a)
		}
	}
	return by
}
