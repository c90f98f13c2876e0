// Package indicator computes what the association publishes and follows:
// the large accounts' yearly purchasing declarations (entered by a buyer
// or imported from CSV by staff, every version kept), the observatory of
// the share of their purchases going to PMEs and ETIs, the yearly
// barometer where SMEs rate the large accounts they work with (shown only
// in aggregate, from MinAnswers answers), a buyer's reputation as an SME
// sees it when answering, the platform's funnel and each SME's own
// figures. Every figure is computed in SQL from the tables the other
// domains write; every read and write is authorised here.
package indicator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"passerelle/internal/platform/audit"
)

// MinAnswers is how many SMEs must have rated a large account in a
// campaign before its scores are shown: fewer could identify them.
const MinAnswers = 5

// Audit actions of indicators.
var (
	ActionDeclared          = audit.Declare("declaration.declared")
	ActionCorrected         = audit.Declare("declaration.corrected")
	ActionImported          = audit.Declare("declaration.imported")
	ActionCampaignOpened    = audit.Declare("barometer.opened")
	ActionCampaignClosed    = audit.Declare("barometer.closed")
	ActionBarometerAnswered = audit.Declare("barometer.answered")
)

// Named errors the edge turns into pages.
var (
	ErrNotFound     = errors.New("indicator: not found")
	ErrForbidden    = errors.New("indicator: forbidden")
	ErrInvalidState = errors.New("indicator: not possible in this state")
)

// Enqueuer inserts background jobs inside the caller's transaction (the
// platform's River client).
type Enqueuer interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Service holds the indicators' rules.
type Service struct {
	db    *pgxpool.Pool
	store store
	jobs  Enqueuer
	// Now is the clock (tests move it).
	Now func() time.Time
	// MaxImport is the largest CSV file staff may import, in bytes.
	MaxImport int64
	// Notify sends the barometer's invitations; nil: none.
	Notify Notifier
	// Queue tells staff's figures what waits for review; nil: nothing.
	Queue Queue
	// Views counts offer views; the process that serves pages flushes it
	// periodically (Views.Run) and once when it stops.
	Views *Views
}

// NewService builds the service; jobs may be nil where nothing is imported.
func NewService(db *pgxpool.Pool, jobs Enqueuer) *Service {
	return &Service{db: db, jobs: jobs, Now: time.Now, MaxImport: MaxImportBytes, Views: NewViews(db)}
}

// MaxImportBytes is the default largest import (64 MiB: a national file
// of declarations is a few hundred lines; this leaves room for exports
// with long names and still fits a request).
const MaxImportBytes = 64 << 20

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("indicator: %s: %w", op, err)
}

// Messages are the ids of every error the indicators report, for the
// catalogue's completeness test.
var Messages = []string{
	errNumber, errWhole, errNegative, errZeroTotal, errAboveTotal, errSumAbove, errPercent, errDays, errYear,
	errSeparator, errMissing, errUnknown, errFields, errCSV, errSIREN, errDuplicate, errEmpty, errDuplicateColumn,
	"indicator.err.not_member", "indicator.err.too_large", "indicator.err.campaign_open", "indicator.err.campaign_year",
	"indicator.err.score", "indicator.import.failed_changed", "indicator.import.failed_error",
}
