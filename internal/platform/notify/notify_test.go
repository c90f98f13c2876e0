package notify_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/postgres/pgtest"
)

// A category of this test, as a domain declares its own.
var news = notify.Declare("test_news")

type fixture struct {
	pool  *pgxpool.Pool
	svc   *notify.Service
	org   int64
	users map[string]int64 // by e-mail
}

func setup(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	queue, err := jobs.InsertOnly(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{pool: pool, svc: notify.New(pool, mail.NewOutbox(queue), i18n.MustLoad(), "https://passerelle.test/"), users: map[string]int64{}}
	ctx := context.Background()
	if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
		VALUES ('007050065', 'Terrassements des Alpes', 'pme', '43.12A', '11', '04', 'member') RETURNING id`).Scan(&f.org); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ email, name, locale string }{{"anne@exemple.fr", "Anne", "fr"}, {"bob@example.com", "Bob", "en"}} {
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role, locale)
			VALUES ($1, $2, $3, 'x', 'member', $4) RETURNING id`, f.org, u.email, u.name, u.locale).Scan(&id); err != nil {
			t.Fatal(err)
		}
		f.users[u.email] = id
	}
	return f
}

type sent struct{ to, subject, body, unsubscribe string }

func (f fixture) sent(t *testing.T) map[string]sent {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT to_addr, subject, body, unsubscribe_url FROM emails`)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sent, error) {
		var m sent
		return m, r.Scan(&m.to, &m.subject, &m.body, &m.unsubscribe)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]sent{}
	for _, m := range list {
		out[m.to] = m
	}
	if _, err := f.pool.Exec(context.Background(), `DELETE FROM emails`); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f fixture) toOrg(t *testing.T, cat notify.Category) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), f.pool, func(tx pgx.Tx) error {
		return f.svc.Organisation(context.Background(), tx, f.org, cat, "offer_published", "Title", "Capteurs connectés", "Reason", "", "URL", "https://passerelle.test/espace/offres")
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Each user gets the mail in their language; optional mails carry an
// unsubscribe link (text and header), essential ones do not.
func TestOrganisationMailsEachUserInTheirLanguage(t *testing.T) {
	f := setup(t)
	f.toOrg(t, news)
	got := f.sent(t)
	anne, bob := got["anne@exemple.fr"], got["bob@example.com"]
	if !strings.Contains(anne.body, "Anne") || !strings.Contains(anne.body, "Capteurs connectés") || !strings.Contains(bob.body, "Bob") {
		t.Fatalf("mails not addressed to each user: %+v", got)
	}
	if anne.subject == bob.subject {
		t.Errorf("both mails in one language: %q", anne.subject)
	}
	for _, m := range []sent{anne, bob} {
		if !strings.HasPrefix(m.unsubscribe, "https://passerelle.test/desabonnement?") || !strings.Contains(m.unsubscribe, "categorie=test_news") ||
			!strings.Contains(m.body, m.unsubscribe) {
			t.Errorf("%s: unsubscribe link %q missing from the mail", m.to, m.unsubscribe)
		}
	}
	if anne.unsubscribe == bob.unsubscribe {
		t.Error("two users share an unsubscribe link")
	}
	f.toOrg(t, notify.Account)
	for _, m := range f.sent(t) {
		if m.unsubscribe != "" || strings.Contains(m.body, "desabonnement") {
			t.Errorf("essential mail to %s can be turned off: %q", m.to, m.unsubscribe)
		}
	}
}

// A user who turns a category off (by the link or on the account page)
// stops getting it, and only it; essential mails cannot be turned off.
func TestOptOut(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.toOrg(t, news)
	link := f.sent(t)["anne@exemple.fr"].unsubscribe
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("jeton")
	if err := f.svc.Unsubscribe(ctx, token, news.Name); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Unsubscribe(ctx, token, news.Name); err != nil {
		t.Errorf("a second click: %v", err)
	}
	f.toOrg(t, news)
	if got := f.sent(t); len(got) != 1 || got["bob@example.com"].to == "" {
		t.Errorf("after Anne unsubscribed, sent to %v", got)
	}
	f.toOrg(t, notify.Account)
	if got := f.sent(t); len(got) != 2 {
		t.Errorf("essential mail reached %d users, want 2", len(got))
	}
	prefs, err := f.svc.Preferences(ctx, f.users["anne@exemple.fr"])
	if err != nil || prefs[news.Name] {
		t.Errorf("preferences after unsubscribing: %v %v", prefs, err)
	}
	// Back on from the account page.
	if err := f.svc.SetPreferences(ctx, f.users["anne@exemple.fr"], []string{news.Name}); err != nil {
		t.Fatal(err)
	}
	f.toOrg(t, news)
	if got := f.sent(t); len(got) != 2 {
		t.Errorf("after turning it back on: %d mails", len(got))
	}

	for name, err := range map[string]error{
		"essential category by link":     f.svc.Unsubscribe(ctx, token, notify.Security.Name),
		"account category by link":       f.svc.Unsubscribe(ctx, token, notify.Account.Name),
		"essential category on the page": f.svc.SetPreferences(ctx, f.users["anne@exemple.fr"], []string{notify.Security.Name}),
	} {
		if !errors.Is(err, notify.ErrUnknown) {
			t.Errorf("%s: %v, want ErrUnknown", name, err)
		}
	}
	if err := f.svc.Unsubscribe(ctx, "not-a-token", news.Name); !errors.Is(err, notify.ErrTokenInvalid) {
		t.Errorf("made-up token: %v", err)
	}
	if _, err := f.svc.Preferences(ctx, 0); !errors.Is(err, notify.ErrForbidden) {
		t.Errorf("a visitor's preferences: %v", err)
	}
}
