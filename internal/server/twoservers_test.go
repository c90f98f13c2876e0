package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"passerelle/internal/platform/postgres/pgtest"
	"strings"
	"testing"
	"time"

	"passerelle/internal/server/servertest"
	"passerelle/internal/tools/demo"
)

// Two servers on one database, as behind a load balancer: an offer
// published through one is found through the other within a second, each
// mail is sent once, and a daily job runs once.
func TestTwoServersShareOneDatabase(t *testing.T) {
	one := servertest.Start(t)
	two := servertest.StartWith(t, servertest.Options{DB: one.DB})
	ctx := context.Background()
	if _, err := demo.Seed(ctx, one.DB, false); err != nil {
		t.Fatal(err)
	}
	title := "Curage des fossés et enrochement des berges"
	sme := signInAs(t, one, "pme@passerelle.test")
	if r, _ := postForm(t, sme, one.URL+"/espace/offres/nouvelle", url.Values{"title": {title}, "summary": {"Entretien des cours d'eau"},
		"kind": {"service"}, "regions": {"84"}, "cpv": {"45246000"}, "action": {"submit"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create on server one: %d", r.StatusCode)
	}
	var id int64
	var version string
	if err := one.DB.QueryRow(ctx, `SELECT id, ((extract(epoch FROM updated_at) * 1000000)::bigint)::text FROM offers WHERE title = $1`, title).Scan(&id, &version); err != nil {
		t.Fatal(err)
	}
	// Both indexes are built before the publication.
	buyerOne, buyerTwo := signInAs(t, one, "acheteur@passerelle.test"), signInAs(t, two, "acheteur@passerelle.test")
	staff := signInAs(t, two, "equipe@passerelle.test")
	if r, _ := postForm(t, staff, fmt.Sprintf("%s/equipe/moderation/offer/%d/publier", two.URL, id), url.Values{"version": {version}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish on server two: %d", r.StatusCode)
	}
	published := time.Now()
	for _, s := range []struct {
		app    *servertest.App
		client *http.Client
	}{{one, buyerOne}, {two, buyerTwo}} {
		for {
			_, doc := get(t, s.client, s.app.URL+"/offres?q=enrochement+berges")
			if strings.Contains(doc.Find("[data-testid=offer-hit]").Text(), title) {
				break
			}
			if time.Since(published) > time.Second {
				t.Fatalf("%s does not find the offer published through the other server after 1 s", s.app.URL)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// The SME's notice goes through one server's relay or the other's, once.
	deadline := time.Now().Add(10 * time.Second)
	sent := func() int {
		n := 0
		for _, app := range []*servertest.App{one, two} {
			for _, m := range app.Mail.All() {
				if len(m.To) == 1 && m.To[0] == "pme@passerelle.test" && strings.Contains(m.Data, "X-Passerelle-Kind: offer_published") {
					n++
				}
			}
		}
		return n
	}
	for sent() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // time for a second delivery, if there were one
	if n := sent(); n != 1 {
		t.Errorf("the publication notice was sent %d times, want 1", n)
	}

	// Daily jobs are enqueued by the elected leader only.
	deadline = time.Now().Add(15 * time.Second)
	var runs int
	for time.Now().Before(deadline) {
		if err := one.DB.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'search.prune_changes'`).Scan(&runs); err != nil {
			t.Fatal(err)
		}
		if runs > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	pgtest.Scan(t, one.DB.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'search.prune_changes'`), &runs)
	if runs != 1 {
		t.Errorf("the daily prune job ran %d times for two servers, want 1", runs)
	}
}
