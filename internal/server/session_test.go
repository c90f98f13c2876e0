package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"passerelle/internal/platform/postgres/pgtest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"passerelle/internal/server"
	"passerelle/internal/server/servertest"
	"passerelle/internal/tools/demo"
)

// brokenStore keeps sessions in memory until it is broken, then fails
// every write, as a session store whose database went away.
type brokenStore struct {
	*memstore.MemStore
	broken atomic.Bool
}

var errStoreDown = errors.New("session store down")

func (s *brokenStore) Commit(token string, b []byte, expiry time.Time) error {
	if s.broken.Load() {
		return errStoreDown
	}
	return s.MemStore.Commit(token, b, expiry)
}

func (s *brokenStore) Delete(token string) error {
	if s.broken.Load() {
		return errStoreDown
	}
	return s.MemStore.Delete(token)
}

// When the session cannot be saved at sign-in, the user gets a page that
// says so (503, Retry-After), not a redirect to a page where they would
// find themselves signed out with no message.
func TestSignInWhenSessionStoreFails(t *testing.T) {
	store := &brokenStore{MemStore: memstore.New()}
	app := servertest.StartWith(t, servertest.Options{SessionStore: store})
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		t.Fatal(err)
	}
	// A first visit (the new session fails to save), and a user who already
	// has a session (renewing its id fails).
	for _, visited := range []bool{false, true} {
		store.broken.Store(false)
		c := app.Client()
		if visited {
			c = signInAs(t, app, "pme@passerelle.test")
		}
		store.broken.Store(true)
		resp, doc := postForm(t, c, app.URL+"/connexion", url.Values{"email": {"pme@passerelle.test"}, "password": {demo.Password}})
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("visited=%v: status %d, Location %q, want 503 with Retry-After and no redirect", visited, resp.StatusCode, resp.Header.Get("Location"))
		}
		if doc.Find("[data-testid=error-page]").Length() != 1 || doc.Find("[data-testid=error-page] p").First().Text() != "503" {
			t.Errorf("visited=%v: not the session error page: %q", visited, doc.Find("main").Text())
		}
	}
	// Once the store is back, signing in works.
	store.broken.Store(false)
	signInAs(t, app, "pme@passerelle.test")
}

// A password change ends the user's other sessions and keeps this one; a
// password reset and "sign out everywhere" end them all.
func TestSessionsEndWithPasswordChangesAndSignOutEverywhere(t *testing.T) {
	app := servertest.Start(t)
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		t.Fatal(err)
	}
	signedIn := func(c *http.Client) bool {
		t.Helper()
		resp, err := c.Get(app.URL + "/compte")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	laptop, phone := signInAs(t, app, "pme@passerelle.test"), signInAs(t, app, "pme@passerelle.test")
	resp, _ := postForm(t, laptop, app.URL+"/compte/mot-de-passe", url.Values{"current_password": {demo.Password}, "new_password": {"une nouvelle phrase solide"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password: %d", resp.StatusCode)
	}
	if !signedIn(laptop) || signedIn(phone) {
		t.Errorf("after a change: laptop signed in %t (want true), phone %t (want false)", signedIn(laptop), signedIn(phone))
	}
	// A wrong current password changes nothing.
	resp, doc := postForm(t, laptop, app.URL+"/compte/mot-de-passe", url.Values{"current_password": {"pas le bon"}, "new_password": {"encore une autre phrase"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=error-current_password]").Length() != 1 {
		t.Errorf("wrong current password: %d", resp.StatusCode)
	}

	// Sign out everywhere: this session too.
	other := app.Client()
	if r, _ := postForm(t, other, app.URL+"/connexion", url.Values{"email": {"pme@passerelle.test"}, "password": {"une nouvelle phrase solide"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the new password: %d", r.StatusCode)
	}
	if r, _ := postForm(t, laptop, app.URL+"/compte/deconnexion-partout", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", r.StatusCode)
	}
	if signedIn(laptop) || signedIn(other) {
		t.Error("a session survived signing out everywhere")
	}

	// A reset through the e-mailed link ends every session.
	again := app.Client()
	postForm(t, again, app.URL+"/connexion", url.Values{"email": {"pme@passerelle.test"}, "password": {"une nouvelle phrase solide"}})
	if !signedIn(again) {
		t.Fatal("could not sign in again")
	}
	postForm(t, app.Client(), app.URL+"/mot-de-passe/oubli", url.Values{"email": {"pme@passerelle.test"}})
	link := app.Mail.WaitFor(t, "pme@passerelle.test", "/mot-de-passe/nouveau").Link(t, "/mot-de-passe/nouveau")
	u, _ := url.Parse(link)
	if r, _ := postForm(t, app.Client(), app.URL+"/mot-de-passe/nouveau", url.Values{"jeton": {u.Query().Get("jeton")}, "password": {"la phrase après la réinitialisation"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.StatusCode)
	}
	if signedIn(again) {
		t.Error("a session survived the password reset")
	}
}

// An owner sees the invitations it sent on its account page and revokes
// one: its link stops working.
func TestOwnerRevokesAnInvitation(t *testing.T) {
	app := servertest.Start(t)
	if _, err := demo.Seed(context.Background(), app.DB, false); err != nil {
		t.Fatal(err)
	}
	owner := signInAs(t, app, "pme@passerelle.test")
	if r, _ := postForm(t, owner, app.URL+"/compte/invitations", url.Values{"email": {"collegue@exemple.fr"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("invite: %d", r.StatusCode)
	}
	link := app.Mail.WaitFor(t, "collegue@exemple.fr", "/invitation").Link(t, "/invitation")
	_, doc := get(t, owner, app.URL+"/compte")
	pending := doc.Find("[data-testid=pending-invitation]")
	action, _ := pending.Find("form").Attr("action")
	if pending.Length() != 1 || !strings.Contains(pending.Text(), "collegue@exemple.fr") || action == "" {
		t.Fatalf("pending invitations: %d, %q", pending.Length(), pending.Text())
	}
	if r, _ := postForm(t, owner, app.URL+action, url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	resp, err := app.Client().Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("the revoked invitation's link answers %d, want 410", resp.StatusCode)
	}
	// Revoked twice (two tabs): back to the page with a message, not an error page.
	get(t, owner, app.URL+"/compte") // the first revocation's message is read
	if r, _ := postForm(t, owner, app.URL+action, url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("second revocation: %d", r.StatusCode)
	}
	if _, doc := get(t, owner, app.URL+"/compte"); doc.Find("[data-testid=flash]").Length() != 1 {
		t.Error("no message after revoking an invitation already gone")
	}
}

// Expired sessions are deleted by one hourly job for all servers (no
// cleanup goroutine per server, which outlived shutdown).
func TestExpiredSessionsArePruned(t *testing.T) {
	app := servertest.Start(t)
	ctx := context.Background()
	if _, err := app.DB.Exec(ctx, `INSERT INTO sessions (token, data, expiry) VALUES
		('expired', '\x00', now() - interval '1 hour'), ('live', '\x00', now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	// The job also runs when the queue starts, maybe before the rows
	// above were written: run it once more, now.
	if _, err := app.Jobs.Insert(ctx, server.PruneSessionsArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var expired, live int
		pgtest.Scan(t, app.DB.QueryRow(ctx, `SELECT count(*) FILTER (WHERE token = 'expired'), count(*) FILTER (WHERE token = 'live') FROM sessions`), &expired, &live)
		if expired == 0 && live == 1 {
			return
		}
		if time.Now().After(deadline) || live != 1 {
			t.Fatalf("sessions left: expired %d, live %d", expired, live)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An unsubscribe link whose account is gone says the link no longer works
// (410) and where mails are chosen, not "page not found".
func TestUnsubscribeWithADeadLink(t *testing.T) {
	app := servertest.Start(t)
	resp, doc := postForm(t, app.Client(), app.URL+"/desabonnement", url.Values{"jeton": {strings.Repeat("ab", 32)}, "categorie": {"moderation"}})
	if resp.StatusCode != http.StatusGone || doc.Find(`a[href="/compte#notifications"]`).Length() != 1 {
		t.Errorf("dead unsubscribe link: %d, link to the preferences %d", resp.StatusCode, doc.Find(`a[href="/compte#notifications"]`).Length())
	}
}
