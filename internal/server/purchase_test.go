package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/postgres/pgtest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"passerelle/internal/purchase"
	"passerelle/internal/search"
	"passerelle/internal/server/servertest"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/demo"
)

// requestsApp is the platform with the demo data: the demo buyer's
// requests (open with answers, anonymous, under review, draft).
type requestsApp struct {
	*servertest.App
	sme, sme2, buyer, staff *http.Client
	first, secret           int64 // the open request with answers, the anonymous one
	smeOrg                  int64
	buyerName               string
}

func startRequests(t *testing.T) requestsApp {
	t.Helper()
	app := servertest.Start(t)
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		t.Fatal(err)
	}
	a := requestsApp{App: app, sme: signInAs(t, app, demo.SMEEmail), sme2: signInAs(t, app, demo.SME2Email),
		buyer: signInAs(t, app, "acheteur@passerelle.test"), staff: signInAs(t, app, "equipe@passerelle.test")}
	err := app.DB.QueryRow(context.Background(), `SELECT
		(SELECT min(id) FROM purchase_requests WHERE status = 'open' AND NOT anonymous),
		(SELECT min(id) FROM purchase_requests WHERE status = 'open' AND anonymous),
		(SELECT organisation_id FROM users WHERE email = $1),
		(SELECT g.legal_name FROM organisations g JOIN users u ON u.organisation_id = g.id WHERE u.email = 'acheteur@passerelle.test')`,
		demo.SMEEmail).Scan(&a.first, &a.secret, &a.smeOrg, &a.buyerName)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func count(t *testing.T, a requestsApp, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRequestPagesForEachRole: every role's pages show what they should,
// and an anonymous buyer's name appears nowhere an SME reads.
func TestRequestPagesForEachRole(t *testing.T) {
	a := startRequests(t)
	// The buyer: its list, the request with both answers, its home.
	resp, doc := get(t, a.buyer, a.URL+"/espace/demandes")
	// The demo's four requests of today, one of two months ago and six won in earlier years.
	mine := count(t, a, `SELECT count(*) FROM purchase_requests WHERE organisation_id = (SELECT organisation_id FROM users WHERE email = 'acheteur@passerelle.test')`)
	if resp.StatusCode != http.StatusOK || mine != 11 || doc.Find("[data-testid=my-offer]").Length() != mine {
		t.Fatalf("buyer's list: %d, %d rows", resp.StatusCode, doc.Find("[data-testid=my-offer]").Length())
	}
	resp, doc = get(t, a.buyer, fmt.Sprintf("%s/espace/demandes/%d", a.URL, a.first))
	if resp.StatusCode != http.StatusOK || doc.Find("[data-testid=answer]").Length() != 2 {
		t.Fatalf("buyer's request: %d, %d answers", resp.StatusCode, doc.Find("[data-testid=answer]").Length())
	}
	if st, _ := doc.Find("[data-testid=answer]").First().Attr("data-state"); st != "discussion" {
		t.Errorf("first answer %q, want discussion first", st)
	}
	_, doc = get(t, a.buyer, a.URL+"/espace")
	if n, _ := doc.Find("[data-testid=home-requests]").Attr("data-count"); n != "2" {
		t.Errorf("buyer's home lists %s open requests, want 2", n)
	}
	// The SME: the list finds both open requests; the anonymous one hides
	// its buyer everywhere.
	resp, doc = get(t, a.sme, a.URL+"/demandes")
	if resp.StatusCode != http.StatusOK || doc.Find("[data-testid=request-hit]").Length() != 2 {
		t.Fatalf("SME's list: %d, %d hits", resp.StatusCode, doc.Find("[data-testid=request-hit]").Length())
	}
	for _, u := range []string{"/demandes", fmt.Sprintf("/demandes/%d", a.secret), "/espace"} {
		_, doc = get(t, a.sme, a.URL+u)
		html, _ := doc.Html()
		if u != "/demandes" && strings.Contains(html, a.buyerName) {
			t.Errorf("%s names the anonymous buyer", u)
		}
	}
	_, doc = get(t, a.sme, fmt.Sprintf("%s/demandes/%d", a.URL, a.secret))
	if doc.Find("[data-testid=request-buyer]").Text() != "Acheteur anonyme" || doc.Find("[data-testid=interest-form]").Length() != 1 {
		t.Errorf("anonymous request: buyer %q, interest forms %d", doc.Find("[data-testid=request-buyer]").Text(), doc.Find("[data-testid=interest-form]").Length())
	}
	_, doc = get(t, a.sme, fmt.Sprintf("%s/demandes/%d", a.URL, a.first))
	if st, _ := doc.Find("[data-testid=lifecycle-current]").Attr("data-state"); st != "discussion" {
		t.Errorf("SME's line at %q, want discussion", st)
	}
	_, doc = get(t, a.sme, a.URL+"/espace")
	if n, _ := doc.Find("[data-testid=home-fitting]").Attr("data-count"); n != "1" {
		t.Errorf("SME's home shows %s fitting requests, want 1", n)
	}
	// Views of its offers: the buyer opening one counts once; the SME's own
	// look does not. Counted in memory, on the home page at once.
	viewsOnHome := func() string {
		_, doc := get(t, a.sme, a.URL+"/espace")
		return doc.Find("[data-testid=fact]").FilterFunction(func(_ int, f *goquery.Selection) bool {
			return f.Find("dt").Text() == "Vues de vos offres (30 jours)"
		}).Find("dd").Text()
	}
	before := viewsOnHome()
	offerID := count(t, a, `SELECT min(o.id) FROM offers o JOIN users u ON u.organisation_id = o.organisation_id
		WHERE u.email = $1 AND o.status = 'published'`, demo.SMEEmail)
	if resp, _ := get(t, a.buyer, fmt.Sprintf("%s/offres/%d", a.URL, offerID)); resp.StatusCode != http.StatusOK {
		t.Fatalf("buyer opens the SME's offer: %d", resp.StatusCode)
	}
	get(t, a.sme, fmt.Sprintf("%s/offres/%d", a.URL, offerID))
	if after := viewsOnHome(); before == "" || after == "" || atoi(t, after) != atoi(t, before)+1 {
		t.Errorf("SME's offer views %q → %q after one buyer's view, want one more", before, after)
	}
	// The other SME never reads the demo SME's answer or conversation.
	_, doc = get(t, a.sme2, fmt.Sprintf("%s/demandes/%d", a.URL, a.first))
	if html, _ := doc.Html(); strings.Contains(html, "Nous réalisons ce type de prestation") {
		t.Error("another SME reads the demo SME's answer")
	}
	if resp, _ := get(t, a.sme2, fmt.Sprintf("%s/demandes/%d/echanges/%d", a.URL, a.first, a.smeOrg)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another SME opens the conversation: %d", resp.StatusCode)
	}
	// Staff: the request with its answers; the review queue on its home.
	if resp, doc := get(t, a.staff, fmt.Sprintf("%s/demandes/%d", a.URL, a.first)); resp.StatusCode != http.StatusOK || doc.Find("[data-testid=answer]").Length() != 2 {
		t.Errorf("staff's view: %d", resp.StatusCode)
	}
	_, doc = get(t, a.staff, a.URL+"/espace")
	if doc.Find("[data-testid=home-queues] [data-testid=task]").Length() < 2 { // applications and the request under review
		t.Errorf("staff's home queues: %q", doc.Find("[data-testid=home-queues]").Text())
	}
}

// TestRequestFormRejectsBadInput: bad input on the request form gives 422
// with errors tied to their fields, what was typed kept, nothing stored.
func TestRequestFormRejectsBadInput(t *testing.T) {
	a := startRequests(t)
	html := `<script>alert("x")</script>`
	valid := func() url.Values {
		return url.Values{"title": {"Maintenance des réseaux informatiques"}, "description": {"Maintenance préventive et curative."},
			"cpv": {"72212000"}, "budget_band": {"40k_100k"}, "deadline": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)},
			"departements": {"69"}, "visibility": {"all"}, "action": {"submit"}}
	}
	tests := []struct {
		name   string
		change func(url.Values)
		errors []string
	}{
		{"empty", func(v url.Values) {
			for k := range v {
				if k != "action" {
					v.Del(k)
				}
			}
		}, []string{"title", "description", "budget_band", "deadline", "places", "visibility"}},
		{"10 kB text", func(v url.Values) { v.Set("description", strings.Repeat("é", 10_000)) }, []string{"description"}},
		{"HTML in the title, unknown CPV", func(v url.Values) { v.Set("title", html+strings.Repeat("x", 200)); v.Set("cpv", "99999999") },
			[]string{"title"}},
		{"deadline in the past", func(v url.Values) { v.Set("deadline", "2020-01-01") }, []string{"deadline"}},
		{"budget band not in the list", func(v url.Values) { v.Set("budget_band", "1000000") }, []string{"budget_band"}},
		{"achat innovant over 100 k€", func(v url.Values) { v.Set("innovative", "1"); v.Set("budget_band", "gt2m") }, []string{"innovative"}},
	}
	before := count(t, a, `SELECT count(*) FROM purchase_requests`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := valid()
			tt.change(v)
			resp, doc := postForm(t, a.buyer, a.URL+"/espace/demandes/nouvelle", v)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			for _, f := range tt.errors {
				if doc.Find("[data-testid=error-"+f+"]").Length() != 1 {
					t.Errorf("no error shown for %s", f)
				}
			}
			if v.Get("cpv") == "99999999" && doc.Find("[data-testid=error-cpv]").Length() != 1 {
				t.Error("unknown CPV not shown")
			}
			if got, _ := doc.Find("#f-title").Attr("value"); got != strings.TrimSpace(v.Get("title")) {
				t.Errorf("title not kept: %.40q", got)
			}
			if got := doc.Find("#f-description").Text(); got != v.Get("description") {
				t.Errorf("description not kept: %.40q", got)
			}
			if body, _ := doc.Html(); strings.Contains(body, html) {
				t.Error("user HTML reached the page unescaped")
			}
		})
	}
	if after := count(t, a, `SELECT count(*) FROM purchase_requests`); after != before {
		t.Fatalf("%d requests stored by refused forms", after-before)
	}
	// The valid form saves, for review.
	resp, _ := postForm(t, a.buyer, a.URL+"/espace/demandes/nouvelle", valid())
	if resp.StatusCode != http.StatusSeeOther || count(t, a, `SELECT count(*) FROM purchase_requests WHERE status = 'submitted'`) != 2 {
		t.Fatalf("valid request: %d", resp.StatusCode)
	}
}

// TestAnswerFormsRejectBadInput: the SME's and the buyer's forms on a
// request re-render with 422, errors by their fields, input kept.
func TestAnswerFormsRejectBadInput(t *testing.T) {
	a := startRequests(t)
	u := fmt.Sprintf("%s/demandes/%d", a.URL, a.secret)
	resp, doc := postForm(t, a.sme, u+"/interet", url.Values{"message": {strings.Repeat("m", 10_000)}, "answer0": {"Sous huit jours"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-message]").Length() != 1 ||
		doc.Find("[data-testid=error-answer1]").Length() != 1 || doc.Find("#f-answer0").Text() != "Sous huit jours" {
		t.Fatalf("interest: %d, errors message %d answer1 %d, kept %q", resp.StatusCode, doc.Find("[data-testid=error-message]").Length(),
			doc.Find("[data-testid=error-answer1]").Length(), doc.Find("#f-answer0").Text())
	}
	// An offer that is not the SME's own (or no number at all) is refused
	// with a message, also for an SME with no offer to choose from.
	other := count(t, a, `SELECT coalesce(min(o.id), 999999) FROM offers o
		WHERE o.organisation_id <> (SELECT organisation_id FROM users WHERE email = $1)`, demo.SMEEmail)
	for round := range 2 {
		if round == 1 { // now with no offer to choose from: the form has no field for it
			if _, err := a.DB.Exec(context.Background(), `UPDATE offers SET status = 'archived' WHERE organisation_id = $1`, a.smeOrg); err != nil {
				t.Fatal(err)
			}
		}
		for _, offer := range []string{"abc", "-1", fmt.Sprint(other)} {
			resp, doc := postForm(t, a.sme, u+"/interet", url.Values{"message": {"Disponibles."}, "answer0": {"Sous huit jours"},
				"answer1": {"Trois."}, "answer2": {"Oui."}, "offer": {offer}})
			if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-offer]").Length() != 1 {
				t.Fatalf("round %d, interest with offer %q: %d, %d messages about it", round, offer, resp.StatusCode,
					doc.Find("[data-testid=error-offer]").Length())
			}
		}
	}
	resp, doc = postForm(t, a.sme, u+"/pas-interesse", url.Values{"reason": {"other"}, "text": {""}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-text]").Length() != 1 {
		t.Fatalf("not interested: %d", resp.StatusCode)
	}
	resp, doc = postForm(t, a.sme, u+"/pas-interesse", url.Values{"reason": {"<b>nope</b>"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-reason]").Length() != 1 {
		t.Fatalf("unknown reason: %d", resp.StatusCode)
	}
	if n := count(t, a, `SELECT count(*) FROM request_matches WHERE request_id = $1 AND state NOT IN ('suggested', 'viewed')`, a.secret); n != 0 {
		t.Fatalf("%d answers stored by refused forms", n)
	}
	// The buyer's "won" needs an amount in euros and a date.
	org := fmt.Sprint(a.smeOrg)
	resp, doc = postForm(t, a.buyer, fmt.Sprintf("%s/espace/demandes/%d/reponses/%s/won", a.URL, a.first, org),
		url.Values{"amount-" + org: {"beaucoup"}, "date-" + org: {""}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-amount-"+org+"]").Length() != 1 ||
		doc.Find("[data-testid=error-date-"+org+"]").Length() != 1 {
		t.Fatalf("won without amount: %d", resp.StatusCode)
	}
	if v, _ := doc.Find("#f-amount-" + org).Attr("value"); v != "beaucoup" {
		t.Errorf("amount not kept: %q", v)
	}
	resp, doc = postForm(t, a.buyer, fmt.Sprintf("%s/espace/demandes/%d/reponses/%s/decline", a.URL, a.first, org), url.Values{})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-reason-"+org+"]").Length() != 1 {
		t.Fatalf("decline without reason: %d", resp.StatusCode)
	}
	// An empty message in the conversation.
	resp, doc = postForm(t, a.sme, fmt.Sprintf("%s/demandes/%d/echanges/%s", a.URL, a.first, org), url.Values{"body": {"  "}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-body]").Length() != 1 {
		t.Fatalf("empty message: %d", resp.StatusCode)
	}
	if st := count(t, a, `SELECT count(*) FROM request_matches WHERE request_id = $1 AND state = 'discussion'`, a.first); st != 1 {
		t.Fatal("a refused step changed the answer")
	}
}

// TestShortlistExportIsNeutralised: the CSV opens in a French spreadsheet
// and a name written as a formula stays text.
func TestShortlistExportIsNeutralised(t *testing.T) {
	a := startRequests(t)
	if _, err := a.DB.Exec(context.Background(), `UPDATE organisations SET legal_name = $2 WHERE id = $1`, a.smeOrg, "=cmd|' /C calc'!A0"); err != nil {
		t.Fatal(err)
	}
	resp, err := a.buyer.Get(fmt.Sprintf("%s/espace/demandes/%d/selection.csv", a.URL, a.first))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\ufeffEntreprise;SIREN;") || !strings.Contains(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %q\n%.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if !strings.Contains(body, "\r\n'=cmd|' /C calc'!A0;") {
		t.Fatalf("formula not neutralised:\n%s", body)
	}
	if strings.Contains(body, a.buyerName) {
		t.Fatal("the export names the buyer")
	}
	// Another buyer, an SME: nothing.
	if resp, _ := get(t, a.sme, fmt.Sprintf("%s/espace/demandes/%d/selection.csv", a.URL, a.first)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("SME exports: %d", resp.StatusCode)
	}
}

// TestOneClickNotInterested: the mail announcing a request carries a
// signed link; it opens a form without signing in, records the reason the
// buyer then reads, and cannot serve another request.
func TestOneClickNotInterested(t *testing.T) {
	a := startRequests(t)
	v := url.Values{"title": {"Infogérance du parc informatique des écoles"}, "description": {"Maintenance des postes des écoles."},
		"budget_band": {"lt40k"}, "deadline": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, "visibility": {"all"}, "action": {"submit"}}
	var cpv, dep string
	if err := a.DB.QueryRow(context.Background(), `SELECT cpv_codes[1], places[1] FROM purchase_requests WHERE id = $1`, a.first).Scan(&cpv, &dep); err != nil {
		t.Fatal(err)
	}
	v.Set("cpv", cpv)
	v.Set("departements", strings.TrimPrefix(dep, "dep:"))
	if resp, _ := postForm(t, a.buyer, a.URL+"/espace/demandes/nouvelle", v); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	var id int64
	pgtest.Scan(t, a.DB.QueryRow(context.Background(), `SELECT max(id) FROM purchase_requests`), &id)
	publish := fmt.Sprintf("/equipe/moderation/request/%d/publier", id)
	_, queue := get(t, a.staff, a.URL+"/equipe/moderation")
	version, _ := queue.Find(fmt.Sprintf(`form[action="%s"] input[name=version]`, publish)).Attr("value")
	if resp, _ := postForm(t, a.staff, a.URL+publish, url.Values{"version": {version}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	m := a.Mail.WaitFor(t, demo.SMEEmail, v.Get("title"))
	link := m.Link(t, "/lien?jeton=")
	// The same token on another request's page: refused.
	other := strings.Replace(link, fmt.Sprintf("/demandes/%d/", id), fmt.Sprintf("/demandes/%d/", a.first), 1)
	visitor := a.App.Client()
	if resp, doc := get(t, visitor, other); resp.StatusCode != http.StatusGone || doc.Find("[data-testid=link-notice]").Length() != 1 {
		t.Fatalf("token on another request: %d", resp.StatusCode)
	}
	var form *goquery.Selection
	resp, doc := get(t, visitor, link)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("link page: %d", resp.StatusCode)
	}
	// The mail has two links: interested first, not interested second.
	links := strings.Split(m.Data, "/lien?jeton=")
	if len(links) != 3 {
		t.Fatalf("%d links in the mail", len(links)-1)
	}
	declineURL := m.Link(t, "/lien?jeton="+strings.Fields(links[2])[0])
	resp, doc = get(t, visitor, declineURL)
	form = doc.Find("[data-testid=not-interested-form]")
	token, _ := form.Find("input[name=jeton]").Attr("value")
	if resp.StatusCode != http.StatusOK || token == "" {
		t.Fatalf("decline page: %d, token %q", resp.StatusCode, token)
	}
	resp, doc = postForm(t, visitor, fmt.Sprintf("%s/demandes/%d/lien", a.URL, id), url.Values{"jeton": {token}, "reason": {"other"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-text]").Length() != 1 {
		t.Fatalf("other without text: %d", resp.StatusCode)
	}
	resp, _ = postForm(t, visitor, fmt.Sprintf("%s/demandes/%d/lien", a.URL, id),
		url.Values{"jeton": {token}, "reason": {"capacity"}, "text": {"Équipe complète jusqu'en juin."}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("not interested: %d", resp.StatusCode)
	}
	_, doc = get(t, a.buyer, fmt.Sprintf("%s/espace/demandes/%d", a.URL, id))
	if got := doc.Find("[data-testid=answer-reason]").Text(); !strings.Contains(got, "Équipe complète jusqu'en juin.") {
		t.Fatalf("buyer reads %q", got)
	}
	// Saying "not interested" is dated as such, not as an answer.
	fr := i18n.MustLoad().Localizer("fr")
	declined := doc.Find("[data-testid=answer][data-state=not_interested] [data-testid=answer-facts] dt")
	if declined.Length() == 0 || !strings.Contains(declined.Text(), fr.T("match.not_interested_on")) || strings.Contains(declined.Text(), fr.T("match.answered_on")) {
		t.Errorf("the not-interested card's facts read %q", declined.Text())
	}
	// Used again while the request is open, a link says the answer is
	// already given, not that the request is closed.
	repost := func(form url.Values) string {
		resp, doc := postForm(t, visitor, fmt.Sprintf("%s/demandes/%d/lien", a.URL, id), form)
		why, _ := doc.Find("[data-testid=link-notice]").Attr("data-why")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("link posted: %d", resp.StatusCode)
		}
		return why
	}
	if why := repost(url.Values{"jeton": {token}, "reason": {"capacity"}}); why != "answered" {
		t.Errorf("the not-interested link used twice says %q, want answered", why)
	}
	_, doc = get(t, visitor, link)
	interest, _ := doc.Find("[data-testid=interest-form] input[name=jeton]").Attr("value")
	if interest == "" {
		t.Fatal("no interest form after \"not interested\": the SME may change its mind")
	}
	answer := url.Values{"jeton": {interest}, "message": {"Finalement disponibles en mai."}}
	if why := repost(answer); why != "done" {
		t.Fatalf("interest from the link: %q", why)
	}
	if why := repost(answer); why != "answered" {
		t.Errorf("the interest link used twice says %q, want answered", why)
	}
}

// TestFollowUpFromTheMailLink: seven days after the deadline the buyer
// answers "what happened?" from the mail's link without signing in; a bad
// answer is refused with 422; the request closes as awarded and the home
// page's task goes. Closing with an outcome not in the list is refused too.
func TestFollowUpFromTheMailLink(t *testing.T) {
	a := startRequests(t)
	ctx := context.Background()
	resp, doc := postForm(t, a.buyer, fmt.Sprintf("%s/espace/demandes/%d/cloturer", a.URL, a.first), url.Values{"outcome": {"won-by-magic"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-outcome]").Length() != 1 {
		t.Fatalf("close with a bad outcome: %d", resp.StatusCode)
	}
	if _, err := a.DB.Exec(ctx, `UPDATE purchase_requests SET deadline = current_date - 8 WHERE id = $1`, a.first); err != nil {
		t.Fatal(err)
	}
	tax := taxonomy.MustLoad()
	svc := purchase.NewService(a.DB, tax, search.NewIndexer(tax), nil) // another server: the signing key is shared
	// The application's own hourly job, which also runs at its start, may
	// ask first under load: either way the question is asked once.
	n, err := svc.AskFollowUps(ctx)
	if err != nil || n > 1 {
		t.Fatalf("asked %d, %v", n, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(t, a, `SELECT count(*) FROM purchase_requests WHERE id = $1 AND follow_up_asked_at IS NOT NULL`, a.first) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the follow-up question was never asked")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if again, err := svc.AskFollowUps(ctx); err != nil || again != 0 {
		t.Fatalf("asked again: %d, %v", again, err)
	}
	var buyerID, buyerOrg int64
	pgtest.Scan(t, a.DB.QueryRow(ctx, `SELECT id, organisation_id FROM users WHERE email = 'acheteur@passerelle.test'`), &buyerID, &buyerOrg)
	_, doc = get(t, a.buyer, a.URL+"/espace")
	if n, _ := doc.Find("[data-testid=home-tasks]").Attr("data-count"); n != "2" { // the question and the draft
		t.Fatalf("buyer's tasks: %s", n)
	}
	tok, err := svc.SignLink(ctx, purchase.Link{Purpose: purchase.LinkFollowUp, Request: a.first, Org: buyerOrg, User: buyerID,
		Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	visitor := a.App.Client()
	link := fmt.Sprintf("%s/demandes/%d/lien?%s", a.URL, a.first, url.Values{"jeton": {tok}, "reponse": {"passerelle"}}.Encode())
	resp, doc = get(t, visitor, link)
	if v, _ := doc.Find("#f-reponse option[selected]").Attr("value"); resp.StatusCode != http.StatusOK || v != "passerelle" {
		t.Fatalf("link page: %d, chosen %q", resp.StatusCode, v)
	}
	resp, doc = postForm(t, visitor, fmt.Sprintf("%s/demandes/%d/lien", a.URL, a.first), url.Values{"jeton": {tok}, "reponse": {"<b>?</b>"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-reponse]").Length() != 1 {
		t.Fatalf("bad answer: %d", resp.StatusCode)
	}
	// Awarded through Passerelle: would the buyer have consulted these SMEs without it?
	resp, doc = postForm(t, visitor, fmt.Sprintf("%s/demandes/%d/lien", a.URL, a.first), url.Values{"jeton": {tok}, "reponse": {"passerelle"}})
	if v, _ := doc.Find("#f-reponse option[selected]").Attr("value"); resp.StatusCode != http.StatusUnprocessableEntity ||
		doc.Find("[data-testid=error-counterfactual]").Length() != 1 || v != "passerelle" {
		t.Fatalf("answer without the counterfactual: %d, kept %q", resp.StatusCode, v)
	}
	resp, _ = postForm(t, visitor, fmt.Sprintf("%s/demandes/%d/lien", a.URL, a.first), url.Values{"jeton": {tok}, "reponse": {"passerelle"},
		"counterfactual": {"no"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("answer: %d", resp.StatusCode)
	}
	var status, outcome, follow, counterfactual string
	pgtest.Scan(t, a.DB.QueryRow(ctx, `SELECT status::text, outcome, follow_up, counterfactual FROM purchase_requests WHERE id = $1`, a.first),
		&status, &outcome, &follow, &counterfactual)
	if status != "closed" || outcome != "awarded" || follow != "passerelle" || counterfactual != "no" {
		t.Fatalf("after the answer: %s %s %s %s", status, outcome, follow, counterfactual)
	}
	_, doc = get(t, a.buyer, a.URL+"/espace")
	if n, _ := doc.Find("[data-testid=home-tasks]").Attr("data-count"); n != "1" {
		t.Fatalf("buyer's tasks after answering: %s", n)
	}
	// The SMEs still in the running were told it is lost.
	if n := count(t, a, `SELECT count(*) FROM request_matches WHERE request_id = $1 AND state = 'lost'`, a.first); n != 2 {
		t.Fatalf("%d answers lost, want 2", n)
	}
	a.Mail.WaitFor(t, demo.SME2Email, "pas retenu")
	// The link is single use: posted again, it changes nothing and says
	// what was answered.
	events := count(t, a, `SELECT count(*) FROM request_events WHERE request_id = $1`, a.first)
	resp, doc = postForm(t, visitor, fmt.Sprintf("%s/demandes/%d/lien", a.URL, a.first), url.Values{"jeton": {tok}, "reponse": {"other"}})
	if why, _ := doc.Find("[data-testid=link-notice]").Attr("data-why"); resp.StatusCode != http.StatusOK || why != "answered" {
		t.Fatalf("the link used again: %d, %q", resp.StatusCode, why)
	}
	pgtest.Scan(t, a.DB.QueryRow(ctx, `SELECT follow_up, counterfactual FROM purchase_requests WHERE id = $1`, a.first), &follow, &counterfactual)
	if follow != "passerelle" || counterfactual != "no" || count(t, a, `SELECT count(*) FROM request_events WHERE request_id = $1`, a.first) != events {
		t.Fatalf("the link used again changed the answer: %s %s", follow, counterfactual)
	}
	// The buyer changes it from its own page: an explicit edit, audited.
	_, doc = get(t, a.buyer, fmt.Sprintf("%s/espace/demandes/%d", a.URL, a.first))
	if v, _ := doc.Find("[data-testid=follow-up-change-form] select[name=answer] option[selected]").Attr("value"); v != "passerelle" {
		t.Fatalf("change form shows %q", v)
	}
	change := fmt.Sprintf("%s/espace/demandes/%d/suite/modifier", a.URL, a.first)
	if resp, _ := postForm(t, a.buyer, change, url.Values{"answer": {"other"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d", resp.StatusCode)
	}
	pgtest.Scan(t, a.DB.QueryRow(ctx, `SELECT follow_up, coalesce(counterfactual, '') FROM purchase_requests WHERE id = $1`, a.first),
		&follow, &counterfactual)
	if follow != "other" || counterfactual != "" {
		t.Fatalf("after the change: %s %q", follow, counterfactual)
	}
	if n := count(t, a, `SELECT count(*) FROM audit_entries WHERE action = 'request.follow_up_changed' AND reason = 'passerelle → other'`); n != 1 {
		t.Fatalf("%d audit entries of the change", n)
	}
}

// TestFollowUpAsksTheCounterfactual: "awarded through Passerelle" needs
// the answer to "would you have consulted these SMEs without it?"; without
// it the page comes back with 422 and the buyer's choice kept.
func TestFollowUpAsksTheCounterfactual(t *testing.T) {
	a := startRequests(t)
	// Past its deadline, the request's page asks what happened.
	if _, err := a.DB.Exec(context.Background(), `UPDATE purchase_requests SET deadline = current_date - 8 WHERE id = $1`, a.first); err != nil {
		t.Fatal(err)
	}
	u := fmt.Sprintf("%s/espace/demandes/%d/suite", a.URL, a.first)
	resp, doc := postForm(t, a.buyer, u, url.Values{"answer": {"passerelle"}})
	if v, _ := doc.Find("#f-answer option[selected]").Attr("value"); resp.StatusCode != http.StatusUnprocessableEntity ||
		doc.Find("[data-testid=error-counterfactual]").Length() != 1 || v != "passerelle" {
		t.Fatalf("without the counterfactual: %d, answer kept %q", resp.StatusCode, v)
	}
	if n := count(t, a, `SELECT count(*) FROM purchase_requests WHERE id = $1 AND follow_up IS NULL`, a.first); n != 1 {
		t.Fatal("the refused answer was saved")
	}
	resp, _ = postForm(t, a.buyer, u, url.Values{"answer": {"passerelle"}, "counterfactual": {"unsure"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with it: %d", resp.StatusCode)
	}
	if n := count(t, a, `SELECT count(*) FROM purchase_requests WHERE id = $1 AND counterfactual = 'unsure'`, a.first); n != 1 {
		t.Fatal("the counterfactual was not saved")
	}
}

// atoi reads a number as a page writes it ("1 234", with any space).
func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s))
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// TestPagesOfferOnlyAllowedActions: in every state of the lifecycle, the
// buyer's page and the SME's page offer exactly the steps the lifecycle
// table allows (purchase.Allowed), no more, no fewer.
func TestPagesOfferOnlyAllowedActions(t *testing.T) {
	a := startRequests(t)
	ctx := context.Background()
	forms := func(sel *goquery.Selection) []purchase.Action {
		var got []purchase.Action
		sel.Find("form[data-testid]").Each(func(_ int, f *goquery.Selection) {
			id, _ := f.Attr("data-testid")
			switch {
			case strings.HasPrefix(id, "reply-"):
				got = append(got, purchase.Action(strings.TrimPrefix(id, "reply-")))
			case id == "interest-form":
				got = append(got, purchase.ActInterest)
			case id == "not-interested-form":
				got = append(got, purchase.ActNotInterested)
			}
		})
		slices.Sort(got)
		return slices.Compact(got)
	}
	type variant struct {
		state    purchase.State
		answered bool
	}
	var variants []variant
	for _, st := range purchase.States {
		variants = append(variants, variant{st, st.Answered() || st == purchase.StateNotInterested})
	}
	variants = append(variants, variant{purchase.StateShortlisted, false}) // shortlisted before it answered
	for _, v := range variants {
		var answeredAt any
		if v.answered {
			answeredAt = time.Now()
		}
		if _, err := a.DB.Exec(ctx, `UPDATE request_matches SET state = $3, answered_at = $4, matched = true, sme_reason = 'scope'
			WHERE request_id = $1 AND organisation_id = $2`, a.first, a.smeOrg, v.state, answeredAt); err != nil {
			t.Fatal(err)
		}
		sit := purchase.Situation{State: v.state, Answered: v.answered && v.state != purchase.StateNotInterested, Matched: true,
			Status: purchase.StatusOpen, Takes: true}
		name := fmt.Sprintf("%s (answered %t)", v.state, v.answered)

		_, doc := get(t, a.buyer, fmt.Sprintf("%s/espace/demandes/%d", a.URL, a.first))
		block := doc.Find(fmt.Sprintf("#answer-%d", a.smeOrg))
		if !v.state.Answered() {
			block = doc.Find(fmt.Sprintf("#match-%d", a.smeOrg))
		}
		want := purchase.Allowed(sit, purchase.RoleBuyer)
		slices.Sort(want)
		if got := forms(block); !slices.Equal(got, want) || (len(want) > 0 && block.Length() == 0) {
			t.Errorf("%s: the buyer's page offers %v, the lifecycle allows %v", name, got, want)
		}
		// "Is this suggestion relevant?" while it is one, not once answered.
		asked := doc.Find(fmt.Sprintf("#match-%d form[data-testid=feedback-relevant]", a.smeOrg)).Length() == 1
		if want := !v.state.Answered() && v.state != purchase.StateNotInterested; asked != want {
			t.Errorf("%s: relevance asked %t, want %t", name, asked, want)
		}

		_, doc = get(t, a.sme, fmt.Sprintf("%s/demandes/%d", a.URL, a.first))
		if doc.Find("a[data-testid=request-buyer]").Length() != 0 {
			t.Errorf("%s: the buyer's name links to a page the SME cannot open", name)
		}
		want = purchase.Allowed(sit, purchase.RoleSME)
		slices.Sort(want)
		if got := forms(doc.Find("main")); !slices.Equal(got, want) {
			t.Errorf("%s: the SME's page offers %v, the lifecycle allows %v", name, got, want)
		}
	}
}

// TestSignedInPagesAndExportsAreNotKept: every response to a signed-in
// user and every export says `private, no-store` (and that only), Vary:
// Cookie once; public pages to a visitor and static files keep their own.
func TestSignedInPagesAndExportsAreNotKept(t *testing.T) {
	a := startRequests(t)
	visitor := a.Client()
	cases := []struct {
		name    string
		c       *http.Client
		path    string
		private bool
	}{
		{"buyer's request", a.buyer, fmt.Sprintf("/espace/demandes/%d", a.first), true},
		{"selection CSV", a.buyer, fmt.Sprintf("/espace/demandes/%d/selection.csv", a.first), true},
		{"conversation", a.sme, fmt.Sprintf("/demandes/%d/echanges/%d", a.first, a.smeOrg), true},
		{"staff mailbox", a.staff, "/equipe/courriels", true},
		{"CPV picker, signed in", a.sme, "/cpv?q=logiciel", true},
		{"observatory CSV", a.buyer, "/observatoire/tendance.csv", true},
		{"public buyers CSV, visitor", visitor, "/acheteurs-publics/marches.csv", true},
		{"home, visitor", visitor, "/", false},
		{"catalogue, visitor", visitor, "/offres", false},
	}
	for _, tc := range cases {
		resp, err := tc.c.Get(a.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", tc.name, resp.StatusCode)
			continue
		}
		cc := resp.Header.Values("Cache-Control")
		if tc.private && !slices.Equal(cc, []string{"private, no-store"}) {
			t.Errorf("%s: Cache-Control %q, want only \"private, no-store\"", tc.name, cc)
		}
		if !tc.private && slices.ContainsFunc(cc, func(v string) bool { return strings.Contains(v, "no-store") }) {
			t.Errorf("%s: Cache-Control %q on a public page", tc.name, cc)
		}
		if n := strings.Count(strings.Join(resp.Header.Values("Vary"), ","), "Cookie"); n != 1 {
			t.Errorf("%s: Vary %q names Cookie %d times", tc.name, resp.Header.Values("Vary"), n)
		}
	}
}

// TestCreatingFormsAreIdempotent: each form that creates a row carries a
// one-time token; posted twice (a double click, a retry after a lost
// answer), it answers the same redirect both times and writes one row.
func TestCreatingFormsAreIdempotent(t *testing.T) {
	a := startRequests(t)
	visitor := a.App.Client()
	deadline := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	var cpv, dep string
	pgtest.Scan(t, a.DB.QueryRow(context.Background(), `SELECT cpv_codes[1], places[1] FROM purchase_requests WHERE id = $1`, a.first), &cpv, &dep)
	cases := []struct {
		name       string
		c          *http.Client
		page, form string // where the form is, its data-testid
		post       string
		values     url.Values
		rows       string // counts what it creates
	}{
		{"application", visitor, "/adhesion", "apply-form", "/adhesion", url.Values{"siren": {"552100554"}, "legal_name": {"Ascenseurs du Rhône"},
			"kind": {"pme"}, "naf_code": {"43.29B"}, "headcount_band": {"12"}, "departement": {"69"}, "name": {"Lise Martin"},
			"email": {"lise@ascenseurs.test"}, "password": {"une phrase de passe assez longue"}}, `SELECT count(*) FROM organisations`},
		{"offer", a.sme, "/espace/offres/nouvelle", "offer-form", "/espace/offres/nouvelle", url.Values{"title": {"Maintenance des ascenseurs"},
			"summary": {"Entretien et dépannage des ascenseurs."}, "kind": {"service"}, "cpv": {cpv}, "departements": {"69"}, "action": {"draft"}},
			`SELECT count(*) FROM offers`},
		{"request", a.buyer, "/espace/demandes/nouvelle", "offer-form", "/espace/demandes/nouvelle", url.Values{"title": {"Entretien des ascenseurs"},
			"description": {"Contrat annuel."}, "budget_band": {"lt40k"}, "deadline": {deadline}, "visibility": {"all"}, "cpv": {cpv},
			"departements": {strings.TrimPrefix(dep, "dep:")}, "action": {"draft"}}, `SELECT count(*) FROM purchase_requests`},
		{"interest", a.sme, fmt.Sprintf("/demandes/%d", a.secret), "interest-form", fmt.Sprintf("/demandes/%d/interet", a.secret),
			url.Values{"message": {"Nous sommes disponibles."}, "answer0": {"Sous quinze jours."}, "answer1": {"Trois contrats similaires."}},
			`SELECT count(*) FROM request_events WHERE kind = 'interested'`},
		{"message", a.sme, fmt.Sprintf("/demandes/%d/echanges/%d", a.first, a.smeOrg), "message-form",
			fmt.Sprintf("/demandes/%d/echanges/%d", a.first, a.smeOrg), url.Values{"body": {"Pouvons-nous venir jeudi ?"}}, `SELECT count(*) FROM request_messages`},
		{"declaration", a.buyer, "/espace/declarations", "declaration-form", "/espace/declarations", url.Values{"year": {"2025"},
			"total": {"1000000"}, "pme": {"250000"}, "eti": {"100000"}, "payment_days": {"40"}, "on_time": {"90"}},
			`SELECT count(*) FROM declarations`},
	}
	for _, tc := range cases {
		_, doc := get(t, tc.c, a.URL+tc.page)
		token, _ := doc.Find(fmt.Sprintf(`form[data-testid=%s] input[name=envoi]`, tc.form)).Attr("value")
		if len(token) < 16 {
			t.Errorf("%s: the form carries no token", tc.name)
			continue
		}
		before := count(t, a, tc.rows)
		v := url.Values{}
		for k, vs := range tc.values {
			v[k] = vs
		}
		v.Set("envoi", token)
		first, fdoc := postForm(t, tc.c, a.URL+tc.post, v)
		if first.StatusCode == http.StatusUnprocessableEntity {
			t.Logf("%s refused: %s", tc.name, fdoc.Find("[data-testid=error-summary]").Text())
		}
		second, _ := postForm(t, tc.c, a.URL+tc.post, v)
		if first.StatusCode != http.StatusSeeOther || second.StatusCode != http.StatusSeeOther ||
			first.Header.Get("Location") != second.Header.Get("Location") {
			t.Errorf("%s: posted twice: %d → %q, %d → %q", tc.name, first.StatusCode, first.Header.Get("Location"),
				second.StatusCode, second.Header.Get("Location"))
		}
		if after := count(t, a, tc.rows); after != before+1 {
			t.Errorf("%s: %d rows written by one token, want 1", tc.name, after-before)
		}
	}
}

// TestForYouHasNoEmptyColumn: "Demandes pour vous" has no facets to
// show, so no empty facet column; the requests' search has one.
func TestForYouHasNoEmptyColumn(t *testing.T) {
	a := startRequests(t)
	_, doc := get(t, a.sme, a.URL+"/demandes/pour-vous")
	if doc.Find("[data-testid=facets]").Length() != 0 || doc.Find(".search__body--single").Length() != 1 {
		t.Fatalf("for you: %d facet columns", doc.Find("[data-testid=facets]").Length())
	}
	_, doc = get(t, a.sme, a.URL+"/demandes")
	if doc.Find("[data-testid=facets] [data-testid=facet]").Length() == 0 || doc.Find(".search__body--single").Length() != 0 {
		t.Fatal("the requests' search lost its facets")
	}
}
