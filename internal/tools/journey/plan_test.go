package journey

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"passerelle/internal/tools/browsertest"
	"passerelle/internal/tools/demo"
)

// The demo buyer sets this year's PME-share target, declares the year's
// purchases and reads the commitment measured; the observatory shows the
// plan measured; the demo SME, on last year's committee, comments that
// year's assessment anonymously; the buyer reads it.
func TestPlanMeasuredAndCommented(t *testing.T) {
	b := browsertest.Start(t)
	if _, err := demo.Seed(context.Background(), b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	year := time.Now().Year()
	var last int64 // last year's plan, assessed, commented by staff
	if err := b.App.DB.QueryRow(context.Background(), `SELECT p.id FROM progress_plans p JOIN users u ON u.organisation_id = p.organisation_id
		WHERE u.email = 'acheteur@passerelle.test' AND p.year = $1 AND p.status = 'commented'`, year-1).Scan(&last); err != nil {
		t.Fatal(err)
	}
	signIn(b, "acheteur@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/espace/plan")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=plan-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-target_pme_share`), "20"),
		chromedp.Click(chromedp.CSS(`[data-testid=plan-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
		// The year's purchases, declared.
		chromedp.Navigate(b.URL("/espace/declarations")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=declaration-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-year`), strconv.Itoa(year)),
		chromedp.SetValue(chromedp.CSS(`#f-total`), "1 000 000"),
		chromedp.SetValue(chromedp.CSS(`#f-pme`), "224 000"),
		chromedp.SetValue(chromedp.CSS(`#f-eti`), "150 000"),
		chromedp.SetValue(chromedp.CSS(`#f-payment_days`), "41,5"),
		chromedp.SetValue(chromedp.CSS(`#f-on_time`), "88,5"),
		chromedp.Click(chromedp.CSS(`[data-testid=declaration-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
		chromedp.Navigate(b.URL("/espace/plan")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=plan-measures]`)),
	)
	rows := browsertest.Get(b, chromedp.Evaluate[[][]string](`[...document.querySelectorAll('[data-testid=plan-measures] tbody tr')]
		.map(tr => [...tr.cells].map(td => td.textContent.trim()))`))
	if len(rows) == 0 || !strings.Contains(rows[0][2], "22,4") || rows[0][3] != "Déclaration annuelle" || rows[0][4] != "Tenu" {
		t.Fatalf("the PME share measured: %q", rows)
	}
	b.Screenshot("plan-buyer")
	b.Axe("/espace/plan")
	b.Do(
		chromedp.Navigate(b.URL("/observatoire")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=section-plans]`)),
	)
	if got := b.Text(`[data-testid=section-plans] [data-testid=table-plans]`); !strings.Contains(got, "ENAC") {
		t.Errorf("the observatory's plans table: %q", got)
	}
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	// The committee's SME comments; nobody reads who it is.
	signIn(b, demo.SMEEmail, demo.Password)
	page := fmt.Sprintf("/plans/%d", last)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL(page)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=plan-comment]`)),
		chromedp.SetValue(chromedp.CSS(`#f-comment`), "Les consultations de l'ENAC nous laissent désormais le temps de répondre."),
		chromedp.Click(chromedp.CSS(`[data-testid=plan-comment] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	b.Axe(page)
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))
	signIn(b, "acheteur@passerelle.test", demo.Password)
	b.Do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)), chromedp.Navigate(b.URL(page)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=plan-comments]`)))
	comments := b.Text(`[data-testid=plan-comments]`)
	if !strings.Contains(comments, "le temps de répondre") || !strings.Contains(comments, "Une PME du comité") || strings.Contains(comments, "AZURIAL") {
		t.Errorf("the buyer reads %q", comments)
	}
	b.Screenshot("plan-comments")
}
