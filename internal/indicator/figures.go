package indicator

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/member"
	"passerelle/internal/platform/moderation"
)

// Month is the platform's funnel for one month. Matches are counted by
// the month they were suggested (a cohort: of the SMEs suggested in March,
// how many viewed, answered…); requests by the month they opened; answers
// by the month they were given.
type Month struct {
	Month       time.Time
	Suggested   int
	Viewed      int
	Interested  int
	Shortlisted int
	Won         int
	Published   int            // requests opened
	Answered    int            // … of which with at least one answer
	FirstAnswer *time.Duration // median from opening to the first answer; nil: no answer that month
	Answers     int            // interests expressed
	Replied     int            // … of which the buyer replied to
}

// AnsweredShare is the share of the month's requests with an answer.
func (m Month) AnsweredShare() (float64, bool) { return ratio(m.Answered, m.Published) }

// RepliedShare is the share of the month's answers the buyer replied to.
func (m Month) RepliedShare() (float64, bool) { return ratio(m.Replied, m.Answers) }

func ratio(a, b int) (float64, bool) {
	if b == 0 {
		return 0, false
	}
	return float64(a) / float64(b), true
}

// Platform is the staff's view of how the platform works.
type Platform struct {
	ApplicationsWaiting int
	OldestApplication   *time.Time
	// MedianDecision is the median time from application to staff's
	// decision, over the decisions of the last twelve months.
	MedianDecision *time.Duration
	Decisions      int
	Months         []Month // the last twelve, oldest first, empty ones included
	// Waiting is what waits for staff's review, by kind of content.
	Waiting []moderation.Waiting
}

// Queue tells what waits for review (the moderation service).
type Queue interface {
	Summary(ctx context.Context, m moderation.Moderator) ([]moderation.Waiting, error)
}

// Platform computes the staff's figures over the twelve months to now.
func (s *Service) Platform(ctx context.Context, actor member.Actor) (Platform, error) {
	if !actor.IsStaff() {
		return Platform{}, ErrForbidden
	}
	now := s.Now()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -11, 0)
	end := first.AddDate(1, 0, 0)
	var p Platform
	var median *float64
	err := s.db.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM organisations WHERE status = 'applied'),
			(SELECT min(created_at) FROM organisations WHERE status = 'applied'),
			(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - created_at))
				FROM organisations WHERE decided_at >= $1 AND decided_at < $2 AND status <> 'applied'),
			(SELECT count(*) FROM organisations WHERE decided_at >= $1 AND decided_at < $2 AND status <> 'applied')`,
		now.AddDate(-1, 0, 0), now).Scan(&p.ApplicationsWaiting, &p.OldestApplication, &median, &p.Decisions)
	if err != nil {
		return p, wrap("platform", err)
	}
	p.MedianDecision = seconds(median)
	months := map[time.Time]*Month{}
	for m := first; m.Before(end); m = m.AddDate(0, 1, 0) {
		p.Months = append(p.Months, Month{Month: m})
	}
	for i := range p.Months {
		months[p.Months[i].Month] = &p.Months[i]
	}
	at := func(t time.Time) *Month { return months[time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)] }

	// Matches by the month they were suggested, and how far each went. The
	// SMEs' steps are gathered once and hash-joined (a lookup per match
	// took 20 s at 10 M matches, this 2.6 s; docs/INDICATORS.md).
	rows, _ := s.db.Query(ctx, `WITH ev AS (
			SELECT request_id, organisation_id, bool_or(kind = 'interested') AS interested, bool_or(kind = 'shortlisted') AS shortlisted
			FROM request_events WHERE kind IN ('interested', 'shortlisted') AND organisation_id IS NOT NULL GROUP BY 1, 2)
		SELECT date_trunc('month', x.created_at AT TIME ZONE 'UTC'), count(*),
			count(*) FILTER (WHERE x.viewed_at IS NOT NULL OR ev.interested OR ev.shortlisted OR x.state = 'won'),
			count(*) FILTER (WHERE ev.interested), count(*) FILTER (WHERE ev.shortlisted OR x.state = 'won'), count(*) FILTER (WHERE x.state = 'won')
		FROM request_matches x
		LEFT JOIN ev ON ev.request_id = x.request_id AND ev.organisation_id = x.organisation_id
		WHERE x.matched AND x.created_at >= $1 AND x.created_at < $2 GROUP BY 1`, first, end)
	var t time.Time
	var c [5]int
	if _, err := pgx.ForEachRow(rows, []any{&t, &c[0], &c[1], &c[2], &c[3], &c[4]}, func() error {
		if m := at(t); m != nil {
			m.Suggested, m.Viewed, m.Interested, m.Shortlisted, m.Won = c[0], c[1], c[2], c[3], c[4]
		}
		return nil
	}); err != nil {
		return p, wrap("platform matches", err)
	}

	// Requests by the month they opened: answered at all, and how soon.
	rows, _ = s.db.Query(ctx, `SELECT date_trunc('month', r.published_at AT TIME ZONE 'UTC'), count(*), count(fa.first),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fa.first - r.published_at)) FILTER (WHERE fa.first IS NOT NULL)
		FROM purchase_requests r
		LEFT JOIN LATERAL (SELECT min(e.at) AS first FROM request_events e WHERE e.request_id = r.id AND e.kind = 'interested') fa ON true
		WHERE r.published_at >= $1 AND r.published_at < $2 GROUP BY 1`, first, end)
	var published, answered int
	if _, err := pgx.ForEachRow(rows, []any{&t, &published, &answered, &median}, func() error {
		if m := at(t); m != nil {
			m.Published, m.Answered, m.FirstAnswer = published, answered, seconds(median)
		}
		return nil
	}); err != nil {
		return p, wrap("platform requests", err)
	}

	// Answers by the month they were given, and whether the buyer replied.
	rows, _ = s.db.Query(ctx, `SELECT date_trunc('month', e.at AT TIME ZONE 'UTC'), count(*),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM request_events r WHERE r.request_id = e.request_id
				AND r.organisation_id = e.organisation_id AND r.at >= e.at
				AND r.kind IN ('shortlisted', 'discussion', 'declined', 'won', 'lost')))
		FROM request_events e WHERE e.kind = 'interested' AND e.at >= $1 AND e.at < $2 GROUP BY 1`, first, end)
	var answers, replied int
	if _, err := pgx.ForEachRow(rows, []any{&t, &answers, &replied}, func() error {
		if m := at(t); m != nil {
			m.Answers, m.Replied = answers, replied
		}
		return nil
	}); err != nil {
		return p, wrap("platform answers", err)
	}
	if s.Queue != nil {
		if p.Waiting, err = s.Queue.Summary(ctx, actor); err != nil {
			return p, wrap("platform waiting", err)
		}
	}
	return p, nil
}

func seconds(v *float64) *time.Duration {
	if v == nil {
		return nil
	}
	d := time.Duration(*v * float64(time.Second))
	return &d
}

// SMEFigures are an SME's own figures, on its home page.
type SMEFigures struct {
	OfferViews int // views of its published offers by others, last 30 days
	AllViews   int // … ever
	Matches    int // requests it was matched to
	Answers    int // requests it expressed interest in
	Replies    int // … that the buyer replied to
	Won        int // contracts won
	WonAmount  int64
}

// SMEFigures are the figures of the actor's SME.
func (s *Service) SMEFigures(ctx context.Context, actor member.Actor) (SMEFigures, error) {
	if !actor.IsSME() {
		return SMEFigures{}, ErrForbidden
	}
	// This process's views not yet written are written first (a failure
	// keeps them for the next flush: the figures are then a little behind).
	_ = s.Views.Flush(ctx)
	var f SMEFigures
	err := s.db.QueryRow(ctx, `SELECT
			(SELECT coalesce(sum(v.views), 0) FROM offer_views v JOIN offers o ON o.id = v.offer_id
				WHERE o.organisation_id = $1 AND v.day > $2::date - 30),
			(SELECT coalesce(sum(v.views), 0) FROM offer_views v JOIN offers o ON o.id = v.offer_id WHERE o.organisation_id = $1),
			(SELECT count(*) FROM request_matches WHERE organisation_id = $1 AND matched),
			(SELECT count(DISTINCT request_id) FROM request_events WHERE organisation_id = $1 AND kind = 'interested'),
			(SELECT count(DISTINCT request_id) FROM request_events WHERE organisation_id = $1
				AND kind IN ('shortlisted', 'discussion', 'declined', 'won', 'lost')),
			(SELECT count(*) FROM request_matches WHERE organisation_id = $1 AND state = 'won'),
			(SELECT coalesce(sum(contract_amount), 0) FROM request_matches WHERE organisation_id = $1 AND state = 'won')`,
		actor.OrgID, s.Now()).Scan(&f.OfferViews, &f.AllViews, &f.Matches, &f.Answers, &f.Replies, &f.Won, &f.WonAmount)
	return f, wrap("sme figures", err)
}

// OfferViewed counts a view of a published offer by someone outside the
// organisation that publishes it (its own users and staff do not count).
// It only counts in memory: Views writes the counts in batches.
func (s *Service) OfferViewed(actor member.Actor, offerID, ownerOrg int64) {
	if actor.IsStaff() || (actor.SignedIn() && actor.OrgID == ownerOrg) {
		return
	}
	s.Views.Add(offerID, s.Now())
}

// Reputation is what an SME reads about a buyer when it answers: its
// latest declared payment figures and its latest barometer scores with
// enough answers, where they exist.
type Reputation struct {
	PaymentYear int // 0: nothing declared
	PaymentDays float64
	OnTime      float64
	Score       *Score // nil: no campaign with enough answers
}

// Empty reports whether there is nothing to show.
func (r Reputation) Empty() bool { return r.PaymentYear == 0 && r.Score == nil }

// Reputation is the public reputation of a large account.
func (s *Service) Reputation(ctx context.Context, actor member.Actor, accountID int64) (Reputation, error) {
	if !actor.SignedIn() {
		return Reputation{}, ErrForbidden
	}
	var r Reputation
	err := s.db.QueryRow(ctx, `SELECT year, payment_days::float8, on_time_share::float8 FROM current_declarations
		WHERE organisation_id = $1 ORDER BY year DESC LIMIT 1`, accountID).Scan(&r.PaymentYear, &r.PaymentDays, &r.OnTime)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return r, wrap("reputation", err)
	}
	scores, err := s.scores(ctx, `a.account_id = $1`, accountID)
	if err != nil {
		return r, wrap("reputation scores", err)
	}
	for i := range scores { // the latest year first
		if scores[i].Enough {
			r.Score = &scores[i]
			break
		}
	}
	return r, nil
}
