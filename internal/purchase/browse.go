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
	Saved  []SavedSearch // the reader's saved searches
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
	f := browseFilter{org: actor.OrgID, today: s.today(), facets: stored, text: q.Text, window: window}
	var res Results
	var err error
	if res.Total, err = s.store.browseCount(ctx, s.db, f); err != nil {
		return res, fmt.Errorf("purchase: browse: %w", err)
	}
	res.Pages = max(1, (res.Total+PageSize-1)/PageSize)
	page := min(max(q.Page, 1), res.Pages)
	if res.Hits, err = s.store.browsePage(ctx, s.db, f, q.Text != "" && q.Sort != SortDeadline, page); err != nil {
		return res, fmt.Errorf("purchase: browse: %w", err)
	}
	// Facet counts over every hit, not just this page.
	counts, err := s.store.browseFacets(ctx, s.db, f)
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
	if res.Saved, err = s.store.savedSearches(ctx, s.db, actor.UserID); err != nil {
		return res, fmt.Errorf("purchase: saved searches: %w", err)
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
		n, err := s.store.savedSearchCount(ctx, tx, actor.UserID)
		if err != nil {
			return err
		}
		if n >= MaxSavedSearches {
			return &ValidationError{Fields: map[string]string{"q": "request.search_too_many"}}
		}
		return s.store.insertSavedSearch(ctx, tx, actor.UserID, text, facets, s.Now())
	})
}

// DeleteSearch removes one of the actor's saved searches.
func (s *Service) DeleteSearch(ctx context.Context, actor member.Actor, id int64) error {
	if !actor.IsSME() {
		return ErrForbidden
	}
	if err := s.store.deleteSavedSearch(ctx, s.db, id, actor.UserID); err != nil {
		return wrap("delete search", id, err)
	}
	return nil
}
