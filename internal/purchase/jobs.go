package purchase

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/jobs"
)

// Register adds the requests' background work to reg: the daily digest
// of saved searches, the reminders and the question after the deadline.
// Each runs every hour and does only what is due, so a server that was
// down catches up, and two servers do each mail once.
func Register(reg *jobs.Registry, s *Service) {
	jobs.Periodic[RecomputeArgs](reg, time.Minute, jobs.Count(s.ApplyMatchChanges))
	jobs.Periodic[InviteArgs](reg, time.Hour, jobs.Count(s.SendInvitations))
	jobs.Periodic[DigestArgs](reg, time.Hour, jobs.Count(s.SendDigests))
	jobs.Periodic[RemindArgs](reg, time.Hour, jobs.Count(s.SendReminders))
	jobs.Periodic[FollowUpArgs](reg, time.Hour, jobs.Count(s.AskFollowUps))
}

// The jobs, by kind.
type (
	// DigestArgs is the job that mails the daily digests.
	DigestArgs struct{}
	// RemindArgs is the job that reminds SMEs of a fitting request.
	RemindArgs struct{}
	// FollowUpArgs is the job that asks buyers what happened after a deadline.
	FollowUpArgs struct{}
	// InviteArgs is the job that invites the next batch of matched SMEs.
	InviteArgs struct{}
	// RecomputeArgs is the job that recomputes the matches of the open
	// requests in the CPV divisions of SMEs whose offers or references
	// changed.
	RecomputeArgs struct{}
)

// Kind names the job.
func (DigestArgs) Kind() string { return "purchase.digest" }

// Kind names the job.
func (RemindArgs) Kind() string { return "purchase.remind" }

// Kind names the job.
func (FollowUpArgs) Kind() string { return "purchase.follow_up" }

// Kind names the job.
func (InviteArgs) Kind() string { return "purchase.invite" }

// Kind names the job.
func (RecomputeArgs) Kind() string { return "purchase.recompute_matches" }

// DigestLimit is how many requests a digest lists at most.
const DigestLimit = 20

// SendDigests mails each SME user with saved searches one digest a day of
// the open requests published since its last one that its searches find
// and it may see; none when nothing is new, none when the user turned the
// requests' mails off. It returns how many digests it wrote.
func (s *Service) SendDigests(ctx context.Context) (int, error) {
	if s.notify == nil {
		return 0, nil
	}
	today := s.today()
	users, err := s.store.digestUsers(ctx, s.db, today)
	if err != nil {
		return 0, fmt.Errorf("purchase: digest users: %w", err)
	}
	sent := 0
	for _, u := range users {
		ok, err := s.digest(ctx, u, today)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// digest writes one user's digest in one transaction: the day's mark (the
// first server to take it writes the mail), the mail, and the searches'
// new starting point.
func (s *Service) digest(ctx context.Context, userID int64, today time.Time) (bool, error) {
	sent := false
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		first, err := s.store.markDigest(ctx, tx, userID, today)
		if err != nil || !first {
			return err
		}
		org, r, err := s.store.recipient(ctx, tx, userID)
		if err != nil {
			return err
		}
		items, err := s.store.digestItems(ctx, tx, userID, org, s.Now(), today, DigestLimit+1)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			// Nothing new: no mail, and the day stays free for a request
			// published later today.
			return s.store.unmarkDigest(ctx, tx, userID, today)
		}
		more := len(items) > DigestLimit
		items = items[:min(len(items), DigestLimit)]
		var list strings.Builder
		for _, it := range items {
			fmt.Fprintf(&list, "- %s (%s) : %s/demandes/%d\n", it.Title, it.Deadline.Format("02/01/2006"), s.notify.BaseURL(), it.ID)
		}
		all := s.notify.BaseURL() + "/demandes"
		if more {
			list.WriteString("…\n")
		}
		if err := s.notify.Send(ctx, tx, r.Recipient, Requests, "request_digest", "Count", len(items), "List", list.String(),
			"URL", all); err != nil {
			return err
		}
		if err := s.store.markSeen(ctx, tx, userID, s.Now()); err != nil {
			return err
		}
		sent = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("purchase: digest of %d: %w", userID, err)
	}
	return sent, nil
}

// Reminder bounds: at most MaxReminders per SME and request, at least
// ReminderGap apart (and after the announcement), and none in the last
// two days before the deadline, after it closes, or once the SME answered.
const (
	MaxReminders = 2
	ReminderGap  = 4 * 24 * time.Hour
)

// SendReminders reminds the SMEs matched to an open request that have not
// answered it. It returns how many SMEs it reminded.
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	n := 0
	err := jobs.Batches(ctx, s.db, func(tx pgx.Tx) (bool, error) {
		reqID, org, err := s.store.nextReminder(ctx, tx, MaxReminders, s.today(), s.Now().Add(-ReminderGap))
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		r, err := s.store.request(ctx, tx, reqID)
		if err != nil {
			return false, err
		}
		if err := s.store.markReminded(ctx, tx, reqID, org, s.Now()); err != nil {
			return false, err
		}
		n++
		return true, s.mailSME(ctx, tx, r, org, "request_reminder")
	})
	if err != nil {
		return n, fmt.Errorf("purchase: reminders: %w", err)
	}
	return n, nil
}

// FollowUpDelay is how long after its deadline a buyer is asked what
// happened to a request still open.
const FollowUpDelay = 7

// AskFollowUps mails the buyers of requests still open seven days after
// their deadline a question answerable in one click, once per request;
// it returns how many it asked.
func (s *Service) AskFollowUps(ctx context.Context) (int, error) {
	n := 0
	err := jobs.Batches(ctx, s.db, func(tx pgx.Tx) (bool, error) {
		r, err := s.store.nextFollowUp(ctx, tx, s.today(), FollowUpDelay)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if err := s.store.markFollowUpAsked(ctx, tx, r.ID, s.Now()); err != nil {
			return false, err
		}
		n++
		return true, s.askFollowUp(ctx, tx, r)
	})
	if err != nil {
		return n, fmt.Errorf("purchase: follow-ups: %w", err)
	}
	return n, nil
}

// askFollowUp mails each user of the request's buyer the question, with
// one signed link per answer.
func (s *Service) askFollowUp(ctx context.Context, tx pgx.Tx, r Request) error {
	if s.notify != nil {
		users, err := recipients(ctx, tx, r.OrgID, Answers)
		if err != nil {
			return err
		}
		for _, u := range users {
			kv := []any{"Title", r.Title, "URL", fmt.Sprintf("%s/espace/demandes/%d", s.notify.BaseURL(), r.ID)}
			tok, err := s.SignLink(ctx, Link{Purpose: LinkFollowUp, Request: r.ID, Org: r.OrgID, User: u.id, Expires: s.Now().AddDate(0, 0, 30)})
			if err != nil {
				return err
			}
			for _, a := range FollowUps {
				kv = append(kv, "URL_"+a, fmt.Sprintf("%s/demandes/%d/lien?%s", s.notify.BaseURL(), r.ID,
					url.Values{"jeton": {tok}, "reponse": {a}}.Encode()))
			}
			if err := s.notify.Send(ctx, tx, u.Recipient, Answers, "request_follow_up", kv...); err != nil {
				return err
			}
		}
	}
	return s.event(ctx, tx, r.ID, 0, "follow_up_asked", 0)
}

// SendInvitations invites, for each open request that still wants
// answers (fewer interested SMEs than enough) and whose last batch went
// out a day ago or more, the next batch of its matched SMEs down the
// ranking. It returns how many SMEs it invited.
func (s *Service) SendInvitations(ctx context.Context) (int, error) {
	total := 0
	var after int64
	err := jobs.Batches(ctx, s.db, func(tx pgx.Tx) (bool, error) {
		r, err := s.store.nextToInvite(ctx, tx, after, s.today(), s.Invitations.Enough, s.Now().Add(-24*time.Hour), s.Invitations.MinScore)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		after = r.ID
		n, err := s.invite(ctx, tx, r, s.Invitations.DailyBatch)
		total += n
		return true, err
	})
	if err != nil {
		return total, fmt.Errorf("purchase: invitations: %w", err)
	}
	return total, nil
}
