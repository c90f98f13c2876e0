package indicator

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// The SQL of yearly declarations.

// lockAccount locks a member large account's row and returns its name;
// ErrForbidden when org is not one.
func (store) lockAccount(ctx context.Context, tx pgx.Tx, org int64) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT legal_name FROM organisations WHERE id = $1 AND status = 'member' AND kind IN ('ge', 'public')
		FOR NO KEY UPDATE`, org).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrForbidden
	}
	return name, err
}

// current is the version of (org, year) that counts; found is false when
// none was declared (Version is then 0).
func (store) current(ctx context.Context, q dbtx, org int64, year int) (Declaration, bool, error) {
	var d Declaration
	err := q.QueryRow(ctx, `SELECT version, total_purchases, pme_purchases, eti_purchases, payment_days::float8, on_time_share::float8
		FROM declarations WHERE organisation_id = $1 AND year = $2 ORDER BY version DESC LIMIT 1`, org, year).
		Scan(&d.Version, &d.Total, &d.PME, &d.ETI, &d.PaymentDays, &d.OnTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return Declaration{}, false, nil
	}
	return d, err == nil, err
}

// insertDeclaration writes a version of (org, year) typed in the form.
func (store) insertDeclaration(ctx context.Context, tx pgx.Tx, org int64, year, version int, f Figures, author int64, name string,
	now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO declarations (organisation_id, year, version, total_purchases, pme_purchases, eti_purchases,
			payment_days, on_time_share, source, author_id, author_name, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'form', $9, $10, $11)`,
		org, year, version, f.Total, f.PME, f.ETI, f.PaymentDays, f.OnTime, author, name, now)
	return err
}

const declarationColumns = `d.id, d.organisation_id, o.legal_name, o.siren, d.year, d.version, d.total_purchases, d.pme_purchases,
	d.eti_purchases, d.payment_days::float8, d.on_time_share::float8, d.source, d.author_name, d.created_at`

func scanDeclaration(row pgx.CollectableRow) (Declaration, error) {
	var d Declaration
	err := row.Scan(&d.ID, &d.OrgID, &d.OrgName, &d.SIREN, &d.Year, &d.Version, &d.Total, &d.PME, &d.ETI,
		&d.PaymentDays, &d.OnTime, &d.Source, &d.AuthorName, &d.CreatedAt)
	return d, err
}

func declarations(rows pgx.Rows, err error) ([]Declaration, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanDeclaration)
}

// history is every version of every year org declared, the latest first.
func (store) history(ctx context.Context, q dbtx, org int64) ([]Declaration, error) {
	return declarations(q.Query(ctx, `SELECT `+declarationColumns+` FROM declarations d JOIN organisations o ON o.id = d.organisation_id
		WHERE d.organisation_id = $1 ORDER BY d.year DESC, d.version DESC`, org))
}

// counting is the declaration that counts of every large account for year
// (0: every year), the latest year first, then by name.
func (store) counting(ctx context.Context, q dbtx, year int) ([]Declaration, error) {
	return declarations(q.Query(ctx, `SELECT `+declarationColumns+` FROM current_declarations d JOIN organisations o ON o.id = d.organisation_id
		WHERE $1 = 0 OR d.year = $1 ORDER BY d.year DESC, o.legal_name`, year))
}

// countingOf is the declarations that count of every account (all) or of
// org only, by account then year.
func (store) countingOf(ctx context.Context, q dbtx, all bool, org int64) ([]Declaration, error) {
	return declarations(q.Query(ctx, `SELECT `+declarationColumns+` FROM current_declarations d JOIN organisations o ON o.id = d.organisation_id
		WHERE $1 OR d.organisation_id = $2 ORDER BY o.legal_name, d.organisation_id, d.year`, all, org))
}

// years are the years declared, the latest first.
func (store) years(ctx context.Context, q dbtx) ([]int, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT year::int FROM declarations ORDER BY 1 DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

// aggregate sums the declarations that count, year by year.
func (store) aggregate(ctx context.Context, q dbtx) ([]YearAggregate, error) {
	rows, err := q.Query(ctx, `SELECT year, count(*), sum(total_purchases)::bigint, sum(pme_purchases)::bigint, sum(eti_purchases)::bigint
		FROM current_declarations GROUP BY year ORDER BY year`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (YearAggregate, error) {
		var a YearAggregate
		err := row.Scan(&a.Year, &a.Accounts, &a.Total, &a.PME, &a.ETI)
		return a, err
	})
}

// contribution is the platform's part, year by year: contracts won by
// member SMEs through requests, by the year of the contract.
func (store) contribution(ctx context.Context, q dbtx) ([]Contribution, error) {
	rows, err := q.Query(ctx, `SELECT extract(year FROM m.contract_date)::int AS y, count(*),
			coalesce(sum(m.contract_amount), 0)::bigint,
			count(*) FILTER (WHERE o.kind = 'pme'), coalesce(sum(m.contract_amount) FILTER (WHERE o.kind = 'pme'), 0)::bigint,
			count(*) FILTER (WHERE r.counterfactual IS NOT NULL), count(*) FILTER (WHERE r.counterfactual = 'no')
		FROM request_matches m
		JOIN organisations o ON o.id = m.organisation_id
		JOIN purchase_requests r ON r.id = m.request_id
		WHERE m.state = 'won' AND m.contract_date IS NOT NULL AND o.kind IN ('pme', 'eti')
		GROUP BY y ORDER BY y`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Contribution, error) {
		var c Contribution
		err := row.Scan(&c.Year, &c.Contracts, &c.Amount, &c.PMEContracts, &c.PMEAmount, &c.Answered, &c.WouldNot)
		return c, err
	})
}
