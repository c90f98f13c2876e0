package journey

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/tools/browsertest"
	"passerelle/internal/tools/demo"

	"context"
)

// A buyer writes a request with five days to answer, one lot over three
// trades and payment at 60 days; the coach says all three, each with its
// source; the buyer fixes the payment and submits; staff read the two
// findings left in the moderation queue. Nothing is ever blocked.
func TestCoachReadsARequest(t *testing.T) {
	b := browsertest.Start(t)
	if _, err := demo.Seed(context.Background(), b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	title := "Entretien des locaux, des espaces verts et des toitures du campus de Toulouse"
	signIn(b, "acheteur@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/espace/demandes/nouvelle")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=offer-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-title`), title),
		chromedp.SetValue(chromedp.CSS(`#f-description`), "Nettoyage quotidien de 12 000 m² de bureaux, tonte et taille sur 3 hectares, "+
			"vérification annuelle des toitures terrasses. Résultat attendu : des locaux propres chaque matin, des espaces verts entretenus "+
			"chaque quinzaine, un rapport d'état des toitures avant l'hiver."),
		chromedp.SetValue(chromedp.CSS(`#f-budget_band`), "40k_100k"),
		chromedp.SetValue(chromedp.CSS(`#f-deadline`), time.Now().AddDate(0, 0, 5).Format(time.DateOnly)),
		chromedp.SetValue(chromedp.CSS(`#f-payment_days`), "60"),
		chromedp.SetValue(chromedp.CSS(`#f-questions`), "Sous quel délai pouvez-vous intervenir ?"),
		chromedp.Click(chromedp.CSS(`#place-regions-76`)), // Occitanie, among the régions offered
	)
	for _, code := range []string{"90911200", "77310000", "45261000"} {
		browsertest.Get(b, chromedp.Evaluate[bool](`(document.getElementById('f-cpv_q').value = '', true)`))
		b.Do(chromedp.SendKeys(chromedp.CSS(`#f-cpv_q`), code), pickCPV(code))
	}
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=coach-check]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=coach]`)))
	for _, code := range []string{"short_deadline", "several_trades", "payment_too_long"} {
		css := `[data-testid=coach-change] [data-testid=coach-` + code + `] .coach__source`
		if src := b.Text(css); src == "" {
			t.Errorf("finding %s missing, or without its source", code)
		}
	}
	if got := b.Text(`[data-testid=coach-payment_too_long] .coach__source`); !strings.Contains(got, "R2192-10") {
		t.Errorf("payment terms cite %q", got)
	}
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=cpv-chosen] input:checked').length`)); n != 3 {
		t.Errorf("the coach's check kept %d of the 3 codes", n)
	}
	b.Screenshot("coach-form")
	b.Axe("/espace/demandes/nouvelle (coach)")

	// The buyer fixes the payment terms; the coach agrees; it submits.
	b.Do(
		chromedp.SetValue(chromedp.CSS(`#f-payment_days`), "30"),
		chromedp.Click(chromedp.CSS(`[data-testid=coach-check]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=coach-good] [data-testid=coach-payment_ok]`)),
	)
	if browsertest.Get(b, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid=coach-payment_too_long]')`)) {
		t.Error("fixed payment terms still flagged")
	}
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=submit-offer]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	// Staff read the two findings left beside the request to review.
	var id int64
	if err := b.App.DB.QueryRow(context.Background(), `SELECT id FROM purchase_requests WHERE title = $1 AND status = 'submitted' AND payment_days = 30`,
		title).Scan(&id); err != nil {
		t.Fatalf("request not submitted with its terms: %v", err)
	}
	signIn(b, "equipe@passerelle.test", demo.Password)
	b.Do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)), chromedp.Navigate(b.URL("/equipe/moderation")),
		chromedp.WaitVisible(chromedp.CSS(`[data-item=moderation-request-`+itoa(id)+`]`)))
	fr := i18n.MustLoad().Localizer("fr")
	notes := browsertest.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-item=moderation-request-`+itoa(id)+`] [data-testid=fact]')]
		.filter(f => f.querySelector('dt').textContent.trim() === `+quote(fr.T("coach.title"))+`).map(f => f.querySelector('dd').textContent.trim())`))
	if len(notes) != 2 || !strings.Contains(notes[0], "5") || !strings.Contains(strings.Join(notes, " "), "L2113-10") {
		t.Errorf("staff read the coach's notes %q: want the deadline and the lots", notes)
	}
	b.Screenshot("coach-moderation")
	b.Axe("/equipe/moderation (coach)")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// quote is s as a JavaScript string literal.
func quote(s string) string { return strconv.Quote(s) }
