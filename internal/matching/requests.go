package matching

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/purchase"
	"passerelle/internal/taxonomy"
)

// ForRequests is the matching service as the purchase requests' Matcher:
// when a request opens (or is recomputed) it ranks the SMEs and keeps the
// best Limit with a positive score, each with its reasons.
type ForRequests struct {
	Service *Service
	Limit   int
}

// RequestOf reads a purchase request as the matching does; buyerSIREN is
// its buyer's, for "has already worked for you".
func RequestOf(r purchase.Request, buyerSIREN string) Request {
	req := Request{CPV: r.CPVCodes, Text: r.Title + "\n" + r.Description, BuyerSIREN: buyerSIREN, BuyerName: r.OrgName}
	for _, p := range r.Places {
		kind, code, _ := strings.Cut(p, ":")
		switch {
		case kind == "dep" && req.Departement == "":
			req.Departement = code
		case kind == "reg" && req.Region == "":
			req.Region = code
		}
	}
	return req
}

// RequestFor is RequestOf with the region of its département when it
// names none: the request as the matching ranks it.
func RequestFor(r purchase.Request, buyerSIREN string, tax *taxonomy.Taxonomy) Request {
	req := RequestOf(r, buyerSIREN)
	if req.Region == "" && req.Departement != "" {
		if d, ok := tax.Departement(req.Departement); ok {
			req.Region = d.RegionCode
		}
	}
	return req
}

// Match ranks the SMEs for a request: the best Limit with a positive
// score, the buyer's own organisation aside.
func (m ForRequests) Match(ctx context.Context, tx pgx.Tx, r purchase.Request) ([]purchase.Suggestion, error) {
	return m.rank(ctx, tx, r, nil)
}

// Rescore scores orgs for a request as Match ranks them: each from its
// own evidence, gathered for them alone (Request.Among), so each gets the
// score and reasons a whole ranking would give it — exactly while the
// request's candidate pools are within the service's bounds
// (ReferenceCandidates, TextBest…), which only the largest CPV groups
// at national scale exceed.
func (m ForRequests) Rescore(ctx context.Context, tx pgx.Tx, r purchase.Request, orgs []int64) ([]purchase.Suggestion, error) {
	return m.rank(ctx, tx, r, append(make([]int64, 0, len(orgs)), orgs...))
}

// Keep is how many SMEs Match suggests at most.
func (m ForRequests) Keep() int { return m.Limit }

func (m ForRequests) rank(ctx context.Context, tx pgx.Tx, r purchase.Request, among []int64) ([]purchase.Suggestion, error) {
	var siren string
	if err := tx.QueryRow(ctx, `SELECT siren FROM organisations WHERE id = $1`, r.OrgID).Scan(&siren); err != nil {
		return nil, err
	}
	req := RequestFor(r, siren, m.Service.tax)
	req.Among = among
	limit := m.Limit + 1 // the buyer's own organisation may take a place
	if among != nil {
		limit = len(among)
	}
	ranked, err := m.Service.Rank(ctx, req, r.CreatedAt.Year(), limit)
	if err != nil {
		return nil, err
	}
	var out []purchase.Suggestion
	for _, x := range ranked {
		if x.Score <= 0 || x.OrgID == r.OrgID || len(out) == m.Limit {
			continue
		}
		out = append(out, purchase.Suggestion{OrgID: x.OrgID, Score: x.Score, Reasons: FactsJSON(x.Facts), OfferID: x.OfferID})
	}
	return out, nil
}
