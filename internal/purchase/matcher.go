package purchase

import (
	"cmp"
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/taxonomy"
)

// Suggestion is an SME a request is suggested to, with the matching's
// score and reasons.
type Suggestion struct {
	OrgID   int64
	Score   float64
	Reasons []byte // JSON list of {"code", "values"}, rendered by the views
	OfferID int64  // its best offer for the request; 0 for none
}

// Compare orders suggestions as a ranking holds them, and as a stored one
// is read back (places are not stored): by score, best first, then by
// organisation.
func Compare(a, b Suggestion) int {
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	return cmp.Compare(a.OrgID, b.OrgID)
}

// AsStored rounds the scores of list as request_matches stores them (a
// real) and orders it on those (Compare): a matcher cutting its list
// after AsStored keeps the SMEs a stored ranking reads back first, and an
// SME scored again the same compares equal to its stored copy.
func AsStored(list []Suggestion) {
	for i := range list {
		list[i].Score = float64(float32(list[i].Score))
	}
	slices.SortStableFunc(list, Compare)
}

// Matcher ranks the SMEs a request is suggested to, best first, scores as
// stored (AsStored). Only they see a request open to "matched SMEs only";
// the best are invited by mail.
type Matcher interface {
	Match(ctx context.Context, tx pgx.Tx, r Request) ([]Suggestion, error)
}

// SimpleMatcher is the rule used where the matching service is not wired
// (the package's tests): an SME matches when one of its published offers
// shares a CPV division with the request and serves one of its places (a
// département, or the region it is in). It takes at most Limit SMEs, the
// most recently published first, all with the score 1.
type SimpleMatcher struct {
	Tax   *taxonomy.Taxonomy
	Limit int
}

// Match returns the matched SMEs.
func (m SimpleMatcher) Match(ctx context.Context, tx pgx.Tx, r Request) ([]Suggestion, error) {
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
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	out := make([]Suggestion, len(ids))
	for i, id := range ids {
		out[i] = Suggestion{OrgID: id, Score: 1, Reasons: []byte("[]")}
	}
	return out, err
}
