package purchase

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"passerelle/internal/platform/jobs"
)

// Register adds the requests' background work to reg: the daily digest
// of saved searches, the reminders and the question after the deadline.
// Each runs every hour and does only what is due, so a server that was
// down catches up, and two servers do each mail once.
func Register(reg *jobs.Registry, s *Service) {
	jobs.Add(reg, &digestWorker{s: s})
	jobs.Add(reg, &remindWorker{s: s})
	jobs.Add(reg, &followUpWorker{s: s})
	jobs.Add(reg, &inviteWorker{s: s})
	jobs.Add(reg, &recomputeWorker{s: s})
	reg.Every(time.Minute, func() river.JobArgs { return RecomputeArgs{} })
	reg.Every(time.Hour, func() river.JobArgs { return InviteArgs{} })
	reg.Every(time.Hour, func() river.JobArgs { return DigestArgs{} })
	reg.Every(time.Hour, func() river.JobArgs { return RemindArgs{} })
	reg.Every(time.Hour, func() river.JobArgs { return FollowUpArgs{} })
}

// DigestArgs is the job that mails the daily digests.
type DigestArgs struct{}

// Kind names the job.
func (DigestArgs) Kind() string { return "purchase.digest" }

type digestWorker struct {
	river.WorkerDefaults[DigestArgs]
	s *Service
}

func (w *digestWorker) Work(ctx context.Context, _ *river.Job[DigestArgs]) error {
	_, err := w.s.SendDigests(ctx)
	return err
}

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
	rows, err := s.db.Query(ctx, `SELECT DISTINCT s.user_id FROM saved_searches s JOIN users u ON u.id = s.user_id
			JOIN organisations g ON g.id = u.organisation_id
		WHERE g.status = 'member' AND g.kind IN ('pme', 'eti')
		  AND NOT EXISTS (SELECT 1 FROM digests_sent d WHERE d.user_id = s.user_id AND d.day = $1)
		  AND NOT EXISTS (SELECT 1 FROM notification_optouts n WHERE n.user_id = s.user_id AND n.category = $2)
		ORDER BY 1`, today, Requests.Name)
	if err != nil {
		return 0, fmt.Errorf("purchase: digest users: %w", err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[int64])
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
		tag, err := tx.Exec(ctx, `INSERT INTO digests_sent (user_id, day) VALUES ($1, $2) ON CONFLICT DO NOTHING`, userID, today)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		var org int64
		var r recipient
		if err := tx.QueryRow(ctx, `SELECT organisation_id, id, email, name, locale, mail_token FROM users WHERE id = $1`, userID).
			Scan(&org, &r.id, &r.Email, &r.Name, &r.Locale, &r.Token); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT ON (r.deadline, r.id) r.id, r.title, r.deadline
			FROM saved_searches s JOIN purchase_requests r ON r.published_at > s.seen_until AND r.published_at <= $3
			WHERE s.user_id = $1 AND r.status = 'open' AND r.deadline >= $4 AND r.facets @> s.facets
			  AND (s.query = '' OR r.search @@ fr_tsquery(s.query))
			  AND (r.visibility = 'all' OR EXISTS (SELECT 1 FROM request_matches v WHERE v.request_id = r.id AND v.organisation_id = $2 AND v.matched))
			  AND NOT EXISTS (SELECT 1 FROM request_matches a WHERE a.request_id = r.id AND a.organisation_id = $2 AND a.state NOT IN ('suggested', 'viewed'))
			ORDER BY r.deadline, r.id LIMIT $5`, userID, org, s.Now(), today, DigestLimit+1)
		if err != nil {
			return err
		}
		type item struct {
			ID       int64
			Title    string
			Deadline time.Time
		}
		items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[item])
		if err != nil {
			return err
		}
		if len(items) == 0 {
			// Nothing new: no mail, and the day stays free for a request
			// published later today.
			_, err := tx.Exec(ctx, `DELETE FROM digests_sent WHERE user_id = $1 AND day = $2`, userID, today)
			return err
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
		if _, err := tx.Exec(ctx, `UPDATE saved_searches SET seen_until = $2 WHERE user_id = $1`, userID, s.Now()); err != nil {
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

// RemindArgs is the job that reminds SMEs of a fitting request.
type RemindArgs struct{}

// Kind names the job.
func (RemindArgs) Kind() string { return "purchase.remind" }

type remindWorker struct {
	river.WorkerDefaults[RemindArgs]
	s *Service
}

func (w *remindWorker) Work(ctx context.Context, _ *river.Job[RemindArgs]) error {
	_, err := w.s.SendReminders(ctx)
	return err
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
	for {
		done := false
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			var reqID, org int64
			err := tx.QueryRow(ctx, `SELECT m.request_id, m.organisation_id FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
				WHERE m.matched AND m.invited_at IS NOT NULL AND m.state IN ('suggested', 'viewed') AND m.reminders < $1 AND r.status = 'open'
				  AND r.deadline >= $2::date + 2 AND coalesce(m.last_mailed_at, m.created_at) <= $3
				ORDER BY m.request_id, m.organisation_id LIMIT 1 FOR UPDATE OF m SKIP LOCKED`,
				MaxReminders, s.today(), s.Now().Add(-ReminderGap)).Scan(&reqID, &org)
			if err == pgx.ErrNoRows {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			list, err := collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.id = $1`, reqID))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE request_matches SET reminders = reminders + 1, last_mailed_at = $3
				WHERE request_id = $1 AND organisation_id = $2`, reqID, org, s.Now()); err != nil {
				return err
			}
			n++
			return s.mailSME(ctx, tx, list[0], org, "request_reminder")
		})
		if err != nil {
			return n, fmt.Errorf("purchase: reminders: %w", err)
		}
		if done {
			return n, nil
		}
	}
}

// FollowUpArgs is the job that asks buyers what happened after a deadline.
type FollowUpArgs struct{}

// Kind names the job.
func (FollowUpArgs) Kind() string { return "purchase.follow_up" }

type followUpWorker struct {
	river.WorkerDefaults[FollowUpArgs]
	s *Service
}

func (w *followUpWorker) Work(ctx context.Context, _ *river.Job[FollowUpArgs]) error {
	_, err := w.s.AskFollowUps(ctx)
	return err
}

// FollowUpDelay is how long after its deadline a buyer is asked what
// happened to a request still open.
const FollowUpDelay = 7

// AskFollowUps mails the buyers of requests still open seven days after
// their deadline a question answerable in one click, once per request;
// it returns how many it asked.
func (s *Service) AskFollowUps(ctx context.Context) (int, error) {
	n := 0
	for {
		done := false
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			list, err := collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.status = 'open' AND r.follow_up_asked_at IS NULL
				AND r.deadline <= $1::date - $2::int ORDER BY r.id LIMIT 1 FOR NO KEY UPDATE OF r SKIP LOCKED`, s.today(), FollowUpDelay))
			if err != nil {
				return err
			}
			if len(list) == 0 {
				done = true
				return nil
			}
			r := list[0]
			if _, err := tx.Exec(ctx, `UPDATE purchase_requests SET follow_up_asked_at = $2 WHERE id = $1`, r.ID, s.Now()); err != nil {
				return err
			}
			n++
			if s.notify == nil {
				return nil
			}
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
			return s.event(ctx, tx, r.ID, 0, "follow_up_asked", 0)
		})
		if err != nil {
			return n, fmt.Errorf("purchase: follow-ups: %w", err)
		}
		if done {
			return n, nil
		}
	}
}

// InviteArgs is the job that invites the next batch of matched SMEs.
type InviteArgs struct{}

// Kind names the job.
func (InviteArgs) Kind() string { return "purchase.invite" }

type inviteWorker struct {
	river.WorkerDefaults[InviteArgs]
	s *Service
}

func (w *inviteWorker) Work(ctx context.Context, _ *river.Job[InviteArgs]) error {
	_, err := w.s.SendInvitations(ctx)
	return err
}

// SendInvitations invites, for each open request that still wants
// answers (fewer interested SMEs than enough) and whose last batch went
// out a day ago or more, the next batch of its matched SMEs down the
// ranking. It returns how many SMEs it invited.
func (s *Service) SendInvitations(ctx context.Context) (int, error) {
	total := 0
	var after int64
	for {
		done := false
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			list, err := collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.status = 'open' AND r.deadline >= $1 AND r.id > $2
				AND (SELECT count(*) FROM request_matches m WHERE m.request_id = r.id
					AND m.state IN ('interested', 'shortlisted', 'discussion', 'won', 'lost', 'declined')) < $3
				AND coalesce((SELECT max(m.invited_at) FROM request_matches m WHERE m.request_id = r.id), r.published_at) <= $4
				AND EXISTS (SELECT 1 FROM request_matches m WHERE m.request_id = r.id AND m.matched AND m.invited_at IS NULL
					AND m.state IN ('suggested', 'viewed') AND m.score >= $5)
				ORDER BY r.id LIMIT 1 FOR NO KEY UPDATE OF r SKIP LOCKED`,
				s.today(), after, s.Invitations.Enough, s.Now().Add(-24*time.Hour), s.Invitations.MinScore))
			if err != nil {
				return err
			}
			if len(list) == 0 {
				done = true
				return nil
			}
			after = list[0].ID
			n, err := s.invite(ctx, tx, list[0], s.Invitations.DailyBatch)
			total += n
			return err
		})
		if err != nil {
			return total, fmt.Errorf("purchase: invitations: %w", err)
		}
		if done {
			return total, nil
		}
	}
}

// RecomputeArgs is the job that recomputes the matches of the open
// requests in the CPV divisions of SMEs whose offers or references changed.
type RecomputeArgs struct{}

// Kind names the job.
func (RecomputeArgs) Kind() string { return "purchase.recompute_matches" }

type recomputeWorker struct {
	river.WorkerDefaults[RecomputeArgs]
	s *Service
}

func (w *recomputeWorker) Work(ctx context.Context, _ *river.Job[RecomputeArgs]) error {
	_, err := w.s.ApplyMatchChanges(ctx)
	return err
}

// RecomputeLimit bounds how many open requests one SME's change recomputes
// (the most recently published in its divisions).
const RecomputeLimit = 200

// ApplyMatchChanges takes the SMEs whose offers or references changed (a
// few at a time, each taken by one server only) and recomputes the matches
// of the open requests in their CPV divisions, in the same transaction as
// it takes them: a failure leaves them to the next run. It returns how
// many requests it recomputed.
func (s *Service) ApplyMatchChanges(ctx context.Context) (int, error) {
	total := 0
	for {
		done := false
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `DELETE FROM match_changes WHERE id IN (SELECT id FROM match_changes
				ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING organisation_id`)
			if err != nil {
				return err
			}
			changed, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			slices.Sort(changed)
			orgs := slices.Compact(changed)
			if len(orgs) == 0 {
				done = true
				return nil
			}
			list, err := collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.status = 'open' AND r.deadline >= $2 AND r.facets && (
					SELECT coalesce(array_agg(DISTINCT 'cpv:' || left(c, 2)), '{}') FROM (
						SELECT unnest(cpv_codes) AS c FROM offers WHERE organisation_id = ANY($1)
						UNION SELECT cpv_code FROM org_references WHERE organisation_id = ANY($1)) x)
				ORDER BY r.published_at DESC, r.id LIMIT $3 FOR NO KEY UPDATE OF r`, orgs, s.today(), RecomputeLimit))
			if err != nil {
				return err
			}
			for _, r := range list {
				if err := s.suggest(ctx, tx, r); err != nil {
					return err
				}
				total++
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("purchase: recompute matches: %w", err)
		}
		if done {
			return total, nil
		}
	}
}
