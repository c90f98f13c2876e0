package registers

import (
	"bytes"
	"encoding/csv"
	"sort"

	"passerelle/internal/platform/refdata"
)

// The columns INSEE's stock files start with, in their published order
// (the sample written below uses these headers; the import reads any
// order).
var (
	unitHeader = []string{"siren", "statutDiffusionUniteLegale", "unitePurgeeUniteLegale", "dateCreationUniteLegale",
		"sigleUniteLegale", "sexeUniteLegale", "prenom1UniteLegale", "prenom2UniteLegale", "prenom3UniteLegale",
		"prenom4UniteLegale", "prenomUsuelUniteLegale", "pseudonymeUniteLegale", "identifiantAssociationUniteLegale",
		"trancheEffectifsUniteLegale", "anneeEffectifsUniteLegale", "dateDernierTraitementUniteLegale",
		"nombrePeriodesUniteLegale", "categorieEntreprise", "anneeCategorieEntreprise", "dateDebut",
		"etatAdministratifUniteLegale", "nomUniteLegale", "nomUsageUniteLegale", "denominationUniteLegale",
		"denominationUsuelle1UniteLegale", "denominationUsuelle2UniteLegale", "denominationUsuelle3UniteLegale",
		"categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale", "nomenclatureActivitePrincipaleUniteLegale",
		"nicSiegeUniteLegale", "economieSocialeSolidaireUniteLegale", "societeMissionUniteLegale",
		"caractereEmployeurUniteLegale"}
	establishmentHeader = []string{"siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
		"trancheEffectifsEtablissement", "anneeEffectifsEtablissement", "activitePrincipaleRegistreMetiersEtablissement",
		"dateDernierTraitementEtablissement", "etablissementSiege", "nombrePeriodesEtablissement",
		"complementAdresseEtablissement", "numeroVoieEtablissement", "indiceRepetitionEtablissement",
		"dernierNumeroVoieEtablissement", "indiceRepetitionDernierNumeroVoieEtablissement", "typeVoieEtablissement",
		"libelleVoieEtablissement", "codePostalEtablissement", "libelleCommuneEtablissement",
		"libelleCommuneEtrangerEtablissement", "distributionSpecialeEtablissement", "codeCommuneEtablissement",
		"codeCedexEtablissement", "libelleCedexEtablissement", "codePaysEtrangerEtablissement",
		"libellePaysEtrangerEtablissement", "identifiantAdresseEtablissement", "coordonneeLambertAbscisseEtablissement",
		"coordonneeLambertOrdonneeEtablissement", "complementAdresse2Etablissement", "numeroVoie2Etablissement",
		"indiceRepetition2Etablissement", "typeVoie2Etablissement", "libelleVoie2Etablissement",
		"codePostal2Etablissement", "libelleCommune2Etablissement", "libelleCommuneEtranger2Etablissement",
		"distributionSpeciale2Etablissement", "codeCommune2Etablissement", "codeCedex2Etablissement",
		"libelleCedex2Etablissement", "codePaysEtranger2Etablissement", "libellePaysEtranger2Etablissement",
		"dateDebut", "etatAdministratifEtablissement", "enseigne1Etablissement", "enseigne2Etablissement",
		"enseigne3Etablissement", "denominationUsuelleEtablissement", "activitePrincipaleEtablissement",
		"nomenclatureActivitePrincipaleEtablissement", "caractereEmployeurEtablissement"}
)

// UnitHeader and EstablishmentHeader are the official headers, for
// writers of files in INSEE's layout (the benchmark's generator, tests).
func UnitHeader() []string          { return append([]string(nil), unitHeader...) }
func EstablishmentHeader() []string { return append([]string(nil), establishmentHeader...) }

// Sample gives the registers a development machine starts with, in the
// published layouts: the shipped SIRENE extract (establishments of DECP
// suppliers) as a StockEtablissement file, its legal units as a
// StockUniteLegale file (named as the DECP records name the supplier;
// the extract has no INSEE category or headcount, so those stay empty),
// and the shipped DECP records as published.
func Sample() (units, establishments, decp Source, err error) {
	names := map[string]string{}
	list, err := refdata.ReadAwards()
	if err != nil {
		return units, establishments, decp, err
	}
	for _, a := range list {
		for i, s := range a.Winners {
			if _, ok := names[s]; !ok && len(a.Winners) == 1 && i == 0 {
				names[s] = a.WinnerNames
			}
		}
	}
	var eb, ub bytes.Buffer
	ew, uw := csv.NewWriter(&eb), csv.NewWriter(&ub)
	ew.Write(establishmentHeader)
	uw.Write(unitHeader)
	type unit struct{ naf, nic string }
	seen := map[string]unit{}
	err = refdata.Each(refdata.SIRENE, func(r map[string]string) error {
		rec := make([]string, len(establishmentHeader))
		set := func(col, v string) {
			for i, h := range establishmentHeader {
				if h == col {
					rec[i] = v
				}
			}
		}
		set("siren", r["siren"])
		set("nic", r["nic"])
		set("siret", r["siret"])
		set("statutDiffusionEtablissement", "O")
		set("etablissementSiege", "false")
		set("typeVoieEtablissement", r["type_voie"])
		set("libelleVoieEtablissement", r["libelle_voie"])
		set("codePostalEtablissement", r["code_postal"])
		set("libelleCommuneEtablissement", r["libelle_commune"])
		set("codeCommuneEtablissement", r["code_commune"])
		set("etatAdministratifEtablissement", "A")
		set("activitePrincipaleEtablissement", r["activite_principale"])
		set("nomenclatureActivitePrincipaleEtablissement", r["nomenclature_activite"])
		if _, ok := seen[r["siren"]]; !ok {
			seen[r["siren"]] = unit{naf: r["activite_principale"], nic: r["nic"]}
		}
		return ew.Write(rec)
	})
	if err != nil {
		return units, establishments, decp, err
	}
	sirens := make([]string, 0, len(seen))
	for s := range seen {
		sirens = append(sirens, s)
	}
	sort.Strings(sirens)
	for _, s := range sirens {
		rec := make([]string, len(unitHeader))
		for i, h := range unitHeader {
			switch h {
			case "siren":
				rec[i] = s
			case "statutDiffusionUniteLegale":
				rec[i] = "O"
			case "etatAdministratifUniteLegale":
				rec[i] = "A"
			case "denominationUniteLegale":
				rec[i] = names[s]
			case "activitePrincipaleUniteLegale":
				rec[i] = seen[s].naf
			case "nicSiegeUniteLegale":
				rec[i] = seen[s].nic
			}
		}
		uw.Write(rec)
	}
	ew.Flush()
	uw.Flush()
	if err := ew.Error(); err != nil {
		return units, establishments, decp, err
	}
	if err := uw.Error(); err != nil {
		return units, establishments, decp, err
	}
	return Source{Name: "échantillon:StockUniteLegale_utf8.csv", Data: ub.Bytes()},
		Source{Name: "échantillon:StockEtablissement_utf8.csv", Data: eb.Bytes()},
		Source{Name: "échantillon:decp_history_official.json", Data: refdata.DECPOfficial}, nil
}
