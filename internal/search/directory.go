package search

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/search/searchindex"
)

// SMEHit is one SME of the directory.
type SMEHit struct {
	ID            int64
	SIREN         string
	Name          string
	Kind          string
	HeadcountBand string
	Departement   string
	NAFCode       string
	Description   string
	Facets        []string
	Offers        int // published offers
	JoinedAt      time.Time
	Rank          float32
	NameKey       string // lower(legal_name) as PostgreSQL folds it, for the cursor
}

// directory is the predicate of the directory's partial indexes.
const directory = "g.status = 'member' AND g.kind IN ('pme', 'eti')"

// directoryPlan is the SQL of a directory search. With names, the words
// also find a name close to what was typed by trigram similarity: the
// path when the index is not ready; the index answers names itself.
func directoryPlan(q Query, p Parsed, words, names bool) plan {
	var b builder
	b.and(directory)
	tsq, sim := "NULL::tsquery", "0::real"
	if words {
		text := b.arg(p.Words)
		tsq = "fr_tsquery(" + text + ")"
		folded := "immutable_unaccent(lower(" + text + "))"
		if names {
			// Words in the profile, or a name close to what was typed (typos,
			// a name cut short): word_similarity uses the trigram index.
			b.and("(g.search @@ " + tsq + " OR immutable_unaccent(lower(g.legal_name)) %> " + folded + ")")
			sim = "word_similarity(" + folded + ", immutable_unaccent(lower(g.legal_name)))"
		} else {
			b.and("g.search @@ " + tsq)
		}
	}
	if len(p.Facets) > 0 {
		b.and("g.facets @> " + b.arg(p.Facets) + "::text[]")
	}
	if p.SIREN != "" {
		b.and("g.siren = " + b.arg(p.SIREN))
	}
	pl := plan{count: countSQL("organisations g", b.whereSQL()), countArgs: slices.Clone(b.args),
		sort: effectiveSort(q.Sort, words, SortName, SortRecent), page1: max(q.Page, 1)}
	rank := "0::real"
	order := ""
	limit := fmt.Sprintf(" LIMIT %d", PageSize+1)
	c, hasCursor := decodeCursor(q.After)
	switch pl.sort {
	case SortRelevance:
		rank = "ts_rank(g.search, " + tsq + ") + " + sim
		pl.page1 = min(pl.page1, MaxRelevancePages)
		order = "rank DESC, g.id DESC"
		limit += fmt.Sprintf(" OFFSET %d", (pl.page1-1)*PageSize)
	case SortName:
		if hasCursor {
			b.and(fmt.Sprintf("(lower(g.legal_name), g.id) > (%s, %s)", b.arg(c.Name), b.arg(c.ID)))
		}
		order = "lower(g.legal_name), g.id"
	default:
		if hasCursor {
			b.and(fmt.Sprintf("(g.created_at, g.id) < (%s, %s)", b.arg(c.Time), b.arg(c.ID)))
		}
		order = "g.created_at DESC, g.id DESC"
	}
	pl.page = `SELECT ` + smeColumns + `, ` + rank + ` AS rank, lower(g.legal_name)
		FROM organisations g
		WHERE ` + b.whereSQL() + ` ORDER BY ` + order + limit
	pl.args = b.args
	return pl
}

// smeColumns are a hit's columns (organisations g).
const smeColumns = `g.id, g.siren, g.legal_name, g.kind::text, g.headcount_band, g.departement, g.naf_code, g.description, g.facets,
	(SELECT count(*) FROM offers o WHERE o.organisation_id = g.id AND o.listed)::int, g.created_at`

// SMEs searches the member SMEs.
func (s *Service) SMEs(ctx context.Context, q Query) (Results[SMEHit], error) {
	p := Parse(q)
	w, err := s.parseWords(ctx, p.Words)
	if err != nil {
		return Results[SMEHit]{}, err
	}
	x, err := s.index(ctx, searchindex.SMEs, p, w)
	if err != nil {
		return Results[SMEHit]{}, err
	}
	pl := directoryPlan(q, p, w.any, x == nil)
	res := Results[SMEHit]{Sort: pl.sort, Page: pl.page1}
	if x != nil {
		r := x.Search(indexQuery(w, p, res.Sort, res.Page))
		if r.Total == 0 && w.any && x.Search(searchindex.Query{Terms: w.terms, TotalOnly: true}).Total == 0 {
			// The words together are found nowhere: a name close to what
			// was typed, or the words that are found.
			t, err := s.tail(ctx, x, p, w, res.Page, true)
			if err != nil {
				return res, err
			}
			r, res.Sort, res.ByName, res.Ignored = t.r, SortRelevance, t.byName, t.ignored
		}
		switch {
		case res.Sort == SortRelevance:
			res.Counts = indexCounts(r, p.Facets)
			res.Hits, res.More, err = byIndex(ctx, s.db, `SELECT `+smeColumns+`, 0::real, lower(g.legal_name)
				FROM organisations g WHERE g.id = ANY($1) AND `+directory, r, // a stale index never shows a suspended member
				func(h SMEHit) int64 { return h.ID }, func(h *SMEHit, f float32) { h.Rank = f })
			return res, err
		default:
			res.Counts = indexCounts(r, p.Facets)
		}
	}
	if x == nil {
		if res.Counts, err = s.counts(ctx, pl.count, pl.countArgs, p.Facets); err != nil {
			return res, err
		}
	}
	rows, err := s.db.Query(ctx, pl.page, pl.args...)
	if err != nil {
		return res, fmt.Errorf("search: directory: %w", err)
	}
	hits, err := pgx.CollectRows(rows, pgx.RowToStructByPos[SMEHit])
	if err != nil {
		return res, fmt.Errorf("search: directory: %w", err)
	}
	if len(hits) > PageSize {
		hits, res.More = hits[:PageSize], true
		last := hits[len(hits)-1]
		switch res.Sort {
		case SortName:
			res.Next = Cursor{Name: last.NameKey, ID: last.ID}.encode()
		case SortRecent:
			res.Next = Cursor{Time: last.JoinedAt, ID: last.ID}.encode()
		}
	}
	res.Hits = hits
	return res, nil
}
