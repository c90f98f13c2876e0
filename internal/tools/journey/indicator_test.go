package journey

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"passerelle/internal/tools/browsertest"
	"passerelle/internal/tools/demo"
)

// Staff import a CSV of declarations (Excel's format) and the observatory's
// chart and its CSV export show the new year; an SME answers the
// barometer about the demo buyer, whose fifth answer makes its scores
// appear; the SME then reads them on the buyer's request page.
func TestIndicatorsJourney(t *testing.T) {
	b := browsertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	var buyerSIREN, buyerName string
	var buyerOrg, request int64
	if err := b.App.DB.QueryRow(ctx, `SELECT g.id, g.siren, g.legal_name, (SELECT min(r.id) FROM purchase_requests r
			WHERE r.organisation_id = g.id AND r.status = 'open' AND NOT r.anonymous)
		FROM organisations g JOIN users u ON u.organisation_id = g.id WHERE u.email = 'acheteur@passerelle.test'`).
		Scan(&buyerOrg, &buyerSIREN, &buyerName, &request); err != nil {
		t.Fatal(err)
	}
	year := time.Now().Year() // the demo data stops the year before
	file := filepath.Join(t.TempDir(), "declarations.csv")
	data := "\ufeffsiren;annee;achats_total;achats_pme;achats_eti;delai_paiement_jours;part_factures_a_temps\r\n" +
		fmt.Sprintf("%s;%d;\"3 000 000 000\";\"780 000 000\";\"420 000 000\";36,5;92\r\n", buyerSIREN, year)
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}

	signIn(b, "equipe@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/equipe/declarations")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=import-form]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#f-file`), []string{file}),
		chromedp.Click(chromedp.CSS(`[data-testid=import-form] button[type=submit]`)),
		// The page follows the check and shows the preview when it is done.
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=import-preview]`)),
	)
	b.Axe("import preview")
	b.Screenshot("import-preview")
	if got := b.Text(`[data-testid=import-preview] tbody`); !strings.Contains(got, buyerSIREN) || !strings.Contains(got, fmt.Sprint(year)) {
		t.Fatalf("preview: %q", got)
	}
	b.Do(
		chromedp.Click(chromedp.CSS(`[data-testid=import-confirm] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=to-observatory]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=to-observatory]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chart-tendance] svg`)),
	)
	b.Axe("/observatoire")
	b.Screenshot("observatory")
	rows := browsertest.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid=table-tendance] tbody tr')].map(r => r.innerText)`))
	if len(rows) == 0 || !strings.HasPrefix(rows[len(rows)-1], fmt.Sprint(year)) {
		t.Fatalf("the trend table ends with %q", rows)
	}
	// The bars drawn for the new year carry its figures.
	bars := browsertest.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid=chart-tendance] .chart__value')].map(t => t.textContent)`))
	if len(bars) != 2*len(rows) {
		t.Fatalf("%d values drawn for %d years", len(bars), len(rows))
	}
	href := b.Attr(`[data-testid=csv-tendance]`, "href")
	csv := browsertest.Get(b, chromedp.Evaluate[string](fmt.Sprintf(`fetch(%q).then(r => r.text())`, href), chromedp.EvalAwaitPromise))
	lines := strings.Split(strings.TrimSpace(csv), "\r\n")
	if len(lines) != len(rows)+1 || !strings.HasPrefix(lines[len(lines)-1], fmt.Sprint(year)+";") {
		t.Fatalf("CSV export:\n%s", csv)
	}
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	// The demo buyer has four answers in the open campaign: not enough.
	signIn(b, demo.SMEEmail, demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL(fmt.Sprintf("/demandes/%d", request))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=buyer-reputation]`)),
	)
	// Last year's scores (enough answers then), not this year's yet.
	thisYear := fmt.Sprintf("baromètre %d", year)
	if got := b.Text(`[data-testid=buyer-reputation]`); strings.Contains(got, thisYear) || !strings.Contains(got, fmt.Sprintf("baromètre %d", year-1)) {
		t.Fatalf("before the fifth answer the SME reads %q", got)
	}
	b.Do(
		chromedp.Navigate(b.URL("/barometre")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=barometer-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-account`), fmt.Sprint(buyerOrg)),
		chromedp.SetValue(chromedp.CSS(`#f-relationship`), "8"),
		chromedp.SetValue(chromedp.CSS(`#f-payment`), "11"), // out of range: the form says so
		chromedp.SetValue(chromedp.CSS(`#f-clarity`), "6"),
		chromedp.SetValue(chromedp.CSS(`#f-innovation`), "9"),
		chromedp.Click(chromedp.CSS(`[data-testid=barometer-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-payment]`)),
	)
	if v := b.Attr(`#f-relationship`, "value"); v != "8" {
		t.Fatalf("the form lost what was typed: %q", v)
	}
	b.Axe("/barometre (errors)")
	b.Do(
		chromedp.SetValue(chromedp.CSS(`#f-payment`), "7"),
		chromedp.Click(chromedp.CSS(`[data-testid=barometer-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=my-answers] tbody tr`)),
		chromedp.Navigate(b.URL("/observatoire#barometre")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chart-barometre] svg`)),
	)
	b.Screenshot("barometer-results")
	if got := b.Text(`[data-testid=chart-barometre] table`); !strings.Contains(got, buyerName) {
		t.Fatalf("the fifth answer shows no score: %q", got)
	}
	b.Do(
		chromedp.Navigate(b.URL(fmt.Sprintf("/demandes/%d", request))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=buyer-reputation]`)),
	)
	n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=reputation-facts] [data-testid=fact]').length`))
	if got := b.Text(`[data-testid=buyer-reputation]`); n != 6 || !strings.Contains(got, thisYear) || !strings.Contains(got, "36,5 jours") {
		t.Fatalf("after the fifth answer the SME reads %d facts: %q", n, got)
	}
}
