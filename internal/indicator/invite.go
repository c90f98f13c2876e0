package indicator

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/jobs"
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
	err := jobs.Batches(ctx, s.db, func(tx pgx.Tx) (bool, error) {
		c, err := s.store.openCampaign(ctx, tx, false)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		orgs, err := s.store.markInvited(ctx, tx, c.ID, inviteBatch)
		if err != nil {
			return false, err
		}
		for _, org := range orgs {
			if err := s.Notify.Organisation(ctx, tx, org, Barometer, "barometer_open", "Year", strconv.Itoa(c.Year),
				"URL", s.Notify.BaseURL()+"/barometre"); err != nil {
				return false, err
			}
		}
		total += len(orgs)
		return len(orgs) == inviteBatch, nil
	})
	if err != nil {
		return total, fmt.Errorf("indicator: barometer invitations: %w", err)
	}
	return total, nil
}

// InviteArgs is the job that tells SMEs a campaign opened (enqueued when
// staff open it, and run every hour for the SMEs admitted since).
type InviteArgs struct{}

// Kind names the job.
func (InviteArgs) Kind() string { return "indicator.barometer_invite" }
