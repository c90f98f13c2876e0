package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"passerelle/internal/demo"
	"passerelle/internal/server/servertest"
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
	_ = app.DB.QueryRow(ctx, `SELECT status::text FROM offers WHERE id = $1`, id).Scan(&status)
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
	_ = app.DB.QueryRow(ctx, `SELECT status::text FROM offers WHERE id = $1`, id).Scan(&status)
	if status != "published" {
		t.Errorf("after deciding on the version read: %s", status)
	}
}
