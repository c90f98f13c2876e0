package journey

import (
	"context"
	"fmt"
	"passerelle/internal/platform/postgres/pgtest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"passerelle/internal/platform/refdata"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/browsertest"
	"passerelle/internal/tools/demo"
)

// need is a real public contract in the demo SME's trade, that none of
// the demo requests uses: the request the journeys publish.
type need struct {
	title, cpv, dept, region, word string
	smeOrg                         int64
}

func demoNeed(t *testing.T, b *browsertest.Browser, skip int) need {
	t.Helper()
	ctx := context.Background()
	var n need
	if err := b.App.DB.QueryRow(ctx, `SELECT o.cpv_codes[1], g.departement, g.id FROM offers o JOIN organisations g ON g.id = o.organisation_id
		JOIN users u ON u.organisation_id = g.id WHERE u.email = $1 AND o.status = 'published' ORDER BY o.id LIMIT 1`, demo.SMEEmail).
		Scan(&n.cpv, &n.dept, &n.smeOrg); err != nil {
		t.Fatal(err)
	}
	tax := taxonomy.MustLoad()
	d, _ := tax.Departement(n.dept)
	r, _ := tax.Region(d.RegionCode)
	n.region = r.Name
	awards, err := refdata.ReadAwards()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range awards {
		if !strings.HasPrefix(a.CPV, n.cpv[:2]) || a.Damaged || len(a.Object) < 30 || len(a.Object) > 140 {
			continue
		}
		var used bool
		pgtest.Scan(t, b.App.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM purchase_requests WHERE title = $1)`, a.Object), &used)
		if used {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		n.title = a.Object
		break
	}
	if n.title == "" {
		t.Fatal("no DECP contract for the journey's request")
	}
	// The longest word of the title, typed without its accents.
	for _, w := range strings.FieldsFunc(n.title, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127) }) {
		if len([]rune(w)) > len([]rune(n.word)) {
			n.word = w
		}
	}
	n.word = taxonomy.Fold(n.word)
	return n
}

// publishRequest: the buyer writes the request (choosing its CPV code
// with the picker as it types) and submits it; staff approve it.
func publishRequest(t *testing.T, b *browsertest.Browser, n need) int64 {
	t.Helper()
	signIn(b, "acheteur@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/espace/demandes")),
		chromedp.Click(chromedp.CSS(`[data-testid=new-offer]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=offer-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-title`), n.title),
		chromedp.SetValue(chromedp.CSS(`#f-description`), "Besoin : "+n.title+". Intervention sur site, suivi pendant un an."),
		chromedp.SetValue(chromedp.CSS(`#f-budget_band`), "40k_100k"),
		chromedp.SetValue(chromedp.CSS(`#f-deadline`), time.Now().AddDate(0, 0, 21).Format(time.DateOnly)),
		chromedp.SetValue(chromedp.CSS(`#f-questions`), "Sous quel délai pouvez-vous intervenir ?"),
		// The place: searched by its number, then ticked (the search
		// re-renders the form, nothing typed is lost).
		chromedp.SendKeys(chromedp.CSS(`#f-place_q`), n.dept+"\r"),
		chromedp.Click(chromedp.CSS(`#place-departements-`+n.dept)),
		chromedp.SendKeys(chromedp.CSS(`#f-cpv_q`), n.cpv),
		pickCPV(n.cpv),
		chromedp.Click(chromedp.CSS(`[data-testid=submit-offer]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	var id int64
	if err := b.App.DB.QueryRow(context.Background(), `SELECT id FROM purchase_requests WHERE title = $1 AND status = 'submitted'`, n.title).Scan(&id); err != nil {
		t.Fatalf("request not stored as submitted: %v", err)
	}
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	signIn(b, "equipe@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/equipe/moderation")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`form[action="/equipe/moderation/request/%d/publier"] button`, id))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)),
	)
	return id
}

// The buyer writes and submits a request; staff approve it; the SME
// finds it by a French word typed without accents and a region facet,
// says it is interested with its answer; the buyer accepts; they exchange
// messages; the buyer records the contract won with its amount; both see
// "won" on the lifecycle line.
func TestRequestToContractWon(t *testing.T) {
	b := browsertest.Start(t)
	if _, err := demo.Seed(context.Background(), b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	n := demoNeed(t, b, 0)
	id := publishRequest(t, b, n)
	request, answer := fmt.Sprintf("/demandes/%d", id), fmt.Sprintf(`#answer-%d`, n.smeOrg)

	// The SME finds it and answers.
	signIn(b, demo.SMEEmail, demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/demandes")),
		chromedp.SetValue(chromedp.CSS(`#f-q`), n.word),
		chromedp.Click(chromedp.CSS(`[data-testid=search-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#f-q[value="%s"]`, n.word))),
		chromedp.Click(fmt.Sprintf(`//a[@data-testid="facet"][contains(., %q)]`, n.region)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chips]`)),
	)
	b.Screenshot("sme-requests")
	b.Do(
		chromedp.Click(fmt.Sprintf(`//li[@data-testid="request-hit"]//a[contains(., %q)]`, n.title[:30])),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=interest-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-message`), "Nous avons réalisé ce type de prestation pour trois communes du département."),
		chromedp.SetValue(chromedp.CSS(`#f-answer0`), "Sous deux semaines."),
		chromedp.Click(chromedp.CSS(`[data-testid=interest-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if st := b.Attr(`[data-testid=lifecycle-current]`, "data-state"); st != "interested" {
		t.Fatalf("after answering, the SME's line is at %q", st)
	}
	b.App.Mail.WaitFor(t, "acheteur@passerelle.test", n.title)
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	// The buyer reads the answer, accepts, writes.
	signIn(b, "acheteur@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/espace"+request)),
		chromedp.WaitVisible(chromedp.CSS(answer)),
	)
	if got := b.Text(answer); !strings.Contains(got, "Sous deux semaines.") {
		t.Fatalf("the buyer reads %q", got)
	}
	b.Do(
		chromedp.Click(chromedp.CSS(answer+` [data-testid=reply-accept] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
		chromedp.Click(chromedp.CSS(answer+` a[data-testid=open-conversation]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=message-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-body`), "Bonjour, pouvons-nous nous voir jeudi ?"),
		chromedp.Click(chromedp.CSS(`[data-testid=message-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=message]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)),
	)

	// The SME sees the unread message on its home, answers.
	signIn(b, demo.SMEEmail, demo.Password)
	b.Do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-unread]`)))
	if got := b.Text(`[data-testid=home-unread]`); !strings.Contains(got, n.title[:30]) {
		t.Fatalf("the SME's unread messages: %q", got)
	}
	b.Do(
		chromedp.Click(fmt.Sprintf(`//section[@data-testid="home-unread"]//a[contains(., %q)]`, n.title[:30])),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=message-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-body`), "Avec plaisir, jeudi à 10 h."),
		chromedp.Click(chromedp.CSS(`[data-testid=message-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=message]').length`)); n != 2 {
		t.Fatalf("%d messages in the conversation, want 2", n)
	}
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	// The buyer records the contract.
	signIn(b, "acheteur@passerelle.test", demo.Password)
	org := fmt.Sprint(n.smeOrg)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/espace"+request)),
		chromedp.WaitVisible(chromedp.CSS(answer+` [data-testid=reply-won]`)),
		chromedp.SetValue(chromedp.CSS(`#f-amount-`+org), "85 000"),
		chromedp.SetValue(chromedp.CSS(`#f-date-`+org), time.Now().Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS(answer+` [data-testid=reply-won] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if st := b.Attr(answer+` [data-testid=lifecycle-current]`, "data-state"); st != "won" {
		t.Fatalf("the buyer's line is at %q", st)
	}
	if got := b.Text(answer); !strings.Contains(got, "85\u00a0000") {
		t.Errorf("the contract amount is not shown: %q", got)
	}
	b.Screenshot("buyer-won")
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))
	signIn(b, demo.SMEEmail, demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL(request)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=lifecycle]`)),
	)
	if st := b.Attr(`[data-testid=lifecycle-current]`, "data-state"); st != "won" {
		t.Fatalf("the SME's line is at %q", st)
	}
	var amount int64
	pgtest.Scan(t, b.App.DB.QueryRow(context.Background(), `SELECT contract_amount FROM request_matches WHERE request_id = $1 AND organisation_id = $2`, id, n.smeOrg), &amount)
	if amount != 85000 {
		t.Fatalf("stored amount %d", amount)
	}
}

// From the mail that announced a request, the SME says "not interested"
// with a reason in one click, without signing in; the buyer reads it.
func TestNotInterestedFromTheMail(t *testing.T) {
	b := browsertest.Start(t)
	if _, err := demo.Seed(context.Background(), b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	n := demoNeed(t, b, 1)
	id := publishRequest(t, b, n)
	m := b.App.Mail.WaitFor(t, demo.SMEEmail, n.title)
	parts := strings.Split(m.Data, "/lien?jeton=")
	if len(parts) != 3 {
		t.Fatalf("the announcement has %d one-click links, want 2:\n%s", len(parts)-1, m.Data)
	}
	decline := m.Link(t, "/lien?jeton="+strings.Fields(parts[2])[0])
	b.Do(
		chromedp.Navigate(decline),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=not-interested-form]`)),
		chromedp.SetValue(chromedp.CSS(`#f-reason`), "deadline"),
		chromedp.SetValue(chromedp.CSS(`#f-text`), "Nos équipes sont prises jusqu'à la fin du trimestre."),
		chromedp.Click(chromedp.CSS(`[data-testid=not-interested-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=link-notice]`)),
	)
	b.Screenshot("not-interested-link")
	// The link cannot be used again for another answer.
	b.Do(chromedp.Navigate(decline), chromedp.WaitVisible(chromedp.CSS(`[data-testid=link-notice]`)))
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=not-interested-form]').length`)); n != 0 {
		t.Error("the link offers the form again")
	}
	signIn(b, "acheteur@passerelle.test", demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL(fmt.Sprintf("/espace/demandes/%d", id))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=answer-reason]`)),
	)
	if got := b.Text(`[data-testid=answer-reason]`); !strings.Contains(got, "Délai trop court") || !strings.Contains(got, "fin du trimestre") {
		t.Fatalf("the buyer reads %q", got)
	}
}

// The buyer opens a request's suggested SMEs, reads the reasons of the
// first and shortlists it; the SME finds the request under "Requests for
// you" with its reasons and says it is interested.
func TestMatchesToInterest(t *testing.T) {
	b := browsertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, b.App.DB, false); err != nil {
		t.Fatal(err)
	}
	var id, smeOrg int64
	if err := b.App.DB.QueryRow(ctx, `SELECT r.id, m.organisation_id FROM purchase_requests r CROSS JOIN LATERAL (SELECT organisation_id FROM request_matches
			WHERE request_id = r.id AND ranked ORDER BY score DESC, organisation_id LIMIT 1) m
		WHERE r.anonymous AND r.status = 'open' ORDER BY r.id LIMIT 1`).Scan(&id, &smeOrg); err != nil {
		t.Fatal(err)
	}
	signIn(b, "acheteur@passerelle.test", demo.Password)
	first := fmt.Sprintf(`#match-%d`, smeOrg)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL(fmt.Sprintf("/espace/demandes/%d", id))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=matches] [data-testid=match]`)),
	)
	if got := b.Attr(`[data-testid=matches] [data-testid=match]`, "id"); got != first[1:] {
		t.Fatalf("first match %q, want %q", got, first[1:])
	}
	reasons := b.Text(first + ` [data-testid=match-reasons]`)
	if !strings.Contains(reasons, "CPV") {
		t.Fatalf("the first match's reasons name no CPV evidence: %q", reasons)
	}
	b.Screenshot("matches")
	b.Do(
		chromedp.Click(chromedp.CSS(first+` [data-testid=reply-shortlist] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if st := b.Attr(first, "data-state"); st != "shortlisted" {
		t.Fatalf("after shortlisting: %q", st)
	}
	b.Do(chromedp.Click(chromedp.CSS(`[data-testid=signout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=home-title]`)))

	signIn(b, demo.SMEEmail, demo.Password)
	b.Do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=space]`)),
		chromedp.Navigate(b.URL("/demandes/pour-vous")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=for-you-hit]`)),
	)
	hit := fmt.Sprintf(`//li[@data-testid="for-you-hit"][.//a[@href="/demandes/%d"]]`, id)
	if got := b.Text(`[data-testid=for-you-hit]`); !strings.Contains(got, "CPV") {
		t.Fatalf("the SME's requests for you show no reasons: %q", got)
	}
	b.Do(
		chromedp.Click(hit+`//a`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=match-reasons]`)),
		chromedp.SetValue(chromedp.CSS(`#f-message`), "Nous intervenons déjà pour des collectivités du département."),
		chromedp.SetValue(chromedp.CSS(`#f-answer0`), "Sous dix jours."),
		chromedp.SetValue(chromedp.CSS(`#f-answer1`), "Nos références publiques sont importées dans notre profil."),
		chromedp.Click(chromedp.CSS(`[data-testid=interest-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	// Shortlisted first, it stays on the shortlist with its answer.
	if st := b.Attr(`[data-testid=lifecycle-current]`, "data-state"); st != "shortlisted" {
		t.Fatalf("after answering: %q", st)
	}
	var answered bool
	pgtest.Scan(t, b.App.DB.QueryRow(ctx, `SELECT answered_at IS NOT NULL AND message <> '' FROM request_matches WHERE request_id = $1 AND organisation_id = $2`,
		id, smeOrg), &answered)
	if !answered {
		t.Fatal("the answer is not stored")
	}
}
