package matching

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/purchase"
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

// Match ranks the SMEs for a request.
func (m ForRequests) Match(ctx context.Context, tx pgx.Tx, r purchase.Request) ([]purchase.Suggestion, error) {
	var siren string
	if err := tx.QueryRow(ctx, `SELECT siren FROM organisations WHERE id = $1`, r.OrgID).Scan(&siren); err != nil {
		return nil, err
	}
	req := RequestOf(r, siren)
	if req.Region == "" && req.Departement != "" {
		if d, ok := m.Service.tax.Departement(req.Departement); ok {
			req.Region = d.RegionCode
		}
	}
	year := r.CreatedAt.Year()
	ranked, err := m.Service.Rank(ctx, req, year, m.Limit)
	if err != nil {
		return nil, err
	}
	var out []purchase.Suggestion
	for _, x := range ranked {
		if x.Score <= 0 || x.OrgID == r.OrgID {
			continue
		}
		out = append(out, purchase.Suggestion{OrgID: x.OrgID, Score: x.Score, Reasons: ReasonsJSON(x.Reasons), OfferID: x.OfferID})
	}
	return out, nil
}

// StoredReason is a reason as stored with a match.
type StoredReason struct {
	Code   string         `json:"code"`
	Values map[string]any `json:"values,omitempty"`
}

// ReasonsJSON stores reasons.
func ReasonsJSON(list []Reason) []byte {
	out := make([]StoredReason, len(list))
	for i, r := range list {
		out[i] = StoredReason{Code: r.Code}
		if len(r.Values) > 0 {
			out[i].Values = map[string]any{}
			for j := 0; j+1 < len(r.Values); j += 2 {
				out[i].Values[r.Values[j].(string)] = r.Values[j+1]
			}
		}
	}
	b, _ := json.Marshal(out)
	return b
}

// ParseReasons reads stored reasons; unreadable ones are none.
func ParseReasons(b []byte) []StoredReason {
	var out []StoredReason
	_ = json.Unmarshal(b, &out)
	return out
}
