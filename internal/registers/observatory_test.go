package registers_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/registers"
	"passerelle/internal/registers/registerstest"
)

func contractOf(buyer, id, date string, amount int, winners ...string) string {
	ws := ""
	for i, w := range winners {
		if i > 0 {
			ws += ","
		}
		typ := "SIRET"
		if len(w) != 14 {
			typ = "TVA"
		}
		ws += fmt.Sprintf(`{"typeIdentifiant": %q, "id": %q, "denominationSociale": "x"}`, typ, w)
	}
	return fmt.Sprintf(`{"id": %q, "acheteur": {"id": %q, "nom": "Ville de Test"}, "objet": "o", "codeCPV": "45000000-7",
		"dateNotification": %q, "montant": %d, "titulaires": [%s], "lieuExecution": {"code": "69", "typeCode": "Code département"}}`,
		id, buyer, date, amount, ws)
}

// Shares per INSEE category, checked by hand: a contract with two
// suppliers counts half to each; a supplier SIRENE does not hold is
// "unknown"; the figures follow a SIRENE re-import.
func TestObservatoryShares(t *testing.T) {
	db := pgtest.Pool(t)
	ctx := context.Background()
	_, estabs, u := registerstest.Rows(t)
	siret := map[string]string{}
	for _, e := range estabs {
		siret[e["siren"]] = e["siret"]
	}
	registerstest.Load(t, db)
	const buyer = "21690123100011"
	importDECP(t, db, "obs.json", doc(
		contractOf(buyer, "1", "2019-02-01", 1000, siret[u.PME]),
		contractOf(buyer, "2", "2019-03-01", 3000, siret[u.PME], siret[u.GE]),
		contractOf(buyer, "3", "2019-04-01", 500, "FR12345678901"),
		contractOf(buyer, "4", "2020-01-10", 800, siret[u.GE]),
		contractOf("13000000000001", "5", "2020-01-10", 100, siret[u.PME]),
	))
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	all, err := registers.Shares(ctx, db, registers.Scope{Buyer: "216901231"})
	if err != nil || len(all) != 2 {
		t.Fatalf("%+v %v", all, err)
	}
	y := all[0]
	if y.Year != 2019 || !near(y.Contracts["PME"], 1.5) || !near(y.Contracts["GE"], 0.5) || !near(y.Contracts[""], 1) ||
		!near(y.Amounts["PME"], 2500) || !near(y.Amounts["GE"], 1500) || !near(y.Amounts[""], 500) || !near(y.Contracts.Share("PME"), 0.5) {
		t.Errorf("2019: %+v", y)
	}
	if all[1].Year != 2020 || !near(all[1].Contracts.Share("GE"), 1) {
		t.Errorf("2020: %+v", all[1])
	}
	national, err := registers.Shares(ctx, db, registers.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if len(national) != 2 || !near(national[1].Contracts["PME"], 1) || !near(national[1].Contracts.Total(), 2) {
		t.Errorf("national: %+v", national)
	}
	if r, err := registers.Shares(ctx, db, registers.Scope{Departements: []string{"75"}}); err != nil || len(r) != 0 {
		t.Errorf("a région without contracts: %+v %v", r, err)
	}
	list, err := registers.Buyers(ctx, db, registers.Scope{Departements: []string{"69"}}, 2019, 10)
	if err != nil || len(list) != 1 || list[0].Name != "Ville de Test" || !near(list[0].Contracts.Total(), 3) {
		t.Errorf("buyers: %+v %v", list, err)
	}
	top, err := registers.Buyers(ctx, db, registers.Scope{}, 2020, 10)
	if err != nil || len(top) != 2 || !near(top[0].Contracts.Total(), 1) || !near(top[0].Amounts.Total()+top[1].Amounts.Total(), 900) {
		t.Errorf("national buyers of 2020: %+v %v", top, err)
	}
	if top, err := registers.Buyers(ctx, db, registers.Scope{}, 2019, 10); err != nil || len(top) != 1 || !near(top[0].Contracts.Share("PME"), 0.5) || !near(top[0].Amounts["GE"], 1500) {
		t.Errorf("national buyers of 2019: %+v", top)
	}
	if name, err := registers.Buyer(ctx, db, "216901231"); name != "Ville de Test" || err != nil {
		t.Errorf("buyer %q %v", name, err)
	}
	if _, err := registers.Buyer(ctx, db, "552100554"); err != registers.ErrUnknownBuyer {
		t.Errorf("unknown buyer: %v", err)
	}

	// INSEE reclassifies the PME as an ETI: the figures follow.
	units, ests, _ := registerstest.Rows(t)
	units[0]["categorieEntreprise"] = "ETI"
	if _, err := importSirene(t, db, registerstest.File(t, registers.UnitHeader(), units), registerstest.File(t, registers.EstablishmentHeader(), ests)); err != nil {
		t.Fatal(err)
	}
	if all, err = registers.Shares(ctx, db, registers.Scope{Buyer: "216901231"}); err != nil {
		t.Fatal(err)
	}
	if !near(all[0].Contracts["ETI"], 1.5) || all[0].Contracts["PME"] != 0 {
		t.Errorf("after the SIRENE change: %+v", all[0])
	}
}
