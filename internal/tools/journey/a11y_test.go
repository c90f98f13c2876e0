package journey

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/browsertest"
	"passerelle/internal/tools/demo"
	"passerelle/internal/tools/scale"
)

// The main pages of each role pass axe-core's WCAG 2.1 A and AA rules with
// no serious or critical violation, in French and in English.
func TestMainPagesPassAxe(t *testing.T) {
	b := browsertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	// The generated SMEs of `make run`, so lists, facets and offer pages have content.
	if _, err := scale.Generate(ctx, b.App.DB, taxonomy.MustLoad(), scale.Options{Organisations: 30, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	var offerID, orgID int64
	if err := b.App.DB.QueryRow(ctx, `SELECT id, organisation_id FROM offers WHERE listed ORDER BY id LIMIT 1`).Scan(&offerID, &orgID); err != nil {
		t.Fatal(err)
	}
	offerPage, profilePage := fmt.Sprintf("/offres/%d", offerID), fmt.Sprintf("/entreprises/%d", orgID)
	// The demo buyer's requests: open with answers and a conversation, anonymous.
	var first, secret, smeOrg int64
	if err := b.App.DB.QueryRow(ctx, `SELECT (SELECT min(id) FROM purchase_requests WHERE status = 'open' AND NOT anonymous),
		(SELECT min(id) FROM purchase_requests WHERE status = 'open' AND anonymous),
		(SELECT organisation_id FROM users WHERE email = 'pme@passerelle.test')`).Scan(&first, &secret, &smeOrg); err != nil {
		t.Fatal(err)
	}
	conversation := fmt.Sprintf("/demandes/%d/echanges/%d", first, smeOrg)
	// The demo buyer's request of two months ago: what happened after its deadline.
	var past int64
	if err := b.App.DB.QueryRow(ctx, `SELECT min(id) FROM purchase_requests WHERE status = 'closed' AND published_at > now() - interval '1 year'`).Scan(&past); err != nil {
		t.Fatal(err)
	}

	roles := []struct {
		email string // empty: a visitor
		pages []string
	}{
		{"", []string{"/", "/offres", "/offres?q=logiciel", offerPage, "/adhesion", "/connexion", "/mot-de-passe/oubli", "/page-absente", "/plans",
			"/acheteurs-publics", "/acheteurs-publics?acheteur=123",
			fmt.Sprintf("/demandes/%d/lien?jeton=perime", first)}},
		{"pme@passerelle.test", []string{"/espace", "/espace/offres", "/espace/offres/nouvelle", "/espace/profil", "/espace/profil/import",
			"/annuaire", profilePage, "/compte", "/demandes", "/demandes/pour-vous", fmt.Sprintf("/demandes/%d", first), fmt.Sprintf("/demandes/%d", secret), conversation,
			"/barometre", "/observatoire"}},
		{"acheteur@passerelle.test", []string{"/espace", "/annuaire?q=travaux", "/offres", offerPage, "/espace/demandes", "/espace/demandes/nouvelle",
			fmt.Sprintf("/espace/demandes/%d", first), fmt.Sprintf("/espace/demandes/%d", past), conversation, "/espace/declarations",
			"/observatoire?annee=2024", "/acheteurs-publics", "/espace/plan"}},
		{"equipe@passerelle.test", []string{"/espace", fmt.Sprintf("/demandes/%d", first), "/equipe/adhesions", "/equipe/moderation", "/equipe/membres", "/equipe/journal", "/equipe/courriels",
			"/observatoire", "/equipe/indicateurs", "/equipe/declarations", "/equipe/barometre", "/equipe/registres", "/plans"}},
		{"admin@passerelle.test", []string{"/admin/equipe"}},
	}
	// On the offer page each fact's label sits above its own value, in the
	// same box, on a phone and on a desktop.
	for _, width := range []int64{360, 1280} {
		b.Do(chromedp.EmulateViewport(width, 900), chromedp.Navigate(b.URL(offerPage)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=offer-facts]`)))
		bad := browsertest.Get(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid=offer-facts] > *')].flatMap(box => {
			const dt = box.querySelector(':scope > dt'), dd = box.querySelector(':scope > dd');
			if (!dt || !dd) return [box.tagName + ': not a label with its value'];
			const a = dt.getBoundingClientRect(), c = dd.getBoundingClientRect();
			const sameColumn = a.left < c.right && c.left < a.right, above = a.bottom <= c.top + 1;
			return sameColumn && above ? [] : [dt.textContent + ': label and value apart'];
		})`))
		if len(bad) > 0 || b.Attr(`[data-testid=offer-facts]`, "class") == "" {
			t.Errorf("offer facts at %d px: %q", width, bad)
		}
	}
	b.Do(chromedp.EmulateViewport(1280, 900))

	for _, role := range roles {
		name := role.email
		if name == "" {
			name = "visitor"
		}
		t.Run(name, func(t *testing.T) {
			if role.email != "" {
				signIn(b, role.email, demo.Password)
				b.Do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=signout]`)))
			}
			for _, page := range role.pages {
				b.Do(chromedp.Navigate(b.URL(page)), chromedp.WaitReady(chromedp.CSS(`main`)))
				b.Axe(page)
			}
			// English too, on the first page of the role.
			b.Do(chromedp.Navigate(b.URL(role.pages[0])), chromedp.Click(chromedp.CSS(`[data-testid=lang-en]`)),
				chromedp.WaitVisible(chromedp.CSS(`html[lang=en] main`)))
			b.Axe(role.pages[0] + " (en)")
			b.Do(chromedp.Click(chromedp.CSS(`[data-testid=lang-fr]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=fr] main`)))
			if role.email != "" {
				b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))
			}
		})
	}
}
