package profile

import (
	"strconv"
	"strings"
	"sync"

	"passerelle/internal/refdata"
)

// Award is a public contract of the DECP data won by a company.
type Award struct {
	UID         string
	Buyer       string
	Object      string
	CPV         string
	AmountEUR   int64
	Year        int
	Departement string
	Damaged     bool // the source mis-encoded accents upstream (U+FFFD)
	Imported    bool // already one of the SME's references
}

var (
	awardsOnce sync.Once
	awardsBy   map[string][]Award
	awardsErr  error
)

// awardsFor returns the contracts of the shipped DECP data whose winners
// include the SIREN (a winner's SIRET starts with its SIREN).
func awardsFor(siren string) ([]Award, error) {
	awardsOnce.Do(func() {
		awardsBy = map[string][]Award{}
		awardsErr = refdata.Each(refdata.DECP, func(r map[string]string) error {
			amount, _ := strconv.ParseFloat(r["montant"], 64)
			year, _ := strconv.Atoi(strings.SplitN(r["date_notification"], "-", 2)[0])
			if year < 1990 || year > 2100 {
				year = 0
			}
			a := Award{UID: r["uid"], Buyer: r["acheteur_nom"], Object: strings.Join(strings.Fields(r["objet"]), " "),
				CPV: r["cpv8"], AmountEUR: int64(amount), Year: year, Departement: r["lieu_departement"],
				Damaged: r["probleme_encodage"] == "1"}
			seen := map[string]bool{}
			for _, id := range strings.Split(r["titulaires_ids"], "|") {
				id = strings.ReplaceAll(id, " ", "")
				if len(id) >= 9 && !seen[id[:9]] && !hasUID(awardsBy[id[:9]], a.UID) {
					seen[id[:9]] = true
					awardsBy[id[:9]] = append(awardsBy[id[:9]], a)
				}
			}
			return nil
		})
	})
	return awardsBy[siren], awardsErr
}

// hasUID reports whether a re-publication of the same record is already listed.
func hasUID(list []Award, uid string) bool {
	for _, a := range list {
		if a.UID == uid {
			return true
		}
	}
	return false
}
