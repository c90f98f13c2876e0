package indicator

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// RollupArgs is the job that brings the platform's monthly roll-ups up to
// date (every minute).
type RollupArgs struct{}

// Kind names the job.
func (RollupArgs) Kind() string { return "indicator.rollup" }

// Rollup recomputes the months that writes listed as changed (triggers on
// the matches, the requests' events and the requests; migration 000024)
// with the queries that count them directly (Months), and stores them: the
// staff's figures read those rows alone. One server at a time; a failure
// leaves the months listed. It returns how many months it recomputed.
func (s *Service) Rollup(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('indicator.rollup'))`); err != nil {
			return err
		}
		months, err := s.store.takePlatformChanges(ctx, tx)
		if err != nil || len(months) == 0 {
			return err
		}
		computed, err := s.Months(ctx, tx, months[0], months[len(months)-1].AddDate(0, 1, 0))
		if err != nil {
			return err
		}
		var keep []Month
		for _, m := range computed {
			if slices.ContainsFunc(months, m.Month.Equal) {
				keep = append(keep, m)
			}
		}
		n = len(keep)
		return s.store.storeMonths(ctx, tx, keep, s.Now())
	})
	return n, wrap("rollup", err)
}

// Months counts, directly from the matches, events, requests and
// membership decisions, every
// month from first to end (both the first of a month, UTC): what the
// roll-ups hold.
func (s *Service) Months(ctx context.Context, q dbtx, first, end time.Time) ([]Month, error) {
	var out []Month
	for m := first; m.Before(end); m = m.AddDate(0, 1, 0) {
		out = append(out, Month{Month: m})
	}
	at := func(t time.Time) *Month {
		i, ok := slices.BinarySearchFunc(out, t, func(m Month, t time.Time) int { return m.Month.Compare(t) })
		if !ok {
			return &Month{} // outside: dropped
		}
		return &out[i]
	}
	if err := s.store.matchesByMonth(ctx, q, first, end, func(t time.Time, c [5]int) {
		m := at(t)
		m.Suggested, m.Viewed, m.Interested, m.Shortlisted, m.Won = c[0], c[1], c[2], c[3], c[4]
	}); err != nil {
		return nil, wrap("months: matches", err)
	}
	if err := s.store.requestsByMonth(ctx, q, first, end, func(t time.Time, published, answered int, median *float64) {
		m := at(t)
		m.Published, m.Answered, m.FirstAnswer = published, answered, seconds(median)
	}); err != nil {
		return nil, wrap("months: requests", err)
	}
	if err := s.store.answersByMonth(ctx, q, first, end, func(t time.Time, answers, replied int) {
		m := at(t)
		m.Answers, m.Replied = answers, replied
	}); err != nil {
		return nil, wrap("months: answers", err)
	}
	if err := s.store.decisionsByMonth(ctx, q, first, end, func(t time.Time, seconds []float64) { at(t).decisions = seconds }); err != nil {
		return nil, wrap("months: decisions", err)
	}
	return out, nil
}
