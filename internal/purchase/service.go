package purchase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/coach"
	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/config"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/once"
	"passerelle/internal/taxonomy"
)

// PageSize is the length of the pages of request lists.
const PageSize = 50

// Audit actions of requests and matches (moderation declares
// request.approved and request.sent_back).
var (
	ActionSubmitted       = audit.Declare("request.submitted")
	ActionClosed          = audit.Declare("request.closed")
	ActionFollowUp        = audit.Declare("request.follow_up")
	ActionFollowUpChanged = audit.Declare("request.follow_up_changed")
	ActionInterested      = audit.Declare("match.interested")
	ActionNotInterested   = audit.Declare("match.not_interested")
	ActionShortlisted     = audit.Declare("match.shortlisted")
	ActionAccepted        = audit.Declare("match.accepted")
	ActionDeclined        = audit.Declare("match.declined")
	ActionWon             = audit.Declare("match.won")
	ActionLost            = audit.Declare("match.lost")
	ActionReported        = audit.Declare("conversation.reported")
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
	// recomputed counts what ApplyMatchChanges did.
	recomputed recomputeStats
	store      store
	// reputations gives an SME the buyer's reputation; nil: none shown.
	reputations Reputations
	// coach reads requests as SMEs would, and what happened after them.
	coach *coach.Service
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
	return &Service{db: db, tax: tax, index: index, notify: notify, matcher: SimpleMatcher{Tax: tax, Limit: 500}, coach: coach.NewService(db),
		Now: time.Now, LinkTTL: 14 * 24 * time.Hour, keys: &linkKey{},
		Invitations: config.Invitations{FirstBatch: 10, DailyBatch: 10, Enough: 5, MinScore: 1, PerWeek: 5}}
}

// UseReputations gives the pages of SMEs the buyers' reputation.
func (s *Service) UseReputations(r Reputations) { s.reputations = r }

// UseMatcher replaces the rule that picks the SMEs a request is suggested to.
func (s *Service) UseMatcher(m Matcher) { s.matcher = m }

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
	return s.store.insertEvent(ctx, tx, reqID, orgID, kind, userID, s.Now())
}

// stored is what a request's input is written as.
func (s *Service) stored(in Input, status Status) stored {
	places := in.Places(s.tax)
	terms, _ := in.Terms()
	return stored{Input: in, Terms: terms, CPVText: s.index.CPVText(in.CPVCodes), Places: places,
		Facets: Facets(s.tax, in.CPVCodes, places, in.BudgetBand), Status: status}
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
		var err error
		id, err = once.Do(ctx, tx, "request", func() (int64, error) {
			id, err := s.store.insertRequest(ctx, tx, actor.OrgID, actor.UserID, s.stored(in, status), s.Now())
			if err != nil || !submit {
				return id, err
			}
			return id, audit.Record(ctx, tx, actor.AuditEntry(ActionSubmitted, actor.OrgID, in.Title, ""))
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purchase: create: %w", err)
	}
	return id, nil
}

// own loads a request of the actor's organisation, locked for update;
// another organisation's request is ErrNotFound, as if it did not exist.
func own(ctx context.Context, tx pgx.Tx, actor member.Actor, id int64) (Request, error) {
	if !actor.IsBuyer() {
		return Request{}, ErrForbidden
	}
	r, err := store{}.lockRequest(ctx, tx, id)
	if err == nil && r.OrgID != actor.OrgID {
		err = ErrNotFound
	}
	return r, err
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
		if err := s.store.updateRequest(ctx, tx, id, s.stored(in, status), s.Now()); err != nil {
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
		if err := s.store.markSubmitted(ctx, tx, id, s.Now()); err != nil {
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
	if err := s.store.markClosed(ctx, tx, r.ID, outcome, s.Now()); err != nil {
		return err
	}
	orgs, err := s.store.closeMatches(ctx, tx, r.ID, From(RoleSystem, ActClose), s.Now())
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
	list, total, err := s.store.mine(ctx, s.db, actor.OrgID, page)
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

// Editable returns a request of the actor's large account that may still
// be edited (ErrInvalidState once open).
func (s *Service) Editable(ctx context.Context, actor member.Actor, id int64) (Request, error) {
	if !actor.IsBuyer() {
		return Request{}, ErrForbidden
	}
	r, err := s.store.orgRequest(ctx, s.db, id, actor.OrgID)
	if err == nil && (r.Status == StatusOpen || r.Status == StatusClosed) {
		err = ErrInvalidState
	}
	return r, wrap("editable", id, err)
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
