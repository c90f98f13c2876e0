package purchase

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/coach"
	"passerelle/internal/platform/moderation"
)

// Moderated declares purchase requests as content staff review before they
// open (audit actions request.approved and request.sent_back).
var Moderated = moderation.DeclareKind("request")

// Moderation is how requests take part in the staff's moderation queue.
func (s *Service) Moderation() moderation.Content { return moderated{s} }

type moderated struct{ s *Service }

func (moderated) Kind() moderation.Kind { return Moderated }

// Waiting returns the requests waiting for review, oldest first, each in full.
func (m moderated) Waiting(ctx context.Context, q moderation.Querier, limit int) ([]moderation.Item, int, error) {
	list, versions, total, err := store{}.submitted(ctx, q, limit)
	if err != nil || len(list) == 0 {
		return nil, total, err
	}
	norms, err := m.s.coach.Norms(ctx)
	if err != nil {
		return nil, total, err
	}
	items := make([]moderation.Item, len(list))
	for i, r := range list {
		items[i] = item(r, versions[i])
		// What the coach told the buyer, to change: the reviewer reads it too.
		for _, f := range coach.Check(m.s.DraftOf(r), norms) {
			if f.Change {
				msg, args := f.Message()
				cited, cargs := f.Cited()
				items[i].Fields = append(items[i].Fields, moderation.Field{Label: "coach.title", Message: msg, Args: args, Cited: cited, CitedArgs: cargs})
			}
		}
	}
	return items, total, nil
}

// item shows the whole request to the reviewer: every field SMEs will read.
func item(r Request, v int64) moderation.Item {
	it := moderation.Item{Kind: Moderated.Name, ID: r.ID, Version: v, OrgID: r.OrgID, OrgName: r.OrgName, Title: r.Title,
		SubmittedAt: r.UpdatedAt}
	if r.SubmittedAt != nil {
		it.SubmittedAt = *r.SubmittedAt
	}
	it.Fields = append(it.Fields,
		moderation.Field{Label: "request.description", Text: r.Description},
		moderation.Field{Label: "offer.cpv", CPV: r.CPVCodes},
		moderation.Field{Label: "request.budget_band", Value: "request.budget." + r.BudgetBand},
		moderation.Field{Label: "request.deadline", Text: r.Deadline.Format("02/01/2006")},
		moderation.Field{Label: "offer.places", Places: r.Places},
		moderation.Field{Label: "request.visibility", Value: "request.visibility." + r.Visibility},
	)
	if r.Innovative {
		it.Fields = append(it.Fields, moderation.Field{Label: "request.innovative", Value: "request.innovative_yes"})
	}
	if r.Anonymous {
		it.Fields = append(it.Fields, moderation.Field{Label: "request.anonymous", Value: "request.anonymous_yes"})
	}
	if r.PaymentDays != nil {
		it.Fields = append(it.Fields, moderation.Field{Label: "request.payment_days_label", Text: strconv.Itoa(*r.PaymentDays)})
	}
	if r.MinTurnover != nil {
		it.Fields = append(it.Fields, moderation.Field{Label: "request.min_turnover_label", Text: strconv.FormatInt(*r.MinTurnover, 10) + " €"})
	}
	for _, q := range r.Questions {
		it.Fields = append(it.Fields, moderation.Field{Label: "request.question", Text: q})
	}
	return it
}

// Decide opens the request or sends it back, if it still waits at version.
// Opening it picks the SMEs it is suggested to and tells them, in the
// same transaction.
func (m moderated) Decide(ctx context.Context, tx pgx.Tx, id, v int64, publish bool, reason string) (moderation.Decided, error) {
	var d moderation.Decided
	r, err := m.s.store.lockRequest(ctx, tx, id)
	if errors.Is(err, ErrNotFound) {
		return d, moderation.ErrNotFound
	}
	if err != nil {
		return d, err
	}
	current, err := m.s.store.version(ctx, tx, id)
	if err != nil {
		return d, err
	}
	switch {
	case r.Status != StatusSubmitted:
		return d, moderation.ErrNotWaiting
	case v != moderation.AnyVersion && v != current:
		return d, moderation.ErrChanged
	}
	d.OrgID, d.Title, d.Path = r.OrgID, r.Title, fmt.Sprintf("/espace/demandes/%d", id)
	if !publish {
		return d, m.s.store.markSentBack(ctx, tx, id, reason, m.s.Now())
	}
	if !r.Deadline.After(m.s.today()) {
		return d, errors.Join(moderation.ErrNotWaiting, fmt.Errorf("purchase: deadline of %d passed while it waited", id))
	}
	if err := m.s.store.markOpen(ctx, tx, id, m.s.Now()); err != nil {
		return d, err
	}
	r.Status = StatusOpen
	return d, m.s.open(ctx, tx, r)
}
