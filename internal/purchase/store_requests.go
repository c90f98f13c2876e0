package purchase

import (
	"context"
	"passerelle/internal/platform/moderation"
	"time"

	"github.com/jackc/pgx/v5"
)

// The SQL of purchase requests and their events.

const columns = `r.id, r.organisation_id, g.legal_name, g.kind::text, r.title, r.description, r.cpv_codes, r.budget_band,
	r.deadline, r.places, r.innovative, r.visibility, r.questions, r.anonymous, r.status::text, r.status_reason, r.outcome,
	r.follow_up, r.created_at, r.updated_at, r.submitted_at, r.published_at, r.payment_days::int, r.min_turnover, g.naf_code`

const from = ` FROM purchase_requests r JOIN organisations g ON g.id = r.organisation_id `

func collect(rows pgx.Rows, err error) ([]Request, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Request])
}

// first is the one request of a list, or ErrNotFound.
func first(list []Request, err error) (Request, error) {
	if err != nil {
		return Request{}, err
	}
	if len(list) == 0 {
		return Request{}, ErrNotFound
	}
	return list[0], nil
}

// insertEvent keeps a step of the loop with its time; org and user 0 are
// none.
func (store) insertEvent(ctx context.Context, tx pgx.Tx, req, org int64, kind string, user int64, at time.Time) error {
	var orgArg, userArg any
	if org != 0 {
		orgArg = org
	}
	if user != 0 {
		userArg = user
	}
	_, err := tx.Exec(ctx, `INSERT INTO request_events (request_id, organisation_id, kind, user_id, at) VALUES ($1, $2, $3, $4, $5)`,
		req, orgArg, kind, userArg, at)
	return err
}

// stored is a request's input as written: with what is derived from it.
type stored struct {
	Input
	Terms
	CPVText string
	Places  []string
	Facets  []string
	Status  Status
}

// insertRequest writes a new request of org by author.
func (store) insertRequest(ctx context.Context, tx pgx.Tx, org, author int64, in stored, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO purchase_requests (organisation_id, author_id, title, description, cpv_codes, cpv_text,
			budget_band, deadline, places, innovative, visibility, questions, anonymous, facets, status, submitted_at, created_at, updated_at,
			payment_days, min_turnover)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
			CASE WHEN $15 = 'submitted'::request_status THEN $16::timestamptz END, $16, $16, $17, $18)
		RETURNING id`, org, author, in.Title, in.Description, in.CPVCodes, in.CPVText, in.BudgetBand, in.Deadline, in.Places,
		in.Innovative, in.Visibility, nonNil(in.Questions), in.Anonymous, in.Facets, in.Status, now, in.Terms.PaymentDays, in.Terms.MinTurnover).Scan(&id)
	return id, err
}

// updateRequest rewrites a request's content and status.
func (store) updateRequest(ctx context.Context, tx pgx.Tx, id int64, in stored, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE purchase_requests SET title = $2, description = $3, cpv_codes = $4, cpv_text = $5,
			budget_band = $6, deadline = $7, places = $8, innovative = $9, visibility = $10, questions = $11, anonymous = $12,
			facets = $13, status = $14, updated_at = $15, payment_days = $16, min_turnover = $17,
			submitted_at = CASE WHEN $14 = 'submitted'::request_status AND status <> 'submitted' THEN $15 ELSE submitted_at END
		WHERE id = $1`, id, in.Title, in.Description, in.CPVCodes, in.CPVText, in.BudgetBand, in.Deadline, in.Places, in.Innovative,
		in.Visibility, nonNil(in.Questions), in.Anonymous, in.Facets, in.Status, now, in.Terms.PaymentDays, in.Terms.MinTurnover)
	return err
}

// lockRequest reads request id locked for update; ErrNotFound when none.
func (store) lockRequest(ctx context.Context, tx pgx.Tx, id int64) (Request, error) {
	return first(collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.id = $1 FOR NO KEY UPDATE OF r`, id)))
}

// orgRequest reads request id of large account org; ErrNotFound when it
// is not one of its.
func (store) orgRequest(ctx context.Context, q dbtx, id, org int64) (Request, error) {
	return first(collect(q.Query(ctx, `SELECT `+columns+from+`WHERE r.id = $1 AND r.organisation_id = $2`, id, org)))
}

func (store) markSubmitted(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE purchase_requests SET status = 'submitted', submitted_at = $2, updated_at = $2 WHERE id = $1`, id, now)
	return err
}

func (store) markClosed(ctx context.Context, tx pgx.Tx, id int64, outcome string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE purchase_requests SET status = 'closed', outcome = $2, closed_at = $3, updated_at = $3 WHERE id = $1`,
		id, outcome, now)
	return err
}

// mine lists a page of large account org's requests, the latest changed
// first, with their answers, and the total.
func (store) mine(ctx context.Context, q dbtx, org int64, page int) ([]Summary, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM purchase_requests WHERE organisation_id = $1`, org).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := q.Query(ctx, `SELECT `+columns+`,
			(SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.state NOT IN ('suggested', 'viewed', 'not_interested')),
			(SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.state = 'interested')`+from+`
		WHERE r.organisation_id = $1 ORDER BY r.updated_at DESC, r.id DESC LIMIT $2 OFFSET $3`, org, PageSize, (max(page, 1)-1)*PageSize)
	if err != nil {
		return nil, 0, err
	}
	list, err := pgx.CollectRows(rows, scanSummary)
	return list, total, err
}

func scanSummary(row pgx.CollectableRow) (Summary, error) {
	var x Summary
	r := &x.Request
	err := row.Scan(&r.ID, &r.OrgID, &r.OrgName, &r.OrgKind, &r.Title, &r.Description, &r.CPVCodes, &r.BudgetBand, &r.Deadline,
		&r.Places, &r.Innovative, &r.Visibility, &r.Questions, &r.Anonymous, &r.Status, &r.StatusReason, &r.Outcome, &r.FollowUp,
		&r.CreatedAt, &r.UpdatedAt, &r.SubmittedAt, &r.PublishedAt, &r.PaymentDays, &r.MinTurnover, &r.OrgNAF, &x.Answers, &x.New)
	return x, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (store) setFollowUp(ctx context.Context, tx pgx.Tx, id int64, answer string, counterfactual *string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE purchase_requests SET follow_up = $2, counterfactual = $4, updated_at = $3 WHERE id = $1`,
		id, answer, now, counterfactual)
	return err
}

// version changes whenever a request is written (updated_at, in µs):
// staff decide on the version they read.
const version = `(extract(epoch FROM r.updated_at) * 1000000)::bigint`

func (store) version(ctx context.Context, q dbtx, id int64) (int64, error) {
	var v int64
	err := q.QueryRow(ctx, `SELECT `+version+` FROM purchase_requests r WHERE r.id = $1`, id).Scan(&v)
	return v, err
}

// submitted lists the requests waiting for review, oldest first, each in
// full with its version, and their total.
// submitted are the requests waiting for review, oldest first, with their
// versions, and how many wait in all.
func (store) submitted(ctx context.Context, q moderation.Querier, limit int) ([]Request, []int64, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM purchase_requests WHERE status = 'submitted'`).Scan(&total); err != nil {
		return nil, nil, 0, err
	}
	rows, err := q.Query(ctx, `SELECT `+columns+`, `+version+from+`WHERE r.status = 'submitted' ORDER BY r.submitted_at, r.id LIMIT $1`, limit)
	if err != nil {
		return nil, nil, 0, err
	}
	var list []Request
	var versions []int64
	var r Request
	var v int64
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.OrgID, &r.OrgName, &r.OrgKind, &r.Title, &r.Description, &r.CPVCodes, &r.BudgetBand,
		&r.Deadline, &r.Places, &r.Innovative, &r.Visibility, &r.Questions, &r.Anonymous, &r.Status, &r.StatusReason, &r.Outcome,
		&r.FollowUp, &r.CreatedAt, &r.UpdatedAt, &r.SubmittedAt, &r.PublishedAt, &r.PaymentDays, &r.MinTurnover, &r.OrgNAF, &v}, func() error {
		list, versions = append(list, r), append(versions, v)
		r = Request{} // pointers scanned into must not be shared between rows
		return nil
	})
	return list, versions, total, err
}

func (store) markSentBack(ctx context.Context, tx pgx.Tx, id int64, reason string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE purchase_requests SET status = 'rejected', status_reason = $2, updated_at = $3 WHERE id = $1`,
		id, reason, now)
	return err
}

func (store) markOpen(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE purchase_requests SET status = 'open', status_reason = '', published_at = $2, updated_at = $2
		WHERE id = $1`, id, now)
	return err
}

// linkSecret is the key that signs the links in mails, made by a migration
// and shared by every server.
func (store) linkSecret(ctx context.Context, q dbtx) ([]byte, error) {
	var secret []byte
	err := q.QueryRow(ctx, `SELECT secret FROM link_keys WHERE name = 'mail_links'`).Scan(&secret)
	return secret, err
}

// orgNAF is an organisation's activity code.
func (store) orgNAF(ctx context.Context, q dbtx, org int64) (string, error) {
	var naf string
	err := q.QueryRow(ctx, `SELECT naf_code FROM organisations WHERE id = $1`, org).Scan(&naf)
	return naf, err
}
