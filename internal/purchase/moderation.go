package purchase

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/moderation"
)

// Moderated declares purchase requests as content staff review before they
// open (audit actions request.approved and request.sent_back).
var Moderated = moderation.DeclareKind("request")

// Moderation is how requests take part in the staff's moderation queue.
func (s *Service) Moderation() moderation.Content { return moderated{s} }

type moderated struct{ s *Service }

func (moderated) Kind() moderation.Kind { return Moderated }

// version changes whenever a request is written (updated_at, in µs).
const version = `(extract(epoch FROM r.updated_at) * 1000000)::bigint`

// Waiting returns the requests waiting for review, oldest first, each in full.
func (m moderated) Waiting(ctx context.Context, q moderation.Querier, limit int) ([]moderation.Item, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM purchase_requests WHERE status = 'submitted'`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := q.Query(ctx, `SELECT `+columns+`, `+version+from+`WHERE r.status = 'submitted' ORDER BY r.submitted_at, r.id LIMIT $1`, limit)
	if err != nil {
		return nil, 0, err
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (moderation.Item, error) {
		var r Request
		var v int64
		err := row.Scan(&r.ID, &r.OrgID, &r.OrgName, &r.OrgKind, &r.Title, &r.Description, &r.CPVCodes, &r.BudgetBand, &r.Deadline,
			&r.Places, &r.Innovative, &r.Visibility, &r.Questions, &r.Anonymous, &r.Status, &r.StatusReason, &r.Outcome, &r.FollowUp,
			&r.CreatedAt, &r.UpdatedAt, &r.SubmittedAt, &r.PublishedAt, &v)
		return item(r, v), err
	})
	return items, total, err
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
	list, err := collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.id = $1 FOR NO KEY UPDATE OF r`, id))
	if err != nil {
		return d, err
	}
	if len(list) == 0 {
		return d, moderation.ErrNotFound
	}
	r := list[0]
	var current int64
	if err := tx.QueryRow(ctx, `SELECT `+version+` FROM purchase_requests r WHERE r.id = $1`, id).Scan(&current); err != nil {
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
		_, err := tx.Exec(ctx, `UPDATE purchase_requests SET status = 'rejected', status_reason = $2, updated_at = $3 WHERE id = $1`,
			id, reason, m.s.Now())
		return d, err
	}
	if !r.Deadline.After(m.s.today()) {
		return d, errors.Join(moderation.ErrNotWaiting, fmt.Errorf("purchase: deadline of %d passed while it waited", id))
	}
	if _, err := tx.Exec(ctx, `UPDATE purchase_requests SET status = 'open', status_reason = '', published_at = $2, updated_at = $2
		WHERE id = $1`, id, m.s.Now()); err != nil {
		return d, err
	}
	r.Status = StatusOpen
	return d, m.s.open(ctx, tx, r)
}
