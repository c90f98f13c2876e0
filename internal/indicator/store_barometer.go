package indicator

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The SQL of the barometer: campaigns, answers and their means.

// errYearTaken: a campaign of that year exists.
var errYearTaken = errors.New("indicator: a campaign of that year exists")

func (store) openCampaigns(ctx context.Context, q dbtx) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM barometer_campaigns WHERE closed_at IS NULL`).Scan(&n)
	return n, err
}

// insertCampaign opens the campaign of year; errYearTaken when there is one.
func (store) insertCampaign(ctx context.Context, tx pgx.Tx, year int, by int64, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO barometer_campaigns (year, opened_by, opened_at) VALUES ($1, $2, $3) RETURNING id`,
		year, by, now).Scan(&id)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
		return 0, errYearTaken
	}
	return id, err
}

// closeCampaign closes campaign id and returns its year; ErrInvalidState
// when it is not open.
func (store) closeCampaign(ctx context.Context, tx pgx.Tx, id int64, now time.Time) (int, error) {
	var year int
	err := tx.QueryRow(ctx, `UPDATE barometer_campaigns SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL RETURNING year`,
		id, now).Scan(&year)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrInvalidState
	}
	return year, err
}

// campaigns are every campaign with its number of answers, the latest first.
func (store) campaigns(ctx context.Context, q dbtx) ([]Campaign, error) {
	rows, err := q.Query(ctx, `SELECT c.id, c.year, c.opened_at, c.closed_at, (SELECT count(*) FROM barometer_answers a WHERE a.campaign_id = c.id)
		FROM barometer_campaigns c ORDER BY c.year DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Campaign, error) {
		var c Campaign
		err := row.Scan(&c.ID, &c.Year, &c.OpenedAt, &c.ClosedAt, &c.Answers)
		return c, err
	})
}

// openCampaign is the campaign open now; ErrNotFound when none is. With
// share, it is locked so it cannot close meanwhile.
func (store) openCampaign(ctx context.Context, q dbtx, share bool) (Campaign, error) {
	sql := `SELECT id, year, opened_at FROM barometer_campaigns WHERE closed_at IS NULL`
	if share {
		sql += ` FOR SHARE`
	}
	var c Campaign
	err := q.QueryRow(ctx, sql).Scan(&c.ID, &c.Year, &c.OpenedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// campaign is campaign id, or the latest when id is 0; ErrNotFound when
// there is none.
func (store) campaign(ctx context.Context, q dbtx, id int64) (Campaign, error) {
	var c Campaign
	err := q.QueryRow(ctx, `SELECT id, year, opened_at, closed_at FROM barometer_campaigns WHERE $1::bigint = 0 OR id = $1
		ORDER BY year DESC LIMIT 1`, id).Scan(&c.ID, &c.Year, &c.OpenedAt, &c.ClosedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// accounts are the member large accounts, by name.
func (store) accounts(ctx context.Context, q dbtx) ([]Account, error) {
	rows, err := q.Query(ctx, `SELECT id, legal_name FROM organisations WHERE status = 'member' AND kind IN ('ge', 'public') ORDER BY legal_name, id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Account])
}

// accountName is the name of member large account id; ErrNotFound when it
// is not one.
func (store) accountName(ctx context.Context, q dbtx, id int64) (string, error) {
	var name string
	err := q.QueryRow(ctx, `SELECT legal_name FROM organisations WHERE id = $1 AND status = 'member' AND kind IN ('ge', 'public')`, id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return name, err
}

// answered are SME sme's answers in campaign, by account name.
func (store) answered(ctx context.Context, q dbtx, campaign, sme int64) ([]Answered, error) {
	rows, err := q.Query(ctx, `SELECT o.id, o.legal_name, a.relationship, a.payment, a.clarity, a.innovation, a.comment, a.updated_at
		FROM barometer_answers a JOIN organisations o ON o.id = a.account_id
		WHERE a.campaign_id = $1 AND a.sme_id = $2 ORDER BY o.legal_name`, campaign, sme)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Answered, error) {
		var a Answered
		err := row.Scan(&a.ID, &a.Name, &a.Scores[0], &a.Scores[1], &a.Scores[2], &a.Scores[3], &a.Comment, &a.UpdatedAt)
		a.AccountID = a.ID
		return a, err
	})
}

// saveAnswer writes (or replaces) SME sme's rating in campaign.
func (store) saveAnswer(ctx context.Context, tx pgx.Tx, campaign, sme, user int64, r Rating, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO barometer_answers (campaign_id, account_id, sme_id, relationship, payment, clarity, innovation,
			comment, user_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		ON CONFLICT (campaign_id, account_id, sme_id) DO UPDATE SET relationship = excluded.relationship, payment = excluded.payment,
			clarity = excluded.clarity, innovation = excluded.innovation, comment = excluded.comment, user_id = excluded.user_id,
			updated_at = excluded.updated_at`,
		campaign, r.AccountID, sme, r.Scores[0], r.Scores[1], r.Scores[2], r.Scores[3], r.Comment, user, now)
	return err
}

// comments are the comments on account in campaign, in order.
func (store) comments(ctx context.Context, q dbtx, campaign, account int64) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT comment FROM barometer_answers WHERE campaign_id = $1 AND account_id = $2 AND comment <> ''
		ORDER BY comment`, campaign, account)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// scoresIn are the accounts' scores in campaign; scoresOf account's in
// every campaign, the latest first. The means of an account with too few
// answers are left at zero and Enough false.
func (st store) scoresIn(ctx context.Context, q dbtx, campaign int64) ([]Score, error) {
	return st.scores(ctx, q, `a.campaign_id = $1`, campaign)
}

func (st store) scoresOf(ctx context.Context, q dbtx, account int64) ([]Score, error) {
	return st.scores(ctx, q, `a.account_id = $1`, account)
}

// scoresOfIn are the accounts' scores in a year's campaign.
func (st store) scoresOfIn(ctx context.Context, q dbtx, accounts []int64, year int) ([]Score, error) {
	return st.scores(ctx, q, `a.account_id = ANY($1) AND c.year = $2`, accounts, year)
}

func (store) scores(ctx context.Context, q dbtx, where string, args ...any) ([]Score, error) {
	rows, err := q.Query(ctx, `SELECT o.id, o.legal_name, c.year, count(*),
			avg(a.relationship)::float8, avg(a.payment)::float8, avg(a.clarity)::float8, avg(a.innovation)::float8
		FROM barometer_answers a JOIN organisations o ON o.id = a.account_id JOIN barometer_campaigns c ON c.id = a.campaign_id
		WHERE `+where+` GROUP BY o.id, o.legal_name, c.year ORDER BY o.legal_name, o.id, c.year DESC`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Score, error) {
		var sc Score
		var m [4]float64
		if err := row.Scan(&sc.OrgID, &sc.Name, &sc.Year, &sc.Answers, &m[0], &m[1], &m[2], &m[3]); err != nil {
			return sc, err
		}
		if sc.Answers >= MinAnswers {
			sc.Enough, sc.Means = true, m
			sc.Overall = (m[0] + m[1] + m[2] + m[3]) / 4
		}
		return sc, nil
	})
}

// markInvited records up to n member SMEs not yet told of campaign, and
// returns them (another server's are skipped by the conflict).
func (store) markInvited(ctx context.Context, tx pgx.Tx, campaign int64, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `INSERT INTO barometer_invited (campaign_id, organisation_id)
		SELECT $1, o.id FROM organisations o
		WHERE o.status = 'member' AND o.kind IN ('pme', 'eti')
		  AND NOT EXISTS (SELECT 1 FROM barometer_invited i WHERE i.campaign_id = $1 AND i.organisation_id = o.id)
		ORDER BY o.id LIMIT $2
		ON CONFLICT DO NOTHING RETURNING organisation_id`, campaign, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
