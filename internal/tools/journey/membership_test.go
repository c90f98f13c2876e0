package journey

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/tools/browsertest"
	"passerelle/internal/tools/demo"
)

// realSupplier returns a real SIREN and NAF code from the SIRENE extract
// that the demo data does not use (the last rows of the file).
func realSupplier(t *testing.T) (siren, naf, dept string) {
	t.Helper()
	err := refdata.Each(refdata.SIRENE, func(r map[string]string) error {
		if r["nomenclature_activite"] == "NAFRev2" && len(r["departement"]) == 2 {
			siren, naf, dept = r["siren"], r["activite_principale"], r["departement"]
		}
		return nil
	})
	if err != nil || siren == "" {
		t.Fatalf("no usable row in the SIRENE extract: %v", err)
	}
	return siren, naf, dept
}

// signIn fills the sign-in form.
// pickCPV ticks a code among the picker's results as they come: the list
// is drawn again at each answer while one types, so the box is clicked
// in the page, once present, rather than through a node that a later
// answer may have replaced.
func pickCPV(code string) chromedp.Action[chromedp.Void] {
	click := chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.querySelector('#cpv-results input[value="%s"]');
		if (!el) return false;
		if (!el.checked) el.click();
		return true;
	})()`, code), chromedp.WithPollingTimeout(10*time.Second))
	chosen := chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid=cpv-chosen] input[value="%s"]`, code)))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := click(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		return chosen(ctx, t)
	}
}

func signIn(b *browsertest.Browser, email, password string) {
	b.Do(
		chromedp.Navigate(b.URL("/connexion")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=signin-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-email`), email),
		chromedp.SetValue(chromedp.CSS(`#f-password`), password),
		chromedp.Click(chromedp.CSS(`[data-testid=signin-form] button[type=submit]`)),
	)
}

// A new SME applies; staff approve it; the applicant gets the e-mail,
// signs in and sees its space.
func TestApplyApproveSignIn(t *testing.T) {
	b := browsertest.Start(t)
	if _, err := demo.Seed(context.Background(), b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	siren, naf, dept := realSupplier(t)
	email := "dirigeante@pme-exemple.fr"

	b.Do(
		chromedp.Navigate(b.URL("/adhesion")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=apply-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-siren`), siren[:3]+" "+siren[3:6]+" "+siren[6:]),
		chromedp.SetValue(chromedp.CSS(`#f-legal_name`), "Atelier Numérique du Val"),
		chromedp.SetValue(chromedp.CSS(`#f-kind`), "pme"),
		chromedp.SetValue(chromedp.CSS(`#f-naf_code`), naf),
		chromedp.SetValue(chromedp.CSS(`#f-headcount_band`), "11"),
		chromedp.SetValue(chromedp.CSS(`#f-departement`), dept),
		chromedp.SetValue(chromedp.CSS(`#f-name`), "Claire Dirigeante"),
		chromedp.SetValue(chromedp.CSS(`#f-email`), email),
		chromedp.SetValue(chromedp.CSS(`#f-password`), "une phrase de passe solide"),
		chromedp.Click(chromedp.CSS(`[data-testid=apply-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=message]`)),
	)
	if loc := browsertest.Get(b, chromedp.Location()); !strings.HasSuffix(loc, "/adhesion/merci") {
		t.Fatalf("after applying: on %s", loc)
	}
	b.App.Mail.WaitFor(t, email, "Atelier Num")

	// Before approval the applicant cannot sign in, and is told why.
	signIn(b, email, "une phrase de passe solide")
	b.Do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-password]`)))
	if msg, want := b.Text(`[data-testid=error-password]`), i18n.MustLoad().Localizer("fr").T("signin.pending"); msg != want {
		t.Errorf("pending sign-in message: %q, want the catalogue's %q", msg, want)
	}

	// Staff approve.
	var orgID int64
	if err := b.App.DB.QueryRow(context.Background(), `SELECT id FROM organisations WHERE siren = $1`, siren).Scan(&orgID); err != nil {
		t.Fatal(err)
	}
	signIn(b, "equipe@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/equipe/adhesions")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=total]`)),
	)
	if !strings.Contains(b.Text("main"), "Atelier Numérique du Val") {
		t.Fatal("the application is not in the staff queue")
	}
	b.Screenshot("queue")
	approve := fmt.Sprintf(`form[action="/equipe/organisations/%d/approuver"] button`, orgID)
	b.Do(
		chromedp.Click(chromedp.CSS(approve)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if strings.Contains(b.Text("main"), "Atelier Numérique du Val") {
		t.Error("the approved application is still in the queue")
	}
	b.Do(
		chromedp.Click(chromedp.CSS(`[data-testid=signout]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)),
	)

	// The applicant receives the approval with a sign-in link, and signs in.
	m := b.App.Mail.WaitFor(t, email, "/connexion")
	link := m.Link(t, "/connexion")
	b.Do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`[data-testid=signin-form]`)))
	signIn(b, email, "une phrase de passe solide")
	b.Do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)))
	if name := b.Text(`[data-testid=user-name]`); name != "Claire Dirigeante" {
		t.Errorf("signed in as %q", name)
	}
	if facts := b.Text(`[data-testid=facts]`); !strings.Contains(facts, "Atelier Numérique du Val") {
		t.Errorf("space does not show the organisation: %q", facts)
	}
	b.Screenshot("space")
}
