package plan

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/indicator"
	"passerelle/internal/platform/postgres"
)

// The SQL of the plans, and the reads of what the rest of the platform
// measured of an account (declarations, requests, contracts won).

type dbtx = postgres.DB

type store struct{}

const planColumns = `p.id, p.organisation_id, g.legal_name, g.siren, g.kind::text, p.year::int, p.status, p.public, p.referent,
	p.self_assessment, p.version, p.created_at, p.updated_at, p.published_at, p.assessed_at, p.closed_at`

const planFrom = ` FROM progress_plans p JOIN organisations g ON g.id = p.organisation_id `

func scanPlan(row pgx.CollectableRow) (Plan, error) {
	var p Plan
	err := row.Scan(&p.ID, &p.OrgID, &p.OrgName, &p.SIREN, &p.OrgKind, &p.Year, &p.Status, &p.Public, &p.Referent,
		&p.SelfAssessment, &p.Version, &p.CreatedAt, &p.UpdatedAt, &p.PublishedAt, &p.AssessedAt, &p.ClosedAt)
	return p, err
}

// plans reads the plans where holds, with their commitments.
func (st store) plans(ctx context.Context, q dbtx, where string, args ...any) ([]Plan, error) {
	rows, err := q.Query(ctx, `SELECT `+planColumns+planFrom+`WHERE `+where+` ORDER BY p.year DESC, g.legal_name, p.id`, args...)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, scanPlan)
	if err != nil || len(list) == 0 {
		return list, err
	}
	ids := make([]int64, len(list))
	at := map[int64]int{}
	for i, p := range list {
		ids[i], at[p.ID] = p.ID, i
	}
	rows, err = q.Query(ctx, `SELECT plan_id, indicator, target::float8 FROM plan_commitments WHERE plan_id = ANY($1)
		ORDER BY array_position($2::text[], indicator)`, ids, indicatorNames())
	if err != nil {
		return nil, err
	}
	var id int64
	var c Commitment
	_, err = pgx.ForEachRow(rows, []any{&id, &c.Indicator, &c.Target}, func() error {
		list[at[id]].Commitments = append(list[at[id]].Commitments, c)
		return nil
	})
	return list, err
}

func indicatorNames() []string {
	out := make([]string, len(Indicators))
	for i, x := range Indicators {
		out[i] = string(x)
	}
	return out
}

// one is the plan where holds, or ErrNotFound.
func (st store) one(ctx context.Context, q dbtx, where string, args ...any) (Plan, error) {
	list, err := st.plans(ctx, q, where, args...)
	if err != nil {
		return Plan{}, err
	}
	if len(list) == 0 {
		return Plan{}, ErrNotFound
	}
	return list[0], nil
}

// lock reads plan id locked for update.
func (st store) lock(ctx context.Context, tx pgx.Tx, id int64) (Plan, error) {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM progress_plans WHERE id = $1 FOR UPDATE`, id); err != nil {
		return Plan{}, err
	}
	return st.one(ctx, tx, `p.id = $1`, id)
}

// create writes an empty draft of org for year, or finds the one there is.
func (store) create(ctx context.Context, tx pgx.Tx, org int64, year int) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO progress_plans (organisation_id, year) VALUES ($1, $2)
		ON CONFLICT (organisation_id, year) DO UPDATE SET year = EXCLUDED.year RETURNING id`, org, year).Scan(&id)
	return id, err
}

// write replaces a plan's content, bumps its version and keeps the
// version as written.
func (store) write(ctx context.Context, tx pgx.Tx, p Plan, author int64) error {
	if _, err := tx.Exec(ctx, `UPDATE progress_plans SET referent = $2, public = $3, self_assessment = $4, status = $5,
			version = version + 1, updated_at = now(),
			published_at = CASE WHEN $5 = 'published' AND published_at IS NULL THEN now() ELSE published_at END,
			assessed_at = CASE WHEN $5 = 'assessed' THEN now() ELSE assessed_at END,
			closed_at = CASE WHEN $5 = 'closed' THEN now() ELSE closed_at END
		WHERE id = $1`, p.ID, p.Referent, p.Public, p.SelfAssessment, p.Status); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM plan_commitments WHERE plan_id = $1`, p.ID); err != nil {
		return err
	}
	for _, c := range p.Commitments {
		if _, err := tx.Exec(ctx, `INSERT INTO plan_commitments (plan_id, indicator, target) VALUES ($1, $2, $3)`, p.ID, c.Indicator, c.Target); err != nil {
			return err
		}
	}
	content, err := json.Marshal(struct {
		Status         Status
		Public         bool
		Referent       string
		SelfAssessment string
		Commitments    []Commitment
	}{p.Status, p.Public, p.Referent, p.SelfAssessment, p.Commitments})
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO plan_versions (plan_id, version, content, author_id)
		SELECT id, version, $2, $3 FROM progress_plans WHERE id = $1`, p.ID, content, nullable(author))
	return err
}

func nullable(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// versions is how many versions a plan has kept.
func (store) versions(ctx context.Context, q dbtx, id int64) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM plan_versions WHERE plan_id = $1`, id).Scan(&n)
	return n, err
}

// comments are a plan's comments, oldest first; an SME's never names it.
func (store) comments(ctx context.Context, q dbtx, id int64) ([]Comment, error) {
	rows, err := q.Query(ctx, `SELECT id, staff, CASE WHEN staff THEN author_name ELSE '' END, body, created_at
		FROM plan_comments WHERE plan_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Comment])
}

func (store) addComment(ctx context.Context, tx pgx.Tx, id, author int64, name string, staff bool, body string) error {
	_, err := tx.Exec(ctx, `INSERT INTO plan_comments (plan_id, author_id, author_name, staff, body) VALUES ($1, $2, $3, $4, $5)`,
		id, author, name, staff, body)
	return err
}

// inCommittee tells whether org sits on the year's committee.
func (store) inCommittee(ctx context.Context, q dbtx, year int, org int64) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM plan_committee WHERE year = $1 AND organisation_id = $2)`, year, org).Scan(&ok)
	return ok, err
}

// committee lists the organisations of the year's committee.
func (store) committee(ctx context.Context, q dbtx, year int) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT organisation_id FROM plan_committee WHERE year = $1 ORDER BY organisation_id`, year)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// invite adds the member SME of siren to the year's committee; ErrNotFound
// when no member SME has it.
func (store) invite(ctx context.Context, tx pgx.Tx, year int, siren string) (int64, string, error) {
	var org int64
	var name string
	err := tx.QueryRow(ctx, `SELECT id, legal_name FROM organisations WHERE siren = $1 AND status = 'member' AND kind IN ('pme', 'eti')`,
		siren).Scan(&org, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", ErrNotFound
	}
	if err != nil {
		return 0, "", err
	}
	_, err = tx.Exec(ctx, `INSERT INTO plan_committee (year, organisation_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, year, org)
	return org, name, err
}

// declaredAll is the latest declaration of each account of orgs for a
// year; an account that declared nothing is not in it.
func (store) declaredAll(ctx context.Context, q dbtx, orgs []int64, year int) (map[int64]indicator.Figures, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (organisation_id) organisation_id, total_purchases, pme_purchases, eti_purchases,
			payment_days::float8, on_time_share::float8
		FROM declarations WHERE organisation_id = ANY($1) AND year = $2 ORDER BY organisation_id, version DESC`, orgs, year)
	if err != nil {
		return nil, err
	}
	out := map[int64]indicator.Figures{}
	var org int64
	var f indicator.Figures
	_, err = pgx.ForEachRow(rows, []any{&org, &f.Total, &f.PME, &f.ETI, &f.PaymentDays, &f.OnTime}, func() error {
		out[org] = f
		return nil
	})
	return out, err
}

// platformAll counts, for each account of orgs, its requests published in
// a year and the contracts SMEs won through them that year. The won
// matches are read first (OFFSET 0 keeps them apart: a partial index holds
// them), then their requests: the planner, misled by the array, read every
// match of the accounts' requests instead (100 a request; 3 s for all the
// accounts of the 1 M benchmark, 0.3 s now).
func (store) platformAll(ctx context.Context, q dbtx, orgs []int64, year int) (map[int64][2]int, error) {
	rows, err := q.Query(ctx, `SELECT o, coalesce(r.n, 0)::int, coalesce(w.n, 0)::int FROM unnest($1::bigint[]) o
		LEFT JOIN (SELECT organisation_id, count(*) AS n FROM purchase_requests
			WHERE organisation_id = ANY($1) AND extract(year FROM published_at) = $2 GROUP BY 1) r ON r.organisation_id = o
		LEFT JOIN (SELECT r.organisation_id, count(*) AS n
			FROM (SELECT request_id FROM request_matches WHERE state = 'won' AND extract(year FROM coalesce(contract_date, updated_at)) = $2 OFFSET 0) m
			JOIN purchase_requests r ON r.id = m.request_id
			WHERE r.organisation_id = ANY($1) GROUP BY 1) w ON w.organisation_id = o`, orgs, year)
	if err != nil {
		return nil, err
	}
	out := map[int64][2]int{}
	var org int64
	var n [2]int
	_, err = pgx.ForEachRow(rows, []any{&org, &n[0], &n[1]}, func() error {
		out[org] = n
		return nil
	})
	return out, err
}
