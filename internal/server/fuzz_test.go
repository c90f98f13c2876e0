package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"passerelle/internal/server/servertest"
	"passerelle/internal/tools/demo"
)

// fuzzPages are the GET pages whose query parameters reach the database or
// the views: every public one, and the members' directory and profile.
var fuzzPages = []string{"/", "/offres", "/offres/1", "/cpv", "/connexion", "/adhesion", "/adhesion/merci",
	"/mot-de-passe/oubli", "/mot-de-passe/nouveau", "/invitation", "/desabonnement", "/annuaire", "/entreprises/1"}

// FuzzGETParameters sends any bytes as the query parameters of every GET
// page, as a visitor and as a signed-in buyer: no answer may be a 5xx. The
// seeds are the values that made PostgreSQL refuse a query (a NUL byte,
// invalid UTF-8). `make test` runs the seeds as a test, then fuzzes for a
// bounded time.
func FuzzGETParameters(f *testing.F) {
	app := servertest.Start(f)
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		f.Fatal(err)
	}
	visitor := app.Client()
	buyer := app.Client()
	resp, err := buyer.PostForm(app.URL+"/connexion", url.Values{"email": {"acheteur@passerelle.test"}, "password": {demo.Password}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		f.Fatalf("sign in: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, seed := range []struct{ key, value string }{
		{"q", "abc\x00"}, {"q", "\xff\xfe"}, {"f", "cpv:\x00"}, {"f", "reg:\xff"}, {"tri", "\x00"}, {"page", "\x00"},
		{"apres", "\xff"}, {"q", "%00"}, {"suite", "/\t/evil.example"}, {"jeton", "\x00"}, {"categorie", "\xff"},
		{"q", "\"unterminated"}, {"q", "-"}, {"q", "or or or"}, {"page", "99999999999999999999"}, {"f", "cpv:" + string(make([]byte, 300))},
	} {
		for i := range fuzzPages {
			f.Add(uint8(i), false, seed.key, seed.value)
			f.Add(uint8(i), true, seed.key, seed.value)
		}
	}
	f.Fuzz(func(t *testing.T, page uint8, signedIn bool, key, value string) {
		c := visitor
		if signedIn {
			c = buyer
		}
		path := fuzzPages[int(page)%len(fuzzPages)]
		target := app.URL + path + "?" + url.QueryEscape(key) + "=" + url.QueryEscape(value)
		resp, err := c.Get(target)
		if err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s %s: %d", path, fmt.Sprintf("%q=%q", key, value), resp.StatusCode)
		}
	})
}
