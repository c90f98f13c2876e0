package search

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/search/searchindex"
)

// OfferHit is one offer of the catalogue.
type OfferHit struct {
	ID          int64
	OrgID       int64
	OrgName     string
	Title       string
	Summary     string
	Kind        string
	TRL         *int16
	CPVCodes    []string
	Places      []string
	PublishedAt time.Time
	Rank        float32
}

// Results is a page of hits with the counts of the whole result.
type Results[T any] struct {
	Hits   []T
	Counts Counts
	Sort   string
	Page   int    // relevance paging
	Next   string // cursor of the next page (date and name paging)
	More   bool   // a next page exists
	// When the words typed, all together, are found nowhere: ByName, the
	// hits are companies whose name is close to what was typed (the
	// directory); otherwise Ignored are the typed words left out so the
	// others find something.
	ByName  bool
	Ignored []string
}

// plan is the SQL of one search: the counting statement and the page.
type plan struct {
	count, page string
	countArgs   []any // the filters' arguments (the page adds a cursor's)
	args        []any
	sort        string
	page1       int
}

// effectiveSort picks relevance when there are words and no other choice,
// and never relevance without words.
func effectiveSort(asked string, words bool, allowed ...string) string {
	if asked == SortRelevance && words {
		return SortRelevance
	}
	for _, a := range allowed {
		if asked == a {
			return a
		}
	}
	if words {
		return SortRelevance
	}
	return allowed[0]
}

func countSQL(from, where string) string {
	return fmt.Sprintf(`WITH hits AS MATERIALIZED (SELECT facets FROM %s WHERE %s LIMIT %d)
		SELECT '' AS k, count(*) FROM hits
		UNION ALL
		SELECT k, count(*) FROM (SELECT facets FROM hits LIMIT %d) h, unnest(h.facets) k GROUP BY k`,
		from, where, CountCap+1, CountCap)
}

func offersPlan(q Query, p Parsed, words bool) plan {
	var b builder
	b.and("o.listed")
	tsq := "NULL::tsquery"
	if words {
		tsq = "fr_tsquery(" + b.arg(p.Words) + ")"
		b.and("o.search @@ " + tsq)
	}
	if len(p.Facets) > 0 {
		b.and("o.facets @> " + b.arg(p.Facets) + "::text[]")
	}
	if p.SIREN != "" {
		b.and("o.organisation_id IN (SELECT id FROM organisations WHERE siren = " + b.arg(p.SIREN) + ")")
	}
	pl := plan{count: countSQL("offers o", b.whereSQL()), countArgs: slices.Clone(b.args),
		sort: effectiveSort(q.Sort, words, SortRecent), page1: max(q.Page, 1)}
	cols := "o.id, o.organisation_id, o.title, o.summary, o.kind::text, o.trl, o.cpv_codes, o.places, o.published_at"
	var inner string
	if pl.sort == SortRelevance {
		// Rank the RankPool most recent matches: exact relevance for any
		// query matching fewer, a bounded cost for a word found everywhere.
		pl.page1 = min(pl.page1, MaxRelevancePages)
		inner = fmt.Sprintf(`SELECT *, ts_rank(o.search, %s) AS rank FROM (
				SELECT %s, o.search FROM offers o WHERE %s ORDER BY o.published_at DESC, o.id DESC LIMIT %d) o
			ORDER BY rank DESC, o.published_at DESC, o.id DESC LIMIT %d OFFSET %d`,
			tsq, cols, b.whereSQL(), RankPool, PageSize+1, (pl.page1-1)*PageSize)
	} else {
		if c, ok := decodeCursor(q.After); ok {
			b.and(fmt.Sprintf("(o.published_at, o.id) < (%s, %s)", b.arg(c.Time), b.arg(c.ID)))
		}
		inner = fmt.Sprintf(`SELECT %s, 0::real AS rank FROM offers o WHERE %s ORDER BY o.published_at DESC, o.id DESC LIMIT %d`,
			cols, b.whereSQL(), PageSize+1)
	}
	// The organisations' names are joined to the page only.
	pl.page = `SELECT h.id, h.organisation_id, g.legal_name, h.title, h.summary, h.kind, h.trl, h.cpv_codes, h.places, h.published_at, h.rank
		FROM (` + inner + `) h JOIN organisations g ON g.id = h.organisation_id
		ORDER BY h.rank DESC, h.published_at DESC, h.id DESC`
	pl.args = b.args
	return pl
}

// offerColumns are a hit's columns (offers o, organisations g).
const offerColumns = `o.id, o.organisation_id, g.legal_name, o.title, o.summary, o.kind::text, o.trl, o.cpv_codes, o.places, o.published_at`

// Offers searches the published offers of member SMEs.
func (s *Service) Offers(ctx context.Context, q Query) (Results[OfferHit], error) {
	p := Parse(q)
	w, err := s.parseWords(ctx, p.Words)
	if err != nil {
		return Results[OfferHit]{}, err
	}
	pl := offersPlan(q, p, w.any)
	res := Results[OfferHit]{Sort: pl.sort, Page: pl.page1}
	x, err := s.index(ctx, searchindex.Offers, p, w)
	if err != nil {
		return res, err
	}
	if x != nil {
		// The index counts exactly and ranks every match; a page sorted
		// by date still comes from SQL, which pages by cursor.
		r := x.Search(indexQuery(w, p, res.Sort, res.Page))
		if r.Total == 0 && w.any && x.Search(searchindex.Query{Terms: w.terms, TotalOnly: true}).Total == 0 {
			// The words together are found nowhere: rank on those that are.
			var t tail
			if t, err = s.tail(ctx, x, p, w, res.Page, false); err != nil {
				return res, err
			}
			r, res.Sort, res.Ignored = t.r, SortRelevance, t.ignored
		}
		res.Counts = indexCounts(r, p.Facets)
		if res.Sort == SortRelevance {
			res.Hits, res.More, err = byIndex(ctx, s.db, `SELECT `+offerColumns+`, 0::real
				FROM offers o JOIN organisations g ON g.id = o.organisation_id WHERE o.id = ANY($1) AND o.listed`, r, // a stale index never shows what is no longer listed
				func(h OfferHit) int64 { return h.ID }, func(h *OfferHit, f float32) { h.Rank = f })
			return res, err
		}
	} else if res.Counts, err = s.counts(ctx, pl.count, pl.countArgs, p.Facets); err != nil {
		return res, err
	}
	rows, err := s.db.Query(ctx, pl.page, pl.args...)
	if err != nil {
		return res, fmt.Errorf("search: offers: %w", err)
	}
	hits, err := pgx.CollectRows(rows, pgx.RowToStructByPos[OfferHit])
	if err != nil {
		return res, fmt.Errorf("search: offers: %w", err)
	}
	if len(hits) > PageSize {
		hits, res.More = hits[:PageSize], true
		if res.Sort != SortRelevance {
			last := hits[len(hits)-1]
			res.Next = Cursor{Time: last.PublishedAt, ID: last.ID}.encode()
		}
	}
	res.Hits = hits
	return res, nil
}

// Explain returns the statements a catalogue search runs, for EXPLAIN in
// benchmarks and docs.
func Explain(q Query) (count, page string, args []any) {
	p := Parse(q)
	pl := offersPlan(q, p, p.Words != "")
	return pl.count, pl.page, pl.args // no cursor: the same arguments
}
