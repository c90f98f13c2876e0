package indicator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/platform/validate"
)

// An import's statuses: checking (a job reads the file) → checked (staff
// read the preview and its errors) → importing (a job writes every line in
// one transaction) → imported; failed when the writing found the data
// changed since the check.
const (
	ImportChecking  = "checking"
	ImportChecked   = "checked"
	ImportImporting = "importing"
	ImportImported  = "imported"
	ImportFailed    = "failed"
)

// MaxErrorsKept is how many line errors an import keeps to show; the
// count is of all of them.
const MaxErrorsKept = 200

// previewLines is how many valid lines the preview shows.
const previewLines = 50

// Import is an uploaded file and where its import stands.
type Import struct {
	ID         int64
	FileName   string
	Size       int64
	Status     string
	AuthorName string
	Total      int // lines of the file (checking) or to write (importing)
	Done       int
	Valid      int
	ErrorCount int
	Errors     []LineError
	Preview    Preview
	Failure    string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Importable reports whether staff may write the checked file.
func (i Import) Importable() bool {
	return i.Status == ImportChecked && i.ErrorCount == 0 && i.Preview.New+i.Preview.Corrections > 0
}

// Running reports whether a job is working on it.
func (i Import) Running() bool { return i.Status == ImportChecking || i.Status == ImportImporting }

// Preview is what importing the file would do.
type Preview struct {
	New         int           `json:"new"`         // years not declared yet
	Corrections int           `json:"corrections"` // new versions of declared years
	Unchanged   int           `json:"unchanged"`   // the same figures as declared: skipped
	Lines       []PreviewLine `json:"lines"`
}

// PreviewLine is one valid line as it would be written.
type PreviewLine struct {
	Line    int     `json:"line"`
	SIREN   string  `json:"siren"`
	Name    string  `json:"name"`
	Year    int     `json:"year"`
	Figures Figures `json:"figures"`
	Kind    string  `json:"kind"` // new, correction, unchanged
}

// Upload stores a file staff chose and starts checking it in the
// background; nothing is declared before staff confirm the preview.
func (s *Service) Upload(ctx context.Context, actor member.Actor, fileName string, data []byte) (int64, error) {
	if !actor.IsStaff() {
		return 0, ErrForbidden
	}
	switch {
	case len(data) == 0:
		return 0, &validate.Error{Fields: validate.Errors{"file": errEmpty}}
	case int64(len(data)) > s.MaxImport:
		return 0, &validate.Error{Fields: validate.Errors{"file": "indicator.err.too_large"}}
	}
	if s.jobs == nil {
		return 0, errors.New("indicator: upload: no job queue")
	}
	var id int64
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO declaration_imports (author_id, author_name, file_name, size, content, total_lines, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, actor.UserID, actor.Name, validate.Clip(fileName, 200),
			len(data), data, bytes.Count(data, []byte("\n"))+1, s.Now()).Scan(&id); err != nil {
			return err
		}
		_, err := s.jobs.InsertTx(ctx, tx, CheckImportArgs{ID: id}, nil)
		return err
	})
	return id, wrap("upload", err)
}

// GetImport is one import, for staff.
func (s *Service) GetImport(ctx context.Context, actor member.Actor, id int64) (Import, error) {
	if !actor.IsStaff() {
		return Import{}, ErrForbidden
	}
	list, err := s.imports(ctx, `WHERE id = $1`, id)
	if err != nil {
		return Import{}, wrap("import", err)
	}
	if len(list) == 0 {
		return Import{}, ErrNotFound
	}
	return list[0], nil
}

// Imports are the latest imports, for staff.
func (s *Service) Imports(ctx context.Context, actor member.Actor) ([]Import, error) {
	if !actor.IsStaff() {
		return nil, ErrForbidden
	}
	list, err := s.imports(ctx, `ORDER BY id DESC LIMIT 20`)
	return list, wrap("imports", err)
}

func (s *Service) imports(ctx context.Context, where string, args ...any) ([]Import, error) {
	rows, _ := s.db.Query(ctx, `SELECT id, file_name, size, status, author_name, total_lines, done_lines, valid_lines, error_count,
		errors, preview, failure, created_at, updated_at FROM declaration_imports `+where, args...)
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

// ConfirmImport writes a checked file without errors, in the background,
// all its lines in one transaction. Confirming twice does it once.
func (s *Service) ConfirmImport(ctx context.Context, actor member.Actor, id int64) error {
	if !actor.IsStaff() {
		return ErrForbidden
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var i Import
		var preview []byte
		err := tx.QueryRow(ctx, `SELECT status, error_count, preview FROM declaration_imports WHERE id = $1 FOR UPDATE`, id).
			Scan(&i.Status, &i.ErrorCount, &preview)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if i.Status == ImportImporting || i.Status == ImportImported {
			return nil // a double submit
		}
		if len(preview) > 0 && preview[0] == '{' {
			_ = json.Unmarshal(preview, &i.Preview)
		}
		if !i.Importable() {
			return ErrInvalidState
		}
		if _, err := tx.Exec(ctx, `UPDATE declaration_imports SET status = 'importing', done_lines = 0, total_lines = valid_lines,
			updated_at = $2 WHERE id = $1`, id, s.Now()); err != nil {
			return err
		}
		_, err = s.jobs.InsertTx(ctx, tx, ApplyImportArgs{ID: id, UserID: actor.UserID, UserName: actor.Name}, nil)
		return err
	})
	return wrap("confirm import "+strconv.FormatInt(id, 10), err)
}

// account is a member large account, by SIREN.
type account struct {
	ID   int64
	Name string
}

// accounts finds the member large accounts among sirens.
func accounts(ctx context.Context, q postgres.DB, sirens []string) (map[string]account, error) {
	rows, _ := q.Query(ctx, `SELECT siren, id, legal_name FROM organisations
		WHERE siren = ANY($1) AND status = 'member' AND kind IN ('ge', 'public') ORDER BY id`, sirens)
	found := map[string]account{}
	var siren string
	var a account
	_, err := pgx.ForEachRow(rows, []any{&siren, &a.ID, &a.Name}, func() error {
		found[siren] = a
		return nil
	})
	return found, err
}

// check reads an uploaded file, checks every line (alone, against the
// others, against the members and their declarations) and stores the
// errors and the preview. It does nothing to a file already checked.
func (s *Service) check(ctx context.Context, id int64) error {
	var data []byte
	err := s.db.QueryRow(ctx, `SELECT content FROM declaration_imports WHERE id = $1 AND status = 'checking'`, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	progress := func(n int) {
		_, _ = s.db.Exec(ctx, `UPDATE declaration_imports SET done_lines = $2, updated_at = $3 WHERE id = $1`, id, n, s.Now())
	}
	lines, errs := parseFile(data, s.Now().Year(), progress)
	total := bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n")) + 1
	var p Preview
	if len(lines) > 0 {
		sirens := make([]string, 0, len(lines))
		for _, l := range lines {
			sirens = append(sirens, l.SIREN)
		}
		found, err := accounts(ctx, s.db, sirens)
		if err != nil {
			return err
		}
		valid := lines[:0]
		for _, l := range lines {
			if _, ok := found[l.SIREN]; ok {
				valid = append(valid, l)
			} else {
				errs = append(errs, LineError{Line: l.N, Column: "siren", Code: "indicator.err.not_member", Value: l.SIREN})
			}
		}
		lines = valid
		if p, err = s.preview(ctx, lines, found); err != nil {
			return err
		}
	}
	sortErrors(errs)
	kept := errs[:min(len(errs), MaxErrorsKept)]
	errJSON, _ := json.Marshal(nonNil(kept))
	previewJSON, _ := json.Marshal(p)
	_, err = s.db.Exec(ctx, `UPDATE declaration_imports SET status = 'checked', total_lines = $2, done_lines = $2, valid_lines = $3,
		error_count = $4, errors = $5, preview = $6, updated_at = $7 WHERE id = $1 AND status = 'checking'`,
		id, total, len(lines), len(errs), errJSON, previewJSON, s.Now())
	return err
}

func nonNil(e []LineError) []LineError {
	if e == nil {
		return []LineError{}
	}
	return e
}

// preview classifies the valid lines against the declarations that count.
func (s *Service) preview(ctx context.Context, lines []line, found map[string]account) (Preview, error) {
	var orgs []int64
	var years []int32
	for _, l := range lines {
		orgs = append(orgs, found[l.SIREN].ID)
		years = append(years, int32(l.Year))
	}
	rows, _ := s.db.Query(ctx, `SELECT d.organisation_id, d.year, d.total_purchases, d.pme_purchases, d.eti_purchases,
			d.payment_days::float8, d.on_time_share::float8
		FROM current_declarations d JOIN unnest($1::bigint[], $2::int[]) AS i(org, year) ON i.org = d.organisation_id AND i.year = d.year`,
		orgs, years)
	type key struct {
		org  int64
		year int
	}
	cur := map[key]Figures{}
	var k key
	var f Figures
	if _, err := pgx.ForEachRow(rows, []any{&k.org, &k.year, &f.Total, &f.PME, &f.ETI, &f.PaymentDays, &f.OnTime}, func() error {
		cur[k] = f
		return nil
	}); err != nil {
		return Preview{}, err
	}
	p := Preview{Lines: []PreviewLine{}}
	for _, l := range lines {
		a := found[l.SIREN]
		kind := "new"
		if old, ok := cur[key{a.ID, l.Year}]; ok {
			kind = "correction"
			if old == l.Figures {
				kind = "unchanged"
			}
		}
		switch kind {
		case "new":
			p.New++
		case "correction":
			p.Corrections++
		default:
			p.Unchanged++
		}
		if len(p.Lines) < previewLines {
			p.Lines = append(p.Lines, PreviewLine{Line: l.N, SIREN: l.SIREN, Name: a.Name, Year: l.Year, Figures: l.Figures, Kind: kind})
		}
	}
	return p, nil
}

// sortErrors puts errors in the file's order, header first.
func sortErrors(errs []LineError) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
}

// apply writes a confirmed import: the file read again, every line
// written as a new version in one transaction (nothing half-imported), the
// progress told outside it. The members or declarations may have changed
// since the check: then nothing is written and the import fails with why.
func (s *Service) apply(ctx context.Context, args ApplyImportArgs) error {
	var data []byte
	var fileName string
	err := s.db.QueryRow(ctx, `SELECT content, file_name FROM declaration_imports WHERE id = $1 AND status = 'importing'`, args.ID).
		Scan(&data, &fileName)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // done already
	}
	if err != nil {
		return err
	}
	lines, errs := parseFile(data, s.Now().Year(), nil)
	fail := func(why string) error {
		_, err := s.db.Exec(ctx, `UPDATE declaration_imports SET status = 'failed', failure = $2, updated_at = $3 WHERE id = $1`,
			args.ID, why, s.Now())
		return err
	}
	if len(errs) > 0 {
		return fail("indicator.import.failed_changed")
	}
	actor := member.Actor{UserID: args.UserID, Name: args.UserName}
	written := 0
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// One import at a time, whichever server runs it.
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('declaration_imports'), $1::int)`, args.ID).Scan(&got); err != nil || !got {
			if err == nil {
				err = errBusy
			}
			return err
		}
		sirens := make([]string, len(lines))
		for i, l := range lines {
			sirens[i] = l.SIREN
		}
		found, err := accounts(ctx, tx, sirens)
		if err != nil {
			return err
		}
		if len(found) != len(distinct(sirens)) {
			return errChanged
		}
		ids := make([]int64, 0, len(found))
		for _, a := range found {
			ids = append(ids, a.ID)
		}
		// The same row locks as a buyer's declaration: no version is
		// numbered twice.
		if _, err := tx.Exec(ctx, `SELECT id FROM organisations WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
			return err
		}
		const chunk = 500
		for start := 0; start < len(lines); start += chunk {
			part := lines[start:min(start+chunk, len(lines))]
			n, err := s.insertChunk(ctx, tx, part, found, args)
			if err != nil {
				return err
			}
			written += n
			_, _ = s.db.Exec(ctx, `UPDATE declaration_imports SET done_lines = $2, updated_at = $3 WHERE id = $1`,
				args.ID, start+len(part), s.Now())
		}
		if err := audit.Record(ctx, tx, actor.AuditEntry(ActionImported, 0, fileName, strconv.Itoa(written))); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE declaration_imports SET status = 'imported', content = NULL, done_lines = total_lines,
			valid_lines = $2, updated_at = $3 WHERE id = $1`, args.ID, written, s.Now())
		return err
	})
	if errors.Is(err, errChanged) {
		return fail("indicator.import.failed_changed")
	}
	return err
}

var (
	errBusy    = errors.New("indicator: this import is being written by another job")
	errChanged = errors.New("indicator: the members changed since the check")
)

func distinct(s []string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, x := range s {
		m[x] = true
	}
	return m
}

// insertChunk writes the lines whose figures differ from the version that
// counts, each as the next version of its year.
func (s *Service) insertChunk(ctx context.Context, tx pgx.Tx, part []line, found map[string]account, args ApplyImportArgs) (int, error) {
	n := len(part)
	orgs, years := make([]int64, n), make([]int32, n)
	total, pme, eti := make([]int64, n), make([]int64, n), make([]int64, n)
	days, onTime := make([]float64, n), make([]float64, n)
	for i, l := range part {
		orgs[i], years[i] = found[l.SIREN].ID, int32(l.Year)
		total[i], pme[i], eti[i], days[i], onTime[i] = l.Total, l.PME, l.ETI, l.PaymentDays, l.OnTime
	}
	var author any
	if args.UserID != 0 {
		author = args.UserID
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
		orgs, years, total, pme, eti, days, onTime, args.ID, author, args.UserName, s.Now())
	return int(tag.RowsAffected()), err
}

// CheckImportArgs is the job that checks an uploaded file.
type CheckImportArgs struct {
	ID int64 `json:"id"`
}

// Kind names the job.
func (CheckImportArgs) Kind() string { return "indicator.import_check" }

// ApplyImportArgs is the job that writes a confirmed import.
type ApplyImportArgs struct {
	ID       int64  `json:"id"`
	UserID   int64  `json:"user_id"`
	UserName string `json:"user_name"`
}

// Kind names the job.
func (ApplyImportArgs) Kind() string { return "indicator.import_apply" }

type checkWorker struct {
	river.WorkerDefaults[CheckImportArgs]
	s *Service
}

func (w *checkWorker) Work(ctx context.Context, j *river.Job[CheckImportArgs]) error {
	return wrap(fmt.Sprintf("check import %d", j.Args.ID), w.s.check(ctx, j.Args.ID))
}

// Timeout: a 64 MiB file takes seconds, not River's default minute, on a
// busy machine it may take more.
func (w *checkWorker) Timeout(*river.Job[CheckImportArgs]) time.Duration { return 10 * time.Minute }

type applyWorker struct {
	river.WorkerDefaults[ApplyImportArgs]
	s *Service
}

func (w *applyWorker) Work(ctx context.Context, j *river.Job[ApplyImportArgs]) error {
	return wrap(fmt.Sprintf("apply import %d", j.Args.ID), w.s.apply(ctx, j.Args))
}

func (w *applyWorker) Timeout(*river.Job[ApplyImportArgs]) time.Duration { return 10 * time.Minute }

// Register adds the indicators' jobs to the platform's queue.
func Register(reg *jobs.Registry, s *Service) {
	jobs.Add(reg, &checkWorker{s: s})
	jobs.Add(reg, &applyWorker{s: s})
	jobs.Add(reg, &inviteWorker{s: s})
	reg.Every(time.Hour, func() river.JobArgs { return InviteArgs{} })
}
