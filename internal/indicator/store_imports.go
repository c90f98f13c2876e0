package indicator

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// The SQL of declaration imports: the uploaded file, its check, its
// progress and the lines written.

func (store) insertImport(ctx context.Context, tx pgx.Tx, author int64, authorName, fileName string, data []byte, lines int,
	now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO declaration_imports (author_id, author_name, file_name, size, content, total_lines, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, author, authorName, fileName, len(data), data, lines, now).Scan(&id)
	return id, err
}

// imports reads import id, or the latest limit when id is 0.
func (store) imports(ctx context.Context, q dbtx, id int64, limit int) ([]Import, error) {
	rows, err := q.Query(ctx, `SELECT id, file_name, size, status, author_name, total_lines, done_lines, valid_lines, error_count,
		errors, preview, failure, created_at, updated_at FROM declaration_imports WHERE $1::bigint = 0 OR id = $1 ORDER BY id DESC LIMIT $2`, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Import, error) {
		var i Import
		var errs, preview []byte
		if err := row.Scan(&i.ID, &i.FileName, &i.Size, &i.Status, &i.AuthorName, &i.Total, &i.Done, &i.Valid, &i.ErrorCount,
			&errs, &preview, &i.Failure, &i.CreatedAt, &i.UpdatedAt); err != nil {
			return i, err
		}
		if err := json.Unmarshal(errs, &i.Errors); err != nil {
			return i, err
		}
		if len(preview) > 0 && preview[0] == '{' {
			if err := json.Unmarshal(preview, &i.Preview); err != nil {
				return i, err
			}
		}
		return i, nil
	})
}

// lockImport locks import id and reads its status, error count and
// preview; ErrNotFound when there is none.
func (store) lockImport(ctx context.Context, tx pgx.Tx, id int64) (Import, error) {
	var i Import
	var preview []byte
	err := tx.QueryRow(ctx, `SELECT status, error_count, preview FROM declaration_imports WHERE id = $1 FOR UPDATE`, id).
		Scan(&i.Status, &i.ErrorCount, &preview)
	if errors.Is(err, pgx.ErrNoRows) {
		return i, ErrNotFound
	}
	if err == nil && len(preview) > 0 && preview[0] == '{' {
		err = json.Unmarshal(preview, &i.Preview)
	}
	return i, err
}

func (store) markImporting(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE declaration_imports SET status = 'importing', done_lines = 0, total_lines = valid_lines,
		updated_at = $2 WHERE id = $1`, id, now)
	return err
}

// importContent reads the file of import id while it is in status; found
// is false when it is not (done already).
func (store) importContent(ctx context.Context, q dbtx, id int64, status string) (data []byte, fileName string, found bool, err error) {
	err = q.QueryRow(ctx, `SELECT content, file_name FROM declaration_imports WHERE id = $1 AND status = $2`, id, status).
		Scan(&data, &fileName)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", false, nil
	}
	return data, fileName, err == nil, err
}

// progress records how many lines of import id are done. It runs outside
// the import's transaction, so the page's bar moves.
func (store) progress(ctx context.Context, q dbtx, id int64, done int, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE declaration_imports SET done_lines = $2, updated_at = $3 WHERE id = $1`, id, done, now)
	return err
}

// markChecked stores a check's result: lines, errors (JSON) and preview.
func (store) markChecked(ctx context.Context, q dbtx, id int64, total, valid, errCount int, errJSON, previewJSON []byte, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE declaration_imports SET status = 'checked', total_lines = $2, done_lines = $2, valid_lines = $3,
		error_count = $4, errors = $5, preview = $6, updated_at = $7 WHERE id = $1 AND status = 'checking'`,
		id, total, valid, errCount, errJSON, previewJSON, now)
	return err
}

func (store) markFailed(ctx context.Context, q dbtx, id int64, why string, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE declaration_imports SET status = 'failed', failure = $2, updated_at = $3 WHERE id = $1`, id, why, now)
	return err
}

func (store) markImported(ctx context.Context, tx pgx.Tx, id int64, written int, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE declaration_imports SET status = 'imported', content = NULL, done_lines = total_lines,
		valid_lines = $2, updated_at = $3 WHERE id = $1`, id, written, now)
	return err
}

// tryLockImport takes the transaction's lock on import id; false when
// another job holds it.
func (store) tryLockImport(ctx context.Context, tx pgx.Tx, id int64) (bool, error) {
	var got bool
	err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('declaration_imports'), $1::int)`, id).Scan(&got)
	return got, err
}

// accountsBySIREN finds the member large accounts among sirens.
func (store) accountsBySIREN(ctx context.Context, q dbtx, sirens []string) (map[string]account, error) {
	rows, err := q.Query(ctx, `SELECT siren, id, legal_name FROM organisations
		WHERE siren = ANY($1) AND status = 'member' AND kind IN ('ge', 'public') ORDER BY id`, sirens)
	if err != nil {
		return nil, err
	}
	found := map[string]account{}
	var siren string
	var a account
	_, err = pgx.ForEachRow(rows, []any{&siren, &a.ID, &a.Name}, func() error {
		found[siren] = a
		return nil
	})
	return found, err
}

// lockAccounts locks the accounts' rows as a buyer's declaration does: no
// version is numbered twice.
func (store) lockAccounts(ctx context.Context, tx pgx.Tx, ids []int64) error {
	_, err := tx.Exec(ctx, `SELECT id FROM organisations WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids)
	return err
}

// orgYear is a large account and a year.
type orgYear struct {
	org  int64
	year int
}

// countingFigures reads the figures that count for each (org, year).
func (store) countingFigures(ctx context.Context, q dbtx, keys []orgYear) (map[orgYear]Figures, error) {
	orgs, years := make([]int64, len(keys)), make([]int32, len(keys))
	for i, k := range keys {
		orgs[i], years[i] = k.org, int32(k.year)
	}
	rows, err := q.Query(ctx, `SELECT d.organisation_id, d.year, d.total_purchases, d.pme_purchases, d.eti_purchases,
			d.payment_days::float8, d.on_time_share::float8
		FROM current_declarations d JOIN unnest($1::bigint[], $2::int[]) AS i(org, year) ON i.org = d.organisation_id AND i.year = d.year`,
		orgs, years)
	if err != nil {
		return nil, err
	}
	cur := map[orgYear]Figures{}
	var k orgYear
	var f Figures
	_, err = pgx.ForEachRow(rows, []any{&k.org, &k.year, &f.Total, &f.PME, &f.ETI, &f.PaymentDays, &f.OnTime}, func() error {
		cur[k] = f
		return nil
	})
	return cur, err
}

// importedLine is a line of an import as written.
type importedLine struct {
	org  int64
	year int
	Figures
}

// insertImported writes the lines whose figures differ from the version
// that counts, each as the next version of its year, and returns how many.
func (store) insertImported(ctx context.Context, tx pgx.Tx, lines []importedLine, importID, author int64, authorName string,
	now time.Time) (int, error) {
	n := len(lines)
	orgs, years := make([]int64, n), make([]int32, n)
	total, pme, eti := make([]int64, n), make([]int64, n), make([]int64, n)
	days, onTime := make([]float64, n), make([]float64, n)
	for i, l := range lines {
		orgs[i], years[i] = l.org, int32(l.year)
		total[i], pme[i], eti[i], days[i], onTime[i] = l.Total, l.PME, l.ETI, l.PaymentDays, l.OnTime
	}
	var authorArg any
	if author != 0 {
		authorArg = author
	}
	tag, err := tx.Exec(ctx, `WITH input AS (
			SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::float8[], $7::float8[])
				AS t(org, year, total, pme, eti, days, on_time)),
		cur AS (
			SELECT DISTINCT ON (d.organisation_id, d.year) d.*
			FROM declarations d JOIN input i ON i.org = d.organisation_id AND i.year = d.year
			ORDER BY d.organisation_id, d.year, d.version DESC)
		INSERT INTO declarations (organisation_id, year, version, total_purchases, pme_purchases, eti_purchases,
			payment_days, on_time_share, source, import_id, author_id, author_name, created_at)
		SELECT i.org, i.year, coalesce(c.version, 0) + 1, i.total, i.pme, i.eti, i.days, i.on_time, 'import', $8, $9, $10, $11
		FROM input i LEFT JOIN cur c ON c.organisation_id = i.org AND c.year = i.year
		WHERE c.version IS NULL OR (c.total_purchases, c.pme_purchases, c.eti_purchases, c.payment_days, c.on_time_share)
			IS DISTINCT FROM (i.total, i.pme, i.eti, i.days::numeric(5, 1), i.on_time::numeric(5, 2))`,
		orgs, years, total, pme, eti, days, onTime, importID, authorArg, authorName, now)
	return int(tag.RowsAffected()), err
}
