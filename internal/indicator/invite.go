package indicator

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"passerelle/internal/platform/notify"
)

// Barometer is the mails that tell SMEs a barometer campaign opened;
// users may turn them off.
var Barometer = notify.Declare("barometer")

// MailKinds are the mails this package writes ("mail.<kind>.subject" and
// ".body" in the catalogue).
var MailKinds = []string{"barometer_open"}

// Notifier writes mails inside the caller's transaction.
type Notifier interface {
	Organisation(ctx context.Context, tx pgx.Tx, orgID int64, cat notify.Category, kind string, kv ...any) error
	BaseURL() string
}

// inviteBatch is how many SMEs one transaction tells.
const inviteBatch = 500

// InviteToBarometer tells every member SME (PME or ETI) that the open
// campaign takes answers, each once, in batches; it returns how many
// organisations it told. Several servers may run it at once.
func (s *Service) InviteToBarometer(ctx context.Context) (int, error) {
	if s.Notify == nil {
		return 0, nil
	}
	total := 0
	for {
		n := 0
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			var campaign int64
			var year int
			err := tx.QueryRow(ctx, `SELECT id, year FROM barometer_campaigns WHERE closed_at IS NULL`).Scan(&campaign, &year)
			if err == pgx.ErrNoRows {
				return nil
			}
			if err != nil {
				return err
			}
			rows, _ := tx.Query(ctx, `INSERT INTO barometer_invited (campaign_id, organisation_id)
				SELECT $1, o.id FROM organisations o
				WHERE o.status = 'member' AND o.kind IN ('pme', 'eti')
				  AND NOT EXISTS (SELECT 1 FROM barometer_invited i WHERE i.campaign_id = $1 AND i.organisation_id = o.id)
				ORDER BY o.id LIMIT $2
				ON CONFLICT DO NOTHING RETURNING organisation_id`, campaign, inviteBatch)
			orgs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			for _, org := range orgs {
				if err := s.Notify.Organisation(ctx, tx, org, Barometer, "barometer_open", "Year", strconv.Itoa(year),
					"URL", s.Notify.BaseURL()+"/barometre"); err != nil {
					return err
				}
			}
			n = len(orgs)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("indicator: barometer invitations: %w", err)
		}
		total += n
		if n < inviteBatch {
			return total, nil
		}
	}
}

// InviteArgs is the job that tells SMEs a campaign opened (enqueued when
// staff open it, and run every hour for the SMEs admitted since).
type InviteArgs struct{}

// Kind names the job.
func (InviteArgs) Kind() string { return "indicator.barometer_invite" }

type inviteWorker struct {
	river.WorkerDefaults[InviteArgs]
	s *Service
}

func (w *inviteWorker) Work(ctx context.Context, _ *river.Job[InviteArgs]) error {
	_, err := w.s.InviteToBarometer(ctx)
	return err
}

func (w *inviteWorker) Timeout(*river.Job[InviteArgs]) time.Duration { return 30 * time.Minute }
