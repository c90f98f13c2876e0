package journey

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"passerelle/internal/registers/registerstest"
	"passerelle/internal/tools/browsertest"
	"passerelle/internal/tools/demo"
)

// An applicant types a SIREN the register knows and clicks "Vérifier"
// (a GET step before the form, without JavaScript):
// the form comes back filled from SIRENE (legal name, NAF, département,
// headcount band, category). It declares itself a PME although INSEE
// classes it GE; staff see the register beside the declaration, and the
// flag. The observatory of public buyers follows the same registers.
func TestApplyFromTheRegister(t *testing.T) {
	b := browsertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	u := registerstest.Load(t, b.App.DB)
	_, estabs, _ := registerstest.Rows(t)
	email := "direction@groupe-omega.fr"

	b.Do(
		chromedp.Navigate(b.URL("/adhesion")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=siren-lookup]`)),
		chromedp.SetValue(chromedp.CSS(`#f-verifier`), u.GE[:3]+" "+u.GE[3:6]+" "+u.GE[6:]),
		chromedp.Click(chromedp.CSS(`[data-testid=siren-lookup] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=register-notice]`)),
		chromedp.SetValue(chromedp.CSS(`#f-name`), "Paul Directeur"),
		chromedp.SetValue(chromedp.CSS(`#f-email`), email),
	)
	b.Screenshot("apply-verified")
	value := func(sel string) string { return browsertest.Get(b, chromedp.Value(chromedp.CSS(sel))) }
	if got := value(`#f-legal_name`); got != "GROUPE OMEGA" {
		t.Errorf("legal name %q", got)
	}
	if got := value(`#f-kind`); got != "ge" {
		t.Errorf("kind %q", got)
	}
	if got := value(`#f-naf_code`); got != estabs[1]["activitePrincipaleEtablissement"] {
		t.Errorf("NAF %q, register %q", got, estabs[1]["activitePrincipaleEtablissement"])
	}
	if got := value(`#f-headcount_band`); got != "53" {
		t.Errorf("headcount band %q", got)
	}
	if got := value(`#f-departement`); got == "" || !strings.HasPrefix(estabs[1]["codeCommuneEtablissement"], got) {
		t.Errorf("département %q for commune %s", got, estabs[1]["codeCommuneEtablissement"])
	}
	if got := value(`#f-siren`); got != u.GE {
		t.Errorf("SIREN %q", got)
	}
	// It says PME all the same, and sends.
	b.Do(
		chromedp.SetValue(chromedp.CSS(`#f-kind`), "pme"),
		chromedp.SetValue(chromedp.CSS(`#f-password`), "une phrase de passe solide"),
		chromedp.Click(chromedp.CSS(`[data-testid=apply-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=message]`)),
	)

	signIn(b, "equipe@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/equipe/adhesions")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=register-flag]`)),
	)
	b.Screenshot("queue-register")
	main := b.Text("main")
	for _, want := range []string{"Déclarée PME, classée GE par l'Insee", "Répertoire SIRENE (Insee)", "GROUPE OMEGA", "Catégorie Insee"} {
		if !strings.Contains(main, want) {
			t.Errorf("the staff queue lacks %q", want)
		}
	}
	b.Do(chromedp.Navigate(b.URL("/equipe/registres")), chromedp.WaitVisible(chromedp.CSS(`[data-testid=register-runs]`)))
	if runs := b.Text(`[data-testid=register-runs]`); !strings.Contains(runs, "SIRENE") || !strings.Contains(runs, "DECP") {
		t.Errorf("import runs: %q", runs)
	}
	b.Do(chromedp.Navigate(b.URL("/acheteurs-publics")), chromedp.WaitVisible(chromedp.CSS(`[data-testid=chart-marches]`)))
	b.Screenshot("public-buyers")
}
