package purchase

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/indicator"
	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/once"
)

// Match is where one SME stands with one request.
type Match struct {
	RequestID      int64
	OrgID          int64
	OrgName        string
	OrgSIREN       string
	OrgDepartement string
	Matched        bool
	State          State
	Message        string
	Answers        []string
	OfferID        *int64
	OfferTitle     *string
	SMEReason      string
	SMEReasonText  string
	BuyerReason    string
	ContractAmount *int64
	ContractDate   *time.Time
	AnsweredAt     *time.Time
	UpdatedAt      time.Time
	Reported       bool
	Unread         int     // messages the reader has not read yet
	Visited        []State // the states it went through, from its events
	Score          *float64
	Rank           *int
	Reasons        []byte // JSON, as the matcher gave them
	BestOfferID    *int64
	BestOfferTitle *string
	// Actions are the steps its reader may take on it now (the buyer's,
	// on its own request's answers and matches).
	Actions []Action
}

// open suggests an opened request to the SMEs the matcher ranks, and
// invites the first batch of them by mail.
func (s *Service) open(ctx context.Context, tx pgx.Tx, r Request) error {
	if err := s.suggest(ctx, tx, r); err != nil {
		return err
	}
	if err := s.event(ctx, tx, r.ID, 0, "opened", 0); err != nil {
		return err
	}
	_, err := s.invite(ctx, tx, r, s.Invitations.FirstBatch)
	return err
}

// suggest stores the matcher's ranking of a request: scores, ranks and
// reasons of the SMEs it suggests; an SME it no longer suggests that has
// not answered is no longer matched (it keeps what it did).
func (s *Service) suggest(ctx context.Context, tx pgx.Tx, r Request) error {
	list, err := s.matcher.Match(ctx, tx, r)
	if err != nil {
		return fmt.Errorf("purchase: match %d: %w", r.ID, err)
	}
	stored, err := s.store.ranking(ctx, tx, r.ID)
	if err != nil {
		return err
	}
	return s.store.storeMerged(ctx, tx, []rankingMerge{{r.ID, stored, list}}, s.Now())
}

// invite mails up to n SMEs matched to the request that were not invited
// yet, best ranked first: those still to answer, scored at least the
// minimum, and not invited to more than the weekly number of requests.
func (s *Service) invite(ctx context.Context, tx pgx.Tx, r Request, n int) (int, error) {
	orgs, err := s.store.toInvite(ctx, tx, r.ID, s.Invitations.MinScore, s.Now().Add(-7*24*time.Hour), s.Invitations.PerWeek, n)
	if err != nil {
		return 0, err
	}
	for _, org := range orgs {
		if err := s.store.markInvited(ctx, tx, r.ID, org, s.Now()); err != nil {
			return 0, err
		}
		if err := s.mailSME(ctx, tx, r, org, "request_announced"); err != nil {
			return 0, err
		}
		if err := s.event(ctx, tx, r.ID, org, "invited", 0); err != nil {
			return 0, err
		}
	}
	return len(orgs), nil
}

// mailSME writes kind to each user of an SME who has not turned the
// requests' mails off, with their own one-click links. The buyer's name
// is never in it: the request may be anonymous.
func (s *Service) mailSME(ctx context.Context, tx pgx.Tx, r Request, org int64, kind string) error {
	if s.notify == nil {
		return nil
	}
	users, err := recipients(ctx, tx, org, Requests)
	if err != nil {
		return err
	}
	base := s.notify.BaseURL()
	for _, u := range users {
		in, err := s.SignLink(ctx, Link{Purpose: LinkInterest, Request: r.ID, Org: org, User: u.id, Expires: s.linkExpiry(r)})
		if err != nil {
			return err
		}
		out, err := s.SignLink(ctx, Link{Purpose: LinkNotInterested, Request: r.ID, Org: org, User: u.id, Expires: s.linkExpiry(r)})
		if err != nil {
			return err
		}
		if err := s.notify.Send(ctx, tx, u.Recipient, Requests, kind, "Title", r.Title, "Deadline", r.Deadline.Format("02/01/2006"),
			"URL", fmt.Sprintf("%s/demandes/%d", base, r.ID),
			"InterestURL", fmt.Sprintf("%s/demandes/%d/lien?%s", base, r.ID, url.Values{"jeton": {in}}.Encode()),
			"DeclineURL", fmt.Sprintf("%s/demandes/%d/lien?%s", base, r.ID, url.Values{"jeton": {out}}.Encode())); err != nil {
			return err
		}
	}
	return nil
}

// linkExpiry: links to answer a request last LinkTTL, and never past the
// end of its deadline.
func (s *Service) linkExpiry(r Request) time.Time {
	end := r.Deadline.AddDate(0, 0, 1)
	if exp := s.Now().Add(s.LinkTTL); exp.Before(end) {
		return exp
	}
	return end
}

// Page is a request as its reader may see it.
type Page struct {
	Request
	// BuyerHidden: the reader is an SME and the buyer chose anonymity
	// and has not accepted it; Request.OrgName is then empty.
	BuyerHidden bool
	Mine        bool    // the reader's large account wrote it
	Match       *Match  // the reader's SME with the request
	Answers     []Match // for the buyer and staff: the SMEs that answered or declined
	Offers      []Offer // for the SME: its published offers, to point to one
	Takes       bool    // it takes answers today
	// Actions are the SME reader's possible answers now; TooLate: it
	// would have some, but the request takes no more answers.
	Actions []Action
	TooLate bool
	// Matches are, for the buyer and staff, the SMEs the matcher ranks
	// first (MatchesShown), with the buyer's possible steps on each.
	Matches []Match
	// Reputation is, for an SME, the buyer's declared payment figures and
	// barometer scores; nil while the buyer is hidden.
	Reputation *indicator.Reputation
	// Review is, for the buyer and staff, the coach's reading of the
	// request and, after its deadline, what happened to it.
	Review *Review
}

// MatchesShown is how many ranked SMEs a request's page lists.
const MatchesShown = 20

// Reputations reads a large account's reputation (the indicator service).
type Reputations interface {
	Reputation(ctx context.Context, actor member.Actor, accountID int64) (indicator.Reputation, error)
}

// Offer is one of the SME's published offers: what it points its answer
// to, and what the advice on raising its rank reads.
type Offer struct {
	ID     int64
	Title  string
	CPV    []string
	Places []string
	TRL    int
}

// Get returns a request for its reader: the buyer's large account, staff,
// or an SME it is visible to (an SME's first look marks it viewed). Anyone
// else gets ErrNotFound.
func (s *Service) Get(ctx context.Context, actor member.Actor, id int64) (Page, error) {
	var p Page
	req, err := s.store.request(ctx, s.db, id)
	if err != nil {
		return p, wrap("get", id, err)
	}
	p.Request, p.Takes = req, req.Takes(s.Now())
	switch {
	case actor.IsBuyer() && actor.OrgID == p.OrgID, actor.IsStaff():
		p.Mine = !actor.IsStaff()
		if p.Answers, err = s.store.answers(ctx, s.db, id, actor.OrgID, actor.UserID); err != nil {
			return p, wrap("get", id, err)
		}
		if p.Matches, err = s.store.ranked(ctx, s.db, id, MatchesShown); err != nil {
			return p, wrap("get", id, err)
		}
		rv, err := s.review(ctx, p.Request)
		if err != nil {
			return p, wrap("get", id, err)
		}
		p.Review = &rv
		if p.Mine {
			s.allow(p.Answers, p.Request, RoleBuyer)
			s.allow(p.Matches, p.Request, RoleBuyer)
		}
		return p, nil
	case actor.IsSME():
		return p, wrap("get", id, s.smePage(ctx, actor, &p))
	}
	return p, ErrNotFound
}

// smePage fills what an SME reads of a request it may see.
func (s *Service) smePage(ctx context.Context, actor member.Actor, p *Page) error {
	ok, err := s.store.visible(ctx, s.db, p.ID, actor.OrgID)
	if err != nil || !ok {
		return cmp.Or(err, ErrNotFound)
	}
	if p.Takes {
		if err := s.viewed(ctx, actor, p.ID); err != nil {
			return err
		}
	}
	sit := Situation{State: StateSuggested, Status: p.Status, Takes: p.Takes}
	m, err := s.store.match(ctx, s.db, p.ID, actor.OrgID)
	switch {
	case err == nil:
		p.Match, sit = &m, m.Situation(p.Request, s.Now())
	case !errors.Is(err, ErrNotFound):
		return err
	}
	p.Actions = Allowed(sit, RoleSME)
	if !p.Takes {
		sit.Takes = true
		p.TooLate = len(Allowed(sit, RoleSME)) > 0
	}
	if p.Anonymous && (p.Match == nil || !p.Match.State.Reveals()) {
		p.BuyerHidden, p.OrgName = true, ""
	}
	if p.Offers, err = s.store.listedOffers(ctx, s.db, actor.OrgID); err != nil {
		return err
	}
	if !p.BuyerHidden && s.reputations != nil {
		rep, err := s.reputations.Reputation(ctx, actor, p.OrgID)
		if err != nil {
			return err
		}
		p.Reputation = &rep
	}
	return nil
}

// allow fills each match's Actions: what role may do on it now.
func (s *Service) allow(list []Match, r Request, role Role) {
	for i := range list {
		list[i].Actions = Allowed(list[i].Situation(r, s.Now()), role)
	}
}

// viewed marks a request seen by the SME (the first time only).
func (s *Service) viewed(ctx context.Context, actor member.Actor, id int64) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		first, err := s.store.markViewed(ctx, tx, id, actor.OrgID, s.Now())
		if err != nil || !first {
			return err
		}
		return s.event(ctx, tx, id, actor.OrgID, string(StateViewed), actor.UserID)
	})
}

// smeStep locks, for an SME's answer, the request (shared: it cannot
// close meanwhile) and the SME's match (created as viewed when the SME
// answers from a mail), and checks the lifecycle allows act.
func (s *Service) smeStep(ctx context.Context, tx pgx.Tx, actor member.Actor, id int64, act Action) (Request, State, error) {
	if !actor.IsSME() {
		return Request{}, "", ErrForbidden
	}
	r, err := s.store.lockVisible(ctx, tx, id, actor.OrgID)
	if err != nil {
		return r, "", err
	}
	if err := s.store.ensureMatch(ctx, tx, id, actor.OrgID, s.Now()); err != nil {
		return r, "", err
	}
	sit, err := s.store.lockMatch(ctx, tx, id, actor.OrgID)
	if err != nil {
		return r, "", err
	}
	sit.Status, sit.Takes = r.Status, r.Takes(s.Now())
	to, err := Next(sit, RoleSME, act)
	return r, to, err
}

// ExpressInterest records an SME's interest: its message, its answers to
// the buyer's questions and optionally one of its published offers. The
// buyer is told at the 1st, 2nd and 5th interest, not at every one.
func (s *Service) ExpressInterest(ctx context.Context, actor member.Actor, id int64, in Interest) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		_, err := once.Do(ctx, tx, "interest", func() (int64, error) { return 0, s.interest(ctx, tx, actor, id, in) })
		return err
	})
	return wrap("interest", id, err)
}

// interest writes an SME's interest in tx.
func (s *Service) interest(ctx context.Context, tx pgx.Tx, actor member.Actor, id int64, in Interest) error {
	r, to, err := s.smeStep(ctx, tx, actor, id, ActInterest)
	if err != nil {
		return err
	}
	if errs := in.Validate(r.Questions); errs.Any() {
		return &ValidationError{Fields: errs}
	}
	offer, err := s.chosenOffer(ctx, tx, actor, in)
	if err != nil {
		return err
	}
	if err := s.store.setInterest(ctx, tx, id, actor.OrgID, to, in, offer, s.Now()); err != nil {
		return err
	}
	if err := s.event(ctx, tx, id, actor.OrgID, string(StateInterested), actor.UserID); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, actor.AuditEntry(ActionInterested, r.OrgID, r.Title, "")); err != nil {
		return err
	}
	n, err := s.store.interestedCount(ctx, tx, id)
	if err != nil {
		return err
	}
	if s.notify != nil && (n == 1 || n == 2 || n == 5) {
		return s.notify.Organisation(ctx, tx, r.OrgID, Answers, "interest_received", "Title", r.Title, "Count", n,
			"URL", fmt.Sprintf("%s/espace/demandes/%d", s.notify.BaseURL(), id))
	}
	return nil
}

// chosenOffer checks the offer an interest points to is one of the SME's
// published offers; nil when it points to none.
func (s *Service) chosenOffer(ctx context.Context, tx pgx.Tx, actor member.Actor, in Interest) (any, error) {
	if in.OfferID == "" {
		return nil, nil
	}
	notYours := &ValidationError{Fields: map[string]string{"offer": "match.offer_not_yours"}}
	n, err := strconv.ParseInt(in.OfferID, 10, 64)
	if err != nil {
		return nil, notYours
	}
	ok, err := s.store.ownsListedOffer(ctx, tx, n, actor.OrgID)
	if err != nil || !ok {
		return nil, cmp.Or(err, error(notYours))
	}
	return n, nil
}

// NotInterested records an SME's "not interested" with its reason, which
// the buyer reads. It ends the reminders.
func (s *Service) NotInterested(ctx context.Context, actor member.Actor, id int64, d Decline) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	if errs := d.Validate(); errs.Any() {
		return &ValidationError{Fields: errs}
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, _, err := s.smeStep(ctx, tx, actor, id, ActNotInterested)
		if err != nil {
			return err
		}
		if err := s.store.setNotInterested(ctx, tx, id, actor.OrgID, d, s.Now()); err != nil {
			return err
		}
		if err := s.event(ctx, tx, id, actor.OrgID, string(StateNotInterested), actor.UserID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor.AuditEntry(ActionNotInterested, r.OrgID, r.Title, d.Reason))
	})
	return wrap("not interested", id, err)
}

// Reply is a buyer's step on an SME's answer.
type Reply struct {
	Action Action // one of ReplyActions
	Reason string // decline: required
	Amount string // won: € HT, required
	Date   string // won: YYYY-MM-DD, required
}

// replyAudit is the audit action of each of the buyer's steps.
var replyAudit = map[Action]audit.Action{
	ActShortlist: ActionShortlisted, ActAccept: ActionAccepted, ActDecline: ActionDeclined, ActWon: ActionWon, ActLost: ActionLost,
}

// validate checks the fields of a step; amount in euros.
func (rp *Reply) validate(today time.Time) (amount int64, date time.Time, errs map[string]string) {
	e := map[string]string{}
	switch rp.Action {
	case ActDecline:
		rp.Reason = cleanText(rp.Reason)
		switch {
		case rp.Reason == "":
			e["reason"] = "form.required"
		case len([]rune(rp.Reason)) > MaxReason:
			e["reason"] = "form.too_long"
		}
	case ActWon:
		n, err := parseEuros(rp.Amount)
		switch {
		case rp.Amount == "":
			e["amount"] = "form.required"
		case err != nil || n <= 0:
			e["amount"] = "request.amount_invalid"
		}
		amount = n
		d, err := time.Parse(time.DateOnly, cleanText(rp.Date))
		switch {
		case cleanText(rp.Date) == "":
			e["date"] = "form.required"
		case err != nil || d.Year() < 2000 || d.After(day(today).AddDate(1, 0, 0)):
			e["date"] = "request.date_invalid"
		}
		date = d
	}
	return amount, date, e
}

// Respond takes a buyer's step on an SME's answer to one of its requests:
// shortlist, accept (opens the conversation and reveals an anonymous
// buyer), decline with a reason the SME reads, won (with the contract's
// amount and date) or lost. The SME is told of each but the shortlist.
func (s *Service) Respond(ctx context.Context, actor member.Actor, id, org int64, rp Reply) error {
	if _, ok := replyAudit[rp.Action]; !ok {
		return ErrInvalidState
	}
	amount, date, errs := rp.validate(s.Now())
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, err := own(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		sit, err := s.store.lockMatch(ctx, tx, id, org)
		if err == nil && !sit.State.Answered() && !(sit.Matched && rp.Action == ActShortlist) {
			err = ErrNotFound // the buyer sees the SMEs that answered, and its matches
		}
		if err != nil {
			return err
		}
		sit.Status, sit.Takes = r.Status, r.Takes(s.Now())
		to, err := Next(sit, RoleBuyer, rp.Action)
		if err != nil {
			return err
		}
		var amountArg, dateArg any
		if to == StateWon {
			amountArg, dateArg = amount, date
		}
		if err := s.store.setReply(ctx, tx, id, org, to, rp.Reason, amountArg, dateArg, s.Now()); err != nil {
			return err
		}
		if err := s.event(ctx, tx, id, org, string(to), actor.UserID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, actor.AuditEntry(replyAudit[rp.Action], org, r.Title, rp.Reason)); err != nil {
			return err
		}
		if s.notify == nil || to == StateShortlisted {
			return nil
		}
		buyer := r.OrgName
		if r.Anonymous && !to.Reveals() && !sit.State.Reveals() {
			buyer = "" // the mail template says "the buyer"
		}
		return s.notify.Organisation(ctx, tx, org, Answers, "answer_"+string(to), "Title", r.Title, "Buyer", buyer,
			"Reason", rp.Reason, "URL", fmt.Sprintf("%s/demandes/%d", s.notify.BaseURL(), id))
	})
	return wrap("respond", id, err)
}

// ForYou lists the open requests an SME is matched to, best score first,
// each with its match (score and reasons), a page at a time.
func (s *Service) ForYou(ctx context.Context, actor member.Actor, page int) ([]Hit, []Match, int, error) {
	if !actor.IsSME() {
		return nil, nil, 0, ErrForbidden
	}
	hits, matches, total, err := s.store.forYou(ctx, s.db, actor.OrgID, s.today(), page)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("purchase: for you: %w", err)
	}
	return hits, matches, total, nil
}

// MaxFeedbackReason bounds the reason of a feedback.
const MaxFeedbackReason = 500

// Feedback records whether a match is relevant, by the request's buyer,
// the SME itself or staff, with an optional reason, for tuning. One per
// user and match: a second one replaces the first.
func (s *Service) Feedback(ctx context.Context, actor member.Actor, id, org int64, relevant bool, reason string) error {
	reason = cleanText(reason)
	if len([]rune(reason)) > MaxFeedbackReason {
		return &ValidationError{Fields: map[string]string{"reason": "form.too_long"}}
	}
	buyer, matched, err := s.store.feedbackTarget(ctx, s.db, id, org)
	allowed := actor.IsStaff() || (actor.IsBuyer() && actor.OrgID == buyer) || (actor.IsSME() && actor.OrgID == org)
	if err == nil && (!allowed || !matched) {
		err = ErrNotFound
	}
	if err == nil {
		err = s.store.saveFeedback(ctx, s.db, id, org, actor.UserID, relevant, reason, s.Now())
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("purchase: feedback %d/%d: %w", id, org, err)
	}
	return err
}
