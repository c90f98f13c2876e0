package purchase

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/notify"
)

// The SQL of matches (request_matches and what they read); the rules that
// decide when to run it are in engage.go and lifecycle.go.

// matchColumnsWith are the columns of a match, its place in its request's
// ranking read by the expression rank.
func matchColumnsWith(rank string) string {
	return `m.request_id, m.organisation_id, g.legal_name, g.siren, g.departement, m.matched, m.state, m.message, m.answers,
	m.offer_id, o.title, m.sme_reason, m.sme_reason_text, m.buyer_reason, m.contract_amount, m.contract_date, m.answered_at,
	m.updated_at, m.reported_at IS NOT NULL,
	array(SELECT DISTINCT e.kind FROM request_events e WHERE e.request_id = m.request_id AND e.organisation_id = m.organisation_id),
	m.score, ` + rank + `, m.reasons, m.best_offer_id, bo.title`
}

// A match's place in its request's ranking is not stored (a change to one
// SME would move every one below it): it is the ranking's order, by score,
// then organisation, of the matches it holds (ranked): those before it
// are counted from the index by score, from its own score up.
var matchColumns = matchColumnsWith(`CASE WHEN m.ranked THEN 1 + (SELECT count(*) FROM request_matches x
	WHERE x.request_id = m.request_id AND x.ranked AND x.score >= m.score
	  AND (x.score > m.score OR x.organisation_id < m.organisation_id)) END`)

// rankingOrder orders a request's matches as its ranking does, those in
// it first.
const rankingOrder = `m.ranked DESC, m.score DESC NULLS LAST, m.organisation_id`

const matchFrom = ` FROM request_matches m JOIN organisations g ON g.id = m.organisation_id LEFT JOIN offers o ON o.id = m.offer_id
	LEFT JOIN offers bo ON bo.id = m.best_offer_id `

// matchDest are the scan destinations of matchColumns.
func matchDest(m *Match) []any {
	return []any{&m.RequestID, &m.OrgID, &m.OrgName, &m.OrgSIREN, &m.OrgDepartement, &m.Matched, &m.State, &m.Message, &m.Answers,
		&m.OfferID, &m.OfferTitle, &m.SMEReason, &m.SMEReasonText, &m.BuyerReason, &m.ContractAmount, &m.ContractDate, &m.AnsweredAt,
		&m.UpdatedAt, &m.Reported, &m.Visited, &m.Score, &m.Rank, &m.Reasons, &m.BestOfferID, &m.BestOfferTitle}
}

func scanMatch(row pgx.CollectableRow) (Match, error) {
	var m Match
	return m, row.Scan(matchDest(&m)...)
}

// suggestion is a ranked SME as stored.
type suggestion struct {
	orgs    []int64
	scores  []float64
	reasons []string
	offers  []*int64
}

// rankingMerge is a request's merged ranking over the one it had stored.
type rankingMerge struct {
	req          int64
	stored, list []Suggestion
}

// storeMerged writes merged rankings over the stored ones, in two
// statements for them all: only the SMEs new to a ranking or whose score,
// reasons or offer changed, and those that left. The others stay as they
// are, whatever their new place: places are read from the scores.
func (store) storeMerged(ctx context.Context, tx pgx.Tx, all []rankingMerge, now time.Time) error {
	var moved []Suggestion
	var movedReq []int64
	var ranks []int32
	var goneReq, goneOrg []int64
	for _, m := range all {
		at := make(map[int64]int, len(m.stored))
		for i, x := range m.stored {
			at[x.OrgID] = i
		}
		kept := make(map[int64]bool, len(m.list))
		for i, x := range m.list {
			kept[x.OrgID] = true
			if j, ok := at[x.OrgID]; !ok || !sameSuggestion(m.stored[j], x) {
				moved, movedReq, ranks = append(moved, x), append(movedReq, m.req), append(ranks, int32(i+1))
			}
		}
		for _, x := range m.stored {
			if !kept[x.OrgID] {
				goneReq, goneOrg = append(goneReq, m.req), append(goneOrg, x.OrgID)
			}
		}
	}
	if len(goneReq) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE request_matches m SET matched = state NOT IN ('suggested', 'viewed'),
				score = CASE WHEN state IN ('suggested', 'viewed') THEN NULL ELSE score END,
				reasons = CASE WHEN state IN ('suggested', 'viewed') THEN '[]' ELSE reasons END,
				ranked = false, rank = NULL, computed_at = $3
			FROM unnest($1::bigint[], $2::bigint[]) AS g(req, org)
			WHERE m.request_id = g.req AND m.organisation_id = g.org AND m.ranked`, goneReq, goneOrg, now); err != nil {
			return err
		}
	}
	if len(moved) == 0 {
		return nil
	}
	// rank, the place when written, is for the previous release's servers
	// during a rolling deploy (migration 000030); nothing here reads it.
	sg := suggestionOf(moved)
	_, err := tx.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, matched, ranked, score, rank, reasons, best_offer_id,
			computed_at, created_at, updated_at)
		SELECT rq, o, true, true, sc, rk, rs::jsonb, bo, $7, $7, $7
		FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::text[], $5::bigint[], $6::int[]) AS x(rq, o, sc, rs, bo, rk)
		ON CONFLICT (request_id, organisation_id) DO UPDATE SET matched = true, ranked = true, score = excluded.score, rank = excluded.rank,
			reasons = excluded.reasons, best_offer_id = excluded.best_offer_id, computed_at = excluded.computed_at`,
		movedReq, sg.orgs, sg.scores, sg.reasons, sg.offers, ranks, now)
	return err
}

// rankings are the stored rankings of requests, best first.
func (store) rankings(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64][]Suggestion, error) {
	rows, err := tx.Query(ctx, `SELECT request_id, organisation_id, score, reasons::text, coalesce(best_offer_id, 0) FROM request_matches
		WHERE request_id = ANY($1) AND ranked ORDER BY request_id, score DESC, organisation_id`, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64][]Suggestion{}
	var req int64
	var x Suggestion
	var reasons string
	_, err = pgx.ForEachRow(rows, []any{&req, &x.OrgID, &x.Score, &reasons, &x.OfferID}, func() error {
		x.Reasons = []byte(reasons)
		out[req] = append(out[req], x)
		return nil
	})
	return out, err
}

// toInvite locks up to n matched SMEs still to answer and not invited,
// scored at least minScore and invited to fewer than perWeek requests
// since since, best ranked first.
func (store) toInvite(ctx context.Context, tx pgx.Tx, req int64, minScore float64, since time.Time, perWeek, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT m.organisation_id FROM request_matches m
		WHERE m.request_id = $1 AND m.matched AND m.invited_at IS NULL AND m.state IN ('suggested', 'viewed') AND m.score >= $2
		  AND (SELECT count(*) FROM request_matches w WHERE w.organisation_id = m.organisation_id AND w.invited_at > $3) < $4
		ORDER BY `+rankingOrder+` LIMIT $5 FOR UPDATE OF m`, req, minScore, since, perWeek, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (store) markInvited(ctx context.Context, tx pgx.Tx, req, org int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE request_matches SET invited_at = $3, last_mailed_at = $3 WHERE request_id = $1 AND organisation_id = $2`,
		req, org, now)
	return err
}

type recipient struct {
	notify.Recipient
	id int64
}

// recipients are an SME's users who did not turn cat's mails off.
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

// visibleSQL is the condition under which an SME ($2) sees request r.
const visibleSQL = `r.status IN ('open', 'closed') AND (EXISTS (SELECT 1 FROM request_matches v WHERE v.request_id = r.id AND v.organisation_id = $2
	AND (v.matched OR v.state <> 'suggested')) OR (r.status = 'open' AND r.visibility = 'all'))`

// request reads one request; ErrNotFound when there is none.
func (st store) request(ctx context.Context, q dbtx, id int64) (Request, error) {
	return st.requestLocked(ctx, q, id, false)
}

// requestLocked reads one request, with a shared lock when lock is set
// (it cannot change meanwhile); ErrNotFound when there is none.
func (store) requestLocked(ctx context.Context, q dbtx, id int64, lock bool) (Request, error) {
	sql := `SELECT ` + columns + from + `WHERE r.id = $1`
	if lock {
		sql += ` FOR SHARE OF r`
	}
	list, err := collect(q.Query(ctx, sql, id))
	if err != nil {
		return Request{}, err
	}
	if len(list) == 0 {
		return Request{}, ErrNotFound
	}
	return list[0], nil
}

// visible tells whether SME org may see request id.
func (store) visible(ctx context.Context, q dbtx, id, org int64) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT `+visibleSQL+` FROM purchase_requests r WHERE r.id = $1`, id, org).Scan(&ok)
	return ok, err
}

// lockVisible reads request id for SME org's answer with a shared lock (it
// cannot close meanwhile); ErrNotFound when the SME may not see it.
func (store) lockVisible(ctx context.Context, tx pgx.Tx, id, org int64) (Request, error) {
	list, err := collect(tx.Query(ctx, `SELECT `+columns+from+`WHERE r.id = $1 AND `+visibleSQL+` FOR SHARE OF r`, id, org))
	if err != nil {
		return Request{}, err
	}
	if len(list) == 0 {
		return Request{}, ErrNotFound
	}
	return list[0], nil
}

// match reads SME org's match with request req; ErrNotFound when none.
func (store) match(ctx context.Context, q dbtx, req, org int64) (Match, error) {
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

// listedOffers are an SME's published offers, by title.
func (store) listedOffers(ctx context.Context, q dbtx, org int64) ([]Offer, error) {
	rows, err := q.Query(ctx, `SELECT id, title, cpv_codes, places, coalesce(trl, 0) FROM offers WHERE organisation_id = $1 AND listed ORDER BY title`, org)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Offer])
}

// ownsListedOffer tells whether offer is one of org's published offers.
func (store) ownsListedOffer(ctx context.Context, q dbtx, offer, org int64) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM offers WHERE id = $1 AND organisation_id = $2 AND listed)`, offer, org).Scan(&ok)
	return ok, err
}

// markViewed records the SME's first look; first tells whether it was.
func (store) markViewed(ctx context.Context, tx pgx.Tx, id, org int64, now time.Time) (first bool, err error) {
	err = tx.QueryRow(ctx, `INSERT INTO request_matches (request_id, organisation_id, state, viewed_at, created_at, updated_at)
		VALUES ($1, $2, 'viewed', $3, $3, $3)
		ON CONFLICT (request_id, organisation_id) DO UPDATE
			SET state = CASE WHEN request_matches.state = 'suggested' THEN 'viewed' ELSE request_matches.state END,
			    viewed_at = coalesce(request_matches.viewed_at, $3),
			    updated_at = CASE WHEN request_matches.viewed_at IS NULL THEN $3 ELSE request_matches.updated_at END
		RETURNING (xmax = 0 OR viewed_at = $3)`, id, org, now).Scan(&first)
	return first, err
}

// answers lists the SMEs that answered request id (or declined), with the
// messages the reader has not read.
func (store) answers(ctx context.Context, q dbtx, id, readerOrg, readerUser int64) ([]Match, error) {
	rows, err := q.Query(ctx, `SELECT `+matchColumns+`,
			(SELECT count(*) FROM request_messages x WHERE x.request_id = m.request_id AND x.organisation_id = m.organisation_id
				AND x.author_org_id <> $2 AND x.id > coalesce((SELECT c.read_until FROM conversation_reads c WHERE c.user_id = $3
				AND c.request_id = m.request_id AND c.organisation_id = m.organisation_id), 0))`+matchFrom+`
		WHERE m.request_id = $1 AND m.state NOT IN ('suggested', 'viewed')
		ORDER BY array_position(ARRAY['discussion', 'shortlisted', 'interested', 'won', 'lost', 'declined', 'not_interested'], m.state),
			m.answered_at, m.organisation_id`, id, readerOrg, readerUser)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Match, error) {
		var m Match
		return m, row.Scan(append(matchDest(&m), &m.Unread)...)
	})
}

// ensureMatch creates SME org's match with req as viewed when it never
// opened it (an answer from a mail).
func (store) ensureMatch(ctx context.Context, tx pgx.Tx, req, org int64, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, state, viewed_at, created_at, updated_at)
		VALUES ($1, $2, 'viewed', $3, $3, $3) ON CONFLICT DO NOTHING`, req, org, now)
	return err
}

// lockMatch locks a match row and reads what the lifecycle reads of it
// (the request's status and deadline are the caller's); ErrNotFound when
// there is none.
func (store) lockMatch(ctx context.Context, tx pgx.Tx, req, org int64) (Situation, error) {
	var x Situation
	err := tx.QueryRow(ctx, `SELECT state, answered_at IS NOT NULL AND state <> 'not_interested', matched FROM request_matches
		WHERE request_id = $1 AND organisation_id = $2 FOR UPDATE`, req, org).Scan(&x.State, &x.Answered, &x.Matched)
	if errors.Is(err, pgx.ErrNoRows) {
		return x, ErrNotFound
	}
	return x, err
}

// setInterest stores an SME's interest.
func (store) setInterest(ctx context.Context, tx pgx.Tx, req, org int64, to State, in Interest, offer any, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE request_matches SET state = $3, message = $4, answers = $5, offer_id = $6, sme_reason = '',
			sme_reason_text = '', answered_at = $7, updated_at = $7
		WHERE request_id = $1 AND organisation_id = $2`, req, org, to, in.Message, nonNil(in.Answers), offer, now)
	return err
}

// interestedCount is the number of SMEs that said they were interested
// in request id, ever.
func (store) interestedCount(ctx context.Context, tx pgx.Tx, id int64) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(DISTINCT organisation_id) FROM request_events WHERE request_id = $1 AND kind = 'interested'`,
		id).Scan(&n)
	return n, err
}

// setNotInterested stores an SME's "not interested" and its reason.
func (store) setNotInterested(ctx context.Context, tx pgx.Tx, req, org int64, d Decline, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE request_matches SET state = 'not_interested', sme_reason = $3, sme_reason_text = $4,
			answered_at = $5, updated_at = $5 WHERE request_id = $1 AND organisation_id = $2`, req, org, d.Reason, d.Text, now)
	return err
}

// setReply stores a buyer's step: the new state, the reason of a decline,
// the contract of a win (amount and date nil otherwise).
func (store) setReply(ctx context.Context, tx pgx.Tx, req, org int64, to State, reason string, amount, date any, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE request_matches SET state = $3, updated_at = $4,
			buyer_reason = CASE WHEN $3 = 'declined' THEN $5 ELSE buyer_reason END,
			contract_amount = coalesce($6, contract_amount), contract_date = coalesce($7, contract_date)
		WHERE request_id = $1 AND organisation_id = $2`, req, org, to, now, reason, amount, date)
	return err
}

// closeMatches moves a closing request's matches in states from to lost,
// and returns their SMEs.
func (store) closeMatches(ctx context.Context, tx pgx.Tx, req int64, from []State, now time.Time) ([]int64, error) {
	rows, err := tx.Query(ctx, `UPDATE request_matches SET state = 'lost', updated_at = $2
		WHERE request_id = $1 AND state = ANY($3) RETURNING organisation_id`, req, now, from)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// owner is the large account that wrote request id; ErrNotFound when none.
func (store) owner(ctx context.Context, q dbtx, id int64) (int64, error) {
	var org int64
	err := q.QueryRow(ctx, `SELECT organisation_id FROM purchase_requests WHERE id = $1`, id).Scan(&org)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	return org, err
}

// ranked lists a request's matched SMEs, best ranked first.
func (store) ranked(ctx context.Context, q dbtx, id int64, limit int) ([]Match, error) {
	rows, err := q.Query(ctx, `SELECT `+matchColumnsWith(`CASE WHEN m.ranked THEN row_number() OVER (ORDER BY `+rankingOrder+`) END`)+
		matchFrom+`WHERE m.request_id = $1 AND m.matched ORDER BY `+rankingOrder+` LIMIT $2`, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanMatch)
}

// forYou lists a page of the open requests SME org is matched to, best
// score first, with the total.
func (store) forYou(ctx context.Context, q dbtx, org int64, today time.Time, page int) ([]Hit, []Match, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
		WHERE m.organisation_id = $1 AND m.matched AND r.status = 'open' AND r.deadline >= $2`, org, today).Scan(&total); err != nil {
		return nil, nil, 0, err
	}
	rows, err := q.Query(ctx, `SELECT r.id, r.title, r.description, CASE WHEN r.anonymous AND m.state NOT IN ('discussion', 'won', 'lost')
			THEN '' ELSE b.legal_name END, r.cpv_codes, r.budget_band, r.deadline, r.places, r.innovative, m.state, `+matchColumns+`
		FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id JOIN organisations b ON b.id = r.organisation_id
			JOIN organisations g ON g.id = m.organisation_id LEFT JOIN offers o ON o.id = m.offer_id LEFT JOIN offers bo ON bo.id = m.best_offer_id
		WHERE m.organisation_id = $1 AND m.matched AND r.status = 'open' AND r.deadline >= $2
		ORDER BY m.score DESC NULLS LAST, r.deadline, r.id LIMIT $3 OFFSET $4`, org, today, PageSize, (max(page, 1)-1)*PageSize)
	if err != nil {
		return nil, nil, 0, err
	}
	var hits []Hit
	var matches []Match
	for rows.Next() {
		var h Hit
		var m Match
		if err := rows.Scan(append([]any{&h.ID, &h.Title, &h.Description, &h.BuyerName, &h.CPVCodes, &h.BudgetBand, &h.Deadline, &h.Places,
			&h.Innovative, &h.State}, matchDest(&m)...)...); err != nil {
			rows.Close()
			return nil, nil, 0, err
		}
		hits, matches = append(hits, h), append(matches, m)
	}
	return hits, matches, total, rows.Err()
}

// feedbackTarget reads who wrote a match's request and whether it is
// matched; ErrNotFound when there is no such match.
func (store) feedbackTarget(ctx context.Context, q dbtx, req, org int64) (buyer int64, matched bool, err error) {
	err = q.QueryRow(ctx, `SELECT r.organisation_id, m.matched FROM request_matches m JOIN purchase_requests r ON r.id = m.request_id
		WHERE m.request_id = $1 AND m.organisation_id = $2`, req, org).Scan(&buyer, &matched)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, ErrNotFound
	}
	return buyer, matched, err
}

// saveFeedback keeps one feedback per user and match (the last).
func (store) saveFeedback(ctx context.Context, q dbtx, req, org, user int64, relevant bool, reason string, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO match_feedback (request_id, organisation_id, user_id, relevant, reason, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id, organisation_id, user_id)
		DO UPDATE SET relevant = excluded.relevant, reason = excluded.reason, created_at = excluded.created_at`,
		req, org, user, relevant, reason, now)
	return err
}
