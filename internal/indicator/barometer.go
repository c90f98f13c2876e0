package indicator

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/validate"
)

// Criteria are what an SME rates, 0 to 10, in the barometer.
var Criteria = []string{"relationship", "payment", "clarity", "innovation"}

// Campaign is one year's barometer.
type Campaign struct {
	ID       int64
	Year     int
	OpenedAt time.Time
	ClosedAt *time.Time
	Answers  int // how many ratings it holds
}

// Open reports whether SMEs may still answer.
func (c Campaign) Open() bool { return c.ClosedAt == nil }

// Rating is one SME's answer about one large account.
type Rating struct {
	AccountID int64
	Scores    [4]int // in the order of Criteria
	Comment   string
}

// RatingInput is the barometer form as typed.
type RatingInput struct {
	Account string
	Scores  [4]string // in the order of Criteria
	Comment string
}

// Score is a large account's result in a campaign. The means are set only
// when Enough: fewer than MinAnswers answers show nothing.
type Score struct {
	OrgID   int64
	Name    string
	Year    int
	Answers int
	Enough  bool
	Means   [4]float64 // in the order of Criteria, 0–10
	Overall float64    // the mean of the four, 0–10
	// Comments are the SMEs' comments, for staff only and only when
	// Enough, in alphabetical order: never who wrote them, nor when.
	Comments []string
}

// OpenCampaign opens the barometer of a year: staff only, one campaign
// open at a time, one per year.
func (s *Service) OpenCampaign(ctx context.Context, actor member.Actor, yearText string) (int64, error) {
	if !actor.IsStaff() {
		return 0, ErrForbidden
	}
	year, err := strconv.Atoi(strings.TrimSpace(yearText))
	if err != nil || year < 2000 || year > s.Now().Year() {
		return 0, &validate.Error{Fields: validate.Errors{"year": errYear}}
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var open int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM barometer_campaigns WHERE closed_at IS NULL`).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return &validate.Error{Fields: validate.Errors{"year": "indicator.err.campaign_open"}}
		}
		err := tx.QueryRow(ctx, `INSERT INTO barometer_campaigns (year, opened_by, opened_at) VALUES ($1, $2, $3) RETURNING id`,
			year, actor.UserID, s.Now()).Scan(&id)
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
			return &validate.Error{Fields: validate.Errors{"year": "indicator.err.campaign_year"}}
		}
		if err != nil {
			return err
		}
		if s.jobs != nil { // the SMEs are told by a job, in batches
			if _, err := s.jobs.InsertTx(ctx, tx, InviteArgs{}, nil); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, actor.AuditEntry(ActionCampaignOpened, 0, strconv.Itoa(year), ""))
	})
	return id, wrap("open campaign", err)
}

// CloseCampaign ends a campaign: its answers stay, no more are taken.
func (s *Service) CloseCampaign(ctx context.Context, actor member.Actor, id int64) error {
	if !actor.IsStaff() {
		return ErrForbidden
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var year int
		err := tx.QueryRow(ctx, `UPDATE barometer_campaigns SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL RETURNING year`,
			id, s.Now()).Scan(&year)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrInvalidState
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor.AuditEntry(ActionCampaignClosed, 0, strconv.Itoa(year), ""))
	})
	return wrap("close campaign", err)
}

// Campaigns are every campaign, the latest first: any signed-in user.
func (s *Service) Campaigns(ctx context.Context, actor member.Actor) ([]Campaign, error) {
	if !actor.SignedIn() {
		return nil, ErrForbidden
	}
	rows, _ := s.db.Query(ctx, `SELECT c.id, c.year, c.opened_at, c.closed_at, (SELECT count(*) FROM barometer_answers a WHERE a.campaign_id = c.id)
		FROM barometer_campaigns c ORDER BY c.year DESC`)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Campaign, error) {
		var c Campaign
		err := row.Scan(&c.ID, &c.Year, &c.OpenedAt, &c.ClosedAt, &c.Answers)
		return c, err
	})
	return list, wrap("campaigns", err)
}

// Account is a member large account an SME may rate.
type Account struct {
	ID   int64
	Name string
}

// Questionnaire is what an SME sees of the open campaign: the large
// accounts it may rate and what it answered.
type Questionnaire struct {
	Campaign *Campaign // nil: no campaign open
	Accounts []Account
	Answers  []Answered
}

// Answered is one of the SME's own ratings in the open campaign.
type Answered struct {
	Account
	Rating
	UpdatedAt time.Time
}

// Questionnaire is the open campaign for an SME.
func (s *Service) Questionnaire(ctx context.Context, actor member.Actor) (Questionnaire, error) {
	if !actor.IsSME() {
		return Questionnaire{}, ErrForbidden
	}
	var q Questionnaire
	var c Campaign
	err := s.db.QueryRow(ctx, `SELECT id, year, opened_at FROM barometer_campaigns WHERE closed_at IS NULL`).Scan(&c.ID, &c.Year, &c.OpenedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return q, nil
	}
	if err != nil {
		return q, wrap("questionnaire", err)
	}
	q.Campaign = &c
	rows, _ := s.db.Query(ctx, `SELECT id, legal_name FROM organisations WHERE status = 'member' AND kind IN ('ge', 'public') ORDER BY legal_name, id`)
	if q.Accounts, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Account]); err != nil {
		return q, wrap("questionnaire accounts", err)
	}
	rows, _ = s.db.Query(ctx, `SELECT o.id, o.legal_name, a.relationship, a.payment, a.clarity, a.innovation, a.comment, a.updated_at
		FROM barometer_answers a JOIN organisations o ON o.id = a.account_id
		WHERE a.campaign_id = $1 AND a.sme_id = $2 ORDER BY o.legal_name`, c.ID, actor.OrgID)
	q.Answers, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Answered, error) {
		var a Answered
		err := row.Scan(&a.ID, &a.Name, &a.Scores[0], &a.Scores[1], &a.Scores[2], &a.Scores[3], &a.Comment, &a.UpdatedAt)
		a.AccountID = a.ID
		return a, err
	})
	return q, wrap("questionnaire answers", err)
}

// check parses the form: each score a whole number from 0 to 10.
func (in RatingInput) check() (Rating, validate.Errors) {
	errs := validate.Errors{}
	var r Rating
	id, err := strconv.ParseInt(strings.TrimSpace(in.Account), 10, 64)
	if err != nil || id <= 0 {
		errs.Add("account", "form.choose")
	}
	r.AccountID = id
	for i, c := range Criteria {
		v, err := strconv.Atoi(strings.TrimSpace(in.Scores[i]))
		switch {
		case strings.TrimSpace(in.Scores[i]) == "":
			errs.Add(c, errRequired)
		case err != nil || v < 0 || v > 10:
			errs.Add(c, "indicator.err.score")
		}
		r.Scores[i] = v
	}
	r.Comment = validate.Clean(in.Comment)
	errs.MaxLen("comment", r.Comment, 2000)
	return r, errs
}

// Answer records an SME's rating of a large account in the open campaign;
// answering the same account again replaces the answer while the campaign
// is open. No user's name is ever shown with it.
func (s *Service) Answer(ctx context.Context, actor member.Actor, in RatingInput) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	r, errs := in.check()
	if errs.Any() {
		return &validate.Error{Fields: errs}
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var campaign int64
		err := tx.QueryRow(ctx, `SELECT id FROM barometer_campaigns WHERE closed_at IS NULL FOR SHARE`).Scan(&campaign)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrInvalidState
		}
		if err != nil {
			return err
		}
		var name string
		err = tx.QueryRow(ctx, `SELECT legal_name FROM organisations WHERE id = $1 AND status = 'member' AND kind IN ('ge', 'public')`,
			r.AccountID).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			return &validate.Error{Fields: validate.Errors{"account": "form.choose"}}
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO barometer_answers (campaign_id, account_id, sme_id, relationship, payment, clarity, innovation,
				comment, user_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
			ON CONFLICT (campaign_id, account_id, sme_id) DO UPDATE SET relationship = excluded.relationship, payment = excluded.payment,
				clarity = excluded.clarity, innovation = excluded.innovation, comment = excluded.comment, user_id = excluded.user_id,
				updated_at = excluded.updated_at`,
			campaign, r.AccountID, actor.OrgID, r.Scores[0], r.Scores[1], r.Scores[2], r.Scores[3], r.Comment, actor.UserID, s.Now())
		if err != nil {
			return err
		}
		// The log says who answered about whom, not what: staff audit
		// the campaign without reading anyone's marks.
		return audit.Record(ctx, tx, actor.AuditEntry(ActionBarometerAnswered, actor.OrgID, name, ""))
	})
	return wrap("answer", err)
}

// Results are every large account's scores in a campaign (0: the latest
// campaign), for any signed-in user: the means only from MinAnswers
// answers, never who answered.
func (s *Service) Results(ctx context.Context, actor member.Actor, campaignID int64) (Campaign, []Score, error) {
	if !actor.SignedIn() {
		return Campaign{}, nil, ErrForbidden
	}
	var c Campaign
	err := s.db.QueryRow(ctx, `SELECT id, year, opened_at, closed_at FROM barometer_campaigns WHERE $1 = 0 OR id = $1
		ORDER BY year DESC LIMIT 1`, campaignID).Scan(&c.ID, &c.Year, &c.OpenedAt, &c.ClosedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		if campaignID == 0 {
			return Campaign{}, nil, nil
		}
		return Campaign{}, nil, ErrNotFound
	}
	if err != nil {
		return c, nil, wrap("results", err)
	}
	list, err := s.scores(ctx, `a.campaign_id = $1`, c.ID)
	if err != nil {
		return c, nil, wrap("results", err)
	}
	for i := range list {
		c.Answers += list[i].Answers
		if !actor.IsStaff() || !list[i].Enough {
			continue
		}
		rows, _ := s.db.Query(ctx, `SELECT comment FROM barometer_answers WHERE campaign_id = $1 AND account_id = $2 AND comment <> ''
			ORDER BY comment`, c.ID, list[i].OrgID)
		if list[i].Comments, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return c, nil, wrap("results comments", err)
		}
	}
	return c, list, nil
}

// scores aggregates answers by account and campaign; the means of
// accounts with too few answers are left at zero and Enough false.
func (s *Service) scores(ctx context.Context, where string, args ...any) ([]Score, error) {
	rows, _ := s.db.Query(ctx, `SELECT o.id, o.legal_name, c.year, count(*),
			avg(a.relationship)::float8, avg(a.payment)::float8, avg(a.clarity)::float8, avg(a.innovation)::float8
		FROM barometer_answers a JOIN organisations o ON o.id = a.account_id JOIN barometer_campaigns c ON c.id = a.campaign_id
		WHERE `+where+` GROUP BY o.id, o.legal_name, c.year ORDER BY o.legal_name, o.id, c.year DESC`, args...)
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
