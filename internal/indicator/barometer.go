package indicator

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
		open, err := s.store.openCampaigns(ctx, tx)
		if err != nil {
			return err
		}
		if open > 0 {
			return &validate.Error{Fields: validate.Errors{"year": "indicator.err.campaign_open"}}
		}
		id, err = s.store.insertCampaign(ctx, tx, year, actor.UserID, s.Now())
		if errors.Is(err, errYearTaken) {
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
		year, err := s.store.closeCampaign(ctx, tx, id, s.Now())
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
	list, err := s.store.campaigns(ctx, s.db)
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
	c, err := s.store.openCampaign(ctx, s.db, false)
	if errors.Is(err, ErrNotFound) {
		return q, nil
	}
	if err != nil {
		return q, wrap("questionnaire", err)
	}
	q.Campaign = &c
	if q.Accounts, err = s.store.accounts(ctx, s.db); err != nil {
		return q, wrap("questionnaire accounts", err)
	}
	q.Answers, err = s.store.answered(ctx, s.db, c.ID, actor.OrgID)
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
		c, err := s.store.openCampaign(ctx, tx, true)
		if errors.Is(err, ErrNotFound) {
			return ErrInvalidState
		}
		if err != nil {
			return err
		}
		name, err := s.store.accountName(ctx, tx, r.AccountID)
		if errors.Is(err, ErrNotFound) {
			return &validate.Error{Fields: validate.Errors{"account": "form.choose"}}
		}
		if err != nil {
			return err
		}
		if err := s.store.saveAnswer(ctx, tx, c.ID, actor.OrgID, actor.UserID, r, s.Now()); err != nil {
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
	c, err := s.store.campaign(ctx, s.db, campaignID)
	if errors.Is(err, ErrNotFound) && campaignID == 0 {
		return Campaign{}, nil, nil
	}
	if err != nil {
		return c, nil, wrap("results", err)
	}
	list, err := s.store.scoresIn(ctx, s.db, c.ID)
	if err != nil {
		return c, nil, wrap("results", err)
	}
	for i := range list {
		c.Answers += list[i].Answers
		if !actor.IsStaff() || !list[i].Enough {
			continue
		}
		if list[i].Comments, err = s.store.comments(ctx, s.db, c.ID, list[i].OrgID); err != nil {
			return c, nil, wrap("results comments", err)
		}
	}
	return c, list, nil
}
