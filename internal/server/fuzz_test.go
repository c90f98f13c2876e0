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
// the views, each with who opens it (an index of fuzzRoles): every public
// page as a visitor and as a buyer, and the lists of each role.
var fuzzPages = []struct {
	path string
	role int
}{
	{"/", 0}, {"/offres", 0}, {"/offres/1", 0}, {"/cpv", 0}, {"/connexion", 0}, {"/adhesion", 0}, {"/adhesion/merci", 0},
	{"/mot-de-passe/oubli", 0}, {"/mot-de-passe/nouveau", 0}, {"/invitation", 0}, {"/desabonnement", 0}, {"/acheteurs-publics", 0},
	{"/", 1}, {"/offres", 1}, {"/annuaire", 1}, {"/entreprises/1", 1}, {"/observatoire", 1}, {"/observatoire/barometre.csv", 1},
	{"/observatoire/comptes.csv", 1}, {"/espace/demandes", 1}, {"/espace/declarations", 1},
	{"/demandes", 2}, {"/demandes/pour-vous", 2}, {"/espace/offres", 2}, {"/barometre", 2}, {"/observatoire", 2},
	{"/equipe/adhesions", 3}, {"/equipe/membres", 3}, {"/equipe/journal", 3}, {"/equipe/courriels", 3},
	{"/equipe/declarations", 3}, {"/equipe/moderation", 3}, {"/equipe/indicateurs", 3}, {"/observatoire", 3},
}

// fuzzRoles are who the fuzz signs in as ("" stays a visitor).
var fuzzRoles = []string{"", "acheteur@passerelle.test", demo.SMEEmail, "equipe@passerelle.test"}

// FuzzGETParameters sends any bytes as the query parameters of every GET
// page, as a visitor and as each role: no answer may be a 5xx. The seeds
// are the values that made PostgreSQL refuse a query (a NUL byte, invalid
// UTF-8, numbers past int32 and int64). `make test` runs the seeds as a
// test, then fuzzes for a bounded time.
func FuzzGETParameters(f *testing.F) {
	app := servertest.Start(f)
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		f.Fatal(err)
	}
	clients := make([]*http.Client, len(fuzzRoles))
	for i, email := range fuzzRoles {
		clients[i] = app.Client()
		if email == "" {
			continue
		}
		resp, err := clients[i].PostForm(app.URL+"/connexion", url.Values{"email": {email}, "password": {demo.Password}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			f.Fatalf("sign in as %s: %v %v", email, resp, err)
		}
		resp.Body.Close()
	}
	edges := []string{"2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "99999999999999999999", "-1", "0", "1e9", "0x10", " 7"}
	seeds := []struct{ key, value string }{
		{"q", "abc\x00"}, {"q", "\xff\xfe"}, {"f", "cpv:\x00"}, {"f", "reg:\xff"}, {"tri", "\x00"}, {"page", "\x00"},
		{"apres", "\xff"}, {"q", "%00"}, {"suite", "/\t/evil.example"}, {"jeton", "\x00"}, {"categorie", "\xff"},
		{"q", "\"unterminated"}, {"q", "-"}, {"q", "or or or"}, {"f", "cpv:" + string(make([]byte, 300))},
	}
	for _, n := range edges {
		for _, key := range []string{"page", "campagne", "annee", "id", "region", "f"} {
			seeds = append(seeds, struct{ key, value string }{key, n})
		}
	}
	for _, seed := range seeds {
		for i := range fuzzPages {
			f.Add(uint8(i), seed.key, seed.value)
		}
	}
	f.Fuzz(func(t *testing.T, page uint8, key, value string) {
		p := fuzzPages[int(page)%len(fuzzPages)]
		c, path := clients[p.role], p.path
		target := app.URL + path + "?" + url.QueryEscape(key) + "=" + url.QueryEscape(value)
		resp, err := c.Get(target)
		if err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s %s as %q: %d", path, fmt.Sprintf("%q=%q", key, value), fuzzRoles[p.role], resp.StatusCode)
		}
	})
}
