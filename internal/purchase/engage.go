package purchase

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/audit"
	"passerelle/internal/member"
	"passerelle/internal/notify"
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
}

const matchColumns = `m.request_id, m.organisation_id, g.legal_name, g.siren, g.departement, m.matched, m.state, m.message, m.answers,
	m.offer_id, o.title, m.sme_reason, m.sme_reason_text, m.buyer_reason, m.contract_amount, m.contract_date, m.answered_at,
	m.updated_at, m.reported_at IS NOT NULL,
	array(SELECT DISTINCT e.kind FROM request_events e WHERE e.request_id = m.request_id AND e.organisation_id = m.organisation_id),
	m.score, m.rank, m.reasons, m.best_offer_id, bo.title`

const matchFrom = ` FROM request_matches m JOIN organisations g ON g.id = m.organisation_id LEFT JOIN offers o ON o.id = m.offer_id
	LEFT JOIN offers bo ON bo.id = m.best_offer_id `

func scanMatch(row pgx.CollectableRow) (Match, error) {
	var m Match
	err := row.Scan(&m.RequestID, &m.OrgID, &m.OrgName, &m.OrgSIREN, &m.OrgDepartement, &m.Matched, &m.State, &m.Message, &m.Answers,
		&m.OfferID, &m.OfferTitle, &m.SMEReason, &m.SMEReasonText, &m.BuyerReason, &m.ContractAmount, &m.ContractDate, &m.AnsweredAt,
		&m.UpdatedAt, &m.Reported, &m.Visited, &m.Score, &m.Rank, &m.Reasons, &m.BestOfferID, &m.BestOfferTitle)
	return m, err
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
	orgs := make([]int64, len(list))
	scores := make([]float64, len(list))
	reasons := make([]string, len(list))
	offers := make([]*int64, len(list))
	for i, sg := range list {
		orgs[i], scores[i], reasons[i] = sg.OrgID, sg.Score, string(sg.Reasons)
		if len(sg.Reasons) == 0 {
			reasons[i] = "[]"
		}
		if sg.OfferID != 0 {
			offers[i] = &sg.OfferID
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, matched, score, rank, reasons, best_offer_id,
			computed_at, created_at, updated_at)
		SELECT $1, o, true, sc, rk, rs::jsonb, bo, $6, $6, $6
		FROM unnest($2::bigint[], $3::float8[], $4::text[], $5::bigint[]) WITH ORDINALITY AS x(o, sc, rs, bo, rk)
		ON CONFLICT (request_id, organisation_id) DO UPDATE SET matched = true, score = excluded.score, rank = excluded.rank,
			reasons = excluded.reasons, best_offer_id = excluded.best_offer_id, computed_at = excluded.computed_at`,
		r.ID, orgs, scores, reasons, offers, s.Now()); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE request_matches SET matched = false, score = NULL, rank = NULL, reasons = '[]', computed_at = $3
		WHERE request_id = $1 AND matched AND organisation_id <> ALL($2) AND state IN ('suggested', 'viewed')`, r.ID, orgs, s.Now())
	return err
}

// invite mails up to n SMEs matched to the request that were not invited
// yet, best ranked first: those still to answer, scored at least the
// minimum, and not invited to more than the weekly number of requests.
func (s *Service) invite(ctx context.Context, tx pgx.Tx, r Request, n int) (int, error) {
	rows, err := tx.Query(ctx, `SELECT m.organisation_id FROM request_matches m
		WHERE m.request_id = $1 AND m.matched AND m.invited_at IS NULL AND m.state IN ('suggested', 'viewed') AND m.score >= $2
		  AND (SELECT count(*) FROM request_matches w WHERE w.organisation_id = m.organisation_id AND w.invited_at > $3) < $4
		ORDER BY m.rank, m.organisation_id LIMIT $5 FOR UPDATE OF m`,
		r.ID, s.Invitations.MinScore, s.Now().Add(-7*24*time.Hour), s.Invitations.PerWeek, n)
	if err != nil {
		return 0, err
	}
	orgs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	for _, org := range orgs {
		if _, err := tx.Exec(ctx, `UPDATE request_matches SET invited_at = $3, last_mailed_at = $3 WHERE request_id = $1 AND organisation_id = $2`,
			r.ID, org, s.Now()); err != nil {
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

type recipient struct {
	notify.Recipient
	id int64
}

func recipients(ctx context.Context, tx pgx.Tx, org int64, cat notify.Category) ([]recipient, error) {
	rows, err := tx.Query(ctx, `SELECT u.id, u.email, u.name, u.locale, u.mail_token FROM users u
		WHERE u.organisation_id = $1
		  AND NOT EXISTS (SELECT 1 FROM notification_optouts n WHERE n.user_id = u.id AND n.category = $2)
		ORDER BY u.id`, org, cat.Name)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (recipient, error) {
		var x recipient
		return x, r.Scan(&x.id, &x.Email, &x.Name, &x.Locale, &x.Token)
	})
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
}

// Offer is one of the SME's published offers.
type Offer struct {
	ID    int64
	Title string
}

// visibleSQL is the condition under which an SME ($org) sees request r.
const visibleSQL = `r.status IN ('open', 'closed') AND (EXISTS (SELECT 1 FROM request_matches v WHERE v.request_id = r.id AND v.organisation_id = $2
	AND (v.matched OR v.state <> 'suggested')) OR (r.status = 'open' AND r.visibility = 'all'))`

// Get returns a request for its reader: the buyer's large account, staff,
// or an SME it is visible to (an SME's first look marks it viewed). Anyone
// else gets ErrNotFound.
func (s *Service) Get(ctx context.Context, actor member.Actor, id int64) (Page, error) {
	var p Page
	list, err := collect(s.db.Query(ctx, `SELECT `+columns+from+`WHERE r.id = $1`, id))
	if err != nil {
		return p, fmt.Errorf("purchase: get %d: %w", id, err)
	}
	if len(list) == 0 {
		return p, ErrNotFound
	}
	p.Request = list[0]
	p.Takes = p.Request.Takes(s.Now())
	switch {
	case actor.IsBuyer() && actor.OrgID == p.OrgID, actor.IsStaff():
		p.Mine = !actor.IsStaff()
		p.Answers, err = s.answers(ctx, id, actor)
		return p, wrap("get", id, err)
	case actor.IsSME():
		var ok bool
		if err := s.db.QueryRow(ctx, `SELECT `+visibleSQL+` FROM purchase_requests r WHERE r.id = $1`, id, actor.OrgID).Scan(&ok); err != nil {
			return p, fmt.Errorf("purchase: get %d: %w", id, err)
		}
		if !ok {
			return p, ErrNotFound
		}
		if p.Takes {
			if err := s.viewed(ctx, actor, id); err != nil {
				return p, err
			}
		}
		m, err := s.match(ctx, s.db, id, actor.OrgID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return p, err
		}
		if err == nil {
			p.Match = &m
		}
		if p.Anonymous && (p.Match == nil || !p.Match.State.Reveals()) {
			p.BuyerHidden, p.OrgName = true, ""
		}
		rows, err := s.db.Query(ctx, `SELECT id, title FROM offers WHERE organisation_id = $1 AND listed ORDER BY title`, actor.OrgID)
		if err != nil {
			return p, fmt.Errorf("purchase: offers of %d: %w", actor.OrgID, err)
		}
		p.Offers, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Offer])
		return p, wrap("get", id, err)
	}
	return p, ErrNotFound
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Service) match(ctx context.Context, q querier, req, org int64) (Match, error) {
	rows, err := q.Query(ctx, `SELECT `+matchColumns+matchFrom+`WHERE m.request_id = $1 AND m.organisation_id = $2`, req, org)
	if err != nil {
		return Match{}, err
	}
	list, err := pgx.CollectRows(rows, scanMatch)
	if err != nil {
		return Match{}, err
	}
	if len(list) == 0 {
		return Match{}, ErrNotFound
	}
	return list[0], nil
}

// viewed marks a request seen by the SME (the first time only).
func (s *Service) viewed(ctx context.Context, actor member.Actor, id int64) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var first bool
		err := tx.QueryRow(ctx, `INSERT INTO request_matches (request_id, organisation_id, state, viewed_at, created_at, updated_at)
			VALUES ($1, $2, 'viewed', $3, $3, $3)
			ON CONFLICT (request_id, organisation_id) DO UPDATE
				SET state = CASE WHEN request_matches.state = 'suggested' THEN 'viewed' ELSE request_matches.state END,
				    viewed_at = coalesce(request_matches.viewed_at, $3),
				    updated_at = CASE WHEN request_matches.viewed_at IS NULL THEN $3 ELSE request_matches.updated_at END
			RETURNING (xmax = 0 OR viewed_at = $3)`, id, actor.OrgID, s.Now()).Scan(&first)
		if err != nil || !first {
			return err
		}
		return s.event(ctx, tx, id, actor.OrgID, string(StateViewed), actor.UserID)
	})
}

// answers lists the SMEs that answered a request (or said they were not
// interested), for its buyer: unread counts are the reader's.
func (s *Service) answers(ctx context.Context, id int64, reader member.Actor) ([]Match, error) {
	rows, err := s.db.Query(ctx, `SELECT `+matchColumns+`,
			(SELECT count(*) FROM request_messages x WHERE x.request_id = m.request_id AND x.organisation_id = m.organisation_id
				AND x.author_org_id <> $2 AND x.id > coalesce((SELECT c.read_until FROM conversation_reads c WHERE c.user_id = $3
				AND c.request_id = m.request_id AND c.organisation_id = m.organisation_id), 0))`+matchFrom+`
		WHERE m.request_id = $1 AND m.state NOT IN ('suggested', 'viewed')
		ORDER BY array_position(ARRAY['discussion', 'shortlisted', 'interested', 'won', 'lost', 'declined', 'not_interested'], m.state),
			m.answered_at, m.organisation_id`, id, reader.OrgID, reader.UserID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Match, error) {
		var m Match
		err := row.Scan(&m.RequestID, &m.OrgID, &m.OrgName, &m.OrgSIREN, &m.OrgDepartement, &m.Matched, &m.State, &m.Message, &m.Answers,
			&m.OfferID, &m.OfferTitle, &m.SMEReason, &m.SMEReasonText, &m.BuyerReason, &m.ContractAmount, &m.ContractDate, &m.AnsweredAt,
			&m.UpdatedAt, &m.Reported, &m.Visited, &m.Score, &m.Rank, &m.Reasons, &m.BestOfferID, &m.BestOfferTitle, &m.Unread)
		return m, err
	})
}

// smeLock loads, for an SME's answer, the request (shared lock: it cannot
// close meanwhile) and checks the SME may see it and that it takes answers.
func (s *Service) smeLock(ctx context.Context, tx pgx.Tx, actor member.Actor, id int64) (Request, error) {
	if !actor.IsSME() {
		return Request{}, ErrForbidden
	}
	list, err := collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.id = $1 AND `+visibleSQL+` FOR SHARE OF r`, id, actor.OrgID))
	if err != nil {
		return Request{}, err
	}
	if len(list) == 0 {
		return Request{}, ErrNotFound
	}
	if !list[0].Takes(s.Now()) {
		return Request{}, ErrClosed
	}
	return list[0], nil
}

// lockMatch returns the SME's state with the request, locked, creating
// the row (viewed) when the SME never opened it (an answer from a mail).
func (s *Service) lockMatch(ctx context.Context, tx pgx.Tx, req, org int64) (State, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, state, viewed_at, created_at, updated_at)
		VALUES ($1, $2, 'viewed', $3, $3, $3) ON CONFLICT DO NOTHING`, req, org, s.Now()); err != nil {
		return "", err
	}
	var st State
	err := tx.QueryRow(ctx, `SELECT state FROM request_matches WHERE request_id = $1 AND organisation_id = $2 FOR UPDATE`, req, org).Scan(&st)
	return st, err
}

// ExpressInterest records an SME's interest: its message, its answers to
// the buyer's questions and optionally one of its published offers. The
// buyer is told at the 1st, 2nd and 5th interest, not at every one.
func (s *Service) ExpressInterest(ctx context.Context, actor member.Actor, id int64, in Interest) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		r, err := s.smeLock(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if errs := in.Validate(r.Questions); errs.Any() {
			return &ValidationError{Fields: errs}
		}
		var offer any
		if in.OfferID != "" {
			n, _ := strconv.ParseInt(in.OfferID, 10, 64)
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM offers WHERE id = $1 AND organisation_id = $2 AND listed)`,
				n, actor.OrgID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return &ValidationError{Fields: map[string]string{"offer": "form.choose"}}
			}
			offer = n
		}
		st, err := s.lockMatch(ctx, tx, id, actor.OrgID)
		if err != nil {
			return err
		}
		var answered bool
		if err := tx.QueryRow(ctx, `SELECT answered_at IS NOT NULL AND state <> 'not_interested' FROM request_matches
			WHERE request_id = $1 AND organisation_id = $2`, id, actor.OrgID).Scan(&answered); err != nil {
			return err
		}
		// A buyer may shortlist a matched SME before it answers: it keeps
		// its place on the shortlist when it does.
		if answered || (st != StateSuggested && st != StateViewed && st != StateNotInterested && st != StateShortlisted) {
			return ErrInvalidState
		}
		if _, err := tx.Exec(ctx, `UPDATE request_matches SET state = CASE WHEN state = 'shortlisted' THEN 'shortlisted' ELSE 'interested' END,
				message = $3, answers = $4, offer_id = $5, sme_reason = '', sme_reason_text = '', answered_at = $6, updated_at = $6
			WHERE request_id = $1 AND organisation_id = $2`, id, actor.OrgID, in.Message, nonNil(in.Answers), offer, s.Now()); err != nil {
			return err
		}
		if err := s.event(ctx, tx, id, actor.OrgID, string(StateInterested), actor.UserID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, actor.AuditEntry(ActionInterested, r.OrgID, r.Title, "")); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(DISTINCT organisation_id) FROM request_events WHERE request_id = $1 AND kind = 'interested'`,
			id).Scan(&n); err != nil {
			return err
		}
		if s.notify != nil && (n == 1 || n == 2 || n == 5) {
			return s.notify.Organisation(ctx, tx, r.OrgID, Answers, "interest_received", "Title", r.Title, "Count", n,
				"URL", fmt.Sprintf("%s/espace/demandes/%d", s.notify.BaseURL(), id))
		}
		return nil
	})
	return wrap("interest", id, err)
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
		r, err := s.smeLock(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		st, err := s.lockMatch(ctx, tx, id, actor.OrgID)
		if err != nil {
			return err
		}
		if st != StateSuggested && st != StateViewed && st != StateInterested {
			return ErrInvalidState
		}
		if _, err := tx.Exec(ctx, `UPDATE request_matches SET state = 'not_interested', sme_reason = $3, sme_reason_text = $4,
				answered_at = $5, updated_at = $5 WHERE request_id = $1 AND organisation_id = $2`,
			id, actor.OrgID, d.Reason, d.Text, s.Now()); err != nil {
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
	Action string // shortlist, accept, decline, won, lost
	Reason string // decline: required
	Amount string // won: € HT, required
	Date   string // won: YYYY-MM-DD, required
}

// Replies are the buyer's steps, and the states each may start from.
var replies = map[string]struct {
	to    State
	from  []State
	audit audit.Action
}{
	"shortlist": {StateShortlisted, []State{StateInterested, StateSuggested, StateViewed}, ActionShortlisted},
	"accept":    {StateDiscussion, []State{StateInterested, StateShortlisted}, ActionAccepted},
	"decline":   {StateDeclined, []State{StateInterested, StateShortlisted, StateDiscussion}, ActionDeclined},
	"won":       {StateWon, []State{StateShortlisted, StateDiscussion, StateLost}, ActionWon},
	"lost":      {StateLost, []State{StateDiscussion}, ActionLost},
}

// ReplyActions are the buyer's steps, in the order of the page.
var ReplyActions = []string{"shortlist", "accept", "decline", "won", "lost"}

// validate checks the fields of a step; amount in euros.
func (rp *Reply) validate(today time.Time) (amount int64, date time.Time, errs map[string]string) {
	e := map[string]string{}
	switch rp.Action {
	case "decline":
		rp.Reason = cleanText(rp.Reason)
		switch {
		case rp.Reason == "":
			e["reason"] = "form.required"
		case len([]rune(rp.Reason)) > MaxReason:
			e["reason"] = "form.too_long"
		}
	case "won":
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
	step, ok := replies[rp.Action]
	if !ok {
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
		if r.Status != StatusOpen && r.Status != StatusClosed {
			return ErrInvalidState
		}
		var st State
		var matched bool
		err = tx.QueryRow(ctx, `SELECT state, matched FROM request_matches WHERE request_id = $1 AND organisation_id = $2 FOR UPDATE`, id, org).
			Scan(&st, &matched)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !st.Answered() && !(matched && rp.Action == "shortlist")) {
			return ErrNotFound // the buyer sees the SMEs that answered, and its matches
		}
		if err != nil {
			return err
		}
		if !containsState(step.from, st) {
			return ErrInvalidState
		}
		var amountArg, dateArg any
		if step.to == StateWon {
			amountArg, dateArg = amount, date
		}
		if _, err := tx.Exec(ctx, `UPDATE request_matches SET state = $3, updated_at = $4,
				buyer_reason = CASE WHEN $3 = 'declined' THEN $5 ELSE buyer_reason END,
				contract_amount = coalesce($6, contract_amount), contract_date = coalesce($7, contract_date)
			WHERE request_id = $1 AND organisation_id = $2`, id, org, step.to, s.Now(), rp.Reason, amountArg, dateArg); err != nil {
			return err
		}
		if err := s.event(ctx, tx, id, org, string(step.to), actor.UserID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, actor.AuditEntry(step.audit, org, r.Title, rp.Reason)); err != nil {
			return err
		}
		if s.notify == nil || step.to == StateShortlisted {
			return nil
		}
		buyer := r.OrgName
		if r.Anonymous && !step.to.Reveals() && !st.Reveals() {
			buyer = "" // the mail template says "the buyer"
		}
		return s.notify.Organisation(ctx, tx, org, Answers, "answer_"+string(step.to), "Title", r.Title, "Buyer", buyer,
			"Reason", rp.Reason, "URL", fmt.Sprintf("%s/demandes/%d", s.notify.BaseURL(), id))
	})
	return wrap("respond", id, err)
}

func containsState(list []State, st State) bool {
	for _, x := range list {
		if x == st {
			return true
		}
	}
	return false
}

// Step is one step of the lifecycle line.
type Step struct {
	State   State
	Done    bool // reached (or passed)
	Current bool
}

// Lifecycle is the line both sides see: suggested → viewed → interested /
// not interested → shortlisted → in discussion → won / lost / declined,
// with the branches taken shown instead of the ones not taken. visited
// are the states the match went through (its events): a step skipped
// (accepted without a shortlist) is not shown as done; without them,
// every step before the current one is.
func Lifecycle(st State, visited ...State) []Step {
	answer := StateInterested
	if st == StateNotInterested {
		answer = StateNotInterested
	}
	end := StateWon
	if st == StateLost || st == StateDeclined {
		end = st
	}
	line := []State{StateSuggested, StateViewed, answer, StateShortlisted, StateDiscussion, end}
	reached := map[State]int{StateSuggested: 0, StateViewed: 1, StateInterested: 2, StateNotInterested: 2, StateShortlisted: 3,
		StateDiscussion: 4, StateWon: 5, StateLost: 5, StateDeclined: 5}
	at := reached[st]
	steps := make([]Step, len(line))
	for i, x := range line {
		steps[i] = Step{State: x, Done: i <= at, Current: i == at}
	}
	for _, i := range []int{3, 4} { // shortlisted and in discussion may be skipped
		if i < at && (st == StateDeclined || len(visited) > 0) && !containsState(visited, line[i]) {
			steps[i].Done = false
		}
	}
	return steps
}

// Matches lists the SMEs matched to a request, best ranked first, for its
// buyer and for staff (who see every match with its explanation).
func (s *Service) Matches(ctx context.Context, actor member.Actor, id int64, limit int) ([]Match, error) {
	var org int64
	err := s.db.QueryRow(ctx, `SELECT organisation_id FROM purchase_requests WHERE id = $1`, id).Scan(&org)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !actor.IsStaff() && !(actor.IsBuyer() && actor.OrgID == org)) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("purchase: matches of %d: %w", id, err)
	}
	rows, err := s.db.Query(ctx, `SELECT `+matchColumns+matchFrom+`WHERE m.request_id = $1 AND m.matched ORDER BY m.rank, m.organisation_id LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("purchase: matches of %d: %w", id, err)
	}
	return pgx.CollectRows(rows, scanMatch)
}

// ForYou lists the open requests an SME is matched to, best score first,
// each with its match (score and reasons), a page at a time.
func (s *Service) ForYou(ctx context.Context, actor member.Actor, page int) ([]Hit, []Match, int, error) {
	if !actor.IsSME() {
		return nil, nil, 0, ErrForbidden
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
		WHERE m.organisation_id = $1 AND m.matched AND r.status = 'open' AND r.deadline >= $2`, actor.OrgID, s.today()).Scan(&total); err != nil {
		return nil, nil, 0, fmt.Errorf("purchase: for you: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT r.id, r.title, r.description, CASE WHEN r.anonymous AND m.state NOT IN ('discussion', 'won', 'lost')
			THEN '' ELSE b.legal_name END, r.cpv_codes, r.budget_band, r.deadline, r.places, r.innovative, m.state, `+matchColumns+`
		FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id JOIN organisations b ON b.id = r.organisation_id
			JOIN organisations g ON g.id = m.organisation_id LEFT JOIN offers o ON o.id = m.offer_id LEFT JOIN offers bo ON bo.id = m.best_offer_id
		WHERE m.organisation_id = $1 AND m.matched AND r.status = 'open' AND r.deadline >= $2
		ORDER BY m.score DESC NULLS LAST, r.deadline, r.id LIMIT $3 OFFSET $4`, actor.OrgID, s.today(), PageSize, (max(page, 1)-1)*PageSize)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("purchase: for you: %w", err)
	}
	var hits []Hit
	var matches []Match
	for rows.Next() {
		var h Hit
		var m Match
		if err := rows.Scan(&h.ID, &h.Title, &h.Description, &h.BuyerName, &h.CPVCodes, &h.BudgetBand, &h.Deadline, &h.Places, &h.Innovative, &h.State,
			&m.RequestID, &m.OrgID, &m.OrgName, &m.OrgSIREN, &m.OrgDepartement, &m.Matched, &m.State, &m.Message, &m.Answers,
			&m.OfferID, &m.OfferTitle, &m.SMEReason, &m.SMEReasonText, &m.BuyerReason, &m.ContractAmount, &m.ContractDate, &m.AnsweredAt,
			&m.UpdatedAt, &m.Reported, &m.Visited, &m.Score, &m.Rank, &m.Reasons, &m.BestOfferID, &m.BestOfferTitle); err != nil {
			rows.Close()
			return nil, nil, 0, fmt.Errorf("purchase: for you: %w", err)
		}
		hits, matches = append(hits, h), append(matches, m)
	}
	if err := rows.Err(); err != nil {
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
	var buyer int64
	var matched bool
	err := s.db.QueryRow(ctx, `SELECT r.organisation_id, m.matched FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
		WHERE m.request_id = $1 AND m.organisation_id = $2`, id, org).Scan(&buyer, &matched)
	allowed := actor.IsStaff() || (actor.IsBuyer() && actor.OrgID == buyer) || (actor.IsSME() && actor.OrgID == org)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (!allowed || !matched)) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("purchase: feedback %d/%d: %w", id, org, err)
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO match_feedback (request_id, organisation_id, user_id, relevant, reason, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id, organisation_id, user_id)
		DO UPDATE SET relevant = excluded.relevant, reason = excluded.reason, created_at = excluded.created_at`,
		id, org, actor.UserID, relevant, reason, s.Now()); err != nil {
		return fmt.Errorf("purchase: feedback %d/%d: %w", id, org, err)
	}
	return nil
}
