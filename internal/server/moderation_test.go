package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"passerelle/internal/platform/postgres/pgtest"
	"strings"
	"testing"

	"passerelle/internal/platform/notify"
	"passerelle/internal/server/servertest"
	"passerelle/internal/tools/demo"
)

// The staff queue shows an offer in full, and a decision taken on a
// version the SME has changed since is refused with a message, the offer
// left waiting; the new version can then be published.
func TestModerationQueueRefusesAChangedVersion(t *testing.T) {
	app := servertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, app.DB, false); err != nil {
		t.Fatal(err)
	}
	sme := signInAs(t, app, "pme@passerelle.test")
	description := strings.Repeat("Capteurs connectés pour chaufferies collectives, télérelève des consommations. ", 20)
	offerForm := url.Values{"title": {"Capteurs connectés pour chaufferies"}, "summary": {"Télérelève des chaufferies"},
		"description": {description}, "kind": {"product"}, "trl": {"7"}, "regions": {"84"}, "keywords": {"télérelève"},
		"cpv": {"38000000"}, "action": {"submit"}}
	if resp, _ := postForm(t, sme, app.URL+"/espace/offres/nouvelle", offerForm); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	var id int64
	if err := app.DB.QueryRow(ctx, `SELECT id FROM offers WHERE title = $1`, offerForm.Get("title")).Scan(&id); err != nil {
		t.Fatal(err)
	}

	staff := signInAs(t, app, "equipe@passerelle.test")
	_, doc := get(t, staff, app.URL+"/equipe/moderation")
	row := doc.Find(fmt.Sprintf(`[data-item="moderation-offer-%d"]`, id))
	if row.Length() != 1 {
		t.Fatal("the offer is not in the queue")
	}
	if !strings.Contains(row.Find("[data-testid=row-details]").Text(), strings.TrimSpace(description)) {
		t.Error("the queue does not show the whole description")
	}
	publish := fmt.Sprintf("/equipe/moderation/offer/%d/publier", id)
	shown, _ := row.Find(fmt.Sprintf(`form[action="%s"] input[name=version]`, publish)).Attr("value")
	if shown == "" {
		t.Fatal("no version in the decision form")
	}

	// The SME rewrites its offer meanwhile.
	offerForm.Set("description", "Un autre texte, que personne n'a relu.")
	if resp, _ := postForm(t, sme, fmt.Sprintf("%s/espace/offres/%d/modifier", app.URL, id), offerForm); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	resp, _ := postForm(t, staff, app.URL+publish, url.Values{"version": {shown}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decision: %d", resp.StatusCode)
	}
	var status string
	pgtest.Scan(t, app.DB.QueryRow(ctx, `SELECT status::text FROM offers WHERE id = $1`, id), &status)
	if status != "submitted" {
		t.Fatalf("a version nobody read was decided: %s", status)
	}
	_, doc = get(t, staff, app.URL+"/equipe/moderation")
	if doc.Find("[data-testid=flash]").Length() != 1 {
		t.Error("no message says why nothing was decided")
	}
	row = doc.Find(fmt.Sprintf(`[data-item="moderation-offer-%d"]`, id))
	current, _ := row.Find(fmt.Sprintf(`form[action="%s"] input[name=version]`, publish)).Attr("value")
	if current == shown || !strings.Contains(row.Text(), "personne n'a relu") {
		t.Fatalf("the queue does not show the new version (%s → %s)", shown, current)
	}
	if resp, _ := postForm(t, staff, app.URL+publish, url.Values{"version": {current}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decision on the version read: %d", resp.StatusCode)
	}
	pgtest.Scan(t, app.DB.QueryRow(ctx, `SELECT status::text FROM offers WHERE id = $1`, id), &status)
	if status != "published" {
		t.Errorf("after deciding on the version read: %s", status)
	}
}

// Mails one can turn off carry List-Unsubscribe with a one-click POST
// (RFC 8058) that works from a mail client, without a session; security
// mails carry none.
func TestOneClickUnsubscribe(t *testing.T) {
	app := servertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, app.DB, false); err != nil {
		t.Fatal(err)
	}
	sme := signInAs(t, app, "pme@passerelle.test")
	offerForm := url.Values{"title": {"Capteurs connectés pour chaufferies"}, "summary": {"Télérelève des chaufferies"},
		"kind": {"product"}, "trl": {"7"}, "regions": {"84"}, "cpv": {"38000000"}, "action": {"submit"}}
	if resp, _ := postForm(t, sme, app.URL+"/espace/offres/nouvelle", offerForm); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	var id int64
	var version string
	if err := app.DB.QueryRow(ctx, `SELECT id, ((extract(epoch FROM updated_at) * 1000000)::bigint)::text FROM offers WHERE title = $1`, offerForm.Get("title")).Scan(&id, &version); err != nil {
		t.Fatal(err)
	}
	staff := signInAs(t, app, "equipe@passerelle.test")
	if resp, _ := postForm(t, staff, fmt.Sprintf("%s/equipe/moderation/offer/%d/publier", app.URL, id), url.Values{"version": {version}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	m := app.Mail.WaitFor(t, "pme@passerelle.test", "List-Unsubscribe-Post: List-Unsubscribe=One-Click")
	var link string
	for _, line := range strings.Split(m.Data, "\r\n") {
		if v, ok := strings.CutPrefix(line, "List-Unsubscribe: <"); ok {
			link = strings.TrimSuffix(v, ">")
		}
	}
	if !strings.HasPrefix(link, app.URL+"/desabonnement?") || !strings.Contains(m.Data, link) {
		t.Fatalf("List-Unsubscribe %q, not in the text too", link)
	}
	// The mail client's one-click POST: no cookie, no Origin.
	resp, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
	}
	var off int
	pgtest.Scan(t, app.DB.QueryRow(ctx, `SELECT count(*) FROM notification_optouts n JOIN users u ON u.id = n.user_id
		WHERE u.email = 'pme@passerelle.test' AND n.category = 'moderation'`), &off)
	if off != 1 {
		t.Fatalf("not unsubscribed: %d rows", off)
	}
	// The account page shows it off; ticking it again turns it back on.
	_, doc := get(t, sme, app.URL+"/compte")
	if box := doc.Find(`[data-testid=notify-form] input[name=categories][value=moderation]`); box.Length() != 1 || box.Is("[checked]") {
		t.Errorf("account page: the moderation box is missing or still ticked")
	}
	var every []string // every optional category ticked
	for _, c := range notify.Optional() {
		every = append(every, c.Name)
	}
	if resp, _ := postForm(t, sme, app.URL+"/compte/notifications", url.Values{"categories": every}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("preferences: %d", resp.StatusCode)
	}
	pgtest.Scan(t, app.DB.QueryRow(ctx, `SELECT count(*) FROM notification_optouts`), &off)
	if off != 0 {
		t.Errorf("turned back on, still %d opt-outs", off)
	}
	// A password reset is a security mail: no unsubscribe.
	if resp, _ := postForm(t, app.Client(), app.URL+"/mot-de-passe/oubli", url.Values{"email": {"pme@passerelle.test"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	reset := app.Mail.WaitFor(t, "pme@passerelle.test", "mot-de-passe/nouveau")
	if strings.Contains(reset.Data, "List-Unsubscribe") || strings.Contains(reset.Data, "desabonnement") {
		t.Error("a security mail can be turned off")
	}
}
