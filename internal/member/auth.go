package member

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/validate"
)

// actorSelect reads a user with its organisation's kind and status, and
// the password hash (used only by Authenticate).
const actorSelect = `SELECT u.id, u.organisation_id, o.legal_name, u.name, u.email, u.role, o.kind, u.locale,
	u.session_epoch, o.status, o.status_reason, u.password_hash
	FROM users u JOIN organisations o ON o.id = u.organisation_id`

func scanActor(row pgx.Row) (a Actor, st Status, reason, hash string, err error) {
	err = row.Scan(&a.UserID, &a.OrgID, &a.OrgName, &a.Name, &a.Email, &a.Role, &a.Kind, &a.Locale, &a.SessionEpoch, &st, &reason, &hash)
	return
}

// statusErr says why an organisation's users may not be signed in.
func statusErr(st Status, reason string) error {
	switch st {
	case StatusMember:
		return nil
	case StatusApplied:
		return ErrPending
	case StatusRejected:
		return &RejectedError{Reason: reason}
	case StatusSuspended:
		return ErrSuspended
	}
	return ErrInvalidCredentials
}

// Authenticate checks an e-mail and password and that the organisation is
// a member; it takes the same time whether the e-mail exists or not.
func (s *Service) Authenticate(ctx context.Context, email, password string) (Actor, error) {
	email = validate.NormEmail(email)
	a, st, reason, hash, err := scanActor(s.db.QueryRow(ctx, actorSelect+` WHERE u.email = $1`, email))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.compare(ctx, password, dummyHash); errors.Is(err, ErrBusy) {
			return Actor{}, err
		}
		return Actor{}, ErrInvalidCredentials
	}
	if err != nil {
		return Actor{}, fmt.Errorf("member: authenticate: %w", err)
	}
	ok, err := s.compare(ctx, password, hash)
	if errors.Is(err, ErrBusy) {
		return Actor{}, err
	}
	if err != nil || !ok {
		return Actor{}, ErrInvalidCredentials
	}
	// Only someone who knows the password learns the membership status.
	if err := statusErr(st, reason); err != nil {
		return Actor{}, err
	}
	if _, err := s.db.Exec(ctx, `UPDATE users SET last_sign_in_at = now() WHERE id = $1`, a.UserID); err != nil {
		return Actor{}, fmt.Errorf("member: authenticate: %w", err)
	}
	return a, nil
}

// ActorByID loads the signed-in user of a session. A deleted user is
// ErrNotFound; a user whose organisation is no longer a member gets the
// status error, so suspension takes effect at the next request.
func (s *Service) ActorByID(ctx context.Context, userID int64) (Actor, error) {
	a, st, reason, _, err := scanActor(s.db.QueryRow(ctx, actorSelect+` WHERE u.id = $1`, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Actor{}, ErrNotFound
	}
	if err != nil {
		return Actor{}, fmt.Errorf("member: actor %d: %w", userID, err)
	}
	if err := statusErr(st, reason); err != nil {
		return Actor{}, err
	}
	return a, nil
}

const (
	resetTTL      = time.Hour
	invitationTTL = 7 * 24 * time.Hour
)

// RequestPasswordReset e-mails a single-use link valid one hour. It says
// nothing of whether the address exists.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = validate.NormEmail(email)
	errs := validate.Errors{}
	errs.Email("email", email)
	if errs.Any() {
		return &ValidationError{Fields: errs}
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var userID int64
		var name, locale string
		err := tx.QueryRow(ctx, `SELECT id, name, locale FROM users WHERE email = $1`, email).Scan(&userID, &name, &locale)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		secret, hash := newToken()
		if _, err := tx.Exec(ctx, `INSERT INTO one_time_tokens (hash, purpose, user_id, email, expires_at)
			VALUES ($1, 'password_reset', $2, $3, $4)`, hash, userID, email, time.Now().Add(resetTTL)); err != nil {
			return err
		}
		return s.notify.Send(ctx, tx, notify.Recipient{Email: email, Name: name, Locale: locale}, notify.Security,
			"password_reset", "URL", s.baseURL+"/mot-de-passe/nouveau?jeton="+secret)
	})
}

// CheckToken reports whether a link's secret is still usable for purpose.
func (s *Service) CheckToken(ctx context.Context, purpose, secret string) error {
	var ok bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM one_time_tokens
		WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now())`, hashToken(secret), purpose).Scan(&ok)
	if err != nil {
		return fmt.Errorf("member: check token: %w", err)
	}
	if !ok {
		return ErrTokenInvalid
	}
	return nil
}

// useToken marks a token used, inside tx, and returns its row.
func useToken(ctx context.Context, tx pgx.Tx, purpose, secret string) (userID, orgID *int64, email string, role *Role, err error) {
	err = tx.QueryRow(ctx, `UPDATE one_time_tokens SET used_at = now()
		WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
		RETURNING user_id, organisation_id, email, role`, hashToken(secret), purpose).Scan(&userID, &orgID, &email, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrTokenInvalid
	}
	return
}

// ResetPassword sets a new password through a reset link, once.
func (s *Service) ResetPassword(ctx context.Context, secret, password string) error {
	errs := validate.Errors{}
	errs.Password("password", password)
	if errs.Any() {
		return &ValidationError{Fields: errs}
	}
	// A made-up or used link costs a lookup, not an argon2 hash.
	if err := s.CheckToken(ctx, "password_reset", secret); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		userID, _, _, _, err := useToken(ctx, tx, "password_reset", secret)
		if err != nil {
			return err
		}
		a, err := setPassword(ctx, tx, *userID, hash)
		if err != nil {
			return err
		}
		e := a.AuditEntry(ActionPasswordReset, a.OrgID, a.Name, "")
		e.TargetUserID = a.UserID
		return audit.Record(ctx, tx, e)
	})
}

// Invite e-mails a link to join the actor's organisation (owners), or the
// association's staff (admins, role staff).
func (s *Service) Invite(ctx context.Context, actor Actor, email string) error {
	role := RoleMember
	switch {
	case actor.IsAdmin():
		role = RoleStaff
	case actor.IsOwner():
	default:
		return ErrForbidden
	}
	email = validate.NormEmail(email)
	errs := validate.Errors{}
	errs.Email("email", email)
	if errs.Any() {
		return &ValidationError{Fields: errs}
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)`, email).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return ErrEmailTaken
		}
		secret, hash := newToken()
		if _, err := tx.Exec(ctx, `INSERT INTO one_time_tokens (hash, purpose, organisation_id, email, role, created_by, expires_at)
			VALUES ($1, 'invitation', $2, $3, $4, $5, $6)`, hash, actor.OrgID, email, role, actor.UserID, time.Now().Add(invitationTTL)); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, actor.AuditEntry(ActionInvitationSent, actor.OrgID, actor.OrgName, "")); err != nil {
			return err
		}
		// Written in the inviter's language: the invited person has none yet.
		return s.notify.Send(ctx, tx, notify.Recipient{Email: email, Locale: actor.Locale}, notify.Security,
			"invitation", "Inviter", actor.Name, "Org", actor.OrgName, "URL", s.baseURL+"/invitation?jeton="+secret)
	})
}

// AcceptInvitation creates the invited user, once, and returns it signed in.
func (s *Service) AcceptInvitation(ctx context.Context, secret, name, password, locale string) (Actor, error) {
	name = validate.Line(name)
	errs := validate.Errors{}
	errs.Required("name", name, 120)
	errs.Password("password", password)
	if errs.Any() {
		return Actor{}, &ValidationError{Fields: errs}
	}
	if locale != "en" {
		locale = "fr"
	}
	if err := s.CheckToken(ctx, "invitation", secret); err != nil {
		return Actor{}, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return Actor{}, err
	}
	var userID int64
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		_, orgID, email, role, err := useToken(ctx, tx, "invitation", secret)
		if err != nil {
			return err
		}
		// An invitation to an organisation that left or was suspended is void.
		var live bool
		if err := tx.QueryRow(ctx, `SELECT status = 'member' FROM organisations WHERE id = $1`, *orgID).Scan(&live); err != nil {
			return err
		}
		if !live {
			return ErrTokenInvalid
		}
		if err := tx.QueryRow(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role, locale)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, *orgID, email, name, hash, *role, locale).Scan(&userID); err != nil {
			return err
		}
		e := Actor{UserID: userID, Name: name}.AuditEntry(ActionInvitationAccepted, *orgID, name, "")
		e.TargetUserID = userID
		return audit.Record(ctx, tx, e)
	})
	if err != nil {
		if errors.Is(err, ErrTokenInvalid) {
			return Actor{}, err
		}
		return Actor{}, uniqueErr(err)
	}
	return s.ActorByID(ctx, userID)
}

// ActionPasswordChanged records a password changed by its user, signed in.
var ActionPasswordChanged = audit.Declare("password.changed")

// VerifyPassword checks the signed-in actor's password again, before an
// action that cannot be undone (ErrInvalidCredentials when it is wrong).
func (s *Service) VerifyPassword(ctx context.Context, actor Actor, password string) error {
	if !actor.SignedIn() {
		return ErrForbidden
	}
	var hash string
	if err := s.db.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, actor.UserID).Scan(&hash); err != nil {
		return fmt.Errorf("member: verify password: %w", err)
	}
	ok, err := s.compare(ctx, password, hash)
	if errors.Is(err, ErrBusy) {
		return err
	}
	if err != nil || !ok {
		return ErrInvalidCredentials
	}
	return nil
}

// ChangePassword sets a new password for the signed-in actor, who gives the
// current one, and ends every other session: it returns the new session
// epoch, which the current session takes.
func (s *Service) ChangePassword(ctx context.Context, actor Actor, current, password string) (int, error) {
	errs := validate.Errors{}
	errs.Password("new_password", password)
	if current == "" {
		errs.Add("current_password", "form.required")
	}
	if errs.Any() {
		return 0, &ValidationError{Fields: errs}
	}
	if err := s.VerifyPassword(ctx, actor, current); err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			return 0, &ValidationError{Fields: validate.Errors{"current_password": "account.password_wrong"}}
		}
		return 0, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return 0, err
	}
	var epoch int
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		a, err := setPassword(ctx, tx, actor.UserID, hash)
		if err != nil {
			return err
		}
		epoch = a.SessionEpoch
		e := actor.AuditEntry(ActionPasswordChanged, actor.OrgID, actor.Name, "")
		e.TargetUserID = actor.UserID
		return audit.Record(ctx, tx, e)
	})
	if err != nil {
		return 0, fmt.Errorf("member: change password: %w", err)
	}
	return epoch, nil
}

// SignOutEverywhere ends every session of the actor, this one included.
func (s *Service) SignOutEverywhere(ctx context.Context, actor Actor) error {
	if !actor.SignedIn() {
		return ErrForbidden
	}
	if _, err := s.db.Exec(ctx, `UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1`, actor.UserID); err != nil {
		return fmt.Errorf("member: sign out everywhere: %w", err)
	}
	return nil
}

// setPassword stores a new password hash inside tx: every session of the
// user ends (whoever had the old password is out) and their pending reset
// links die. It returns the user with their new session epoch.
func setPassword(ctx context.Context, tx pgx.Tx, userID int64, hash string) (Actor, error) {
	var a Actor
	if err := tx.QueryRow(ctx, `UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1
		WHERE id = $1 RETURNING id, name, organisation_id, session_epoch`, userID, hash).
		Scan(&a.UserID, &a.Name, &a.OrgID, &a.SessionEpoch); err != nil {
		return Actor{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE one_time_tokens SET used_at = now()
		WHERE user_id = $1 AND purpose = 'password_reset' AND used_at IS NULL`, userID); err != nil {
		return Actor{}, err
	}
	return a, nil
}
