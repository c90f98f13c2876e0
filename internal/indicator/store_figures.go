package indicator

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// The SQL of staff's figures, an SME's own and a buyer's reputation.

// waiting reads the applications waiting: how many, the oldest.
func (store) waiting(ctx context.Context, q dbtx) (n int, oldest *time.Time, err error) {
	err = q.QueryRow(ctx, `SELECT count(*), min(created_at) FROM organisations WHERE status = 'applied'`).Scan(&n, &oldest)
	return n, oldest, err
}

// decisionsByMonth lists, for each month from first to end, the seconds
// from application to decision of the month's membership decisions,
// sorted.
func (store) decisionsByMonth(ctx context.Context, q dbtx, first, end time.Time, set func(m time.Time, seconds []float64)) error {
	rows, err := q.Query(ctx, `SELECT date_trunc('month', decided_at AT TIME ZONE 'UTC'),
			array_agg(extract(epoch FROM decided_at - created_at)::float8 ORDER BY 1)
		FROM organisations WHERE decided_at >= $1 AND decided_at < $2 AND status <> 'applied' GROUP BY 1`, first, end)
	if err != nil {
		return err
	}
	var m time.Time
	var secs []float64
	_, err = pgx.ForEachRow(rows, []any{&m, &secs}, func() error { set(m, secs); return nil })
	return err
}

// matchesByMonth counts the matches suggested each month from first to
// end, and how far each went. The SMEs' steps are gathered once and
// hash-joined (a lookup per match took 20 s at 10 M matches, this 2.6 s;
// docs/INDICATORS.md).
func (store) matchesByMonth(ctx context.Context, q dbtx, first, end time.Time, set func(m time.Time, c [5]int)) error {
	rows, err := q.Query(ctx, `WITH ev AS (
			SELECT request_id, organisation_id, bool_or(kind = 'interested') AS interested, bool_or(kind = 'shortlisted') AS shortlisted
			FROM request_events WHERE kind IN ('interested', 'shortlisted') AND organisation_id IS NOT NULL GROUP BY 1, 2)
		SELECT date_trunc('month', x.created_at AT TIME ZONE 'UTC'), count(*),
			count(*) FILTER (WHERE x.viewed_at IS NOT NULL OR ev.interested OR ev.shortlisted OR x.state = 'won'),
			count(*) FILTER (WHERE ev.interested), count(*) FILTER (WHERE ev.shortlisted OR x.state = 'won'), count(*) FILTER (WHERE x.state = 'won')
		FROM request_matches x
		LEFT JOIN ev ON ev.request_id = x.request_id AND ev.organisation_id = x.organisation_id
		WHERE x.matched AND x.created_at >= $1 AND x.created_at < $2 GROUP BY 1`, first, end)
	if err != nil {
		return err
	}
	var m time.Time
	var c [5]int
	_, err = pgx.ForEachRow(rows, []any{&m, &c[0], &c[1], &c[2], &c[3], &c[4]}, func() error { set(m, c); return nil })
	return err
}

// requestsByMonth counts the requests opened each month, those answered,
// and the median time to the first answer in seconds (nil: none).
func (store) requestsByMonth(ctx context.Context, q dbtx, first, end time.Time, set func(m time.Time, published, answered int, median *float64)) error {
	rows, err := q.Query(ctx, `SELECT date_trunc('month', r.published_at AT TIME ZONE 'UTC'), count(*), count(fa.first),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fa.first - r.published_at)) FILTER (WHERE fa.first IS NOT NULL)
		FROM purchase_requests r
		LEFT JOIN LATERAL (SELECT min(e.at) AS first FROM request_events e WHERE e.request_id = r.id AND e.kind = 'interested') fa ON true
		WHERE r.published_at >= $1 AND r.published_at < $2 GROUP BY 1`, first, end)
	if err != nil {
		return err
	}
	var m time.Time
	var published, answered int
	var median *float64
	_, err = pgx.ForEachRow(rows, []any{&m, &published, &answered, &median}, func() error {
		set(m, published, answered, median)
		return nil
	})
	return err
}

// answersByMonth counts the interests given each month, and those the
// buyer replied to.
func (store) answersByMonth(ctx context.Context, q dbtx, first, end time.Time, set func(m time.Time, answers, replied int)) error {
	rows, err := q.Query(ctx, `SELECT date_trunc('month', e.at AT TIME ZONE 'UTC'), count(*),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM request_events r WHERE r.request_id = e.request_id
				AND r.organisation_id = e.organisation_id AND r.at >= e.at
				AND r.kind IN ('shortlisted', 'discussion', 'declined', 'won', 'lost')))
		FROM request_events e WHERE e.kind = 'interested' AND e.at >= $1 AND e.at < $2 GROUP BY 1`, first, end)
	if err != nil {
		return err
	}
	var m time.Time
	var answers, replied int
	_, err = pgx.ForEachRow(rows, []any{&m, &answers, &replied}, func() error { set(m, answers, replied); return nil })
	return err
}

// smeFigures reads SME org's own figures on day now.
func (store) smeFigures(ctx context.Context, q dbtx, org int64, now time.Time) (SMEFigures, error) {
	var f SMEFigures
	err := q.QueryRow(ctx, `SELECT
			(SELECT coalesce(sum(v.views), 0) FROM offer_views v JOIN offers o ON o.id = v.offer_id
				WHERE o.organisation_id = $1 AND v.day > $2::date - 30),
			(SELECT coalesce(sum(v.views), 0) FROM offer_views v JOIN offers o ON o.id = v.offer_id WHERE o.organisation_id = $1),
			(SELECT count(*) FROM request_matches WHERE organisation_id = $1 AND matched),
			(SELECT count(DISTINCT request_id) FROM request_events WHERE organisation_id = $1 AND kind = 'interested'),
			(SELECT count(DISTINCT request_id) FROM request_events WHERE organisation_id = $1
				AND kind IN ('shortlisted', 'discussion', 'declined', 'won', 'lost')),
			(SELECT count(*) FROM request_matches WHERE organisation_id = $1 AND state = 'won'),
			(SELECT coalesce(sum(contract_amount), 0) FROM request_matches WHERE organisation_id = $1 AND state = 'won')`,
		org, now).Scan(&f.OfferViews, &f.AllViews, &f.Matches, &f.Answers, &f.Replies, &f.Won, &f.WonAmount)
	return f, err
}

// payment is account's latest declared payment figures; year 0 when it
// declared none.
func (store) payment(ctx context.Context, q dbtx, account int64) (year int, days, onTime float64, err error) {
	err = q.QueryRow(ctx, `SELECT year, payment_days::float8, on_time_share::float8 FROM current_declarations
		WHERE organisation_id = $1 ORDER BY year DESC LIMIT 1`, account).Scan(&year, &days, &onTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, 0, nil
	}
	return year, days, onTime, err
}

// takePlatformChanges removes the months listed as changed and returns
// them, each once, in order.
func (store) takePlatformChanges(ctx context.Context, tx pgx.Tx) ([]time.Time, error) {
	rows, err := tx.Query(ctx, `WITH taken AS (DELETE FROM platform_changes RETURNING month)
		SELECT DISTINCT month::timestamp AT TIME ZONE 'UTC' FROM taken ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	for i := range list {
		list[i] = list[i].UTC()
	}
	return list, err
}

// storeMonths writes the months' roll-ups.
func (store) storeMonths(ctx context.Context, tx pgx.Tx, months []Month, now time.Time) error {
	b := &pgx.Batch{}
	for _, m := range months {
		var first *float64
		if m.FirstAnswer != nil {
			v := m.FirstAnswer.Seconds()
			first = &v
		}
		b.Queue(`INSERT INTO platform_months (month, suggested, viewed, interested, shortlisted, won, published, answered,
				first_answer_seconds, answers, replied, decision_seconds, computed_at)
			VALUES (($1::timestamptz AT TIME ZONE 'UTC')::date, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $12)
			ON CONFLICT (month) DO UPDATE SET suggested = excluded.suggested, viewed = excluded.viewed, interested = excluded.interested,
				shortlisted = excluded.shortlisted, won = excluded.won, published = excluded.published, answered = excluded.answered,
				first_answer_seconds = excluded.first_answer_seconds, answers = excluded.answers, replied = excluded.replied,
				decision_seconds = excluded.decision_seconds, computed_at = excluded.computed_at`,
			m.Month, m.Suggested, m.Viewed, m.Interested, m.Shortlisted, m.Won, m.Published, m.Answered, first, m.Answers, m.Replied, now,
			append([]float64{}, m.decisions...))
	}
	return tx.SendBatch(ctx, b).Close()
}

// platformMonths reads the roll-ups of every month from first to end
// (a month never rolled up reads as zero).
func (store) platformMonths(ctx context.Context, q dbtx, first, end time.Time) ([]Month, error) {
	rows, err := q.Query(ctx, `SELECT m::timestamp AT TIME ZONE 'UTC', coalesce(p.suggested, 0), coalesce(p.viewed, 0), coalesce(p.interested, 0),
			coalesce(p.shortlisted, 0), coalesce(p.won, 0), coalesce(p.published, 0), coalesce(p.answered, 0), p.first_answer_seconds,
			coalesce(p.answers, 0), coalesce(p.replied, 0), coalesce(p.decision_seconds, '{}')
		FROM generate_series(($1::timestamptz AT TIME ZONE 'UTC')::date, ($2::timestamptz AT TIME ZONE 'UTC')::date - 1, interval '1 month') m
		LEFT JOIN platform_months p ON p.month = m::date ORDER BY 1`, first, end)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Month, error) {
		var m Month
		var first *float64
		err := r.Scan(&m.Month, &m.Suggested, &m.Viewed, &m.Interested, &m.Shortlisted, &m.Won, &m.Published, &m.Answered, &first,
			&m.Answers, &m.Replied, &m.decisions)
		m.Month, m.FirstAnswer = m.Month.UTC(), seconds(first)
		return m, err
	})
}
