package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"passerelle/internal/server/servertest"
)

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (*http.Response, *goquery.Document) {
	t.Helper()
	resp, err := c.PostForm(u, v)
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

// Bad input re-renders the form with 422, errors next to their fields and
// a summary, what was typed kept (never the password), HTML escaped, and
// nothing stored.
func TestApplyFormRejectsBadInputAndKeepsIt(t *testing.T) {
	app := servertest.Start(t)
	html := `<script>alert("x")</script>`
	tests := []struct {
		name   string
		values url.Values
		errors []string
	}{
		{"empty", url.Values{}, []string{"siren", "legal_name", "kind", "naf_code", "headcount_band", "departement", "name", "email", "password"}},
		{"malformed", url.Values{"siren": {"007050066"}, "legal_name": {html}, "kind": {"pme"}, "naf_code": {"62.01Z"},
			"headcount_band": {"11"}, "departement": {"75"}, "name": {"Robert'); DROP TABLE users;--"}, "email": {"pas-un-email"},
			"password": {"court"}, "website": {"ftp://x"}}, []string{"siren", "email", "password", "website"}},
		{"10 kB fields", url.Values{"siren": {strings.Repeat("1", 10_000)}, "legal_name": {strings.Repeat("a", 10_000)},
			"description": {strings.Repeat("b", 10_000)}, "name": {strings.Repeat("c", 10_000)}},
			[]string{"siren", "legal_name", "description", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, doc := postForm(t, app.Client(), app.URL+"/adhesion", tt.values)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", resp.StatusCode)
			}
			for _, f := range tt.errors {
				if doc.Find("[data-testid=error-"+f+"]").Length() != 1 {
					t.Errorf("no error shown for %s", f)
				}
				if id, _ := doc.Find("#f-" + f).Attr("aria-describedby"); !strings.Contains(id, "f-"+f+"-error") {
					t.Errorf("%s: error not tied to the field (aria-describedby %q)", f, id)
				}
			}
			if n := doc.Find("[data-testid=error-summary] li").Length(); n < len(tt.errors) {
				t.Errorf("summary lists %d errors, want at least %d", n, len(tt.errors))
			}
			if v, _ := doc.Find("#f-password").Attr("value"); v != "" {
				t.Error("the password was sent back")
			}
			if n := tt.values.Get("legal_name"); n != "" {
				if v, _ := doc.Find("#f-legal_name").Attr("value"); v != n {
					t.Errorf("legal name not kept: %.40q", v)
				}
			}
			body, _ := doc.Html()
			if strings.Contains(body, html) {
				t.Error("user HTML reached the page unescaped")
			}
		})
	}
	// Wrong content type: treated as an empty form.
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/adhesion", strings.NewReader(`{"siren":"007050065"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := app.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("JSON body: %d, want 422", resp.StatusCode)
	}
	var n int
	if err := app.DB.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM organisations) + (SELECT count(*) FROM users)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("bad input stored %d rows", n)
	}
}

func TestSignInIsRateLimited(t *testing.T) {
	app := servertest.StartWith(t, servertest.Options{RateLimit: 5})
	c := app.Client()
	for i := range 5 {
		resp, _ := postForm(t, c, app.URL+"/connexion", url.Values{"email": {"x@exemple.fr"}, "password": {"mauvais"}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, doc := postForm(t, c, app.URL+"/connexion", url.Values{"email": {"x@exemple.fr"}, "password": {"mauvais"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt: %d", resp.StatusCode)
	}
	if !strings.Contains(doc.Find("h1").Text(), "Trop de tentatives") {
		t.Errorf("429 page: %q", doc.Find("h1").Text())
	}
	// Sign-up shares no budget with pages that only read.
	if r, err := c.Get(app.URL + "/connexion"); err != nil || r.StatusCode != http.StatusOK {
		t.Errorf("GET /connexion after the limit: %v %v", r, err)
	}
}

// A body over the 1 MiB limit gets the 413 page, not "required field"
// errors on a form that seems empty; nothing is stored.
func TestOversizedFormIs413(t *testing.T) {
	app := servertest.Start(t)
	v := url.Values{"siren": {"007050065"}, "legal_name": {"Terrassements des Alpes"}, "description": {strings.Repeat("é", 600_000)}}
	resp, doc := postForm(t, app.Client(), app.URL+"/adhesion", v)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if doc.Find("[data-testid=error-page]").Length() != 1 || doc.Find("[data-testid^=error-]").Not("[data-testid=error-page]").Length() != 0 {
		t.Errorf("want the error page without field errors: %s", doc.Find("main").Text())
	}
	var n int
	if err := app.DB.QueryRow(t.Context(), `SELECT count(*) FROM organisations`).Scan(&n); err != nil || n != 0 {
		t.Errorf("oversized form stored %d organisations (%v)", n, err)
	}
}

// Password reset and invitation acceptance share the per-IP budget of
// sign-in: a made-up link cannot be tried without bound.
func TestResetAndInvitationAreRateLimited(t *testing.T) {
	for _, path := range []string{"/mot-de-passe/nouveau", "/invitation"} {
		app := servertest.StartWith(t, servertest.Options{RateLimit: 3})
		c := app.Client()
		for i := range 3 {
			resp, _ := postForm(t, c, app.URL+path, url.Values{"jeton": {"lien-invente"}, "name": {"Louis"}, "password": {"une phrase de passe solide"}})
			if resp.StatusCode != http.StatusGone {
				t.Fatalf("%s attempt %d: %d, want 410 (link invalid)", path, i+1, resp.StatusCode)
			}
		}
		resp, _ := postForm(t, c, app.URL+path, url.Values{"jeton": {"lien-invente"}, "password": {"une phrase de passe solide"}})
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s 4th attempt: %d, want 429 with Retry-After", path, resp.StatusCode)
		}
	}
}

// postFrom posts a form as if forwarded by a proxy for the client ip.
func postFrom(t *testing.T, c *http.Client, u, ip string, v url.Values) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Behind a trusted proxy, each client has its own budget (not everyone
// behind the load balancer sharing one); without one, X-Forwarded-For is
// ignored, so a client cannot escape its budget by forging it. Guesses at
// one account from many addresses are slowed down too.
func TestRateLimitsKeyOnTrustedClientAddressAndAccount(t *testing.T) {
	wrong := func(email string) url.Values { return url.Values{"email": {email}, "password": {"mauvais"}} }

	behind := servertest.StartWith(t, servertest.Options{RateLimit: 2, TrustedProxies: "127.0.0.1/32, ::1/128"})
	c := behind.Client()
	for i := range 2 {
		if got := postFrom(t, c, behind.URL+"/connexion", "203.0.113.1", wrong(fmt.Sprintf("a%d@exemple.fr", i))); got != http.StatusUnprocessableEntity {
			t.Fatalf("client 1, attempt %d: %d", i+1, got)
		}
	}
	if got := postFrom(t, c, behind.URL+"/connexion", "203.0.113.1", wrong("a3@exemple.fr")); got != http.StatusTooManyRequests {
		t.Errorf("client 1, 3rd attempt: %d, want 429", got)
	}
	if got := postFrom(t, c, behind.URL+"/connexion", "198.51.100.7", wrong("b@exemple.fr")); got != http.StatusUnprocessableEntity {
		t.Errorf("another client behind the same proxy: %d, want its own budget (422)", got)
	}
	// One account, many addresses.
	for i, ip := range []string{"192.0.2.1", "192.0.2.2"} {
		if got := postFrom(t, c, behind.URL+"/connexion", ip, wrong("cible@exemple.fr")); got != http.StatusUnprocessableEntity {
			t.Fatalf("account guess %d: %d", i+1, got)
		}
	}
	if got := postFrom(t, c, behind.URL+"/connexion", "192.0.2.3", wrong("cible@exemple.fr")); got != http.StatusTooManyRequests {
		t.Errorf("3rd guess at one account from a 3rd address: %d, want 429", got)
	}

	direct := servertest.StartWith(t, servertest.Options{RateLimit: 2})
	c = direct.Client()
	for i, ip := range []string{"203.0.113.1", "203.0.113.2"} {
		if got := postFrom(t, c, direct.URL+"/connexion", ip, wrong(fmt.Sprintf("d%d@exemple.fr", i))); got != http.StatusUnprocessableEntity {
			t.Fatalf("direct attempt %d: %d", i+1, got)
		}
	}
	if got := postFrom(t, c, direct.URL+"/connexion", "203.0.113.3", wrong("d3@exemple.fr")); got != http.StatusTooManyRequests {
		t.Errorf("a forged X-Forwarded-For escaped the limit: %d, want 429", got)
	}
}
