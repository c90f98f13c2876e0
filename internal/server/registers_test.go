package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"passerelle/internal/registers/registerstest"
	"passerelle/internal/server/servertest"
	"passerelle/internal/tools/demo"
)

func applicant(siren, kind, email string) url.Values {
	return url.Values{"siren": {siren}, "legal_name": {"Typed Name"}, "kind": {kind}, "naf_code": {"62.01Z"}, "headcount_band": {"11"},
		"departement": {"75"}, "name": {"Camille Durand"}, "email": {email}, "password": {"correct horse battery staple"}}
}

// "Vérifier" fills the form from the register without JavaScript; a name
// INSEE withholds or a person's name is never filled; an unknown SIREN
// says so and the applicant may go on. Staff see what the register says
// beside each application, and a declared PME that INSEE classes GE is
// flagged.
func TestApplyChecksTheRegister(t *testing.T) {
	app := servertest.Start(t)
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		t.Fatal(err)
	}
	u := registerstest.Load(t, app.DB)
	c := app.Client()
	verify := func(siren string) (string, string, string, string) {
		resp, doc := get(t, c, app.URL+"/adhesion?verifier="+url.QueryEscape(siren))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("verify %s: %d", siren, resp.StatusCode)
		}
		if doc.Find("#f-siren").AttrOr("value", "") != siren || doc.Find("#f-verifier").AttrOr("value", "") != siren {
			t.Errorf("verify %s: the SIREN is not carried to the form", siren)
		}
		return doc.Find("#f-legal_name").AttrOr("value", "?"), doc.Find("#f-kind option[selected]").AttrOr("value", ""),
			doc.Find("#f-naf_code option[selected]").AttrOr("value", ""), doc.Find(`[data-testid="register-notice"]`).Text()
	}
	name, kind, naf, notice := verify(u.GE)
	if name != "GROUPE OMEGA" || kind != "ge" || naf == "62.01Z" || naf == "" || !strings.Contains(notice, "Catégorie d'entreprise selon l'Insee : GE") {
		t.Errorf("GE: name %q kind %q NAF %q notice %q", name, kind, naf, notice)
	}
	if name, _, _, notice := verify(u.Withheld); name != "" || !strings.Contains(notice, "ne diffuse pas son nom") {
		t.Errorf("partially diffusible: name %q, notice %q", name, notice)
	}
	if name, _, _, notice := verify(u.Individual); name != "" || strings.Contains(notice, "MARTIN") || !strings.Contains(notice, "entreprise individuelle") {
		t.Errorf("individual entrepreneur: name %q, notice %q", name, notice)
	}
	if _, _, _, notice := verify(u.Ceased); !strings.Contains(notice, "cessé son activité") {
		t.Errorf("ceased: notice %q", notice)
	}
	if _, _, _, notice := verify("552100554"); !strings.Contains(notice, "pas dans le répertoire") {
		t.Errorf("unknown SIREN: notice %q", notice)
	}
	if resp, doc := get(t, c, app.URL+"/adhesion?verifier=123456789"); resp.StatusCode != http.StatusUnprocessableEntity ||
		doc.Find(`[data-testid="error-verifier"]`).Length() != 1 || doc.Find("#f-verifier").AttrOr("value", "") != "123456789" {
		t.Errorf("a bad SIREN: %d", resp.StatusCode)
	}

	// Applications: the GE declared as a PME, the individual entrepreneur,
	// a SIREN absent from the register.
	for _, v := range []url.Values{applicant(u.GE, "pme", "ge@example.fr"), applicant(u.Individual, "pme", "ei@example.fr"),
		applicant("552100554", "pme", "absent@example.fr")} {
		if resp, _ := postForm(t, c, app.URL+"/adhesion", v); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("apply %s: %d", v.Get("siren"), resp.StatusCode)
		}
	}
	staff := signInAs(t, app, "equipe@passerelle.test")
	_, doc := get(t, staff, app.URL+"/equipe/adhesions")
	rows := map[string]string{}
	doc.Find(`[data-testid="row"]`).Each(func(_ int, s *goquery.Selection) {
		for _, siren := range []string{u.GE, u.Individual, "552100554"} {
			if strings.Contains(s.Text(), siren[:3]+" "+siren[3:6]+" "+siren[6:]) || strings.Contains(s.Text(), siren) {
				rows[siren] = s.Text()
			}
		}
	})
	if r := rows[u.GE]; !strings.Contains(r, "Déclarée PME, classée GE par l'Insee") || !strings.Contains(r, "GROUPE OMEGA") {
		t.Errorf("GE application row: %q", r)
	}
	if r := rows[u.Individual]; !strings.Contains(r, "CLAIRE MARTIN") {
		t.Errorf("staff do not see the individual entrepreneur's name: %q", r)
	}
	if r := rows["552100554"]; !strings.Contains(r, "SIREN absent du registre") {
		t.Errorf("absent SIREN row: %q", r)
	}
}

// The observatory of public buyers, from the registers alone: open to
// visitors; each chart's CSV holds exactly its table's numbers; a région,
// a buyer and a year narrow it; a bad SIREN is a field error; a public
// member buyer also sees its declared share beside the measured one, and
// nobody else does.
func TestPublicBuyersObservatory(t *testing.T) {
	a := startIndicators(t)
	visitor := a.Client()
	resp, doc := get(t, visitor, a.URL+"/acheteurs-publics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, chart := range []string{"marches", "montants", "acheteurs"} {
		table := tableRows(doc.Find("[data-testid=chart-" + chart + "] table"))
		if len(table) < 2 {
			t.Fatalf("%s: table %v", chart, table)
		}
		href, _ := doc.Find("[data-testid=csv-" + chart + "]").Attr("href")
		rows := readCSV(t, visitor, a.URL+href)
		if len(rows) != len(table) {
			t.Fatalf("%s: CSV %d rows, table %d", chart, len(rows), len(table))
		}
		for i := 1; i < len(rows); i++ {
			for j := 1; j < len(rows[i]); j++ {
				if rows[i][j] != "" && rows[i][j]+"\u00a0%" != table[i][j] {
					t.Errorf("%s row %d: CSV %v, table %v", chart, i, rows[i], table[i])
				}
			}
		}
	}
	if doc.Find("#vos-chiffres").Length() != 0 {
		t.Error("a visitor sees a member's own figures")
	}
	// The shipped sample: every year's shares add up to 100 %.
	for _, row := range tableRows(doc.Find("[data-testid=chart-marches] table"))[1:] {
		sum := 0.0
		for _, c := range row[1:] {
			var v float64
			fmt.Sscanf(strings.ReplaceAll(strings.TrimSuffix(c, "\u00a0%"), ",", "."), "%g", &v)
			sum += v
		}
		if sum < 99.5 || sum > 100.5 {
			t.Errorf("year %s adds up to %.1f %%", row[0], sum)
		}
	}
	// A buyer of the list, by its link.
	href, ok := doc.Find("#acheteurs a[href*='acheteur=']").First().Attr("href")
	if !ok {
		t.Fatal("no buyer link")
	}
	resp, doc = get(t, visitor, a.URL+href)
	if resp.StatusCode != http.StatusOK || !strings.Contains(doc.Find("h2").Text(), "SIREN") || doc.Find("#acheteurs").Length() != 0 {
		t.Errorf("a buyer's page: %d %q", resp.StatusCode, doc.Find("h2").Text())
	}
	if resp, _ := get(t, visitor, a.URL+"/acheteurs-publics?region=84&annee=2018"); resp.StatusCode != http.StatusOK {
		t.Errorf("a région: %d", resp.StatusCode)
	}
	resp, doc = get(t, visitor, a.URL+"/acheteurs-publics?acheteur=123456789")
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-acheteur]").Length() != 1 {
		t.Errorf("a bad SIREN: %d", resp.StatusCode)
	}
	if resp, _ := get(t, visitor, a.URL+"/acheteurs-publics/declare-mesure.csv"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a visitor reads a member's CSV: %d", resp.StatusCode)
	}

	// The demo buyer (a real public buyer of the DECP) with its declarations.
	_, doc = get(t, a.buyer, a.URL+"/acheteurs-publics")
	mine := tableRows(doc.Find("[data-testid=chart-declare-mesure] table"))
	if len(mine) < 2 || len(mine[0]) != 3 {
		t.Fatalf("the buyer's own figures: %v", mine)
	}
	declared, measured := 0, 0
	for _, row := range mine[1:] {
		if row[1] != "" && row[1] != "—" {
			declared++
		}
		if row[2] != "" && row[2] != "—" {
			measured++
		}
	}
	if declared == 0 || measured == 0 {
		t.Errorf("declared in %d years, measured in %d: %v", declared, measured, mine)
	}
	if rows := readCSV(t, a.buyer, a.URL+"/acheteurs-publics/declare-mesure.csv"); len(rows) != len(mine) {
		t.Errorf("the buyer's CSV: %d rows, table %d", len(rows), len(mine))
	}
	if _, doc := get(t, a.sme, a.URL+"/acheteurs-publics"); doc.Find("#vos-chiffres").Length() != 0 {
		t.Error("an SME sees a buyer's own figures")
	}

	// Staff read every import's report.
	_, doc = get(t, a.staff, a.URL+"/equipe/registres")
	runs := tableRows(doc.Find("[data-testid=register-runs]"))
	if len(runs) < 3 || !strings.Contains(doc.Text(), "SIRENE") || !strings.Contains(doc.Text(), "DECP") {
		t.Errorf("runs: %v", runs)
	}
}
