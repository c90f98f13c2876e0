package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/validate"
	"passerelle/internal/taxonomy"
)

// Indexer keeps what search reads (facet keys, the extra searchable text
// of a profile) in step with what services write. Services call it inside
// their transaction, so search never shows a half-saved change.
type Indexer struct {
	tax *taxonomy.Taxonomy
	now func() time.Time
}

// NewIndexer builds an indexer.
func NewIndexer(tax *taxonomy.Taxonomy) *Indexer { return &Indexer{tax: tax, now: time.Now} }

// Refresh recomputes the directory entry of organisation orgID and the
// facets of all its offers. It locks the organisation FOR NO KEY UPDATE:
// writers serialise on it, and it does not wait for the key-share locks
// that inserting an offer or a reference takes on its organisation (with
// FOR UPDATE, two SMEs' colleagues creating offers at once deadlocked).
func (x *Indexer) Refresh(ctx context.Context, tx pgx.Tx, orgID int64) error {
	var (
		kind, band, dept, naf string
		places                []string
		certified             bool
		certNames             []string
	)
	err := tx.QueryRow(ctx, `SELECT g.kind::text, g.headcount_band, g.departement, g.naf_code, g.places,
			EXISTS (SELECT 1 FROM certifications c WHERE c.organisation_id = g.id AND (c.expires_on IS NULL OR c.expires_on >= $2::date)),
			ARRAY(SELECT c.name FROM certifications c WHERE c.organisation_id = g.id ORDER BY c.id)
		FROM organisations g WHERE g.id = $1 FOR NO KEY UPDATE`, orgID, x.now()).
		Scan(&kind, &band, &dept, &naf, &places, &certified, &certNames)
	if err != nil {
		return fmt.Errorf("search: refresh organisation %d: %w", orgID, err)
	}
	var refObjects, refCodes, offerCodes, offerTitles []string
	if err := tx.QueryRow(ctx, `SELECT
			ARRAY(SELECT object FROM org_references WHERE organisation_id = $1 ORDER BY id),
			ARRAY(SELECT cpv_code FROM org_references WHERE organisation_id = $1),
			ARRAY(SELECT unnest(cpv_codes) FROM offers WHERE organisation_id = $1 AND status = 'published'),
			ARRAY(SELECT title || ' ' || keywords FROM offers WHERE organisation_id = $1 AND status = 'published' ORDER BY id)`, orgID).
		Scan(&refObjects, &refCodes, &offerCodes, &offerTitles); err != nil {
		return fmt.Errorf("search: refresh organisation %d: %w", orgID, err)
	}
	ps := toPlaces(places)
	facets := []string{}
	if kind == "pme" || kind == "eti" {
		facets = OrgFacets(x.tax, OrgFacts{Kind: kind, HeadcountBand: band, Departement: dept, Places: ps,
			CPVCodes: append(refCodes, offerCodes...), Certified: certified})
	}
	extra := []string{}
	if n, ok := x.tax.NAF(naf); ok {
		extra = append(extra, n.Label)
	}
	extra = append(extra, certNames...)
	extra = append(extra, refObjects...)
	extra = append(extra, offerTitles...)
	if _, err := tx.Exec(ctx, `UPDATE organisations SET facets = $2, search_extra = $3, updated_at = now() WHERE id = $1`,
		orgID, facets, validate.Clip(strings.Join(extra, " · "), 20000)); err != nil {
		return fmt.Errorf("search: refresh organisation %d: %w", orgID, err)
	}

	rows, err := tx.Query(ctx, `SELECT id, cpv_codes, coalesce(trl, 0), kind::text, places, facets FROM offers WHERE organisation_id = $1`, orgID)
	if err != nil {
		return fmt.Errorf("search: refresh offers of %d: %w", orgID, err)
	}
	type offerRow struct {
		ID     int64
		CPV    []string
		TRL    int
		Kind   string
		Places []string
		Facets []string
	}
	offers, err := pgx.CollectRows(rows, pgx.RowToStructByPos[offerRow])
	if err != nil {
		return fmt.Errorf("search: refresh offers of %d: %w", orgID, err)
	}
	for _, o := range offers {
		f := OfferFacets(x.tax, OfferFacts{CPVCodes: o.CPV, TRL: o.TRL, Kind: o.Kind, Places: toPlaces(o.Places),
			HeadcountBand: band, Certified: certified})
		if slices.Equal(f, o.Facets) {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE offers SET facets = $2 WHERE id = $1`, o.ID, f); err != nil {
			return fmt.Errorf("search: refresh offer %d: %w", o.ID, err)
		}
	}
	return nil
}

// CPVText is the searchable text of CPV codes: their French labels.
func (x *Indexer) CPVText(codes []string) string {
	var labels []string
	for _, c := range codes {
		if v, ok := x.tax.CPV(c); ok {
			labels = append(labels, v.LabelFR)
		}
	}
	return strings.Join(labels, " · ")
}

func toPlaces(s []string) []Place {
	out := make([]Place, len(s))
	for i, p := range s {
		out[i] = Place(p)
	}
	return out
}
