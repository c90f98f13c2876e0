// Package search runs the member directory (SMEs) and the offer catalogue:
// French full-text search (accents and plurals ignored, stop words
// dropped, French stemming) with trigram similarity on company names,
// relevance ranking, facets with counts, sorting and paging that stays fast
// on deep pages. It reads what the offer and profile services write; it
// never writes.
//
// Everything runs in PostgreSQL on one multi-column GIN index per list
// (see migrations/000003_catalogue.up.sql and docs/BENCHMARKS.md).
package search

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/postgres"
	"passerelle/internal/search/searchindex"
	"passerelle/internal/taxonomy"
)

// Sort orders of a list.
const (
	SortRelevance = "pertinence"
	SortRecent    = "recent"
	SortName      = "nom"
)

// PageSize is the number of hits per page.
const PageSize = 20

// MaxRelevancePages bounds paging by relevance: beyond it a user refines
// the query (or sorts by date or name, which pages without limit).
const MaxRelevancePages = 50

// RankPool is how many of the most recent matches relevance ranks. A query
// matching fewer (nearly all do once a facet is chosen) is ranked exactly;
// one word found in a third of the catalogue ("travaux") is ranked among
// its RankPool most recent matches instead of all of them, which bounds its
// cost (see docs/BENCHMARKS.md).
const RankPool = 2000

// CountCap bounds the rows counted for the total and the facets. Beyond it
// the total reads "more than 10 000" and the facet counts are those of the
// 10 000 best-ranked hits; a query that narrow enough is counted exactly.
const CountCap = 10000

// Query is what a user asks.
type Query struct {
	Text   string   // free text: words, a SIREN, or a CPV code
	Facets []string // selected facet keys, all required
	Sort   string
	Page   int    // relevance paging, from 1
	After  string // cursor for date and name paging
}

// Parsed is the query once its SIREN or CPV code is recognised.
type Parsed struct {
	Words  string // what full-text search receives
	SIREN  string
	Facets []string // selected facets plus the typed CPV code's key
}

// Parse recognises a SIREN (9 digits, spaces allowed, valid checksum) or a
// CPV code or prefix ("72212000", "72212000-4", "722") typed in the box.
func Parse(q Query) Parsed {
	p := Parsed{Facets: slices.Clone(q.Facets)}
	text := strings.TrimSpace(q.Text)
	if id := taxonomy.NormalizeID(text); len(id) == 9 && taxonomy.ValidSIREN(id) {
		p.SIREN = id
		return p
	}
	if key, ok := CPVPrefix(text); ok {
		p.Facets = append(p.Facets, key)
		return p
	}
	p.Words = text
	return p
}

// FacetCount is one facet value and how many hits have it.
type FacetCount struct {
	Key   string
	Count int
}

// Counts are the total and the facet counts of a result.
type Counts struct {
	Total  int
	Capped bool // Total and facet counts stop at CountCap
	Facets map[string][]FacetCount
}

// Cursor pages lists sorted by date or name: the sort key and id of the
// last hit shown. It is opaque to users.
type Cursor struct {
	Time time.Time
	Name string
	ID   int64
}

func (c Cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Time.UnixMicro(), 10) + "|" + strconv.FormatInt(c.ID, 10) + "|" + c.Name))
}

func decodeCursor(s string) (Cursor, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return Cursor{}, false
	}
	parts := strings.SplitN(string(b), "|", 3)
	if len(parts) != 3 {
		return Cursor{}, false
	}
	us, err1 := strconv.ParseInt(parts[0], 10, 64)
	id, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return Cursor{}, false
	}
	return Cursor{Time: time.UnixMicro(us).UTC(), ID: id, Name: parts[2]}, true
}

// Service runs searches.
type Service struct {
	db   postgres.DB
	sync *searchindex.Syncer
}

// NewService builds the service. Searches run in SQL until UseIndex.
func NewService(db postgres.DB) *Service { return &Service{db: db} }

// UseIndex makes searches use the in-memory index once it is built (and
// SQL before, or for queries it does not take: OR, NOT, phrases).
func (s *Service) UseIndex(sy *searchindex.Syncer) { s.sync = sy }

// words is the text as PostgreSQL parses it: whether any word is left once
// French stop words are dropped ("de la" leaves none), and its lexemes
// when the query is a plain AND of words (ok false otherwise).
type words struct {
	any    bool
	terms  []string
	simple bool
}

func (s *Service) parseWords(ctx context.Context, text string) (words, error) {
	if strings.TrimSpace(text) == "" {
		return words{simple: true}, nil
	}
	var n int
	var tsq string
	err := s.db.QueryRow(ctx, `SELECT numnode(q), q::text FROM fr_tsquery($1) q`, text).Scan(&n, &tsq)
	if err != nil {
		return words{}, fmt.Errorf("search: parse %q: %w", text, err)
	}
	w := words{any: n > 0}
	w.terms, w.simple = searchindex.ParseQuery(tsq)
	return w, nil
}

// index returns the index of list when it can answer w, having applied
// the changes logged so far.
func (s *Service) index(ctx context.Context, list string, p Parsed, w words) (*searchindex.Index, error) {
	if !s.sync.Ready() || !w.simple || p.SIREN != "" {
		return nil, nil
	}
	if err := s.sync.CatchUp(ctx); err != nil || !s.sync.Ready() {
		// The index could not catch up (CatchUp logs why), or it steps
		// aside for a rebuild: this search runs in SQL, never a 500.
		return nil, nil
	}
	return s.sync.Index(list), nil
}

// tail is the answer to words found nowhere together.
type tail struct {
	r       searchindex.Result
	byName  bool
	ignored []string
}

// tail answers a search whose words, all together, no document holds —
// without a scan: first (names) the companies whose name is close to what
// was typed (a typo, a name cut short: Index.SearchNames); otherwise the
// rarest word found, then each other word found as long as some document
// still holds them all, the words left out named in ignored as typed.
func (s *Service) tail(ctx context.Context, x *searchindex.Index, p Parsed, w words, page int, names bool) (tail, error) {
	q := searchindex.Query{Facets: p.Facets, Offset: (page - 1) * PageSize, Limit: PageSize + 1}
	if names {
		if r := x.SearchNames(p.Words, q); r.Total > 0 {
			return tail{r: r, byName: true}, nil
		}
	}
	known := x.Known(w.terms)
	order := make([]int, 0, len(w.terms))
	for i, n := range known {
		if n > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return known[a] - known[b] })
	var kept, left []string
	for _, i := range order {
		// Each word kept only if some live document holds it with those
		// kept before (the counts include replaced documents).
		with := append(slices.Clone(kept), w.terms[i])
		if x.Search(searchindex.Query{Terms: with, TotalOnly: true}).Total > 0 {
			kept = with
		}
	}
	for _, t := range w.terms {
		if !slices.Contains(kept, t) {
			left = append(left, t)
		}
	}
	out := tail{r: searchindex.Result{Facets: map[string]int{}}}
	if len(kept) > 0 {
		q.Terms = kept
		out.r = x.Search(q)
	}
	var err error
	out.ignored, err = s.typedWords(ctx, p.Words, left)
	return out, err
}

// typedWords are the words of text whose lexemes are all among lexemes:
// what the user typed, not the stems the index holds.
func (s *Service) typedWords(ctx context.Context, text string, lexemes []string) ([]string, error) {
	if len(lexemes) == 0 {
		return nil, nil
	}
	typed := strings.Fields(text)
	rows, err := s.db.Query(ctx, `SELECT fr_tsquery(w)::text FROM unnest($1::text[]) WITH ORDINALITY AS t(w, n) ORDER BY n`, typed)
	if err != nil {
		return nil, fmt.Errorf("search: words of %q: %w", text, err)
	}
	parsed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("search: words of %q: %w", text, err)
	}
	var out []string
	for i, tsq := range parsed {
		terms, _ := searchindex.ParseQuery(tsq)
		if len(terms) > 0 && !slices.ContainsFunc(terms, func(t string) bool { return !slices.Contains(lexemes, t) }) {
			out = append(out, typed[i])
		}
	}
	return out, nil
}

// indexCounts turns the index's exact counts into Counts.
func indexCounts(r searchindex.Result, selected []string) Counts {
	keys := make([]FacetCount, 0, len(r.Facets))
	for k, n := range r.Facets {
		keys = append(keys, FacetCount{Key: k, Count: n})
	}
	return Counts{Total: r.Total, Facets: groupCounts(keys, selected)}
}

// indexQuery is the index's query for a page: every match is counted;
// the page's hits are asked for when sorted by relevance.
func indexQuery(w words, p Parsed, sort string, page int) searchindex.Query {
	iq := searchindex.Query{Terms: w.terms, Facets: p.Facets}
	if sort == SortRelevance {
		iq.Offset, iq.Limit = (page-1)*PageSize, PageSize+1
	}
	return iq
}

// byIndex reads the index's hits from SQL (sql selects by id = ANY($1))
// and returns them in the index's order, with their score, and whether a
// next page exists.
func byIndex[T any](ctx context.Context, db postgres.DB, sql string, r searchindex.Result, id func(T) int64, setRank func(*T, float32)) ([]T, bool, error) {
	ids := make([]int64, len(r.Hits))
	for i, h := range r.Hits {
		ids[i] = h.ID
	}
	rows, err := db.Query(ctx, sql, ids)
	if err != nil {
		return nil, false, fmt.Errorf("search: hits by id: %w", err)
	}
	rowsT, err := pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	if err != nil {
		return nil, false, fmt.Errorf("search: hits by id: %w", err)
	}
	byID := make(map[int64]T, len(rowsT))
	for _, t := range rowsT {
		byID[id(t)] = t
	}
	out := make([]T, 0, len(r.Hits))
	for _, h := range r.Hits {
		if t, ok := byID[h.ID]; ok {
			setRank(&t, h.Score)
			out = append(out, t)
		}
	}
	if len(out) > PageSize {
		return out[:PageSize], true, nil
	}
	return out, false, nil
}

// groupCounts turns key counts into dimensions, keeping the keys worth
// showing: CPV divisions (or the groups under a selected division), regions,
// départements of a selected region, and the small dimensions.
func groupCounts(rows []FacetCount, selected []string) map[string][]FacetCount {
	cpvLen := 2
	selRegion := false
	for _, k := range selected {
		if strings.HasPrefix(k, DimCPV+":") {
			cpvLen = max(cpvLen, len(k)-len(DimCPV)-1+1)
		}
		if strings.HasPrefix(k, DimReg+":") {
			selRegion = true
		}
	}
	out := map[string][]FacetCount{}
	for _, r := range rows {
		dim, val, _ := strings.Cut(r.Key, ":")
		switch dim {
		case DimCPV:
			if len(val) != min(cpvLen, 5) {
				continue
			}
		case DimDep:
			if !selRegion {
				continue
			}
		case KeyCert, DimReg, DimTRL, DimKind, DimSize:
		default:
			continue
		}
		out[dim] = append(out[dim], r)
	}
	for dim := range out {
		slices.SortFunc(out[dim], func(a, b FacetCount) int {
			if dim == DimTRL || dim == DimSize {
				return strings.Compare(a.Key, b.Key)
			}
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Key, b.Key)
		})
	}
	return out
}
