package member

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/validate"
)

// PageSize is the number of rows on one page of a staff list.
const PageSize = 50

// Applicant is an organisation waiting for staff, with its first user.
type Applicant struct {
	Organisation
	OwnerName  string
	OwnerEmail string
}

// Applications lists the organisations waiting for a decision, oldest
// first, a page at a time, with the total count.
func (s *Service) Applications(ctx context.Context, actor Actor, page int) ([]Applicant, int, error) {
	if !actor.IsStaff() {
		return nil, 0, ErrForbidden
	}
	if page < 1 {
		page = 1
	}
	rows, err := s.db.Query(ctx, `SELECT `+orgColumns+`, u.name, u.email, count(*) OVER ()
		FROM organisations o
		JOIN LATERAL (SELECT name, email FROM users WHERE organisation_id = o.id AND role = 'owner' ORDER BY id LIMIT 1) u ON true
		WHERE o.status = 'applied' ORDER BY o.created_at, o.id LIMIT $1 OFFSET $2`, PageSize, (page-1)*PageSize)
	if err != nil {
		return nil, 0, fmt.Errorf("member: applications: %w", err)
	}
	total := 0
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Applicant, error) {
		var a Applicant
		err := r.Scan(append(orgDest(&a.Organisation), &a.OwnerName, &a.OwnerEmail, &total)...)
		return a, err
	})
	return list, total, err
}

const orgColumns = `o.id, o.siren, o.legal_name, o.kind, o.naf_code, o.headcount_band, o.departement,
	o.website, o.description, o.status, o.status_reason, o.created_at, o.decided_at`

func orgDest(o *Organisation) []any {
	return []any{&o.ID, &o.SIREN, &o.LegalName, &o.Kind, &o.NAFCode, &o.HeadcountBand, &o.Departement,
		&o.Website, &o.Description, &o.Status, &o.StatusReason, &o.CreatedAt, &o.DecidedAt}
}

// MemberFilter narrows the staff list of organisations.
type MemberFilter struct {
	Status Status // empty: member and suspended
	Query  string // part of the name or the SIREN
	Page   int    // from 1
}

// Organisations lists organisations for staff, by name, a page at a time,
// with the total count.
func (s *Service) Organisations(ctx context.Context, actor Actor, f MemberFilter) ([]Organisation, int, error) {
	if !actor.IsStaff() {
		return nil, 0, ErrForbidden
	}
	if f.Page < 1 {
		f.Page = 1
	}
	statuses := []string{string(StatusMember), string(StatusSuspended)}
	if f.Status != "" {
		statuses = []string{string(f.Status)}
	}
	q := validate.Clean(f.Query)
	rows, err := s.db.Query(ctx, `SELECT `+orgColumns+`, count(*) OVER ()
		FROM organisations o
		WHERE o.status = ANY($1) AND o.kind <> 'association'
		  AND ($2 = '' OR o.legal_name ILIKE '%' || $2 || '%' OR o.siren = $2)
		ORDER BY o.legal_name, o.id LIMIT $3 OFFSET $4`,
		statuses, q, PageSize, (f.Page-1)*PageSize)
	if err != nil {
		return nil, 0, fmt.Errorf("member: organisations: %w", err)
	}
	total := 0
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Organisation, error) {
		var o Organisation
		err := r.Scan(append(orgDest(&o), &total)...)
		return o, err
	})
	return list, total, err
}

// Organisation returns one organisation: staff see any, users their own.
func (s *Service) Organisation(ctx context.Context, actor Actor, id int64) (Organisation, error) {
	if !actor.IsStaff() && actor.OrgID != id {
		return Organisation{}, ErrForbidden
	}
	var o Organisation
	err := s.db.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisations o WHERE o.id = $1`, id).Scan(orgDest(&o)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return Organisation{}, ErrNotFound
	}
	if err != nil {
		return Organisation{}, fmt.Errorf("member: organisation %d: %w", id, err)
	}
	return o, nil
}

// Users lists the users of an organisation: staff see any, users their own.
func (s *Service) Users(ctx context.Context, actor Actor, orgID int64) ([]User, error) {
	if !actor.IsStaff() && actor.OrgID != orgID {
		return nil, ErrForbidden
	}
	rows, err := s.db.Query(ctx, `SELECT id, organisation_id, email, name, role, locale, created_at, last_sign_in_at
		FROM users WHERE organisation_id = $1 ORDER BY role, name`, orgID)
	if err != nil {
		return nil, fmt.Errorf("member: users: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[User])
}

// afterLastOwnerCheck lets the race test widen the window between the check
// and the deletion; it does nothing otherwise.
var afterLastOwnerCheck = func() {}

// Invitation is an invitation waiting to be accepted.
type Invitation struct {
	ID        int64
	Email     string
	Role      Role
	InvitedBy string // the inviter's name; empty when unknown
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ActionInvitationRevoked records an invitation taken back.
var ActionInvitationRevoked = audit.Declare("invitation.revoked")

// mayInvite reports whether the actor manages the invitations of its
// organisation: owners of a member, admins of the association.
func mayInvite(actor Actor) bool { return actor.IsOwner() || actor.IsAdmin() }

// Invitations lists the pending invitations of the actor's organisation.
func (s *Service) Invitations(ctx context.Context, actor Actor) ([]Invitation, error) {
	if !mayInvite(actor) {
		return nil, ErrForbidden
	}
	rows, err := s.db.Query(ctx, `SELECT t.id, t.email, t.role, coalesce(u.name, ''), t.created_at, t.expires_at
		FROM one_time_tokens t LEFT JOIN users u ON u.id = t.created_by
		WHERE t.organisation_id = $1 AND t.purpose = 'invitation' AND t.used_at IS NULL AND t.expires_at > now()
		ORDER BY t.created_at, t.id`, actor.OrgID)
	if err != nil {
		return nil, fmt.Errorf("member: invitations: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Invitation])
}

// RevokeInvitation takes back a pending invitation of the actor's
// organisation: its link stops working at once.
func (s *Service) RevokeInvitation(ctx context.Context, actor Actor, id int64) error {
	if !mayInvite(actor) {
		return ErrForbidden
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var email string
		err := tx.QueryRow(ctx, `DELETE FROM one_time_tokens
			WHERE id = $1 AND organisation_id = $2 AND purpose = 'invitation' AND used_at IS NULL RETURNING email`, id, actor.OrgID).Scan(&email)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("member: revoke invitation %d: %w", id, err)
		}
		return audit.Record(ctx, tx, actor.AuditEntry(ActionInvitationRevoked, actor.OrgID, actor.OrgName, ""))
	})
}

// Email is one message of the outbox.
type Email struct {
	ID        int64      `json:"id"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Body      string     `json:"body"`
	Kind      string     `json:"kind"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error"`
	Hidden    bool       `db:"-" json:"-"` // the body holds a secret link and is not shown
}

// Mailbox lists the outbox for staff, newest first (development mailbox).
func (s *Service) Mailbox(ctx context.Context, actor Actor, page int) ([]Email, int, error) {
	if !actor.IsStaff() {
		return nil, 0, ErrForbidden
	}
	if page < 1 {
		page = 1
	}
	rows, err := s.db.Query(ctx, `SELECT id, to_addr, subject, body, kind, created_at, sent_at, attempts, last_error, count(*) OVER ()
		FROM emails ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`, PageSize, (page-1)*PageSize)
	if err != nil {
		return nil, 0, fmt.Errorf("member: mailbox: %w", err)
	}
	total := 0
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Email, error) {
		var e Email
		err := r.Scan(&e.ID, &e.To, &e.Subject, &e.Body, &e.Kind, &e.CreatedAt, &e.SentAt, &e.Attempts, &e.LastError, &total)
		if secretKinds[e.Kind] && !s.RevealSecrets {
			e.Body, e.Hidden = "", true
		}
		if !s.RevealSecrets {
			// An unsubscribe link is the recipient's to use, not staff's.
			e.Body = mail.Redact(e.Body)
		}
		return e, err
	})
	return list, total, err
}

// Backlog is the mail not delivered yet, for staff.
type Backlog struct {
	Unsent, Failing int
	Oldest          *time.Time
}

// MailBacklog says how much mail waits for delivery, and since when.
func (s *Service) MailBacklog(ctx context.Context, actor Actor) (Backlog, error) {
	if !actor.IsStaff() {
		return Backlog{}, ErrForbidden
	}
	var b Backlog
	err := s.db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE last_error <> ''), min(created_at)
		FROM emails WHERE sent_at IS NULL`).Scan(&b.Unsent, &b.Failing, &b.Oldest)
	if err != nil {
		return Backlog{}, fmt.Errorf("member: mail backlog: %w", err)
	}
	return b, nil
}

// secretKinds are the mails whose text holds a link that opens an account.
var secretKinds = map[string]bool{"password_reset": true, "invitation": true}

// Export is the personal-data export (RGPD, article 20): every key is
// snake_case, dates are RFC 3339, absent values are null.
//
//	generated_at          when the export was made
//	user                  id, organisation_id, email, name, role, locale, created_at, last_sign_in_at
//	organisation          id, siren, legal_name, kind, naf_code, headcount_band, departement,
//	                      website, description, status, status_reason, created_at, decided_at
//	audit_entries_by_you  [id, at, actor, action, organisation_id, target, reason]
//	emails_sent_to_you    [id, to, subject, body, kind, created_at, sent_at, attempts, last_error]
type Export struct {
	GeneratedAt  time.Time    `json:"generated_at"`
	User         User         `json:"user"`
	Organisation Organisation `json:"organisation"`
	AuditEntries []audit.Line `json:"audit_entries_by_you"`
	Emails       []Email      `json:"emails_sent_to_you"`
}

// Export gathers every piece of data about the actor, as JSON (see Export).
func (s *Service) Export(ctx context.Context, actor Actor) ([]byte, error) {
	if !actor.SignedIn() {
		return nil, ErrForbidden
	}
	var out Export
	out.GeneratedAt = time.Now().UTC()
	err := s.db.QueryRow(ctx, `SELECT id, organisation_id, email, name, role, locale, created_at, last_sign_in_at
		FROM users WHERE id = $1`, actor.UserID).Scan(&out.User.ID, &out.User.OrganisationID, &out.User.Email,
		&out.User.Name, &out.User.Role, &out.User.Locale, &out.User.CreatedAt, &out.User.LastSignInAt)
	if err != nil {
		return nil, fmt.Errorf("member: export: %w", err)
	}
	if out.Organisation, err = s.Organisation(ctx, actor, actor.OrgID); err != nil {
		return nil, err
	}
	if out.AuditEntries, err = audit.ByActor(ctx, s.db, actor.UserID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, to_addr, subject, body, kind, created_at, sent_at, attempts, last_error
		FROM emails WHERE to_addr = $1 ORDER BY created_at`, actor.Email)
	if err != nil {
		return nil, fmt.Errorf("member: export: %w", err)
	}
	if out.Emails, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Email]); err != nil {
		return nil, err
	}
	return json.MarshalIndent(out, "", "  ")
}

// DeleteAccount erases the actor's user and the mails sent to them, once
// the actor has given their password again. The
// audit log keeps an entry without personal data. The last owner of an
// organisation with other users must close it or hand it over first.
func (s *Service) DeleteAccount(ctx context.Context, actor Actor, password string) error {
	if !actor.SignedIn() {
		return ErrForbidden
	}
	if err := s.VerifyPassword(ctx, actor, password); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// One leaver at a time per organisation: two owners (or two
		// admins) leaving at once cannot both be "not the last".
		if _, err := tx.Exec(ctx, `SELECT 1 FROM organisations WHERE id = $1 FOR NO KEY UPDATE`, actor.OrgID); err != nil {
			return err
		}
		if actor.IsAdmin() {
			var admins int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE organisation_id = $1 AND role = 'admin'`, actor.OrgID).Scan(&admins); err != nil {
				return err
			}
			if admins == 1 {
				return ErrLastAdmin
			}
		}
		if actor.IsOwner() {
			var owners, others int
			if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE role = 'owner'), count(*) FILTER (WHERE role <> 'owner')
				FROM users WHERE organisation_id = $1`, actor.OrgID).Scan(&owners, &others); err != nil {
				return err
			}
			if owners == 1 && others > 0 {
				return ErrLastOwner
			}
			afterLastOwnerCheck()
			if owners == 1 {
				// The last user leaves: the organisation leaves with them.
				if _, err := tx.Exec(ctx, `UPDATE organisations SET status = 'left', decided_at = now() WHERE id = $1`, actor.OrgID); err != nil {
					return err
				}
			}
		}
		if err := erase(ctx, tx, actor.UserID, actor.Email); err != nil {
			return err
		}
		return audit.Record(ctx, tx, Actor{}.AuditEntry(ActionAccountDeleted, actor.OrgID, "", ""))
	})
}

// CloseOrganisation ends the membership of the owner's organisation and
// erases all its users.
func (s *Service) CloseOrganisation(ctx context.Context, actor Actor, password string) error {
	if !actor.IsOwner() {
		return ErrForbidden
	}
	if err := s.VerifyPassword(ctx, actor, password); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE organisations SET status = 'left', decided_at = now() WHERE id = $1`, actor.OrgID); err != nil {
			return err
		}
		// Its pending invitations die with it.
		if _, err := tx.Exec(ctx, `DELETE FROM one_time_tokens WHERE organisation_id = $1 AND purpose = 'invitation'`, actor.OrgID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, email FROM users WHERE organisation_id = $1`, actor.OrgID)
		if err != nil {
			return err
		}
		type u struct {
			id    int64
			email string
		}
		users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (u, error) {
			var x u
			return x, r.Scan(&x.id, &x.email)
		})
		if err != nil {
			return err
		}
		for _, x := range users {
			if err := erase(ctx, tx, x.id, x.email); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, Actor{}.AuditEntry(ActionClosed, actor.OrgID, actor.OrgName, ""))
	})
}

func erase(ctx context.Context, tx pgx.Tx, userID int64, email string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM emails WHERE to_addr = $1`, email); err != nil {
		return err
	}
	// Its links, and the invitations it sent (also removed by the foreign key).
	if _, err := tx.Exec(ctx, `DELETE FROM one_time_tokens WHERE email = $1 OR user_id = $2 OR created_by = $2`, email, userID); err != nil {
		return err
	}
	// The audit log keeps what happened, not who it was.
	if err := audit.Forget(ctx, tx, userID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, userID)
	return err
}
