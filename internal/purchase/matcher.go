package purchase

import (
	"context"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/taxonomy"
)

// Matcher picks the SMEs a request is suggested to when it opens. Only
// they see a request open to "matched SMEs only".
type Matcher interface {
	Match(ctx context.Context, tx pgx.Tx, r Request) ([]int64, error)
}

// SimpleMatcher is the rule until the matching service replaces it: an SME
// matches when one of its published offers shares a CPV division with the
// request and serves one of its places (a département, or the region it is
// in). It takes at most Limit SMEs, the most recently published first.
type SimpleMatcher struct {
	Tax   *taxonomy.Taxonomy
	Limit int
}

// Match returns the matched SMEs' organisation ids.
func (m SimpleMatcher) Match(ctx context.Context, tx pgx.Tx, r Request) ([]int64, error) {
	var divisions []string
	for _, c := range r.CPVCodes {
		if len(c) >= 2 && !contains(divisions, "cpv:"+c[:2]) {
			divisions = append(divisions, "cpv:"+c[:2])
		}
	}
	rows, err := tx.Query(ctx, `SELECT organisation_id FROM offers o
		WHERE o.listed AND o.facets && $1 AND o.facets && $2 AND o.organisation_id <> $3
		GROUP BY organisation_id ORDER BY max(o.published_at) DESC, organisation_id LIMIT $4`,
		divisions, m.Tax.PlaceKeys(r.Places), r.OrgID, m.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
