package purchase

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The SQL of the background jobs: digests, reminders, follow-ups,
// invitations and the recompute of matches.

// digestUsers are the member SME users with saved searches who had no
// digest on day today and take the requests' mails.
func (store) digestUsers(ctx context.Context, q dbtx, today time.Time) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT s.user_id FROM saved_searches s JOIN users u ON u.id = s.user_id
			JOIN organisations g ON g.id = u.organisation_id
		WHERE g.status = 'member' AND g.kind IN ('pme', 'eti')
		  AND NOT EXISTS (SELECT 1 FROM digests_sent d WHERE d.user_id = s.user_id AND d.day = $1)
		  AND NOT EXISTS (SELECT 1 FROM notification_optouts n WHERE n.user_id = s.user_id AND n.category = $2)
		ORDER BY 1`, today, Requests.Name)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// markDigest takes the day's digest of user; first tells whether this
// transaction took it (another server may have).
func (store) markDigest(ctx context.Context, tx pgx.Tx, user int64, today time.Time) (first bool, err error) {
	tag, err := tx.Exec(ctx, `INSERT INTO digests_sent (user_id, day) VALUES ($1, $2) ON CONFLICT DO NOTHING`, user, today)
	return err == nil && tag.RowsAffected() == 1, err
}

func (store) unmarkDigest(ctx context.Context, tx pgx.Tx, user int64, today time.Time) error {
	_, err := tx.Exec(ctx, `DELETE FROM digests_sent WHERE user_id = $1 AND day = $2`, user, today)
	return err
}

// recipient reads a user as a mail recipient, with its organisation.
func (store) recipient(ctx context.Context, q dbtx, user int64) (int64, recipient, error) {
	var org int64
	var r recipient
	err := q.QueryRow(ctx, `SELECT organisation_id, id, email, name, locale, mail_token FROM users WHERE id = $1`, user).
		Scan(&org, &r.id, &r.Email, &r.Name, &r.Locale, &r.Token)
	return org, r, err
}

// digestItem is a request in a digest.
type digestItem struct {
	ID       int64
	Title    string
	Deadline time.Time
}

// digestItems lists the open requests published since user's searches
// were last seen that they find, that SME org may see and has not
// answered, nearest deadline first.
func (store) digestItems(ctx context.Context, q dbtx, user, org int64, now, today time.Time, limit int) ([]digestItem, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (r.deadline, r.id) r.id, r.title, r.deadline
		FROM saved_searches s JOIN purchase_requests r ON r.published_at > s.seen_until AND r.published_at <= $3
		WHERE s.user_id = $1 AND r.status = 'open' AND r.deadline >= $4 AND r.facets @> s.facets
		  AND (s.query = '' OR r.search @@ fr_tsquery(s.query))
		  AND (r.visibility = 'all' OR EXISTS (SELECT 1 FROM request_matches v WHERE v.request_id = r.id AND v.organisation_id = $2 AND v.matched))
		  AND NOT EXISTS (SELECT 1 FROM request_matches a WHERE a.request_id = r.id AND a.organisation_id = $2 AND a.state NOT IN ('suggested', 'viewed'))
		ORDER BY r.deadline, r.id LIMIT $5`, user, org, now, today, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[digestItem])
}

func (store) markSeen(ctx context.Context, tx pgx.Tx, user int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE saved_searches SET seen_until = $2 WHERE user_id = $1`, user, now)
	return err
}

// nextReminder locks the next match due a reminder (skipping those another
// server holds); ErrNotFound when none is due.
func (store) nextReminder(ctx context.Context, tx pgx.Tx, max int, today, mailedBefore time.Time) (req, org int64, err error) {
	err = tx.QueryRow(ctx, `SELECT m.request_id, m.organisation_id FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
		WHERE m.matched AND m.invited_at IS NOT NULL AND m.state IN ('suggested', 'viewed') AND m.reminders < $1 AND r.status = 'open'
		  AND r.deadline >= $2::date + 2 AND coalesce(m.last_mailed_at, m.created_at) <= $3
		ORDER BY m.request_id, m.organisation_id LIMIT 1 FOR UPDATE OF m SKIP LOCKED`, max, today, mailedBefore).Scan(&req, &org)
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	return req, org, err
}

func (store) markReminded(ctx context.Context, tx pgx.Tx, req, org int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE request_matches SET reminders = reminders + 1, last_mailed_at = $3
		WHERE request_id = $1 AND organisation_id = $2`, req, org, now)
	return err
}

// nextFollowUp locks the next open request whose deadline passed days ago
// and whose buyer was not asked what happened; ErrNotFound when none.
func (store) nextFollowUp(ctx context.Context, tx pgx.Tx, today time.Time, days int) (Request, error) {
	return first(collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.status = 'open' AND r.follow_up_asked_at IS NULL
		AND r.deadline <= $1::date - $2::int ORDER BY r.id LIMIT 1 FOR NO KEY UPDATE OF r SKIP LOCKED`, today, days)))
}

func (store) markFollowUpAsked(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE purchase_requests SET follow_up_asked_at = $2 WHERE id = $1`, id, now)
	return err
}

// nextToInvite locks the next open request after after that still wants
// answers (fewer than enough), whose last batch went out before lastBefore
// and that has matched SMEs scored minScore or more not invited yet;
// ErrNotFound when none. The conditions are read again once the row is
// locked: the first statement's snapshot may predate another server's
// batch for the same request, committed while this one waited for the
// lock (the lock re-reads the row, not the matches its conditions count).
func (store) nextToInvite(ctx context.Context, tx pgx.Tx, after int64, today time.Time, enough int, lastBefore time.Time,
	minScore float64) (Request, error) {
	for {
		r, err := first(collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.id > $2 AND `+dueForInvitations+`
			ORDER BY r.id LIMIT 1 FOR NO KEY UPDATE OF r SKIP LOCKED`, today, after, enough, lastBefore, minScore)))
		if err != nil {
			return r, err
		}
		var due bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM purchase_requests r WHERE r.id = $2 AND `+dueForInvitations+`)`,
			today, r.ID, enough, lastBefore, minScore).Scan(&due); err != nil || due {
			return r, err
		}
		after = r.ID
	}
}

// dueForInvitations is an open request's condition for a new batch of
// invitations ($1 today, $3 enough answers, $4 last batch before, $5 the
// minimum score).
const dueForInvitations = `r.status = 'open' AND r.deadline >= $1
	AND (SELECT count(*) FROM request_matches m WHERE m.request_id = r.id
		AND m.state IN ('interested', 'shortlisted', 'discussion', 'won', 'lost', 'declined')) < $3
	AND coalesce((SELECT max(m.invited_at) FROM request_matches m WHERE m.request_id = r.id), r.published_at) <= $4
	AND EXISTS (SELECT 1 FROM request_matches m WHERE m.request_id = r.id AND m.matched AND m.invited_at IS NULL
		AND m.state IN ('suggested', 'viewed') AND m.score >= $5)`

// leaseMatchChanges leases the changes of up to n SMEs (the oldest, none
// another server holds) for a while, committed at once, and returns the
// changes' ids and their SMEs, each once. A new change to one of them
// meanwhile is a row of its own, left for the next pass.
func (store) leaseMatchChanges(ctx context.Context, db *pgxpool.Pool, n int, lease time.Duration) ([]int64, []int64, error) {
	var ids, orgs []int64
	// One server leases at a time (a few milliseconds): the next one then
	// sees the lease and takes the following SMEs, rather than skipping
	// rows still locked and finding nothing.
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('match_changes_lease'))`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `WITH orgs AS (
				SELECT organisation_id FROM match_changes WHERE leased_until IS NULL OR leased_until < now()
				GROUP BY organisation_id ORDER BY min(id) LIMIT $1)
			UPDATE match_changes c SET leased_until = now() + make_interval(secs => $2)
			WHERE c.organisation_id IN (SELECT organisation_id FROM orgs) AND (c.leased_until IS NULL OR c.leased_until < now())
			RETURNING c.id, c.organisation_id`, n, lease.Seconds())
		if err != nil {
			return err
		}
		var id, org int64
		_, err = pgx.ForEachRow(rows, []any{&id, &org}, func() error {
			ids, orgs = append(ids, id), append(orgs, org)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(orgs)
	return ids, slices.Compact(orgs), nil
}

// renewMatchChanges extends the lease of changes still being worked on.
func (store) renewMatchChanges(ctx context.Context, q dbtx, ids []int64, lease time.Duration) error {
	_, err := q.Exec(ctx, `UPDATE match_changes SET leased_until = now() + make_interval(secs => $2) WHERE id = ANY($1)`, ids, lease.Seconds())
	return err
}

// releaseMatchChanges gives changes back at once (their pass failed).
func (store) releaseMatchChanges(ctx context.Context, q dbtx, ids []int64) error {
	_, err := q.Exec(ctx, `UPDATE match_changes SET leased_until = NULL WHERE id = ANY($1)`, ids)
	return err
}

// dropMatchChanges deletes changes brought into every request.
func (store) dropMatchChanges(ctx context.Context, q dbtx, ids []int64) error {
	_, err := q.Exec(ctx, `DELETE FROM match_changes WHERE id = ANY($1)`, ids)
	return err
}

// requestsOpen reads the requests of ids still open, by id.
func (store) requestsOpen(ctx context.Context, q dbtx, ids []int64, today time.Time) ([]Request, error) {
	return collect(q.Query(ctx, `SELECT `+columns+from+`WHERE r.id = ANY($1) AND r.status = 'open' AND r.deadline >= $2 ORDER BY r.id`, ids, today))
}

// storedOf reads, for each request of ids, what its stored ranking holds
// of orgs, and its last place.
func (store) storedOf(ctx context.Context, q dbtx, ids, orgs []int64) (map[int64]storedPart, error) {
	out := map[int64]storedPart{}
	rows, err := q.Query(ctx, `SELECT l.request_id, l.organisation_id, l.score, l.reasons::text, coalesce(l.best_offer_id, 0),
			(SELECT count(*) FROM request_matches c WHERE c.request_id = r.id AND c.ranked)
		FROM unnest($1::bigint[]) AS r(id) CROSS JOIN LATERAL (SELECT * FROM request_matches m
			WHERE m.request_id = r.id AND m.ranked ORDER BY m.score, m.organisation_id DESC LIMIT 1) l`, ids)
	if err != nil {
		return nil, err
	}
	var req int64
	var x Suggestion
	var reasons string
	var count int
	if _, err := pgx.ForEachRow(rows, []any{&req, &x.OrgID, &x.Score, &reasons, &x.OfferID, &count}, func() error {
		x.Reasons = []byte(reasons)
		out[req] = storedPart{batch: map[int64]Suggestion{}, last: x, count: count}
		return nil
	}); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT request_id, organisation_id, score, reasons::text, coalesce(best_offer_id, 0) FROM request_matches
		WHERE organisation_id = ANY($2) AND request_id = ANY($1) AND ranked`, ids, orgs)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&req, &x.OrgID, &x.Score, &reasons, &x.OfferID}, func() error {
		x.Reasons = []byte(reasons)
		if p, ok := out[req]; ok {
			p.batch[x.OrgID] = x
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// concerning lists the open requests a change to orgs may concern: those
// in the CPV divisions of their offers and references, and those that
// suggest one of them now (it may have left the division).
func (store) concerning(ctx context.Context, q dbtx, orgs []int64, today time.Time) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT r.id FROM purchase_requests r WHERE r.status = 'open' AND r.deadline >= $2 AND r.facets && (
			SELECT coalesce(array_agg(DISTINCT 'cpv:' || left(c, 2)), '{}') FROM (
				SELECT unnest(cpv_codes) AS c FROM offers WHERE organisation_id = ANY($1)
				UNION SELECT cpv_code FROM org_references WHERE organisation_id = ANY($1)) x)
		UNION
		SELECT r.id FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
		WHERE m.organisation_id = ANY($1) AND m.matched AND r.status = 'open' AND r.deadline >= $2
		ORDER BY 1`, orgs, today)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ranking is a request's stored ranking, best first.
func (st store) ranking(ctx context.Context, tx pgx.Tx, req int64) ([]Suggestion, error) {
	all, err := st.rankings(ctx, tx, []int64{req})
	return all[req], err
}
