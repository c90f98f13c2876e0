package purchase

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// The SQL of the SMEs' search of open requests, and of saved searches.

// browseFilter is what a search of open requests is narrowed by.
type browseFilter struct {
	org    int64 // the SME searching: it sees the requests open to all and those it is matched to
	today  time.Time
	facets []string // stored facet keys, all required
	text   string   // French full text; "" for none
	window int      // days to the deadline at most; 0 for any
}

const browseWhere = `r.status = 'open' AND r.deadline >= $2 AND r.facets @> $3
	AND (r.visibility = 'all' OR EXISTS (SELECT 1 FROM request_matches v WHERE v.request_id = r.id AND v.organisation_id = $1 AND v.matched))
	AND ($4 = '' OR r.search @@ fr_tsquery($4))
	AND ($5 = 0 OR r.deadline <= $2::date + $5::int)`

func (f browseFilter) args() []any { return []any{f.org, f.today, nonNil(f.facets), f.text, f.window} }

// browseCount counts the requests f finds.
func (store) browseCount(ctx context.Context, q dbtx, f browseFilter) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM purchase_requests r WHERE `+browseWhere, f.args()...).Scan(&n)
	return n, err
}

// browsePage reads a page of what f finds, by relevance to the words when
// byRank, by deadline otherwise.
func (store) browsePage(ctx context.Context, q dbtx, f browseFilter, byRank bool, page int) ([]Hit, error) {
	order := `r.deadline, r.id`
	if byRank {
		order = `ts_rank(r.search, fr_tsquery($4)) DESC, r.deadline, r.id`
	}
	rows, err := q.Query(ctx, `SELECT r.id, r.title, r.description, CASE WHEN r.anonymous AND NOT coalesce(m.state IN ('discussion', 'won', 'lost'), false)
			THEN '' ELSE g.legal_name END, r.cpv_codes, r.budget_band, r.deadline, r.places, r.innovative, m.state
		FROM purchase_requests r JOIN organisations g ON g.id = r.organisation_id
		LEFT JOIN request_matches m ON m.request_id = r.id AND m.organisation_id = $1
		WHERE `+browseWhere+` ORDER BY `+order+` LIMIT `+strconv.Itoa(PageSize)+` OFFSET `+strconv.Itoa((page-1)*PageSize), f.args()...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Hit])
}

// browseFacets counts the facets of everything f finds; deadline windows
// are counted from the dates.
func (store) browseFacets(ctx context.Context, q dbtx, f browseFilter) ([]FacetCount, error) {
	rows, err := q.Query(ctx, `SELECT f, count(*) FROM purchase_requests r, unnest(r.facets || CASE
			WHEN r.deadline <= $2::date + 7 THEN ARRAY['deadline:7', 'deadline:30']
			WHEN r.deadline <= $2::date + 30 THEN ARRAY['deadline:30'] ELSE '{}'::text[] END) f
		WHERE `+browseWhere+` GROUP BY f`, f.args()...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[FacetCount])
}

func (store) savedSearchCount(ctx context.Context, q dbtx, user int64) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM saved_searches WHERE user_id = $1`, user).Scan(&n)
	return n, err
}

func (store) insertSavedSearch(ctx context.Context, q dbtx, user int64, text string, facets []string, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO saved_searches (user_id, query, facets, created_at, seen_until) VALUES ($1, $2, $3, $4, $4)`,
		user, text, facets, now)
	return err
}

func (store) savedSearches(ctx context.Context, q dbtx, user int64) ([]SavedSearch, error) {
	rows, err := q.Query(ctx, `SELECT id, query, facets, created_at FROM saved_searches WHERE user_id = $1 ORDER BY id`, user)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[SavedSearch])
}

// deleteSavedSearch removes user's search id; ErrNotFound when none.
func (store) deleteSavedSearch(ctx context.Context, q dbtx, id, user int64) error {
	tag, err := q.Exec(ctx, `DELETE FROM saved_searches WHERE id = $1 AND user_id = $2`, id, user)
	if err == nil && tag.RowsAffected() == 0 {
		err = ErrNotFound
	}
	return err
}
