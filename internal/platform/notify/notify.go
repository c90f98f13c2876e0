// Package notify is the one place that e-mails people: it writes each
// message in its recipient's language, honours each user's choice of
// categories, and gives every mail that can be turned off a one-click
// unsubscribe link (in the text and as List-Unsubscribe). Security and
// account mails (password reset, invitation, membership decisions) are
// essential and always sent. Each domain declares the categories of the
// mails it sends (Declare) and sends through a Service inside its own
// transaction, so a mail exists if and only if its change was committed.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/registry"
)

// Category groups the mails a user may turn off together.
type Category struct {
	Name      string // "moderation": shown as "notify.category.<name>"
	Essential bool   // always sent, listed nowhere
}

// The essential categories.
var (
	Security = Category{Name: "security", Essential: true} // password reset, invitation
	Account  = Category{Name: "account", Essential: true}  // application received, membership decisions
)

var categories = registry.New[Category]("mail category")

// Declare registers a category of mails users may turn off; call it once,
// from the sending domain's package variables.
func Declare(name string) Category {
	if name == Security.Name || name == Account.Name {
		panic(fmt.Sprintf("notify: category %q is reserved", name))
	}
	return categories.Declare(Category{Name: name})
}

// Optional lists the categories users may turn off, in declaration order.
func Optional() []Category { return categories.All() }

// IsOptional reports whether name is a category users may turn off.
func IsOptional(name string) bool { return categories.Has(Category{Name: name}) }

// Outbox stores a message and enqueues its delivery in the caller's transaction.
type Outbox interface {
	Enqueue(ctx context.Context, tx pgx.Tx, m mail.Message) error
}

// Service sends notifications.
type Service struct {
	db      *pgxpool.Pool
	out     Outbox
	catalog *i18n.Catalog
	baseURL string
}

// New returns the sender; baseURL makes links absolute.
func New(db *pgxpool.Pool, out Outbox, catalog *i18n.Catalog, baseURL string) *Service {
	return &Service{db: db, out: out, catalog: catalog, baseURL: strings.TrimRight(baseURL, "/")}
}

// BaseURL is the absolute URL of the site, for links in mails.
func (s *Service) BaseURL() string { return s.baseURL }

// Recipient is one person a message is written for.
type Recipient struct {
	Email  string
	Name   string
	Locale string
	Token  string // the user's unsubscribe secret; empty for someone without an account
}

// Organisation mails every user of orgID who has not turned cat off, each
// in their language: "mail.<kind>.subject" and ".body", filled with Name
// (the user's) and the kv pairs.
func (s *Service) Organisation(ctx context.Context, tx pgx.Tx, orgID int64, cat Category, kind string, kv ...any) error {
	rows, err := tx.Query(ctx, `SELECT u.email, u.name, u.locale, u.mail_token FROM users u
		WHERE u.organisation_id = $1
		  AND NOT EXISTS (SELECT 1 FROM notification_optouts n WHERE n.user_id = u.id AND n.category = $2)
		ORDER BY u.id`, orgID, cat.Name)
	if err != nil {
		return fmt.Errorf("notify: recipients of %d: %w", orgID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recipient, error) {
		var x Recipient
		return x, r.Scan(&x.Email, &x.Name, &x.Locale, &x.Token)
	})
	if err != nil {
		return fmt.Errorf("notify: recipients of %d: %w", orgID, err)
	}
	for _, r := range list {
		if err := s.Send(ctx, tx, r, cat, kind, kv...); err != nil {
			return err
		}
	}
	return nil
}

// Send writes one message for r inside tx. A mail of an optional category
// needs the recipient's token, for its unsubscribe link.
func (s *Service) Send(ctx context.Context, tx pgx.Tx, r Recipient, cat Category, kind string, kv ...any) error {
	l := s.catalog.Localizer(r.Locale)
	m := mail.Message{To: r.Email, Kind: kind,
		Subject: l.T("mail."+kind+".subject", kv...),
		Body:    l.T("mail."+kind+".body", append([]any{"Name", r.Name}, kv...)...),
	}
	if !cat.Essential {
		if r.Token == "" {
			return fmt.Errorf("notify: %s mail to %s without an unsubscribe token", cat.Name, r.Email)
		}
		m.Unsubscribe = s.baseURL + "/desabonnement?" + url.Values{"jeton": {r.Token}, "categorie": {cat.Name}}.Encode()
		m.Body += "\n\n-- \n" + l.T("mail.footer.unsubscribe", "Category", l.T("notify.category."+cat.Name), "URL", m.Unsubscribe) +
			"\n" + l.T("mail.footer.preferences", "URL", s.baseURL+"/compte#notifications")
	}
	return s.out.Enqueue(ctx, tx, m)
}

// Named errors.
var (
	ErrForbidden    = errors.New("notify: forbidden")
	ErrUnknown      = errors.New("notify: not a category one can turn off")
	ErrTokenInvalid = errors.New("notify: unsubscribe link invalid")
)

// Preferences says, for every optional category, whether the user gets it.
func (s *Service) Preferences(ctx context.Context, userID int64) (map[string]bool, error) {
	if userID == 0 {
		return nil, ErrForbidden
	}
	rows, err := s.db.Query(ctx, `SELECT category FROM notification_optouts WHERE user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("notify: preferences: %w", err)
	}
	off, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("notify: preferences: %w", err)
	}
	out := map[string]bool{}
	for _, c := range Optional() {
		out[c.Name] = !slices.Contains(off, c.Name)
	}
	return out, nil
}

// SetPreferences records which optional categories the user gets; the
// ones not in on are turned off. Unknown names are refused.
func (s *Service) SetPreferences(ctx context.Context, userID int64, on []string) error {
	if userID == 0 {
		return ErrForbidden
	}
	for _, name := range on {
		if !IsOptional(name) {
			return ErrUnknown
		}
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		for _, c := range Optional() {
			var err error
			if slices.Contains(on, c.Name) {
				_, err = tx.Exec(ctx, `DELETE FROM notification_optouts WHERE user_id = $1 AND category = $2`, userID, c.Name)
			} else {
				_, err = tx.Exec(ctx, `INSERT INTO notification_optouts (user_id, category) VALUES ($1, $2) ON CONFLICT DO NOTHING`, userID, c.Name)
			}
			if err != nil {
				return fmt.Errorf("notify: set preferences: %w", err)
			}
		}
		return nil
	})
}

// Unsubscribe turns a category off for the user whose link it is.
func (s *Service) Unsubscribe(ctx context.Context, token, category string) error {
	if !IsOptional(category) {
		return ErrUnknown
	}
	if token == "" || len(token) > 100 {
		return ErrTokenInvalid
	}
	tag, err := s.db.Exec(ctx, `INSERT INTO notification_optouts (user_id, category)
		SELECT id, $2 FROM users WHERE mail_token = $1 ON CONFLICT DO NOTHING`, token, category)
	if err != nil {
		return fmt.Errorf("notify: unsubscribe: %w", err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE mail_token = $1)`, token).Scan(&exists); err != nil {
			return fmt.Errorf("notify: unsubscribe: %w", err)
		}
		if !exists {
			return ErrTokenInvalid
		}
	}
	return nil
}
