package purchase

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// The SQL of conversations: messages, what each user has read, reports.

func (store) messages(ctx context.Context, q dbtx, req, org int64) ([]Message, error) {
	rows, err := q.Query(ctx, `SELECT id, author_org_id, author_name, body, created_at FROM request_messages
		WHERE request_id = $1 AND organisation_id = $2 ORDER BY id`, req, org)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Message])
}

// markRead records that user read the conversation up to message until.
func (store) markRead(ctx context.Context, q dbtx, user, req, org, until int64) error {
	_, err := q.Exec(ctx, `INSERT INTO conversation_reads (user_id, request_id, organisation_id, read_until) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, request_id, organisation_id) DO UPDATE SET read_until = greatest(conversation_reads.read_until, $4)`,
		user, req, org, until)
	return err
}

// insertMessage writes a message by author of authorOrg and returns its id.
func (store) insertMessage(ctx context.Context, tx pgx.Tx, req, org, authorOrg, author int64, name, body string, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO request_messages (request_id, organisation_id, author_org_id, author_id, author_name, body, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, req, org, authorOrg, author, name, body, now).Scan(&id)
	return id, err
}

// markReported shows the conversation to staff (the first report's time).
func (store) markReported(ctx context.Context, tx pgx.Tx, req, org int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE request_matches SET reported_at = coalesce(reported_at, $3) WHERE request_id = $1 AND organisation_id = $2`,
		req, org, now)
	return err
}

// reported lists the reported conversations' matches, the latest first.
func (store) reported(ctx context.Context, q dbtx, limit int) ([]Match, error) {
	rows, err := q.Query(ctx, `SELECT `+matchColumns+matchFrom+`WHERE m.reported_at IS NOT NULL ORDER BY m.reported_at DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanMatch)
}
