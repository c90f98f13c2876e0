package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"passerelle/internal/demo"
	"passerelle/internal/registers/registerstest"
	"passerelle/internal/server/servertest"
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
		v := applicant(siren, "", "x@example.fr")
		v.Set("verify", "1")
		v.Set("legal_name", "")
		resp, doc := postForm(t, c, app.URL+"/adhesion", v)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("verify %s: %d", siren, resp.StatusCode)
		}
		if doc.Find("#f-password").AttrOr("value", "") != "" || doc.Find("#f-email").AttrOr("value", "") != "x@example.fr" {
			t.Errorf("verify %s: typed fields not kept, or the password sent back", siren)
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
	if resp, doc := postForm(t, c, app.URL+"/adhesion", url.Values{"siren": {"123456789"}, "verify": {"1"}}); resp.StatusCode != http.StatusUnprocessableEntity ||
		doc.Find(`[data-testid="error-siren"]`).Length() != 1 {
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
