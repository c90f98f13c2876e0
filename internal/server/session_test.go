package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"passerelle/internal/demo"
	"passerelle/internal/server/servertest"
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
