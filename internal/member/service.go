package member

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/once"
	"passerelle/internal/platform/validate"
	"passerelle/internal/taxonomy"
)

// Service holds the members' rules.
type Service struct {
	db      *pgxpool.Pool
	tax     *taxonomy.Taxonomy
	notify  *notify.Service
	baseURL string
	// hashSlots bounds concurrent argon2 work (SetHashSlots).
	hashSlots chan struct{}

	// Index, when set, recomputes an organisation's search entry (facets,
	// searchable text) inside the transaction that admits it, so a new
	// member is found by its facets from its first minute.
	Index func(ctx context.Context, tx pgx.Tx, orgID int64) error

	// RevealSecrets lets staff read the links of password-reset and
	// invitation mails on the mailbox page: development only, since those
	// links let whoever holds them into an account.
	RevealSecrets bool
}

// NewService builds the service; it mails people through n.
func NewService(db *pgxpool.Pool, tax *taxonomy.Taxonomy, n *notify.Service) *Service {
	return &Service{db: db, tax: tax, notify: n, baseURL: n.BaseURL(), hashSlots: make(chan struct{}, DefaultHashSlots)}
}

// hashParams follow OWASP's argon2id recommendation (19 MiB, 2 passes).
var hashParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// HashPassword hashes a password with argon2id.
func HashPassword(pw string) (string, error) {
	h, err := argon2id.CreateHash(pw, hashParams)
	if err != nil {
		return "", fmt.Errorf("member: hash password: %w", err)
	}
	return h, nil
}

// dummyHash is compared when no user matches, so a sign-in takes as long
// whether the e-mail exists or not.
var dummyHash, _ = HashPassword("passerelle-dummy-password")

// Application is what a visitor submits to join.
type Application struct {
	SIREN         string
	LegalName     string
	Kind          string
	NAFCode       string
	HeadcountBand string
	Departement   string
	Website       string
	Description   string
	Name          string
	Email         string
	Password      string
	Locale        string
}

// Normalize cleans what people type (spaces in a SIREN, case of an e-mail).
func (a *Application) Normalize() {
	a.SIREN = taxonomy.NormalizeID(a.SIREN)
	a.LegalName = validate.Line(a.LegalName)
	a.NAFCode = strings.ToUpper(validate.Clean(a.NAFCode))
	a.Departement = strings.ToUpper(validate.Clean(a.Departement))
	a.Website = validate.Clean(a.Website)
	a.Description = validate.Clean(a.Description)
	a.Name = validate.Line(a.Name)
	a.Email = validate.NormEmail(a.Email)
}

// Validate returns the field errors of an application (catalogue ids).
func (a Application) Validate(tax *taxonomy.Taxonomy) validate.Errors {
	e := validate.Errors{}
	switch {
	case a.SIREN == "":
		e.Add("siren", "form.required")
	case len(a.SIREN) != 9 || strings.Trim(a.SIREN, "0123456789") != "":
		e.Add("siren", "member.siren_format")
	case !taxonomy.ValidSIREN(a.SIREN):
		e.Add("siren", "member.siren_checksum")
	}
	e.Required("legal_name", a.LegalName, 200)
	kindOK := false
	for _, k := range ApplicantKinds {
		kindOK = kindOK || string(k) == a.Kind
	}
	if !kindOK {
		e.Add("kind", "form.choose")
	}
	if n, ok := tax.NAF(a.NAFCode); !ok || n.Level != "sous_classe" {
		e.Add("naf_code", "form.choose")
	}
	if _, ok := tax.HeadcountBand(a.HeadcountBand); !ok {
		e.Add("headcount_band", "form.choose")
	}
	if _, ok := tax.Departement(a.Departement); !ok {
		e.Add("departement", "form.choose")
	}
	e.URL("website", a.Website)
	e.MaxLen("description", a.Description, 2000)
	e.Required("name", a.Name, 120)
	e.Email("email", a.Email)
	e.Password("password", a.Password)
	return e
}

// Apply records an application and its first user, who waits for staff.
func (s *Service) Apply(ctx context.Context, a Application) (int64, error) {
	a.Normalize()
	if errs := a.Validate(s.tax); errs.Any() {
		return 0, &ValidationError{Fields: errs}
	}
	if a.Locale != "en" {
		a.Locale = "fr"
	}
	hash, err := s.hash(ctx, a.Password)
	if err != nil {
		return 0, err
	}
	var orgID int64
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		orgID, err = once.Do(ctx, tx, "application", func() (int64, error) {
			var orgID, userID int64
			err := tx.QueryRow(ctx, `INSERT INTO organisations
				(siren, legal_name, kind, naf_code, headcount_band, departement, website, description)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
				a.SIREN, a.LegalName, a.Kind, a.NAFCode, a.HeadcountBand, a.Departement, a.Website, a.Description).Scan(&orgID)
			if err != nil {
				return 0, err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role, locale)
				VALUES ($1, $2, $3, $4, 'owner', $5) RETURNING id`, orgID, a.Email, a.Name, hash, a.Locale).Scan(&userID); err != nil {
				return 0, err
			}
			if err := audit.Record(ctx, tx, Actor{UserID: userID, Name: a.Name}.AuditEntry(ActionApplicationSubmitted, orgID, a.LegalName, "")); err != nil {
				return 0, err
			}
			return orgID, s.notify.Send(ctx, tx, notify.Recipient{Email: a.Email, Name: a.Name, Locale: a.Locale}, notify.Account,
				"application_received", "Org", a.LegalName)
		})
		return err
	})
	if err != nil {
		return 0, uniqueErr(err)
	}
	return orgID, nil
}

// uniqueErr turns unique violations into named errors.
func uniqueErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		switch pgErr.ConstraintName {
		case "organisations_siren_live":
			return ErrSIRENTaken
		case "users_email":
			return ErrEmailTaken
		}
	}
	return fmt.Errorf("member: %w", err)
}

// Decision is a staff decision on an organisation.
type Decision string

// Staff decisions and the status each leads to from the status it needs.
const (
	Approve   Decision = "approve"
	Reject    Decision = "reject"
	Suspend   Decision = "suspend"
	Reinstate Decision = "reinstate"
)

var decisions = map[Decision]struct {
	from, to    Status
	needsReason bool
	action      audit.Action
	mail        string
}{
	Approve:   {StatusApplied, StatusMember, false, ActionApplicationApproved, "application_approved"},
	Reject:    {StatusApplied, StatusRejected, true, ActionApplicationRejected, "application_rejected"},
	Suspend:   {StatusMember, StatusSuspended, true, ActionSuspended, "organisation_suspended"},
	Reinstate: {StatusSuspended, StatusMember, true, ActionReinstated, "organisation_reinstated"},
}

// MailKinds lists the kinds of mail members' lives send ("mail.<kind>.subject"
// and ".body" in the catalogue).
func MailKinds() []string {
	kinds := []string{"application_received", "password_reset", "invitation"}
	for _, d := range []Decision{Approve, Reject, Suspend, Reinstate} {
		kinds = append(kinds, decisions[d].mail)
	}
	return kinds
}

// Decide applies a staff decision, writes its audit entry and tells the
// organisation's users by e-mail, all in one transaction.
func (s *Service) Decide(ctx context.Context, actor Actor, orgID int64, d Decision, reason string) error {
	if !actor.IsStaff() {
		return ErrForbidden
	}
	rule, ok := decisions[d]
	if !ok {
		return fmt.Errorf("member: unknown decision %q", d)
	}
	reason = validate.Clean(reason)
	errs := validate.Errors{}
	if rule.needsReason {
		errs.Required("reason", reason, 1000)
	} else {
		errs.MaxLen("reason", reason, 1000)
	}
	if errs.Any() {
		return &ValidationError{Fields: errs}
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var name string
		var kind Kind
		err := tx.QueryRow(ctx, `UPDATE organisations SET status = $3, status_reason = $4, decided_at = now()
			WHERE id = $1 AND status = $2 AND kind <> 'association' RETURNING legal_name, kind`,
			orgID, rule.from, rule.to, reason).Scan(&name, &kind)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1)`, orgID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return ErrNotFound
			}
			return ErrInvalidState
		}
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, actor.AuditEntry(rule.action, orgID, name, reason)); err != nil {
			return err
		}
		if s.Index != nil {
			if err := s.Index(ctx, tx, orgID); err != nil {
				return err
			}
		}
		return s.notify.Organisation(ctx, tx, orgID, notify.Account, rule.mail, "Org", name, "Reason", reason,
			"URL", s.baseURL+"/connexion")
	})
}

// newToken returns a random secret for a link and the hash stored for it.
func newToken() (secret string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashToken(secret)
}

func hashToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// The audit actions of members' lives.
var (
	ActionApplicationSubmitted = audit.Declare("application.submitted")
	ActionApplicationApproved  = audit.Declare("application.approved")
	ActionApplicationRejected  = audit.Declare("application.rejected")
	ActionSuspended            = audit.Declare("organisation.suspended")
	ActionReinstated           = audit.Declare("organisation.reinstated")
	ActionClosed               = audit.Declare("organisation.closed")
	ActionInvitationSent       = audit.Declare("invitation.sent")
	ActionInvitationAccepted   = audit.Declare("invitation.accepted")
	ActionPasswordReset        = audit.Declare("password.reset")
	ActionAccountDeleted       = audit.Declare("account.deleted")
)

// AuditEntry is what the audit log records of an action by actor.
func (a Actor) AuditEntry(action audit.Action, orgID int64, target, reason string) audit.Entry {
	return audit.Entry{ActorID: a.UserID, ActorName: a.Name, Action: action, OrgID: orgID, Target: target, Reason: reason}
}
