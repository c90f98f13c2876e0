package member

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/validate"
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

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID          int64
	At          time.Time
	ActorLabel  string // empty once the actor's account is deleted
	Action      string
	OrgID       *int64
	TargetLabel string
	Reason      string
}

// AuditFilter narrows the audit log.
type AuditFilter struct {
	Action string // exact action, or a prefix ending in "." ("application.")
	Query  string // part of the actor or target label
	Page   int
}

// AuditActions are the actions the audit log can be filtered by.
var AuditActions = []string{
	"application.submitted", "application.approved", "application.rejected",
	"organisation.suspended", "organisation.reinstated", "organisation.closed",
	"invitation.sent", "invitation.accepted", "password.reset", "account.deleted",
	"offer.approved", "offer.sent_back",
}

// Audit lists audit entries for staff, newest first.
func (s *Service) Audit(ctx context.Context, actor Actor, f AuditFilter) ([]AuditEntry, int, error) {
	if !actor.IsStaff() {
		return nil, 0, ErrForbidden
	}
	if f.Page < 1 {
		f.Page = 1
	}
	q := validate.Clean(f.Query)
	rows, err := s.db.Query(ctx, `SELECT id, at, actor_label, action, organisation_id, target_label, reason, count(*) OVER ()
		FROM audit_entries
		WHERE ($1 = '' OR action = $1)
		  AND ($2 = '' OR actor_label ILIKE '%' || $2 || '%' OR target_label ILIKE '%' || $2 || '%')
		ORDER BY at DESC, id DESC LIMIT $3 OFFSET $4`, f.Action, q, PageSize, (f.Page-1)*PageSize)
	if err != nil {
		return nil, 0, fmt.Errorf("member: audit: %w", err)
	}
	total := 0
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.ActorLabel, &e.Action, &e.OrgID, &e.TargetLabel, &e.Reason, &total)
		return e, err
	})
	return list, total, err
}

// Email is one message of the outbox.
type Email struct {
	ID        int64
	To        string
	Subject   string
	Body      string
	Kind      string
	CreatedAt time.Time
	SentAt    *time.Time
	Attempts  int
	LastError string
	Hidden    bool `db:"-"` // the body holds a secret link and is not shown
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
		return e, err
	})
	return list, total, err
}

// secretKinds are the mails whose text holds a link that opens an account.
var secretKinds = map[string]bool{"password_reset": true, "invitation": true}

// Export gathers every piece of data about the actor, as JSON.
func (s *Service) Export(ctx context.Context, actor Actor) ([]byte, error) {
	if !actor.SignedIn() {
		return nil, ErrForbidden
	}
	type export struct {
		GeneratedAt  time.Time    `json:"generated_at"`
		User         User         `json:"user"`
		Organisation Organisation `json:"organisation"`
		AuditEntries []AuditEntry `json:"audit_entries_by_you"`
		Emails       []Email      `json:"emails_sent_to_you"`
	}
	var out export
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
	rows, err := s.db.Query(ctx, `SELECT id, at, actor_label, action, organisation_id, target_label, reason
		FROM audit_entries WHERE actor_id = $1 ORDER BY at`, actor.UserID)
	if err != nil {
		return nil, fmt.Errorf("member: export: %w", err)
	}
	if out.AuditEntries, err = pgx.CollectRows(rows, pgx.RowToStructByPos[AuditEntry]); err != nil {
		return nil, err
	}
	rows, err = s.db.Query(ctx, `SELECT id, to_addr, subject, body, kind, created_at, sent_at, attempts, last_error
		FROM emails WHERE to_addr = $1 ORDER BY created_at`, actor.Email)
	if err != nil {
		return nil, fmt.Errorf("member: export: %w", err)
	}
	if out.Emails, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Email]); err != nil {
		return nil, err
	}
	return json.MarshalIndent(out, "", "  ")
}

// DeleteAccount erases the actor's user and the mails sent to them. The
// audit log keeps an entry without personal data. The last owner of an
// organisation with other users must close it or hand it over first.
func (s *Service) DeleteAccount(ctx context.Context, actor Actor) error {
	if !actor.SignedIn() {
		return ErrForbidden
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if actor.IsOwner() {
			var owners, others int
			if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE role = 'owner'), count(*) FILTER (WHERE role <> 'owner')
				FROM users WHERE organisation_id = $1`, actor.OrgID).Scan(&owners, &others); err != nil {
				return err
			}
			if owners == 1 && others > 0 {
				return ErrLastOwner
			}
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
		return audit(ctx, tx, Actor{}, "account.deleted", actor.OrgID, "", "")
	})
}

// CloseOrganisation ends the membership of the owner's organisation and
// erases all its users.
func (s *Service) CloseOrganisation(ctx context.Context, actor Actor) error {
	if !actor.IsOwner() {
		return ErrForbidden
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE organisations SET status = 'left', decided_at = now() WHERE id = $1`, actor.OrgID); err != nil {
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
		return audit(ctx, tx, Actor{}, "organisation.closed",
			actor.OrgID, actor.OrgName, "")
	})
}

func erase(ctx context.Context, tx pgx.Tx, userID int64, email string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM emails WHERE to_addr = $1`, email); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM one_time_tokens WHERE email = $1 OR user_id = $2`, email, userID); err != nil {
		return err
	}
	// The audit log keeps what happened, not who it was.
	if _, err := tx.Exec(ctx, `UPDATE audit_entries SET actor_label = '' WHERE actor_id = $1`, userID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE audit_entries SET target_label = '' WHERE target_label = (SELECT name FROM users WHERE id = $1)`, userID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, userID)
	return err
}
