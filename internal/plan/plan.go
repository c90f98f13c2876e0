// Package plan holds the large accounts' yearly progress plans (plans de
// progrès): commitments with targets, each measured through the year
// against the account's declarations, the DECP register (public buyers),
// the platform's own figures and the barometer; a self-assessment at year
// end; comments by staff (signed) and by a committee of member SMEs
// (anonymous). The lifecycle is one pure table (lifecycle.go), the
// outcome of a commitment one pure rule (Outcome); the service gathers
// the measures and checks who may do what.
package plan

import (
	"context"
	"errors"
	"time"

	"passerelle/internal/platform/notify"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/validate"
)

// Status is where a plan stands.
type Status string

// The statuses, in order.
const (
	StatusDraft     Status = "draft"
	StatusPublished Status = "published"
	StatusAssessed  Status = "assessed"
	StatusCommented Status = "commented"
	StatusClosed    Status = "closed"
)

// Statuses are every status, in order.
var Statuses = []Status{StatusDraft, StatusPublished, StatusAssessed, StatusCommented, StatusClosed}

// Indicator is what a commitment measures.
type Indicator string

// The indicators, with what they are measured from.
const (
	PMEShare     Indicator = "pme_share"     // % of purchases from PMEs: declarations, the DECP for public buyers
	ETIShare     Indicator = "eti_share"     // % from ETIs: declarations, the DECP
	PaymentDays  Indicator = "payment_days"  // average payment delay, days: declarations (lower is better)
	OnTime       Indicator = "on_time"       // % of invoices paid on time: declarations
	Requests     Indicator = "requests"      // purchase requests published on Passerelle in the year
	SMEContracts Indicator = "sme_contracts" // contracts won by SMEs through Passerelle in the year
	Barometer    Indicator = "barometer"     // the barometer's overall mark /10 (from 5 answers)
	Referent     Indicator = "referent"      // a named SME referent (no target: named or not)
)

// Indicators are every indicator, in the order the plan lists them.
var Indicators = []Indicator{PMEShare, ETIShare, PaymentDays, OnTime, Requests, SMEContracts, Barometer, Referent}

// LowerIsBetter tells the indicators whose target is a ceiling.
func (i Indicator) LowerIsBetter() bool { return i == PaymentDays }

// Max is the largest target an indicator takes.
func (i Indicator) Max() float64 {
	switch i {
	case PMEShare, ETIShare, OnTime:
		return 100
	case PaymentDays:
		return 365
	case Barometer:
		return 10
	case Referent:
		return 0
	}
	return 100_000
}

// Commitment is one target of a plan.
type Commitment struct {
	Indicator Indicator
	Target    float64
}

// Plan is a large account's plan for a year.
type Plan struct {
	ID             int64
	OrgID          int64
	OrgName        string
	SIREN          string
	OrgKind        string
	Year           int
	Status         Status
	Public         bool
	Referent       string
	SelfAssessment string
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	PublishedAt    *time.Time
	AssessedAt     *time.Time
	ClosedAt       *time.Time
	Commitments    []Commitment
}

// Comment is a comment on a plan: staff's carry their author's name, the
// committee's SMEs' none.
type Comment struct {
	ID         int64
	Staff      bool
	AuthorName string // empty for an SME of the committee
	Body       string
	CreatedAt  time.Time
}

// Named errors.
var (
	ErrNotFound     = errors.New("plan: not found")
	ErrForbidden    = errors.New("plan: forbidden")
	ErrInvalidState = errors.New("plan: not possible in the current state")
)

// ValidationError holds field errors (catalogue ids).
type ValidationError = validate.Error

// Audit actions.
var (
	ActionSaved     = audit.Declare("plan.saved")
	ActionPublished = audit.Declare("plan.published")
	ActionAssessed  = audit.Declare("plan.assessed")
	ActionCommented = audit.Declare("plan.commented")
	ActionClosed    = audit.Declare("plan.closed")
	ActionInvited   = audit.Declare("plan.committee_invited")
)

// Committee is the mails telling the committee's SMEs an assessment
// awaits their comment (users may turn them off).
var Committee = notify.Declare("plans")

// MailKinds are the mails this package writes ("mail.<kind>.subject" and
// ".body").
var MailKinds = []string{"plan_assessed"}

// Notifier mails organisations in their users' language.
type Notifier interface {
	Organisation(ctx context.Context, tx pgx.Tx, orgID int64, cat notify.Category, kind string, kv ...any) error
	BaseURL() string
}

// Limits of what is typed.
const (
	MaxReferent       = 200
	MaxSelfAssessment = 5000
	MaxComment        = 3000
)
