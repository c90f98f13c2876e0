package purchase

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/member"
	"passerelle/internal/platform/validate"
)

// Query is a search of open requests: French words and facet keys
// ("cpv:72", "cpv:722", "reg:84", "dep:69", "budget:lt40k", "deadline:7",
// "deadline:30").
type Query struct {
	Text   string
	Facets []string
	Sort   string // SortRelevance (the default with words) or SortDeadline (without)
	Page   int
}

// Sorts of the list.
const (
	SortRelevance = "pertinence"
	SortDeadline  = "echeance"
)

// Deadline windows of the deadline facet, in days.
var DeadlineWindows = []string{"7", "30"}

// ValidFacet reports whether f is a facet key of requests.
func ValidFacet(f string) bool {
	dim, val, ok := strings.Cut(f, ":")
	if !ok || val == "" || len(val) > 12 {
		return false
	}
	switch dim {
	case "cpv":
		return len(val) >= 2 && strings.Trim(val, "0123456789") == ""
	case "reg", "dep":
		return strings.Trim(val, "0123456789AB") == ""
	case "budget":
		return slices.Contains(BudgetBands, val)
	case "deadline":
		return slices.Contains(DeadlineWindows, val)
	}
	return false
}

// Hit is an open request in a list.
type Hit struct {
	ID          int64
	Title       string
	Description string
	BuyerName   string // empty when anonymous
	CPVCodes    []string
	BudgetBand  string
	Deadline    time.Time
	Places      []string
	Innovative  bool
	State       *State // the SME's state with it, when it has one
}

// FacetCount is a facet key and how many requests have it.
type FacetCount struct {
	Key   string
	Count int
}

// Results is a page of a search, with its total and facet counts.
type Results struct {
	Hits   []Hit
	Total  int
	Facets map[string][]FacetCount // by dimension
	Pages  int
}

// Browse searches the open requests an SME may see (open to all, or
// matched to it), whose deadline has not passed: relevance first when
// words are typed, the nearest deadline otherwise.
func (s *Service) Browse(ctx context.Context, actor member.Actor, q Query) (Results, error) {
	if !actor.IsSME() {
		return Results{}, ErrForbidden
	}
	q.Text = validate.Clip(strings.TrimSpace(q.Text), 200)
	var stored []string
	window := 0
	for _, f := range q.Facets {
		if v, ok := strings.CutPrefix(f, "deadline:"); ok {
			window, _ = strconv.Atoi(v)
			continue
		}
		stored = append(stored, f)
	}
	today := s.today()
	args := []any{actor.OrgID, today, nonNil(stored), q.Text, window}
	where := `r.status = 'open' AND r.deadline >= $2 AND r.facets @> $3
		AND (r.visibility = 'all' OR EXISTS (SELECT 1 FROM request_matches v WHERE v.request_id = r.id AND v.organisation_id = $1 AND v.matched))
		AND ($4 = '' OR r.search @@ fr_tsquery($4))
		AND ($5 = 0 OR r.deadline <= $2::date + $5::int)`
	var res Results
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM purchase_requests r WHERE `+where, args...).Scan(&res.Total); err != nil {
		return res, fmt.Errorf("purchase: browse: %w", err)
	}
	res.Pages = max(1, (res.Total+PageSize-1)/PageSize)
	page := min(max(q.Page, 1), res.Pages)
	order := `r.deadline, r.id`
	if q.Text != "" && q.Sort != SortDeadline {
		order = `ts_rank(r.search, fr_tsquery($4)) DESC, r.deadline, r.id`
	}
	rows, err := s.db.Query(ctx, `SELECT r.id, r.title, r.description, CASE WHEN r.anonymous AND NOT coalesce(m.state IN ('discussion', 'won', 'lost'), false)
			THEN '' ELSE g.legal_name END, r.cpv_codes, r.budget_band, r.deadline, r.places, r.innovative, m.state
		FROM purchase_requests r JOIN organisations g ON g.id = r.organisation_id
		LEFT JOIN request_matches m ON m.request_id = r.id AND m.organisation_id = $1
		WHERE `+where+` ORDER BY `+order+` LIMIT `+strconv.Itoa(PageSize)+` OFFSET `+strconv.Itoa((page-1)*PageSize), args...)
	if err != nil {
		return res, fmt.Errorf("purchase: browse: %w", err)
	}
	res.Hits, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Hit])
	if err != nil {
		return res, fmt.Errorf("purchase: browse: %w", err)
	}
	// Facet counts over every hit (not just this page); deadline windows
	// are counted from the dates.
	rows, err = s.db.Query(ctx, `SELECT f, count(*) FROM purchase_requests r, unnest(r.facets || CASE
			WHEN r.deadline <= $2::date + 7 THEN ARRAY['deadline:7', 'deadline:30']
			WHEN r.deadline <= $2::date + 30 THEN ARRAY['deadline:30'] ELSE '{}'::text[] END) f
		WHERE `+where+` GROUP BY f`, args...)
	if err != nil {
		return res, fmt.Errorf("purchase: browse facets: %w", err)
	}
	counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FacetCount])
	if err != nil {
		return res, fmt.Errorf("purchase: browse facets: %w", err)
	}
	res.Facets = map[string][]FacetCount{}
	for _, c := range counts {
		dim, _, _ := strings.Cut(c.Key, ":")
		res.Facets[dim] = append(res.Facets[dim], c)
	}
	for _, list := range res.Facets {
		sort.Slice(list, func(i, j int) bool {
			if list[i].Count != list[j].Count {
				return list[i].Count > list[j].Count
			}
			return list[i].Key < list[j].Key
		})
	}
	return res, nil
}

// SavedSearch is a search an SME user gets a daily digest of.
type SavedSearch struct {
	ID        int64
	Query     string
	Facets    []string
	CreatedAt time.Time
}

// MaxSavedSearches is how many searches a user may save.
const MaxSavedSearches = 10

// SaveSearch keeps a search for the daily digest: requests published from
// now on that it finds will be mailed, at most once a day.
func (s *Service) SaveSearch(ctx context.Context, actor member.Actor, q Query) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	text := validate.Clip(strings.TrimSpace(q.Text), 200)
	facets := []string{}
	for _, f := range q.Facets {
		if ValidFacet(f) && !strings.HasPrefix(f, "deadline:") && !slices.Contains(facets, f) {
			facets = append(facets, f)
		}
	}
	if text == "" && len(facets) == 0 {
		return &ValidationError{Fields: map[string]string{"q": "request.search_empty"}}
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM saved_searches WHERE user_id = $1`, actor.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxSavedSearches {
			return &ValidationError{Fields: map[string]string{"q": "request.search_too_many"}}
		}
		_, err := tx.Exec(ctx, `INSERT INTO saved_searches (user_id, query, facets, created_at, seen_until) VALUES ($1, $2, $3, $4, $4)`,
			actor.UserID, text, facets, s.Now())
		return err
	})
}

// SavedSearches lists the actor's saved searches.
func (s *Service) SavedSearches(ctx context.Context, actor member.Actor) ([]SavedSearch, error) {
	if !actor.IsSME() {
		return nil, ErrForbidden
	}
	rows, err := s.db.Query(ctx, `SELECT id, query, facets, created_at FROM saved_searches WHERE user_id = $1 ORDER BY id`, actor.UserID)
	if err != nil {
		return nil, fmt.Errorf("purchase: saved searches: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[SavedSearch])
}

// DeleteSearch removes one of the actor's saved searches.
func (s *Service) DeleteSearch(ctx context.Context, actor member.Actor, id int64) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	tag, err := s.db.Exec(ctx, `DELETE FROM saved_searches WHERE id = $1 AND user_id = $2`, id, actor.UserID)
	if err != nil {
		return fmt.Errorf("purchase: delete search %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
