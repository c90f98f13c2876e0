package offer

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/moderation"
)

// Moderated declares offers as content staff review before publication
// (audit actions offer.approved and offer.sent_back).
var Moderated = moderation.DeclareKind("offer")

// Moderation is how offers take part in the staff's moderation queue.
func (s *Service) Moderation() moderation.Content { return moderated{s} }

type moderated struct{ s *Service }

func (moderated) Kind() moderation.Kind { return Moderated }

// version changes whenever an offer is written (updated_at, in µs).
const version = `(extract(epoch FROM o.updated_at) * 1000000)::bigint`

// Waiting returns the offers waiting for review, oldest first, each in full.
func (m moderated) Waiting(ctx context.Context, q moderation.Querier, limit int) ([]moderation.Item, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM offers WHERE status = 'submitted'`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := q.Query(ctx, `SELECT `+columns+`, `+version+` FROM offers o JOIN organisations g ON g.id = o.organisation_id
		WHERE o.status = 'submitted' ORDER BY o.submitted_at, o.id LIMIT $1`, limit)
	if err != nil {
		return nil, 0, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (moderation.Item, error) {
		var o Offer
		var v int64
		err := r.Scan(&o.ID, &o.OrgID, &o.OrgName, &o.Title, &o.Summary, &o.Description, &o.Kind, &o.CPVCodes, &o.TRL,
			&o.Places, &o.Keywords, &o.Status, &o.StatusReason, &o.CreatedAt, &o.UpdatedAt, &o.SubmittedAt, &o.PublishedAt, &v)
		return item(o, v), err
	})
	return items, total, err
}

// item shows the whole offer to the reviewer: every field the public will read.
func item(o Offer, v int64) moderation.Item {
	it := moderation.Item{Kind: Moderated.Name, ID: o.ID, Version: v, OrgID: o.OrgID, OrgName: o.OrgName, Title: o.Title,
		SubmittedAt: o.UpdatedAt}
	if o.SubmittedAt != nil {
		it.SubmittedAt = *o.SubmittedAt
	}
	it.Fields = append(it.Fields,
		moderation.Field{Label: "offer.summary", Text: o.Summary},
		moderation.Field{Label: "offer.kind", Value: "offer.kind." + o.Kind},
	)
	if o.Description != "" {
		it.Fields = append(it.Fields, moderation.Field{Label: "offer.description", Text: o.Description})
	}
	it.Fields = append(it.Fields, moderation.Field{Label: "offer.cpv", CPV: o.CPVCodes}, moderation.Field{Label: "offer.places", Places: o.Places})
	if o.TRL != nil {
		it.Fields = append(it.Fields, moderation.Field{Label: "offer.trl", Value: "offer.trl." + strconv.Itoa(int(*o.TRL))})
	}
	if o.Keywords != "" {
		it.Fields = append(it.Fields, moderation.Field{Label: "offer.keywords", Text: o.Keywords})
	}
	return it
}

// Decide publishes the offer or sends it back, if it still waits at version.
func (m moderated) Decide(ctx context.Context, tx pgx.Tx, id, v int64, publish bool, reason string) (moderation.Decided, error) {
	var d moderation.Decided
	var st Status
	var current int64
	// The organisation first, then the offer: the lock order of every writer.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM organisations WHERE id = (SELECT organisation_id FROM offers WHERE id = $1) FOR NO KEY UPDATE`, id); err != nil {
		return d, err
	}
	err := tx.QueryRow(ctx, `SELECT o.organisation_id, o.title, o.status::text, `+version+` FROM offers o WHERE o.id = $1 FOR NO KEY UPDATE`, id).
		Scan(&d.OrgID, &d.Title, &st, &current)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return d, moderation.ErrNotFound
	case err != nil:
		return d, err
	case st != StatusSubmitted:
		return d, moderation.ErrNotWaiting
	case v != moderation.AnyVersion && v != current:
		return d, moderation.ErrChanged
	}
	to := StatusPublished
	if !publish {
		to = StatusRejected
	}
	if _, err := tx.Exec(ctx, `UPDATE offers SET status = $2, status_reason = $3, updated_at = now(),
			published_at = CASE WHEN $2 = 'published'::offer_status THEN now() ELSE published_at END
		WHERE id = $1`, id, to, reason); err != nil {
		return d, fmt.Errorf("offer: review %d: %w", id, err)
	}
	d.Path = "/espace/offres"
	return d, m.s.index.Refresh(ctx, tx, d.OrgID)
}
