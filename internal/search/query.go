package search

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// builder collects the WHERE clauses and arguments of a search; every
// user value is a bind parameter.
type builder struct {
	where []string
	args  []any
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *builder) and(clause string) { b.where = append(b.where, clause) }

func (b *builder) whereSQL() string { return strings.Join(b.where, " AND ") }

// counts runs the total and facet counts over at most CountCap+1 hits in
// one statement: the hits' facet arrays are read once and unnested.
func (s *Service) counts(ctx context.Context, sql string, args []any, selected []string) (Counts, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return Counts{}, fmt.Errorf("search: count: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FacetCount])
	if err != nil {
		return Counts{}, fmt.Errorf("search: count: %w", err)
	}
	var c Counts
	var keys []FacetCount
	for _, r := range list {
		if r.Key == "" {
			c.Total = r.Count
			continue
		}
		keys = append(keys, r)
	}
	if c.Total > CountCap {
		c.Total, c.Capped = CountCap, true
	}
	c.Facets = groupCounts(keys, selected)
	return c, nil
}
