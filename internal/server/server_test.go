package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"passerelle/internal/server/servertest"
)

func get(t *testing.T, c *http.Client, u string) (*http.Response, *goquery.Document) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, doc
}

func TestHomePageIsFrenchByDefaultAndWellFormed(t *testing.T) {
	app := servertest.Start(t)
	resp, doc := get(t, app.Client(), app.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if lang, _ := doc.Find("html").Attr("lang"); lang != "fr" {
		t.Errorf("html lang = %q, want fr", lang)
	}
	if n := doc.Find("h1").Length(); n != 1 {
		t.Errorf("%d h1, want exactly 1", n)
	}
	if got := doc.Find("title").Text(); !strings.Contains(got, "Passerelle") || !strings.Contains(got, "Accueil") {
		t.Errorf("title = %q", got)
	}
	for _, sel := range []string{"header", "nav", "main#contenu", "footer", "a.skip-link[href='#contenu']"} {
		if doc.Find(sel).Length() == 0 {
			t.Errorf("missing landmark %s", sel)
		}
	}
	if got := doc.Find("[data-testid=home-title]").Text(); !strings.Contains(got, "PME") {
		t.Errorf("home title = %q", got)
	}
	// Figures in French format: "22,4 %".
	if !strings.Contains(doc.Find(".figures").Text(), "22,4\u00a0%") {
		t.Errorf("figures not in French format: %q", doc.Find(".figures").Text())
	}
	// Untranslated ids show as [id]: none may reach a page.
	if html, _ := doc.Html(); strings.Contains(html, "[home.") || strings.Contains(html, "[layout.") {
		t.Error("page shows an untranslated message id")
	}
}

func TestSecureHeaders(t *testing.T) {
	app := servertest.Start(t)
	for _, path := range []string{"/", "/healthz", "/page-absente", "/static/css/app.css"} {
		resp, err := app.Client().Get(app.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: nosniff missing", path)
		}
		if h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: referrer policy or frame options missing", path)
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s: no request id", path)
		}
	}
}

func TestLanguageSwitchIsRememberedAndStaysOnSite(t *testing.T) {
	app := servertest.Start(t)
	c := app.Client()

	resp, err := c.PostForm(app.URL+"/langue", url.Values{"lang": {"en"}, "next": {"/?x=1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?x=1" {
		t.Fatalf("switch: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, doc := get(t, c, app.URL+"/")
	if lang, _ := doc.Find("html").Attr("lang"); lang != "en" {
		t.Errorf("after switching, lang = %q", lang)
	}
	if got := doc.Find("h1").Text(); !strings.Contains(got, "face to face") {
		t.Errorf("English h1 = %q", got)
	}
	if !strings.Contains(doc.Find(".figures").Text(), "22.4%") {
		t.Errorf("figures not in English format")
	}

	// An unknown language falls back to French; an off-site target to "/".
	resp, err = c.PostForm(app.URL+"/langue", url.Values{"lang": {"de"}, "next": {"//evil.example/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("off-site next redirected to %q", loc)
	}
	_, doc = get(t, c, app.URL+"/")
	if lang, _ := doc.Find("html").Attr("lang"); lang != "fr" {
		t.Errorf("unknown language gave %q", lang)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	app := servertest.Start(t)
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"same origin", map[string]string{"Origin": app.URL, "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"no browser headers (curl)", nil, http.StatusSeeOther},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/langue", strings.NewReader("lang=en"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := app.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusForbidden {
				if !strings.Contains(string(body), "Accès refusé") {
					t.Errorf("403 is not the friendly page")
				}
				if len(resp.Cookies()) != 0 {
					t.Errorf("refused request still set a cookie")
				}
			}
		})
	}
}

func TestErrorPages(t *testing.T) {
	app := servertest.Start(t)
	resp, doc := get(t, app.Client(), app.URL+"/cette-page-n-existe-pas")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := doc.Find("h1").Text(); got != "Page introuvable" {
		t.Errorf("404 h1 = %q", got)
	}
	if doc.Find("header nav").Length() == 0 || doc.Find("footer").Length() == 0 {
		t.Error("404 page is not in the site's layout")
	}
	if !strings.Contains(doc.Find(".error-page__ref").Text(), "Référence") {
		t.Error("404 page shows no request reference")
	}

	req, _ := http.NewRequest(http.MethodDelete, app.URL+"/", nil)
	resp, err := app.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE / = %d, want 405", resp.StatusCode)
	}
}

func TestStaticFilesAreVersionedAndCached(t *testing.T) {
	app := servertest.Start(t)
	_, doc := get(t, app.Client(), app.URL+"/")
	href, ok := doc.Find("link[rel=stylesheet]").Attr("href")
	if !ok || !strings.Contains(href, "?v=") {
		t.Fatalf("stylesheet href %q has no version", href)
	}
	resp, err := app.Client().Get(app.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("css: %d, cache %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("css content type %q", resp.Header.Get("Content-Type"))
	}
}

func TestHealthAndReadiness(t *testing.T) {
	app := servertest.Start(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := app.Client().Get(app.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s = %d", path, resp.StatusCode)
		}
	}
	// A schema behind the binary is not ready.
	if _, err := app.DB.Exec(t.Context(), `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	resp, err := app.Client().Get(app.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dirty schema: /readyz = %d, want 503", resp.StatusCode)
	}
}

// An X-Request-Id sent by a client is kept only when short and plain;
// anything else is replaced by an id of our own.
func TestClientRequestIDIsBoundedAndValidated(t *testing.T) {
	app := servertest.Start(t)
	for sent, kept := range map[string]bool{
		"lb-7f3a9c/12:4":              true,
		strings.Repeat("a", 65):       false,
		"a b":                         false,
		`"><script>alert(1)</script>`: false,
		"id\u00e9":                    false,
		"level=ERROR msg=forged":      false,
	} {
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/healthz", nil)
		req.Header.Set("X-Request-Id", sent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Request-Id")
		if (got == sent) != kept || got == "" {
			t.Errorf("sent %q, answered %q (kept: want %t)", sent, got, kept)
		}
	}
}
