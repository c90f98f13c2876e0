package purchase

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// The SQL of the home pages' blocks: what a member has to act on.

func items(rows pgx.Rows, err error) ([]Item, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Item])
}

// fitting lists the open requests suggested to SME org it has not
// answered, nearest deadline first.
func (store) fitting(ctx context.Context, q dbtx, org int64, today time.Time, limit int) ([]Hit, error) {
	rows, err := q.Query(ctx, `SELECT r.id, r.title, r.description, CASE WHEN r.anonymous THEN '' ELSE g.legal_name END, r.cpv_codes,
			r.budget_band, r.deadline, r.places, r.innovative, m.state
		FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id JOIN organisations g ON g.id = r.organisation_id
		WHERE m.organisation_id = $1 AND m.matched AND m.state IN ('suggested', 'viewed') AND r.status = 'open' AND r.deadline >= $2
		ORDER BY r.deadline, r.id LIMIT $3`, org, today, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Hit])
}

// waitingReply lists SME org's answers waiting for the buyer, oldest first.
func (store) waitingReply(ctx context.Context, q dbtx, org int64, limit int) ([]Item, error) {
	return items(q.Query(ctx, `SELECT r.id, m.organisation_id, r.title, CASE WHEN r.anonymous THEN '' ELSE g.legal_name END,
			m.state, 0, m.answered_at
		FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id JOIN organisations g ON g.id = r.organisation_id
		WHERE m.organisation_id = $1 AND m.state IN ('interested', 'shortlisted') AND m.answered_at IS NOT NULL
		ORDER BY m.answered_at LIMIT $2`, org, limit))
}

// unread lists the conversations of organisation org with messages from
// the other side that user has not read, the latest first.
func (store) unread(ctx context.Context, q dbtx, org, user int64, limit int) ([]Item, error) {
	return items(q.Query(ctx, `SELECT m.request_id, m.organisation_id, r.title,
			CASE WHEN $1 = m.organisation_id THEN b.legal_name ELSE g.legal_name END, m.state, count(x.id)::int, max(x.created_at)
		FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
			JOIN organisations g ON g.id = m.organisation_id JOIN organisations b ON b.id = r.organisation_id
			JOIN request_messages x ON x.request_id = m.request_id AND x.organisation_id = m.organisation_id AND x.author_org_id <> $1
		WHERE (m.organisation_id = $1 OR r.organisation_id = $1) AND m.state IN ('discussion', 'won', 'lost')
		  AND x.id > coalesce((SELECT c.read_until FROM conversation_reads c WHERE c.user_id = $2
			AND c.request_id = m.request_id AND c.organisation_id = m.organisation_id), 0)
		GROUP BY m.request_id, m.organisation_id, r.title, b.legal_name, g.legal_name, m.state
		ORDER BY max(x.created_at) DESC LIMIT $3`, org, user, limit))
}

// openRequests lists large account org's open requests with their
// answers, nearest deadline first.
func (store) openRequests(ctx context.Context, q dbtx, org int64, limit int) ([]Summary, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+`,
			(SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.state NOT IN ('suggested', 'viewed', 'not_interested')),
			(SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.state = 'interested')`+from+`
		WHERE r.organisation_id = $1 AND r.status = 'open' ORDER BY r.deadline, r.id LIMIT $2`, org, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanSummary)
}

// followUpsDue lists org's requests whose "what happened?" is unanswered.
func (store) followUpsDue(ctx context.Context, q dbtx, org int64, limit int) ([]Item, error) {
	return items(q.Query(ctx, `SELECT id, organisation_id, title, '', 'suggested', 0, follow_up_asked_at
		FROM purchase_requests WHERE organisation_id = $1 AND status = 'open' AND follow_up_asked_at IS NOT NULL AND follow_up IS NULL
		ORDER BY deadline LIMIT $2`, org, limit))
}

// drafts lists org's drafts and requests sent back, the latest first.
func (store) drafts(ctx context.Context, q dbtx, org int64, limit int) ([]Item, error) {
	return items(q.Query(ctx, `SELECT id, organisation_id, title, status_reason, 'suggested', 0, updated_at
		FROM purchase_requests WHERE organisation_id = $1 AND status IN ('draft', 'rejected') ORDER BY updated_at DESC LIMIT $2`,
		org, limit))
}
