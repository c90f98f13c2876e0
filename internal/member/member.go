// Package member is about who may use Passerelle: applications to join,
// organisations and their users, sign-in, password resets, invitations,
// moderation by staff (approve, reject, suspend, reinstate), the audit log
// and personal-data rights. Every rule and permission check lives here, so
// pages, jobs and commands all get them.
package member

import (
	"errors"
	"passerelle/internal/platform/validate"
	"time"
)

// Kind is an organisation's category.
type Kind string

// The organisation kinds (décret 2008-1354 sizes; public buyers are large accounts).
const (
	KindPME         Kind = "pme"
	KindETI         Kind = "eti"
	KindGE          Kind = "ge"
	KindPublic      Kind = "public"
	KindAssociation Kind = "association"
)

// Kinds are every organisation kind.
var Kinds = []Kind{KindPME, KindETI, KindGE, KindPublic, KindAssociation}

// Statuses are every membership status.
var Statuses = []Status{StatusApplied, StatusMember, StatusSuspended, StatusRejected, StatusLeft}

// Roles are every user role.
var Roles = []Role{RoleOwner, RoleMember, RoleStaff, RoleAdmin}

// ApplicantKinds are the kinds an applicant may choose.
var ApplicantKinds = []Kind{KindPME, KindETI, KindGE, KindPublic}

// IsSME reports whether the organisation is on the supplier side.
func (k Kind) IsSME() bool { return k == KindPME || k == KindETI }

// IsLargeAccount reports whether the organisation is on the buyer side.
func (k Kind) IsLargeAccount() bool { return k == KindGE || k == KindPublic }

// Status is where an organisation's membership stands.
type Status string

// Membership statuses: applied → member → suspended / left; or rejected.
const (
	StatusApplied   Status = "applied"
	StatusMember    Status = "member"
	StatusSuspended Status = "suspended"
	StatusRejected  Status = "rejected"
	StatusLeft      Status = "left"
)

// Role is a user's role.
type Role string

// Roles: owner and member of an organisation; staff and admin of the association.
const (
	RoleOwner  Role = "owner"
	RoleMember Role = "member"
	RoleStaff  Role = "staff"
	RoleAdmin  Role = "admin"
)

// Organisation is a company or public body, identified by its SIREN.
type Organisation struct {
	ID            int64      `json:"id"`
	SIREN         string     `json:"siren"`
	LegalName     string     `json:"legal_name"`
	Kind          Kind       `json:"kind"`
	NAFCode       string     `json:"naf_code"`
	HeadcountBand string     `json:"headcount_band"`
	Departement   string     `json:"departement"`
	Website       string     `json:"website"`
	Description   string     `json:"description"`
	Status        Status     `json:"status"`
	StatusReason  string     `json:"status_reason"`
	CreatedAt     time.Time  `json:"created_at"`
	DecidedAt     *time.Time `json:"decided_at"`
}

// User is a person who signs in, in one organisation.
type User struct {
	ID             int64      `json:"id"`
	OrganisationID int64      `json:"organisation_id"`
	Email          string     `json:"email"`
	Name           string     `json:"name"`
	Role           Role       `json:"role"`
	Locale         string     `json:"locale"`
	CreatedAt      time.Time  `json:"created_at"`
	LastSignInAt   *time.Time `json:"last_sign_in_at"`
}

// Actor is who makes a request: a visitor (zero value) or a signed-in user.
type Actor struct {
	UserID  int64
	OrgID   int64
	OrgName string
	Name    string
	Email   string
	Role    Role
	Kind    Kind
	Locale  string
	// SessionEpoch changes when every session of the user must end
	// (password reset or change, sign out everywhere).
	SessionEpoch int
}

// SignedIn reports whether the actor is a user.
func (a Actor) SignedIn() bool { return a.UserID != 0 }

// IsStaff reports whether the actor works for the association (staff or admin).
func (a Actor) IsStaff() bool { return a.Role == RoleStaff || a.Role == RoleAdmin }

// IsAdmin reports whether the actor manages staff accounts.
func (a Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// IsOwner reports whether the actor owns a member organisation.
func (a Actor) IsOwner() bool { return a.Role == RoleOwner }

// IsSME reports whether the actor belongs to an SME member.
func (a Actor) IsSME() bool { return a.SignedIn() && !a.IsStaff() && a.Kind.IsSME() }

// IsBuyer reports whether the actor belongs to a large-account member.
func (a Actor) IsBuyer() bool { return a.SignedIn() && !a.IsStaff() && a.Kind.IsLargeAccount() }

// Named errors the edge turns into messages.
var (
	ErrNotFound           = errors.New("member: not found")
	ErrForbidden          = errors.New("member: forbidden")
	ErrInvalidCredentials = errors.New("member: invalid e-mail or password")
	ErrPending            = errors.New("member: application not yet approved")
	ErrRejected           = errors.New("member: application rejected")
	ErrSuspended          = errors.New("member: organisation suspended")
	ErrSIRENTaken         = errors.New("member: SIREN already a member or applicant")
	ErrEmailTaken         = errors.New("member: e-mail already used")
	ErrTokenInvalid       = errors.New("member: link invalid, used or expired")
	ErrInvalidState       = errors.New("member: not possible in the current status")
	ErrLastOwner          = errors.New("member: the last owner cannot leave an organisation with other users")
	ErrLastAdmin          = errors.New("member: the last admin cannot leave the association")
)

// RejectedError carries the reason staff gave, for the applicant to read.
type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string { return "member: application rejected: " + e.Reason }

// Unwrap makes errors.Is(err, ErrRejected) hold.
func (e *RejectedError) Unwrap() error { return ErrRejected }

// ValidationError holds field errors (catalogue ids) of an input.
type ValidationError = validate.Error
