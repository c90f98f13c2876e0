package purchase

import (
	"context"
	"fmt"
	"time"

	"passerelle/internal/coach"
	"passerelle/internal/member"
)

// hospitalNAF is the activity of hospitals: a public one pays within 50
// days, not 30.
const hospitalNAF = "86.10Z"

// draft is a request as the coach reads it, published (or, for a draft,
// looked at) on today.
func draft(in Input, kind, naf string, today time.Time) coach.Draft {
	terms, _ := in.Terms()
	d := coach.Draft{Title: in.Title, Description: in.Description, CPV: in.CPVCodes, BudgetBand: in.BudgetBand, Today: day(today),
		Innovative: in.Innovative, Questions: len(in.Questions), Public: kind == string(member.KindPublic)}
	d.Hospital = d.Public && naf == hospitalNAF
	if t, err := time.Parse(time.DateOnly, in.Deadline); err == nil {
		d.Deadline = t
	}
	if terms.PaymentDays != nil {
		d.PaymentDays = *terms.PaymentDays
	}
	if terms.MinTurnover != nil {
		d.MinTurnover = *terms.MinTurnover
	}
	return d
}

// DraftOf is a stored request as the coach reads it: as of its
// publication, or of now for one not yet published.
func (s *Service) DraftOf(r Request) coach.Draft {
	when := s.Now()
	if r.PublishedAt != nil {
		when = *r.PublishedAt
	}
	return draft(InputOf(r), r.OrgKind, r.OrgNAF, when)
}

// Coach reads what a buyer is writing, as its SMEs would: the findings to
// change first, then what is good. It never blocks anything.
func (s *Service) Coach(ctx context.Context, actor member.Actor, in Input) ([]coach.Finding, error) {
	if !actor.IsBuyer() {
		return nil, ErrForbidden
	}
	in.Normalize()
	naf, err := s.store.orgNAF(ctx, s.db, actor.OrgID)
	if err != nil {
		return nil, fmt.Errorf("purchase: coach: %w", err)
	}
	n, err := s.coach.Norms(ctx)
	if err != nil {
		return nil, err
	}
	return coach.Check(draft(in, string(actor.Kind), naf, s.Now()), n), nil
}

// Review is the coach's reading of a request and, once its deadline has
// passed, what happened to it and the suggestion for the next one: for
// its buyer and staff.
type Review struct {
	Findings  []coach.Finding
	Aftermath *coach.Aftermath
	Next      *coach.Finding
}

// review reads request r for its buyer or staff.
func (s *Service) review(ctx context.Context, r Request) (Review, error) {
	n, err := s.coach.Norms(ctx)
	if err != nil {
		return Review{}, err
	}
	d := s.DraftOf(r)
	rv := Review{Findings: coach.Check(d, n)}
	if r.PublishedAt == nil || !day(s.Now()).After(r.Deadline) {
		return rv, nil
	}
	a, err := s.coach.Aftermath(ctx, r.ID)
	if err != nil {
		return rv, err
	}
	next := coach.Suggest(a, d, n)
	rv.Aftermath, rv.Next = &a, &next
	return rv, nil
}
