package indicator

import (
	"context"
	"slices"
	"time"

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
	// decisions are the seconds from application to decision of the
	// month's membership decisions, sorted (the roll-ups keep them: a
	// median over twelve months does not add up from monthly ones).
	decisions []float64
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
	// decision, over the decisions of the twelve months shown.
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

// Platform is the staff's figures over the twelve months to now: the
// applications and the review queue as they are, the months from their
// roll-ups (Rollup, a minute old at most).
func (s *Service) Platform(ctx context.Context, actor member.Actor) (Platform, error) {
	if !actor.IsStaff() {
		return Platform{}, ErrForbidden
	}
	now := s.Now()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -11, 0)
	end := first.AddDate(1, 0, 0)
	var p Platform
	var median *float64
	var err error
	if p.ApplicationsWaiting, p.OldestApplication, err = s.store.waiting(ctx, s.db); err != nil {
		return p, wrap("platform", err)
	}
	if p.Months, err = s.store.platformMonths(ctx, s.db, first, end); err != nil {
		return p, wrap("platform months", err)
	}
	var all []float64
	for _, m := range p.Months {
		all = append(all, m.decisions...)
	}
	slices.Sort(all)
	p.Decisions, median = len(all), medianOf(all)
	p.MedianDecision = seconds(median)
	if s.Queue != nil {
		if p.Waiting, err = s.Queue.Summary(ctx, actor); err != nil {
			return p, wrap("platform waiting", err)
		}
	}
	return p, nil
}

// medianOf is the median of sorted values as percentile_cont(0.5) gives
// it (the mean of the two middle ones when they are even); nil for none.
func medianOf(sorted []float64) *float64 {
	n := len(sorted)
	if n == 0 {
		return nil
	}
	m := sorted[n/2]
	if n%2 == 0 {
		m = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return &m
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
	f, err := s.store.smeFigures(ctx, s.db, actor.OrgID, s.Now())
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
	var err error
	if r.PaymentYear, r.PaymentDays, r.OnTime, err = s.store.payment(ctx, s.db, accountID); err != nil {
		return r, wrap("reputation", err)
	}
	scores, err := s.store.scoresOf(ctx, s.db, accountID)
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

// Marks are the accounts' overall barometer marks (0–10) in a year's
// campaign; an account with fewer than MinAnswers answers there has none:
// the same rule as every page that shows the barometer, so anyone may
// read them.
func (s *Service) Marks(ctx context.Context, accounts []int64, year int) (map[int64]float64, error) {
	scores, err := s.store.scoresOfIn(ctx, s.db, accounts, year)
	if err != nil {
		return nil, wrap("marks", err)
	}
	out := map[int64]float64{}
	for _, sc := range scores {
		if sc.Enough {
			out[sc.OrgID] = sc.Overall
		}
	}
	return out, nil
}
