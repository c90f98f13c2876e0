// Package registerstest builds SIRENE stock files in INSEE's layout from
// real SIRENs of the shipped extract, one of each kind a test needs: a
// PME, a GE, a ceased unit, a partially diffusible one and an individual
// entrepreneur.
package registerstest

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/refdata"
	"passerelle/internal/registers"
	"passerelle/internal/taxonomy"
)

// Units names the fixture's SIRENs by kind.
type Units struct {
	PME, GE, Ceased, Withheld, Individual string
}

// Rows gives the fixture's units and establishments as rows of the
// official columns (a test may change them before writing the files).
func Rows(t testing.TB) (units, establishments []map[string]string, u Units) {
	t.Helper()
	var real []map[string]string
	seen := map[string]bool{}
	err := refdata.Each(refdata.SIRENE, func(r map[string]string) error {
		if len(real) < 5 && !seen[r["siren"]] && taxonomy.ValidSIRET(r["siret"]) && r["activite_principale"] != "" {
			seen[r["siren"]] = true
			real = append(real, r)
		}
		return nil
	})
	if err != nil || len(real) < 5 {
		t.Fatalf("registerstest: %d usable rows in the SIRENE extract (%v)", len(real), err)
	}
	kinds := []map[string]string{
		{"denominationUniteLegale": "ALPHA TRAVAUX", "categorieEntreprise": "PME", "trancheEffectifsUniteLegale": "12", "categorieJuridiqueUniteLegale": "5710"},
		{"denominationUniteLegale": "GROUPE OMEGA", "categorieEntreprise": "GE", "trancheEffectifsUniteLegale": "53", "categorieJuridiqueUniteLegale": "5599"},
		{"denominationUniteLegale": "ANCIENNE SARL", "categorieEntreprise": "PME", "etatAdministratifUniteLegale": "C", "categorieJuridiqueUniteLegale": "5499"},
		{"denominationUniteLegale": "[ND]", "nomUniteLegale": "[ND]", "statutDiffusionUniteLegale": "P", "categorieEntreprise": "PME", "categorieJuridiqueUniteLegale": "1000"},
		{"nomUniteLegale": "MARTIN", "prenom1UniteLegale": "CLAIRE", "categorieEntreprise": "PME", "categorieJuridiqueUniteLegale": "1000"},
	}
	for i, r := range real {
		unit := map[string]string{"siren": r["siren"], "statutDiffusionUniteLegale": "O", "etatAdministratifUniteLegale": "A",
			"activitePrincipaleUniteLegale": r["activite_principale"], "nicSiegeUniteLegale": r["nic"], "anneeCategorieEntreprise": "2022"}
		for k, v := range kinds[i] {
			unit[k] = v
		}
		units = append(units, unit)
		e := map[string]string{"siren": r["siren"], "nic": r["nic"], "siret": r["siret"], "statutDiffusionEtablissement": unit["statutDiffusionUniteLegale"],
			"etablissementSiege": "true", "etatAdministratifEtablissement": "A", "activitePrincipaleEtablissement": r["activite_principale"],
			"numeroVoieEtablissement": "12", "typeVoieEtablissement": r["type_voie"], "libelleVoieEtablissement": r["libelle_voie"],
			"codePostalEtablissement": r["code_postal"], "codeCommuneEtablissement": r["code_commune"], "libelleCommuneEtablissement": r["libelle_commune"]}
		if unit["statutDiffusionUniteLegale"] == "P" {
			e["numeroVoieEtablissement"], e["libelleVoieEtablissement"], e["typeVoieEtablissement"] = "[ND]", "[ND]", "[ND]"
		}
		establishments = append(establishments, e)
	}
	return units, establishments, Units{PME: real[0]["siren"], GE: real[1]["siren"], Ceased: real[2]["siren"], Withheld: real[3]["siren"], Individual: real[4]["siren"]}
}

// File writes rows under header (any order of the official columns).
func File(t testing.TB, header []string, rows []map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	for _, r := range rows {
		rec := make([]string, len(header))
		for i, h := range header {
			rec[i] = r[h]
		}
		w.Write(rec)
	}
	w.Flush()
	return b.Bytes()
}

// Load imports the fixture as the SIRENE register of db.
func Load(t testing.TB, db *pgxpool.Pool) Units {
	t.Helper()
	units, estabs, u := Rows(t)
	_, err := registers.ImportSirene(context.Background(), db,
		registers.Source{Name: "StockUniteLegale_utf8.csv", Data: File(t, registers.UnitHeader(), units)},
		registers.Source{Name: "StockEtablissement_utf8.csv", Data: File(t, registers.EstablishmentHeader(), estabs)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
