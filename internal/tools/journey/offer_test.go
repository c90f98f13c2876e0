package journey

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"passerelle/internal/platform/refdata"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/browsertest"
	"passerelle/internal/tools/demo"
)

// The demo SME writes an offer (choosing its CPV code with the picker as
// it types), submits it; staff publish it; a buyer finds it by a French
// word typed without its accent, narrowed by a region facet; a visitor
// sees it in the public showcase without the SME's profile.
func TestSMEPublishesBuyerFinds(t *testing.T) {
	b := browsertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	tax := taxonomy.MustLoad()
	cpv, _ := tax.CPV("09331200") // Modules solaires photovoltaïques
	var object string             // a real contract object for the summary
	_ = refdata.Each(refdata.DECP, func(r map[string]string) error {
		if object == "" && r["probleme_encodage"] == "0" && strings.HasPrefix(r["objet"], "Réalisation d'un générateur photovoltaïque") {
			object = r["objet"]
		}
		return nil
	})
	if object == "" {
		t.Fatal("no photovoltaic contract in the DECP data")
	}
	title := cpv.LabelFR + " pour toitures de bâtiments publics"

	// The SME writes and submits its offer.
	signIn(b, "pme@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/espace/offres")),
		chromedp.Click(chromedp.CSS(`[data-testid=new-offer]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=offer-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-title`), title),
		chromedp.SetValue(chromedp.CSS(`#f-summary`), object),
		chromedp.SetValue(chromedp.CSS(`#f-kind`), "product"),
		chromedp.SetValue(chromedp.CSS(`#f-trl`), "8"),
		chromedp.Click(chromedp.CSS(`#place-regions-75`)), // Nouvelle-Aquitaine, among the régions offered
		chromedp.SetValue(chromedp.CSS(`#f-keywords`), "autoconsommation, toiture"),
		// The picker finds codes as one types (JavaScript enhancement).
		chromedp.SendKeys(chromedp.CSS(`#f-cpv_q`), "photovolta"),
		pickCPV("09331200"),
	)
	b.Screenshot("offer-form")
	b.Do(
		chromedp.Click(chromedp.CSS(`[data-testid=submit-offer]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if mine := b.Text(`[data-testid=my-offer][data-status=submitted]`); !strings.Contains(mine, title) {
		t.Fatalf("my offers after submitting: the first waiting offer is %q", mine)
	}
	var offerID int64
	if err := b.App.DB.QueryRow(ctx, `SELECT id FROM offers WHERE title = $1 AND cpv_codes = '{09331200}' AND status = 'submitted'`, title).Scan(&offerID); err != nil {
		t.Fatalf("offer not stored as submitted: %v", err)
	}
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	// Staff publish it from the review queue.
	signIn(b, "equipe@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/equipe/moderation")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=total]`)),
	)
	if !strings.Contains(b.Text("main"), title) {
		t.Fatal("the offer is not in the review queue")
	}
	b.Do(
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`form[action="/equipe/moderation/offer/%d/publier"] button`, offerID))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if strings.Contains(b.Text("main"), title) {
		t.Error("the published offer is still in the queue")
	}
	// The SME is told by e-mail, with a link to its offers.
	b.App.Mail.WaitFor(t, "pme@passerelle.test", "/espace/offres")
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	// The buyer searches without accent and in the plural, then narrows
	// by region with a facet link.
	signIn(b, "acheteur@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/offres")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=search-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-q`), "photovoltaiques toiture"),
		chromedp.Click(chromedp.CSS(`[data-testid=search-submit]`)),
		// The catalogue already lists offers before the search (the demo
		// SME's): wait for the results page, whose box holds the words.
		chromedp.WaitVisible(chromedp.CSS(`#f-q[value="photovoltaiques toiture"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=offer-hit]`)),
	)
	if !strings.Contains(b.Text(`[data-testid=offer-hit]`), cpv.LabelFR) {
		t.Fatalf("first hit for 'photovoltaiques toiture': %q", b.Text(`[data-testid=offer-hit]`))
	}
	facet := `//a[@data-testid="facet"][contains(., "Nouvelle-Aquitaine")]`
	b.Do(
		chromedp.Click(facet),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chips]`)),
	)
	if chips := b.Text(`[data-testid=chips]`); !strings.Contains(chips, "Nouvelle-Aquitaine") {
		t.Errorf("selected facet not shown: %q", chips)
	}
	hits := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=offer-hit]').length`))
	if n := b.Attr(`[data-testid=total]`, "data-count"); n != "1" || hits != 1 {
		t.Errorf("with the facet: total %s, %d hits; want 1", n, hits)
	}
	b.Screenshot("buyer-search")
	b.Do(
		chromedp.Click(chromedp.CSS(`[data-testid=offer-hit] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=offer-title]`)),
	)
	if got := b.Text(`[data-testid=offer-title]`); got != title {
		t.Errorf("offer page title %q", got)
	}
	if href := b.Attr(`a[data-testid=offer-org]`, "href"); !strings.HasPrefix(href, "/entreprises/") {
		t.Errorf("members see a link to the SME's profile, got %q", href)
	}
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	// A visitor sees it in the showcase, invited to join, without the profile.
	b.Do(
		chromedp.Navigate(b.URL(fmt.Sprintf("/offres/%d", offerID))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=join]`)),
	)
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('a[data-testid=offer-org]').length`)); n != 0 {
		t.Errorf("a visitor sees a link to the SME's profile")
	}
}
