package matching

import (
	"context"
	"fmt"
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
	return m.rank(ctx, tx, r)
}

// Rescoring reads once what scoring orgs for many requests needs.
func (m ForRequests) Rescoring(ctx context.Context, orgs []int64) (purchase.Rescoring, error) {
	b, err := m.Service.Prepare(ctx, orgs)
	if err != nil {
		return nil, err
	}
	return batchForRequests{m: m, b: b}, nil
}

type batchForRequests struct {
	m ForRequests
	b *Batch
}

// Rescore scores the batch's SMEs for each request as Match ranks them:
// each from its own evidence, so each gets the score and reasons a whole
// ranking would give it — exactly while the request's candidate pools are
// within the service's bounds (ReferenceCandidates, TextBest…), which
// only the largest CPV groups at national scale exceed.
func (x batchForRequests) Rescore(ctx context.Context, reqs []purchase.Request) ([][]purchase.Suggestion, error) {
	var buyers []int64
	for _, r := range reqs {
		buyers = append(buyers, r.OrgID)
	}
	rows, err := x.m.Service.db.Query(ctx, `SELECT id, siren FROM organisations WHERE id = ANY($1)`, buyers)
	if err != nil {
		return nil, fmt.Errorf("matching: buyers: %w", err)
	}
	siren := map[int64]string{}
	var id int64
	var s string
	if _, err := pgx.ForEachRow(rows, []any{&id, &s}, func() error { siren[id] = s; return nil }); err != nil {
		return nil, fmt.Errorf("matching: buyers: %w", err)
	}
	list, years := make([]Request, len(reqs)), make([]int, len(reqs))
	for i, r := range reqs {
		list[i], years[i] = RequestFor(r, siren[r.OrgID], x.m.Service.tax), r.CreatedAt.Year()
	}
	scored, err := x.b.Score(ctx, list, years, x.m.Limit+1) // the buyer's own organisation may take a place
	if err != nil {
		return nil, err
	}
	out := make([][]purchase.Suggestion, len(reqs))
	for i, ranked := range scored {
		out[i] = x.m.suggestions(ranked, reqs[i].OrgID)
	}
	return out, nil
}

// Keep is how many SMEs Match suggests at most.
func (m ForRequests) Keep() int { return m.Limit }

func (m ForRequests) rank(ctx context.Context, tx pgx.Tx, r purchase.Request) ([]purchase.Suggestion, error) {
	var siren string
	if err := tx.QueryRow(ctx, `SELECT siren FROM organisations WHERE id = $1`, r.OrgID).Scan(&siren); err != nil {
		return nil, err
	}
	req := RequestFor(r, siren, m.Service.tax)
	// The buyer's own organisation may take a place.
	ranked, err := m.Service.Rank(ctx, req, r.CreatedAt.Year(), m.Limit+1)
	if err != nil {
		return nil, err
	}
	return m.suggestions(ranked, r.OrgID), nil
}

// suggestions are the best Limit of ranked with a positive score, the
// buyer's own organisation aside, scores as stored (purchase.AsStored,
// before the cut).
func (m ForRequests) suggestions(ranked []Match, buyer int64) []purchase.Suggestion {
	var out []purchase.Suggestion
	for _, x := range ranked {
		if x.Score > 0 && x.OrgID != buyer {
			out = append(out, purchase.Suggestion{OrgID: x.OrgID, Score: x.Score, Reasons: FactsJSON(x.Facts), OfferID: x.OfferID})
		}
	}
	purchase.AsStored(out)
	return out[:min(len(out), m.Limit)]
}
