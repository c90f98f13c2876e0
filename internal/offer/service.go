package offer

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/platform/moderation"
	"passerelle/internal/platform/once"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

// PageSize is the length of the pages of offer lists (the SME's, the review queue).
const PageSize = 50

// Service holds the offers' rules.
type Service struct {
	db    *pgxpool.Pool
	tax   *taxonomy.Taxonomy
	index *search.Indexer
	// Notify, when set, tells the SME of staff's review by e-mail.
	Notify moderation.Notifier
}

// NewService builds the service.
func NewService(db *pgxpool.Pool, tax *taxonomy.Taxonomy, index *search.Indexer) *Service {
	return &Service{db: db, tax: tax, index: index}
}

const columns = `o.id, o.organisation_id, g.legal_name, o.title, o.summary, o.description, o.kind::text, o.cpv_codes, o.trl,
	o.places, o.keywords, o.status::text, o.status_reason, o.created_at, o.updated_at, o.submitted_at, o.published_at`

func collect(rows pgx.Rows, err error) ([]Offer, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Offer])
}

func (s *Service) validate(in *Input) error {
	in.Normalize()
	if errs := in.Validate(s.tax); errs.Any() {
		return &ValidationError{Fields: errs}
	}
	return nil
}

func trl(in Input) any {
	if in.TRL == "" {
		return nil
	}
	n, _ := strconv.Atoi(in.TRL)
	return n
}

// Create saves a new offer of the actor's SME, as a draft or submitted for
// review at once.
func (s *Service) Create(ctx context.Context, actor member.Actor, in Input, submit bool) (int64, error) {
	if !actor.IsSME() {
		return 0, ErrForbidden
	}
	if err := s.validate(&in); err != nil {
		return 0, err
	}
	status := StatusDraft
	if submit {
		status = StatusSubmitted
	}
	var id int64
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		id, err = once.Do(ctx, tx, "offer", func() (int64, error) {
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO offers (organisation_id, title, summary, description, kind, cpv_codes, trl, places,
					keywords, cpv_text, status, submitted_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $11 = 'submitted'::offer_status THEN now() END)
				RETURNING id`, actor.OrgID, in.Title, in.Summary, in.Description, in.Kind, in.CPVCodes, trl(in), in.Places(s.tax),
				in.Keywords, s.index.CPVText(in.CPVCodes), status).Scan(&id)
			if err != nil {
				return 0, err
			}
			return id, s.index.Refresh(ctx, tx, actor.OrgID)
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("offer: create: %w", err)
	}
	return id, nil
}

// own loads an offer of the actor's organisation, locked for update.
// Locks are taken in one order everywhere: the organisation, then its
// offers (the search indexer locks the organisation, then writes its
// offers' facets), so an edit and a background job cannot deadlock.
func own(ctx context.Context, tx pgx.Tx, actor member.Actor, id int64) (Offer, error) {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM organisations WHERE id = $1 FOR NO KEY UPDATE`, actor.OrgID); err != nil {
		return Offer{}, err
	}
	list, err := collect(tx.Query(ctx, `SELECT `+columns+` FROM offers o JOIN organisations g ON g.id = o.organisation_id
		WHERE o.id = $1 FOR NO KEY UPDATE OF o`, id))
	if err != nil {
		return Offer{}, err
	}
	if len(list) == 0 {
		return Offer{}, ErrNotFound
	}
	if list[0].OrgID != actor.OrgID || !actor.IsSME() {
		return Offer{}, ErrNotFound // not yours: as if it did not exist
	}
	afterOwnLock()
	return list[0], nil
}

// afterOwnLock lets the lock-order test hold the locks a while; it does
// nothing otherwise.
var afterOwnLock = func() {}

// Update saves changes to an offer. Changing a published offer sends it
// back to review: staff check what the public will read. An archived offer
// is kept as it was.
func (s *Service) Update(ctx context.Context, actor member.Actor, id int64, in Input, submit bool) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	if err := s.validate(&in); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		o, err := own(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if o.Status == StatusArchived {
			return ErrInvalidState
		}
		status := o.Status
		switch {
		case submit || o.Status == StatusPublished:
			status = StatusSubmitted
		case o.Status == StatusRejected:
			status = StatusDraft
		}
		_, err = tx.Exec(ctx, `UPDATE offers SET title = $2, summary = $3, description = $4, kind = $5, cpv_codes = $6, trl = $7,
				places = $8, keywords = $9, cpv_text = $10, status = $11, updated_at = now(),
				submitted_at = CASE WHEN $11 = 'submitted'::offer_status AND status <> 'submitted' THEN now() ELSE submitted_at END
			WHERE id = $1`, id, in.Title, in.Summary, in.Description, in.Kind, in.CPVCodes, trl(in), in.Places(s.tax), in.Keywords,
			s.index.CPVText(in.CPVCodes), status)
		if err != nil {
			return err
		}
		return s.index.Refresh(ctx, tx, actor.OrgID)
	})
	return wrap("update", id, err)
}

// transitions says from which statuses an SME may go to another.
var transitions = map[Status][]Status{
	StatusSubmitted: {StatusDraft, StatusRejected},
	StatusArchived:  {StatusDraft, StatusSubmitted, StatusPublished, StatusRejected},
}

// Submit sends a draft (or an offer sent back) for review.
func (s *Service) Submit(ctx context.Context, actor member.Actor, id int64) error {
	return s.move(ctx, actor, id, StatusSubmitted)
}

// Archive takes an offer off the catalogue for good.
func (s *Service) Archive(ctx context.Context, actor member.Actor, id int64) error {
	return s.move(ctx, actor, id, StatusArchived)
}

func (s *Service) move(ctx context.Context, actor member.Actor, id int64, to Status) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		o, err := own(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		ok := false
		for _, from := range transitions[to] {
			ok = ok || o.Status == from
		}
		if !ok {
			return ErrInvalidState
		}
		if _, err := tx.Exec(ctx, `UPDATE offers SET status = $2, updated_at = now(),
				submitted_at = CASE WHEN $2 = 'submitted'::offer_status THEN now() ELSE submitted_at END WHERE id = $1`, id, to); err != nil {
			return err
		}
		return s.index.Refresh(ctx, tx, actor.OrgID)
	})
	return wrap(string(to), id, err)
}

// Review is staff's decision on a submitted offer, as it is now: approve
// publishes it; otherwise it goes back to the SME with the reason, which is
// required. The staff queue decides through the moderation service, on
// the version it showed.
func (s *Service) Review(ctx context.Context, actor member.Actor, id int64, approve bool, reason string) error {
	d := moderation.Publish
	if !approve {
		d = moderation.SendBack
	}
	var notify moderation.Notifier
	if s.Notify != nil {
		notify = s.Notify
	}
	err := moderation.Decide(ctx, s.db, notify, s.Moderation(), actor, id, moderation.AnyVersion, d, reason)
	switch {
	case errors.Is(err, moderation.ErrForbidden):
		return ErrForbidden
	case errors.Is(err, moderation.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, moderation.ErrNotWaiting):
		return ErrInvalidState
	}
	return err
}

// Mine lists a page of the offers of the actor's SME, every status, most
// recently changed first, with their total.
func (s *Service) Mine(ctx context.Context, actor member.Actor, page int) ([]Offer, int, error) {
	if !actor.IsSME() {
		return nil, 0, ErrForbidden
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM offers WHERE organisation_id = $1`, actor.OrgID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("offer: mine: %w", err)
	}
	list, err := collect(s.db.Query(ctx, `SELECT `+columns+` FROM offers o JOIN organisations g ON g.id = o.organisation_id
		WHERE o.organisation_id = $1 ORDER BY o.updated_at DESC, o.id DESC LIMIT $2 OFFSET $3`,
		actor.OrgID, PageSize, (max(page, 1)-1)*PageSize))
	if err != nil {
		return nil, 0, fmt.Errorf("offer: mine: %w", err)
	}
	return list, total, nil
}

// Get returns an offer the actor may read: its own SME's and, for staff,
// any; for everyone else only listed ones (published by a member).
func (s *Service) Get(ctx context.Context, actor member.Actor, id int64) (Offer, error) {
	list, err := collect(s.db.Query(ctx, `SELECT `+columns+` FROM offers o JOIN organisations g ON g.id = o.organisation_id
		WHERE o.id = $1 AND (o.listed OR $2 OR o.organisation_id = $3)`, id, actor.IsStaff(), actor.OrgID))
	if err != nil {
		return Offer{}, fmt.Errorf("offer: get %d: %w", id, err)
	}
	if len(list) == 0 {
		return Offer{}, ErrNotFound
	}
	return list[0], nil
}

// Editable returns an offer of the actor's SME that may still be edited
// (ErrInvalidState once archived); another organisation's offer is
// ErrNotFound, as if it did not exist.
func (s *Service) Editable(ctx context.Context, actor member.Actor, id int64) (Offer, error) {
	if !actor.IsSME() {
		return Offer{}, ErrForbidden
	}
	list, err := collect(s.db.Query(ctx, `SELECT `+columns+` FROM offers o JOIN organisations g ON g.id = o.organisation_id
		WHERE o.id = $1 AND o.organisation_id = $2`, id, actor.OrgID))
	if err != nil {
		return Offer{}, fmt.Errorf("offer: editable %d: %w", id, err)
	}
	if len(list) == 0 {
		return Offer{}, ErrNotFound
	}
	if list[0].Status == StatusArchived {
		return Offer{}, ErrInvalidState
	}
	return list[0], nil
}

// Listed returns the published offers of an organisation, for its profile.
func (s *Service) Listed(ctx context.Context, orgID int64) ([]Offer, error) {
	list, err := collect(s.db.Query(ctx, `SELECT `+columns+` FROM offers o JOIN organisations g ON g.id = o.organisation_id
		WHERE o.organisation_id = $1 AND o.listed ORDER BY o.published_at DESC, o.id DESC`, orgID))
	if err != nil {
		return nil, fmt.Errorf("offer: listed %d: %w", orgID, err)
	}
	return list, nil
}

func wrap(op string, id int64, err error) error {
	if err == nil {
		return nil
	}
	var v *ValidationError
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidState) || errors.Is(err, ErrForbidden) || errors.As(err, &v) {
		return err
	}
	return fmt.Errorf("offer: %s %d: %w", op, id, err)
}
