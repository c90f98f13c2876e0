package purchase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/config"
	"passerelle/internal/platform/notify"
	"passerelle/internal/taxonomy"
)

// PageSize is the length of the pages of request lists.
const PageSize = 50

// Audit actions of requests and matches (moderation declares
// request.approved and request.sent_back).
var (
	ActionSubmitted     = audit.Declare("request.submitted")
	ActionClosed        = audit.Declare("request.closed")
	ActionFollowUp      = audit.Declare("request.follow_up")
	ActionInterested    = audit.Declare("match.interested")
	ActionNotInterested = audit.Declare("match.not_interested")
	ActionShortlisted   = audit.Declare("match.shortlisted")
	ActionAccepted      = audit.Declare("match.accepted")
	ActionDeclined      = audit.Declare("match.declined")
	ActionWon           = audit.Declare("match.won")
	ActionLost          = audit.Declare("match.lost")
	ActionReported      = audit.Declare("conversation.reported")
)

// Mail categories users may turn off.
var (
	// Requests are the mails that bring requests to SMEs: a new request that
	// fits, the daily digest of saved searches, reminders.
	Requests = notify.Declare("requests")
	// Answers are the mails about answers: an SME's interest to the buyer,
	// the buyer's reply to the SME, the question after the deadline.
	Answers = notify.Declare("answers")
	// Messages are the mails that tell of a new message in a conversation.
	Messages = notify.Declare("messages")
)

// Notifier writes mails inside the caller's transaction.
type Notifier interface {
	Organisation(ctx context.Context, tx pgx.Tx, orgID int64, cat notify.Category, kind string, kv ...any) error
	Send(ctx context.Context, tx pgx.Tx, r notify.Recipient, cat notify.Category, kind string, kv ...any) error
	BaseURL() string
}

// Indexer gives the French labels of CPV codes, for search.
type Indexer interface {
	CPVText(codes []string) string
}

// Service holds the requests' rules.
type Service struct {
	db      *pgxpool.Pool
	tax     *taxonomy.Taxonomy
	index   Indexer
	notify  Notifier
	matcher Matcher
	matches matchStore
	// reputations gives an SME the buyer's reputation; nil: none shown.
	reputations Reputations
	// Now is the clock (tests move it).
	Now func() time.Time
	// LinkTTL is how long one-click links in mails stay valid.
	LinkTTL time.Duration
	// Invitations bound the mails inviting matched SMEs.
	Invitations config.Invitations
	keys        *linkKey
}

// NewService builds the service; notify may be nil (no mail).
func NewService(db *pgxpool.Pool, tax *taxonomy.Taxonomy, index Indexer, notify Notifier) *Service {
	return &Service{db: db, tax: tax, index: index, notify: notify, matcher: SimpleMatcher{Tax: tax, Limit: 500},
		Now: time.Now, LinkTTL: 14 * 24 * time.Hour, keys: &linkKey{},
		Invitations: config.Invitations{FirstBatch: 10, DailyBatch: 10, Enough: 5, MinScore: 1, PerWeek: 5}}
}

// UseReputations gives the pages of SMEs the buyers' reputation.
func (s *Service) UseReputations(r Reputations) { s.reputations = r }

// UseMatcher replaces the rule that picks the SMEs a request is suggested to.
func (s *Service) UseMatcher(m Matcher) { s.matcher = m }

const columns = `r.id, r.organisation_id, g.legal_name, g.kind::text, r.title, r.description, r.cpv_codes, r.budget_band,
	r.deadline, r.places, r.innovative, r.visibility, r.questions, r.anonymous, r.status::text, r.status_reason, r.outcome,
	r.follow_up, r.created_at, r.updated_at, r.submitted_at, r.published_at`

const from = ` FROM purchase_requests r JOIN organisations g ON g.id = r.organisation_id `

func collect(rows pgx.Rows, err error) ([]Request, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Request])
}

func (s *Service) today() time.Time { return day(s.Now()) }

func (s *Service) validate(actor member.Actor, in *Input) error {
	in.Normalize()
	if errs := in.Validate(s.tax, s.Now(), actor.Kind == member.KindPublic); errs.Any() {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// event keeps a step of the loop with its time, for the indicators.
func (s *Service) event(ctx context.Context, tx pgx.Tx, reqID, orgID int64, kind string, userID int64) error {
	var org, user any
	if orgID != 0 {
		org = orgID
	}
	if userID != 0 {
		user = userID
	}
	_, err := tx.Exec(ctx, `INSERT INTO request_events (request_id, organisation_id, kind, user_id, at) VALUES ($1, $2, $3, $4, $5)`,
		reqID, org, kind, user, s.Now())
	return err
}

// Create saves a new request of the actor's large account, as a draft or
// submitted for review at once.
func (s *Service) Create(ctx context.Context, actor member.Actor, in Input, submit bool) (int64, error) {
	if !actor.IsBuyer() {
		return 0, ErrForbidden
	}
	if err := s.validate(actor, &in); err != nil {
		return 0, err
	}
	status := StatusDraft
	if submit {
		status = StatusSubmitted
	}
	var id int64
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		places := in.Places(s.tax)
		err := tx.QueryRow(ctx, `INSERT INTO purchase_requests (organisation_id, author_id, title, description, cpv_codes, cpv_text,
				budget_band, deadline, places, innovative, visibility, questions, anonymous, facets, status, submitted_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
				CASE WHEN $15 = 'submitted'::request_status THEN $16::timestamptz END, $16, $16)
			RETURNING id`, actor.OrgID, actor.UserID, in.Title, in.Description, in.CPVCodes, s.index.CPVText(in.CPVCodes),
			in.BudgetBand, in.Deadline, places, in.Innovative, in.Visibility, nonNil(in.Questions), in.Anonymous,
			Facets(s.tax, in.CPVCodes, places, in.BudgetBand), status, s.Now()).Scan(&id)
		if err != nil {
			return err
		}
		if submit {
			return audit.Record(ctx, tx, actor.AuditEntry(ActionSubmitted, actor.OrgID, in.Title, ""))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purchase: create: %w", err)
	}
	return id, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// own loads a request of the actor's organisation, locked for update;
// another organisation's request is ErrNotFound, as if it did not exist.
func own(ctx context.Context, tx pgx.Tx, actor member.Actor, id int64) (Request, error) {
	if !actor.IsBuyer() {
		return Request{}, ErrForbidden
	}
	list, err := collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.id = $1 FOR NO KEY UPDATE OF r`, id))
	if err != nil {
		return Request{}, err
	}
	if len(list) == 0 || list[0].OrgID != actor.OrgID {
		return Request{}, ErrNotFound
	}
	return list[0], nil
}

// Update saves changes to a draft, a submitted or a sent-back request. An
// open request is not edited: SMEs may have answered what it said.
func (s *Service) Update(ctx context.Context, actor member.Actor, id int64, in Input, submit bool) error {
	if !actor.IsBuyer() {
		return ErrForbidden
	}
	if err := s.validate(actor, &in); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, err := own(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if r.Status == StatusOpen || r.Status == StatusClosed {
			return ErrInvalidState
		}
		status := r.Status
		switch {
		case submit:
			status = StatusSubmitted
		case r.Status == StatusRejected:
			status = StatusDraft
		}
		places := in.Places(s.tax)
		_, err = tx.Exec(ctx, `UPDATE purchase_requests SET title = $2, description = $3, cpv_codes = $4, cpv_text = $5,
				budget_band = $6, deadline = $7, places = $8, innovative = $9, visibility = $10, questions = $11, anonymous = $12,
				facets = $13, status = $14, updated_at = $15,
				submitted_at = CASE WHEN $14 = 'submitted'::request_status AND status <> 'submitted' THEN $15 ELSE submitted_at END
			WHERE id = $1`, id, in.Title, in.Description, in.CPVCodes, s.index.CPVText(in.CPVCodes), in.BudgetBand, in.Deadline,
			places, in.Innovative, in.Visibility, nonNil(in.Questions), in.Anonymous, Facets(s.tax, in.CPVCodes, places, in.BudgetBand),
			status, s.Now())
		if err != nil {
			return err
		}
		if submit && r.Status != StatusSubmitted {
			return audit.Record(ctx, tx, actor.AuditEntry(ActionSubmitted, actor.OrgID, in.Title, ""))
		}
		return nil
	})
	return wrap("update", id, err)
}

// Submit sends a draft (or a request sent back) for review. Its deadline
// must still be ahead.
func (s *Service) Submit(ctx context.Context, actor member.Actor, id int64) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, err := own(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if r.Status != StatusDraft && r.Status != StatusRejected {
			return ErrInvalidState
		}
		if !r.Deadline.After(s.today()) {
			return &ValidationError{Fields: map[string]string{"deadline": "request.deadline_past"}}
		}
		if _, err := tx.Exec(ctx, `UPDATE purchase_requests SET status = 'submitted', submitted_at = $2, updated_at = $2 WHERE id = $1`,
			id, s.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor.AuditEntry(ActionSubmitted, actor.OrgID, r.Title, ""))
	})
	return wrap("submit", id, err)
}

// Close ends an open request with its outcome (awarded, not awarded,
// cancelled). SMEs still waiting or in discussion are told it is lost.
func (s *Service) Close(ctx context.Context, actor member.Actor, id int64, outcome string) error {
	if !contains(Outcomes, outcome) {
		return &ValidationError{Fields: map[string]string{"outcome": "form.choose"}}
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, err := own(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if r.Status != StatusOpen {
			return ErrInvalidState
		}
		return s.close(ctx, tx, actor, r, outcome)
	})
	return wrap("close", id, err)
}

func (s *Service) close(ctx context.Context, tx pgx.Tx, actor member.Actor, r Request, outcome string) error {
	if _, err := tx.Exec(ctx, `UPDATE purchase_requests SET status = 'closed', outcome = $2, closed_at = $3, updated_at = $3 WHERE id = $1`,
		r.ID, outcome, s.Now()); err != nil {
		return err
	}
	orgs, err := s.matches.closeMatches(ctx, tx, r.ID, From(RoleSystem, ActClose), s.Now())
	if err != nil {
		return err
	}
	buyer := r.OrgName
	if r.Anonymous {
		buyer = "" // some of them were never accepted: the mail says "the buyer"
	}
	for _, org := range orgs {
		if err := s.event(ctx, tx, r.ID, org, string(StateLost), actor.UserID); err != nil {
			return err
		}
		if s.notify != nil {
			if err := s.notify.Organisation(ctx, tx, org, Answers, "answer_lost", "Title", r.Title, "Buyer", buyer, "Reason", "",
				"URL", fmt.Sprintf("%s/demandes/%d", s.notify.BaseURL(), r.ID)); err != nil {
				return err
			}
		}
	}
	if err := s.event(ctx, tx, r.ID, 0, "closed_"+outcome, actor.UserID); err != nil {
		return err
	}
	return audit.Record(ctx, tx, actor.AuditEntry(ActionClosed, r.OrgID, r.Title, outcome))
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Mine lists a page of the requests of the actor's large account, with
// their total and, for each, the number of SMEs that answered.
func (s *Service) Mine(ctx context.Context, actor member.Actor, page int) ([]Summary, int, error) {
	if !actor.IsBuyer() {
		return nil, 0, ErrForbidden
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM purchase_requests WHERE organisation_id = $1`, actor.OrgID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("purchase: mine: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+columns+`,
			(SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.state NOT IN ('suggested', 'viewed', 'not_interested')),
			(SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.state = 'interested')`+from+`
		WHERE r.organisation_id = $1 ORDER BY r.updated_at DESC, r.id DESC LIMIT $2 OFFSET $3`,
		actor.OrgID, PageSize, (max(page, 1)-1)*PageSize)
	if err != nil {
		return nil, 0, fmt.Errorf("purchase: mine: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanSummary)
	if err != nil {
		return nil, 0, fmt.Errorf("purchase: mine: %w", err)
	}
	return list, total, nil
}

// Summary is a request in a list, with its answers.
type Summary struct {
	Request
	Answers int // SMEs that said they are interested
	New     int // answers waiting for the buyer's reply
}

func scanSummary(row pgx.CollectableRow) (Summary, error) {
	var x Summary
	r := &x.Request
	err := row.Scan(&r.ID, &r.OrgID, &r.OrgName, &r.OrgKind, &r.Title, &r.Description, &r.CPVCodes, &r.BudgetBand, &r.Deadline,
		&r.Places, &r.Innovative, &r.Visibility, &r.Questions, &r.Anonymous, &r.Status, &r.StatusReason, &r.Outcome, &r.FollowUp,
		&r.CreatedAt, &r.UpdatedAt, &r.SubmittedAt, &r.PublishedAt, &x.Answers, &x.New)
	return x, err
}

// Editable returns a request of the actor's large account that may still
// be edited (ErrInvalidState once open).
func (s *Service) Editable(ctx context.Context, actor member.Actor, id int64) (Request, error) {
	if !actor.IsBuyer() {
		return Request{}, ErrForbidden
	}
	list, err := collect(s.db.Query(ctx, `SELECT `+columns+from+`WHERE r.id = $1 AND r.organisation_id = $2`, id, actor.OrgID))
	if err != nil {
		return Request{}, fmt.Errorf("purchase: editable %d: %w", id, err)
	}
	if len(list) == 0 {
		return Request{}, ErrNotFound
	}
	if list[0].Status == StatusOpen || list[0].Status == StatusClosed {
		return Request{}, ErrInvalidState
	}
	return list[0], nil
}

// Takes reports whether the request takes answers on day today: open, and
// its deadline not passed.
func (r Request) Takes(today time.Time) bool {
	return r.Status == StatusOpen && !r.Deadline.Before(day(today))
}

func wrap(op string, id int64, err error) error {
	if err == nil {
		return nil
	}
	var v *ValidationError
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidState) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrClosed) ||
		errors.Is(err, ErrLinkInvalid) || errors.As(err, &v) {
		return err
	}
	return fmt.Errorf("purchase: %s %d: %w", op, id, err)
}
