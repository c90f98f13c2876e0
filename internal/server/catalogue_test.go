package server_test

import (
	"context"
	"net/http"
	"net/url"
	"passerelle/internal/platform/postgres/pgtest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"passerelle/internal/server/servertest"
	"passerelle/internal/tools/demo"
)

func signInAs(t *testing.T, app *servertest.App, email string) *http.Client {
	t.Helper()
	c := app.Client()
	resp, err := c.PostForm(app.URL+"/connexion", url.Values{"email": {email}, "password": {demo.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", email, resp.StatusCode)
	}
	return c
}

// The offer form keeps everything typed: after a CPV search without
// JavaScript (200, results offered) and after errors (422, each error tied
// to its field).
func TestOfferFormKeepsInput(t *testing.T) {
	app := servertest.Start(t)
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		t.Fatal(err)
	}
	c := signInAs(t, app, "pme@passerelle.test")
	typed := url.Values{"title": {`Logiciels <b>métier</b>`}, "summary": {"Résumé"}, "kind": {"service"}, "trl": {"6"},
		"regions": {"84", "11"}, "keywords": {"SIG, cartographie"}, "cpv": {"72212000"}, "cpv_q": {"logiciel"}, "action": {"cpv"}}

	resp, doc := postForm(t, c, app.URL+"/espace/offres/nouvelle", typed)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CPV search: %d", resp.StatusCode)
	}
	if doc.Find(`#cpv-results input[name=cpv]`).Length() == 0 {
		t.Error("no CPV code offered for 'logiciel'")
	}
	if v, _ := doc.Find(`#f-title`).Attr("value"); v != typed.Get("title") {
		t.Errorf("title lost: %q", v)
	}
	if doc.Find(`[data-testid=cpv-chosen] input[value="72212000"][checked]`).Length() != 1 {
		t.Error("chosen CPV code lost")
	}
	if doc.Find(`[data-testid=places-chosen] input[name=regions][checked]`).Length() != 2 {
		t.Error("chosen regions lost")
	}
	// The places are picked the same way: search, then tick; what was
	// ticked stays ticked, nothing is saved.
	typed.Set("action", "place")
	typed.Set("place_q", "bretagne")
	resp, doc = postForm(t, c, app.URL+"/espace/offres/nouvelle", typed)
	found := doc.Find(`[data-testid=place-results] input`)
	if resp.StatusCode != http.StatusOK || found.Length() != 5 || found.First().AttrOr("name", "") != "regions" || found.First().AttrOr("value", "") != "53" {
		t.Errorf("places found for 'bretagne': %d, %d boxes, first %v", resp.StatusCode, found.Length(), found.First().AttrOr("value", ""))
	}
	if doc.Find(`[data-testid=places-chosen] input[name=regions][checked]`).Length() != 2 ||
		doc.Find(`[data-testid=cpv-chosen] input[value="72212000"][checked]`).Length() != 1 {
		t.Error("a places search lost the chosen places or codes")
	}
	typed.Set("action", "cpv")
	typed.Del("place_q")
	if doc.Find("main b").Length() != 0 {
		t.Error("typed HTML rendered as markup")
	}
	var n int
	n = pgtest.Count(t, app.DB, `SELECT count(*) FROM offers WHERE title = $1`, typed.Get("title")) // the demo SME has offers of its own
	if n != 0 {
		t.Fatal("a CPV search stored an offer")
	}

	// Saving without a CPV code and with a bad TRL: 422, input kept.
	typed.Set("action", "submit")
	typed.Del("cpv")
	typed.Set("trl", "12")
	resp, doc = postForm(t, c, app.URL+"/espace/offres/nouvelle", typed)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad offer: %d", resp.StatusCode)
	}
	for _, f := range []string{"cpv", "trl"} {
		if doc.Find("[data-testid=error-"+f+"]").Length() != 1 {
			t.Errorf("no error for %s", f)
		}
	}
	if doc.Find(`[data-testid=error-summary] a[href="#f-cpv"]`).Length() != 1 {
		t.Error("the summary does not link to the CPV picker")
	}
	if v, _ := doc.Find(`#f-keywords`).Attr("value"); v != "SIG, cartographie" {
		t.Errorf("keywords lost: %q", v)
	}
	n = pgtest.Count(t, app.DB, `SELECT count(*) FROM offers WHERE title = $1`, typed.Get("title")) // the demo SME has offers of its own
	if n != 0 {
		t.Fatal("an invalid offer was stored")
	}
}

var missingKey = regexp.MustCompile(`\[[a-z_]+\.[a-z_.]+\]`)

// Every page of the catalogue, in both languages, shows translated text
// only, and what is typed in the search box comes back escaped.
func TestCataloguePagesTranslatedAndEscaped(t *testing.T) {
	app := servertest.Start(t)
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		t.Fatal(err)
	}
	sme := signInAs(t, app, "pme@passerelle.test")
	buyer := signInAs(t, app, "acheteur@passerelle.test")
	staff := signInAs(t, app, "equipe@passerelle.test")
	evil := `"><script>alert(1)</script>`
	pages := []struct {
		c    *http.Client
		path string
	}{
		{app.Client(), "/offres?q=" + url.QueryEscape(evil)},
		{buyer, "/offres?q=logiciels&f=cpv:48&f=reg:11&tri=recent"},
		{buyer, "/annuaire?q=" + url.QueryEscape(evil)},
		{buyer, "/annuaire?tri=nom"},
		{buyer, "/offres?q=" + url.QueryEscape(strings.Repeat("a", 199)+"énergie")}, // cut at 200 characters, never inside an accent
		{sme, "/espace/offres"},
		{sme, "/espace/offres/nouvelle"},
		{sme, "/espace/profil"},
		{sme, "/espace/profil/import"},
		{staff, "/equipe/moderation"},
	}
	for _, lang := range []string{"fr", "en"} {
		for _, p := range pages {
			req, _ := http.NewRequest(http.MethodGet, app.URL+p.path, nil)
			req.AddCookie(&http.Cookie{Name: "lang", Value: lang})
			resp, err := p.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := goquery.NewDocumentFromReader(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s: %d", lang, p.path, resp.StatusCode)
				continue
			}
			if m := missingKey.FindString(doc.Text()); m != "" {
				t.Errorf("%s %s shows an untranslated id %s", lang, p.path, m)
			}
			if doc.Find("script:not([src])").Length() != 0 {
				t.Errorf("%s %s: typed text became a script", lang, p.path)
			}
			if doc.Find("h1").Length() != 1 {
				t.Errorf("%s %s: %d h1", lang, p.path, doc.Find("h1").Length())
			}
		}
	}
	_, doc := get(t, buyer, app.URL+"/annuaire?q="+url.QueryEscape(evil))
	if v, _ := doc.Find("#f-q").Attr("value"); v != evil {
		t.Errorf("search box lost what was typed: %q", v)
	}
}

// TestDirectoryNamesATypedName: the directory finds the demo SME by its
// name typed with two letters swapped, says the hits are names close to
// what was typed, and names the words it left out of a catalogue search —
// in both languages (once the search index has caught up with the demo).
func TestDirectoryNamesATypedName(t *testing.T) {
	app := servertest.Start(t)
	ctx := context.Background()
	if _, err := demo.Seed(ctx, app.DB, false); err != nil {
		t.Fatal(err)
	}
	var name string
	pgtest.Scan(t, app.DB.QueryRow(ctx, `SELECT g.legal_name FROM organisations g JOIN users u ON u.organisation_id = g.id WHERE u.email = $1`,
		demo.SMEEmail), &name)
	words := strings.Fields(name)
	longest := slices.MaxFunc(words, func(a, b string) int { return len([]rune(a)) - len([]rune(b)) })
	r := []rune(longest)
	r[2], r[3] = r[3], r[2]
	typed := strings.Replace(name, longest, string(r), 1)
	buyer := signInAs(t, app, "acheteur@passerelle.test")
	want := map[string]string{"fr": "dont le nom ressemble", "en": "whose name looks like"}
	for _, lang := range []string{"fr", "en"} {
		var doc *goquery.Document
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			req, _ := http.NewRequest(http.MethodGet, app.URL+"/annuaire?q="+url.QueryEscape(typed), nil)
			req.AddCookie(&http.Cookie{Name: "lang", Value: lang})
			resp, err := buyer.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			doc, err = goquery.NewDocumentFromReader(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if doc.Find(`[data-testid="search-notice"]`).Length() > 0 || time.Now().After(deadline) {
				break
			}
		}
		notice := doc.Find(`[data-testid="search-notice"]`).Text()
		if !strings.Contains(notice, want[lang]) || !strings.Contains(notice, typed) {
			t.Errorf("%s: %q typed for %q: notice %q, want it to say %q", lang, typed, name, notice, want[lang])
		}
		if !strings.Contains(doc.Find(`[data-testid="sme-hit"]`).Text(), name) {
			t.Errorf("%s: %q did not find %q", lang, typed, name)
		}
	}
	_, doc := get(t, buyer, app.URL+"/offres?q="+url.QueryEscape("nettoyage zzyzxq"))
	if n := doc.Find(`[data-testid="search-notice"]`).Text(); !strings.Contains(n, "« zzyzxq »") || doc.Find(`[data-testid="offer-hit"]`).Length() == 0 {
		t.Errorf("catalogue, a word found nowhere: notice %q, %d hits", n, doc.Find(`[data-testid="offer-hit"]`).Length())
	}
}
