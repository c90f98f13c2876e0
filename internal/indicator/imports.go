package indicator

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"passerelle/internal/member"
	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/once"
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
	data = []byte(validate.Clean(string(data))) // like every input: NUL and control bytes, invalid UTF-8 out
	var id int64
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		id, err = once.Do(ctx, tx, "import", func() (int64, error) {
			id, err := s.store.insertImport(ctx, tx, actor.UserID, actor.Name, validate.Clip(fileName, 200), data,
				bytes.Count(data, []byte("\n"))+1, s.Now())
			if err != nil {
				return 0, err
			}
			_, err = s.jobs.InsertTx(ctx, tx, CheckImportArgs{ID: id}, nil)
			return id, err
		})
		return err
	})
	return id, wrap("upload", err)
}

// GetImport is one import, for staff.
func (s *Service) GetImport(ctx context.Context, actor member.Actor, id int64) (Import, error) {
	if !actor.IsStaff() {
		return Import{}, ErrForbidden
	}
	list, err := s.store.imports(ctx, s.db, id, 1)
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
	list, err := s.store.imports(ctx, s.db, 0, 20)
	return list, wrap("imports", err)
}

// ConfirmImport writes a checked file without errors, in the background,
// all its lines in one transaction. Confirming twice does it once.
func (s *Service) ConfirmImport(ctx context.Context, actor member.Actor, id int64) error {
	if !actor.IsStaff() {
		return ErrForbidden
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		i, err := s.store.lockImport(ctx, tx, id)
		if err != nil {
			return err
		}
		if i.Status == ImportImporting || i.Status == ImportImported {
			return nil // a double submit
		}
		if !i.Importable() {
			return ErrInvalidState
		}
		if err := s.store.markImporting(ctx, tx, id, s.Now()); err != nil {
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

// check reads an uploaded file, checks every line (alone, against the
// others, against the members and their declarations) and stores the
// errors and the preview. It does nothing to a file already checked.
func (s *Service) check(ctx context.Context, id int64) error {
	data, _, found, err := s.store.importContent(ctx, s.db, id, ImportChecking)
	if err != nil || !found {
		return err
	}
	progress := func(n int) {
		// Progress only: a failed write leaves the bar behind, not the check.
		_ = s.store.progress(ctx, s.db, id, n, s.Now())
	}
	lines, errs := parseFile(data, s.Now().Year(), progress)
	total := bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n")) + 1
	var p Preview
	if len(lines) > 0 {
		sirens := make([]string, 0, len(lines))
		for _, l := range lines {
			sirens = append(sirens, l.SIREN)
		}
		found, err := s.store.accountsBySIREN(ctx, s.db, sirens)
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
	return s.store.markChecked(ctx, s.db, id, total, len(lines), len(errs), errJSON, previewJSON, s.Now())
}

func nonNil(e []LineError) []LineError {
	if e == nil {
		return []LineError{}
	}
	return e
}

// preview classifies the valid lines against the declarations that count.
func (s *Service) preview(ctx context.Context, lines []line, found map[string]account) (Preview, error) {
	keys := make([]orgYear, len(lines))
	for i, l := range lines {
		keys[i] = orgYear{found[l.SIREN].ID, l.Year}
	}
	cur, err := s.store.countingFigures(ctx, s.db, keys)
	if err != nil {
		return Preview{}, err
	}
	p := Preview{Lines: []PreviewLine{}}
	for _, l := range lines {
		a := found[l.SIREN]
		kind := "new"
		if old, ok := cur[orgYear{a.ID, l.Year}]; ok {
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
	data, fileName, found, err := s.store.importContent(ctx, s.db, args.ID, ImportImporting)
	if err != nil || !found {
		return err // not found: done already
	}
	lines, errs := parseFile(data, s.Now().Year(), nil)
	fail := func(why string) error { return s.store.markFailed(ctx, s.db, args.ID, why, s.Now()) }
	if len(errs) > 0 {
		return fail("indicator.import.failed_changed")
	}
	actor := member.Actor{UserID: args.UserID, Name: args.UserName}
	written := 0
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// One import at a time, whichever server runs it.
		if got, err := s.store.tryLockImport(ctx, tx, args.ID); err != nil || !got {
			return cmp.Or(err, errBusy)
		}
		sirens := make([]string, len(lines))
		for i, l := range lines {
			sirens[i] = l.SIREN
		}
		found, err := s.store.accountsBySIREN(ctx, tx, sirens)
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
		if err := s.store.lockAccounts(ctx, tx, ids); err != nil {
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
			_ = s.store.progress(ctx, s.db, args.ID, start+len(part), s.Now()) // outside the transaction: the bar moves
		}
		if err := audit.Record(ctx, tx, actor.AuditEntry(ActionImported, 0, fileName, strconv.Itoa(written))); err != nil {
			return err
		}
		return s.store.markImported(ctx, tx, args.ID, written, s.Now())
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
	lines := make([]importedLine, len(part))
	for i, l := range part {
		lines[i] = importedLine{org: found[l.SIREN].ID, year: l.Year, Figures: l.Figures}
	}
	return s.store.insertImported(ctx, tx, lines, args.ID, args.UserID, args.UserName, s.Now())
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
	err := w.s.check(ctx, j.Args.ID)
	return w.s.giveUp(ctx, j.JobRow, j.Args.ID, wrap(fmt.Sprintf("check import %d", j.Args.ID), err))
}

// Timeout: a 64 MiB file takes seconds, not River's default minute, on a
// busy machine it may take more.
func (w *checkWorker) Timeout(*river.Job[CheckImportArgs]) time.Duration { return 10 * time.Minute }

type applyWorker struct {
	river.WorkerDefaults[ApplyImportArgs]
	s *Service
}

func (w *applyWorker) Work(ctx context.Context, j *river.Job[ApplyImportArgs]) error {
	err := w.s.apply(ctx, j.Args)
	return w.s.giveUp(ctx, j.JobRow, j.Args.ID, wrap(fmt.Sprintf("apply import %d", j.Args.ID), err))
}

// ImportAttempts is how often a job tries an import before it gives up
// (River waits 1 s, then 16 s): a file that breaks the check breaks it
// every time, and staff wait on the page for the outcome.
const ImportAttempts = 3

// InsertOpts: a few attempts, not River's 25 over days.
func (CheckImportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: ImportAttempts}
}

// InsertOpts: a few attempts, not River's 25 over days.
func (ApplyImportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: ImportAttempts}
}

// giveUp leaves, when the job's last attempt fails, the import failed with
// a reason staff read on the page they wait on, instead of a progress bar
// polling forever; err is returned for River (and the log) either way.
func (s *Service) giveUp(ctx context.Context, job *rivertype.JobRow, id int64, err error) error {
	if err == nil || job == nil || job.Attempt < job.MaxAttempts {
		return err
	}
	if ferr := s.store.markFailed(ctx, s.db, id, "indicator.import.failed_error", s.Now()); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

func (w *applyWorker) Timeout(*river.Job[ApplyImportArgs]) time.Duration { return 10 * time.Minute }

// Register adds the indicators' jobs to the platform's queue.
func Register(reg *jobs.Registry, s *Service) {
	jobs.Add(reg, &checkWorker{s: s})
	jobs.Add(reg, &applyWorker{s: s})
	jobs.Add(reg, &jobs.Func[InviteArgs]{Do: jobs.Count(s.InviteToBarometer), Limit: 30 * time.Minute})
	reg.Every(time.Hour, func() river.JobArgs { return InviteArgs{} })
	jobs.Periodic[RollupArgs](reg, time.Minute, jobs.Count(s.Rollup))
}
