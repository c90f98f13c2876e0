package registers

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Categories of the observatory, in the order they are shown; "" is a
// supplier INSEE gives no category (or that SIRENE does not hold: a
// foreign company, an id that is not a SIREN).
var Categories = []string{"PME", "ETI", "GE", ""}

// refreshDerived recomputes what is derived from the registers — the
// observatory's figures and the matcher's trade affinity — in the
// import's transaction. Readers keep the previous figures until it
// commits (rows are deleted, not truncated).
func refreshDerived(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `DELETE FROM public_buyer_shares;
		INSERT INTO public_buyer_shares (buyer_siren, year, departement, category, contracts, amount_eur)
		SELECT left(c.buyer_id, 9), extract(year FROM coalesce(c.notified_on, c.published_on))::int, c.departement,
			coalesce(u.category, ''), sum(1.0 / n.k), sum(coalesce(c.amount_eur, 0) / n.k)
		FROM decp_contracts c
		JOIN decp_winners w ON w.buyer_id = c.buyer_id AND w.id = c.id
		JOIN (SELECT buyer_id, id, count(*) AS k FROM decp_winners GROUP BY buyer_id, id) n ON n.buyer_id = c.buyer_id AND n.id = c.id
		LEFT JOIN sirene_units u ON u.siren = w.siren AND w.siren <> ''
		WHERE coalesce(c.notified_on, c.published_on) IS NOT NULL AND c.buyer_id ~ '^[0-9]{9}'
		GROUP BY 1, 2, 3, 4;
		DELETE FROM public_shares_by_place;
		INSERT INTO public_shares_by_place (year, departement, category, contracts, amount_eur)
		SELECT year, departement, category, sum(contracts), sum(amount_eur) FROM public_buyer_shares GROUP BY 1, 2, 3;
		DELETE FROM public_buyer_years;
		INSERT INTO public_buyer_years (buyer_siren, year, contracts, split)
		SELECT buyer_siren, year, sum(n), jsonb_object_agg(category, jsonb_build_array(n, amount))
		FROM (SELECT buyer_siren, year, category, sum(contracts) AS n, sum(amount_eur) AS amount
			FROM public_buyer_shares GROUP BY 1, 2, 3) c GROUP BY 1, 2;
		DELETE FROM decp_affinity;
		INSERT INTO decp_affinity (naf_code, cpv_group, contracts)
		SELECT u.naf_code, left(c.cpv_code, 3), count(*) FROM decp_winners w
		JOIN decp_contracts c ON c.buyer_id = w.buyer_id AND c.id = w.id
		JOIN sirene_units u ON u.siren = w.siren
		WHERE w.siren <> '' AND c.cpv_code <> '' AND u.naf_code ~ '^[0-9]{2}\.[0-9]{2}[A-Z]$' GROUP BY 1, 2;
		DELETE FROM public_buyers;
		INSERT INTO public_buyers (siren, name, contracts)
		SELECT b.siren, coalesce(b.name, (SELECT u.name FROM sirene_units u WHERE u.siren = b.siren AND NOT u.individual AND u.name <> ''), b.siren), b.n
		FROM (SELECT left(buyer_id, 9) AS siren, max(nullif(buyer_name, '')) AS name, count(*) AS n
			FROM decp_contracts WHERE buyer_id ~ '^[0-9]{9}' GROUP BY 1) b`)
	if err != nil {
		return fmt.Errorf("registers: observatory figures: %w", err)
	}
	return nil
}

// Split is a count or an amount per category.
type Split map[string]float64

// Total adds the categories up.
func (s Split) Total() float64 {
	t := 0.0
	for _, v := range s {
		t += v
	}
	return t
}

// Share is a category's part of the total (0 when there is none).
func (s Split) Share(category string) float64 {
	if t := s.Total(); t > 0 {
		return s[category] / t
	}
	return 0
}

// YearShares is one year of a scope: contracts and amounts per category.
type YearShares struct {
	Year      int
	Contracts Split
	Amounts   Split
}

// Scope narrows the observatory: a buyer (SIREN), or the départements of
// a région (of the place of execution); neither is the whole country.
type Scope struct {
	Buyer        string
	Departements []string
}

func (sc Scope) where(args *[]any) string {
	switch {
	case sc.Buyer != "":
		*args = append(*args, sc.Buyer)
		return fmt.Sprintf("buyer_siren = $%d", len(*args))
	case sc.Departements != nil:
		*args = append(*args, sc.Departements)
		return fmt.Sprintf("departement = ANY($%d)", len(*args))
	}
	return "true"
}

// Shares gives the scope's figures year by year, oldest first: a buyer's
// from its rows, the country's or a région's from the summary by place.
func Shares(ctx context.Context, db *pgxpool.Pool, sc Scope) ([]YearShares, error) {
	var args []any
	table := "public_shares_by_place"
	if sc.Buyer != "" {
		table = "public_buyer_shares"
	}
	rows, err := db.Query(ctx, `SELECT year, category, sum(contracts), sum(amount_eur) FROM `+table+`
		WHERE `+sc.where(&args)+` GROUP BY year, category ORDER BY year`, args...)
	if err != nil {
		return nil, fmt.Errorf("registers: shares: %w", err)
	}
	defer rows.Close()
	var out []YearShares
	for rows.Next() {
		var year int
		var cat string
		var n, amount float64
		if err := rows.Scan(&year, &cat, &n, &amount); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Year != year {
			out = append(out, YearShares{Year: year, Contracts: Split{}, Amounts: Split{}})
		}
		out[len(out)-1].Contracts[cat] += n
		out[len(out)-1].Amounts[cat] += amount
	}
	return out, rows.Err()
}

// BuyerShares is one buyer's figures for a year.
type BuyerShares struct {
	SIREN, Name string
	Contracts   Split
	Amounts     Split
}

// Buyers lists the buyers of a scope for a year, most contracts first:
// the country's from the buyers' yearly rows (an index read), a région's
// from the rows of its places.
func Buyers(ctx context.Context, db *pgxpool.Pool, sc Scope, year, limit int) ([]BuyerShares, error) {
	if sc.Buyer == "" && sc.Departements == nil {
		return topBuyers(ctx, db, year, limit)
	}
	args := []any{year, limit}
	cond := sc.where(&args)
	rows, err := db.Query(ctx, `WITH top AS (
			SELECT buyer_siren FROM public_buyer_shares WHERE year = $1 AND `+cond+`
			GROUP BY buyer_siren ORDER BY sum(contracts) DESC, buyer_siren LIMIT $2)
		SELECT s.buyer_siren, coalesce(b.name, s.buyer_siren), s.category, sum(s.contracts), sum(s.amount_eur)
		FROM public_buyer_shares s JOIN top USING (buyer_siren) LEFT JOIN public_buyers b ON b.siren = s.buyer_siren
		WHERE s.year = $1 AND `+cond+`
		GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return nil, fmt.Errorf("registers: buyers: %w", err)
	}
	defer rows.Close()
	by := map[string]*BuyerShares{}
	var order []string
	for rows.Next() {
		var siren, name, cat string
		var n, amount float64
		if err := rows.Scan(&siren, &name, &cat, &n, &amount); err != nil {
			return nil, err
		}
		b := by[siren]
		if b == nil {
			b = &BuyerShares{SIREN: siren, Name: name, Contracts: Split{}, Amounts: Split{}}
			by[siren] = b
			order = append(order, siren)
		}
		b.Contracts[cat] += n
		b.Amounts[cat] += amount
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]BuyerShares, 0, len(order))
	for _, s := range order {
		out = append(out, *by[s])
	}
	sortBuyers(out)
	return out, nil
}

func topBuyers(ctx context.Context, db *pgxpool.Pool, year, limit int) ([]BuyerShares, error) {
	rows, err := db.Query(ctx, `SELECT y.buyer_siren, coalesce(b.name, y.buyer_siren), y.split FROM public_buyer_years y
		LEFT JOIN public_buyers b ON b.siren = y.buyer_siren
		WHERE y.year = $1 ORDER BY y.contracts DESC, y.buyer_siren LIMIT $2`, year, limit)
	if err != nil {
		return nil, fmt.Errorf("registers: buyers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BuyerShares, error) {
		b := BuyerShares{Contracts: Split{}, Amounts: Split{}}
		var split map[string][2]float64
		if err := r.Scan(&b.SIREN, &b.Name, &split); err != nil {
			return b, err
		}
		for cat, v := range split {
			b.Contracts[cat], b.Amounts[cat] = v[0], v[1]
		}
		return b, nil
	})
	if err != nil {
		return nil, fmt.Errorf("registers: buyers: %w", err)
	}
	sortBuyers(out)
	return out, nil
}

func sortBuyers(list []BuyerShares) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].Contracts.Total(), list[j].Contracts.Total()
		return a > b || (a == b && list[i].SIREN < list[j].SIREN)
	})
}

// ErrUnknownBuyer is a SIREN the DECP names as no buyer.
var ErrUnknownBuyer = errors.New("registers: not a public buyer of the DECP")

// Buyer names a public buyer of the DECP.
func Buyer(ctx context.Context, db *pgxpool.Pool, siren string) (string, error) {
	var name string
	err := db.QueryRow(ctx, `SELECT name FROM public_buyers WHERE siren = $1`, siren).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrUnknownBuyer
	}
	if err != nil {
		return "", fmt.Errorf("registers: buyer: %w", err)
	}
	return name, nil
}
