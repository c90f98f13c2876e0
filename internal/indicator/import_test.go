package indicator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

const header = "siren;annee;achats_total;achats_pme;achats_eti;delai_paiement_jours;part_factures_a_temps\n"

// TestParseFile: each kind of bad input gives its error on its line, and
// Excel's own format (BOM, ";", decimal commas, spaces in numbers) is read.
func TestParseFile(t *testing.T) {
	buyers, _ := realParties()
	s1, s2 := buyers[0].SIREN, buyers[1].SIREN
	cases := []struct {
		name  string
		file  string
		lines int
		want  []LineError // Line and Code (and Column when set)
	}{
		{"Excel: BOM, ; and French numbers", "\xef\xbb\xbf" + strings.ReplaceAll(header, "\n", "\r\n") +
			s1 + ";2025;1 000 000;224 000;150 000;41,5;88,5\r\n" + s2 + ";2025;\"2 000 000\";\"500 000\";0;30;95 %\r\n;;;;;;\r\n", 2, nil},
		{"commas between fields", strings.ReplaceAll(header, ";", ",") + s1 + ",2025,1000000,224000,150000,41.5,88.5\n", 1, nil},
		{"columns in another order, English names", "year;siren;total_purchases;pme_purchases;eti_purchases;payment_days;on_time_share\n2025;" +
			s1 + ";1000;200;100;30;90\n", 1, nil},
		{"wrong separator", strings.ReplaceAll(header, ";", "\t") + s1 + "\t2025\t1000\t200\t100\t30\t90\n", 0,
			[]LineError{{Line: 1, Code: errSeparator}}},
		{"a missing column", strings.Replace(header, ";achats_eti", "", 1) + s1 + ";2025;1000;200;30;90\n", 0,
			[]LineError{{Line: 1, Code: errMissing, Column: "achats_eti"}}},
		{"an extra column", strings.Replace(header, "\n", ";commentaire\n", 1) + s1 + ";2025;1000;200;100;30;90;ok\n", 0,
			[]LineError{{Line: 1, Code: errUnknown}}},
		{"a line with a field too many", header + s1 + ";2025;1000;200;100;30;90;x\n" + s2 + ";2025;1000;200;100;30;90\n", 1,
			[]LineError{{Line: 2, Code: errFields}}},
		{"text in a number column", header + s1 + ";2025;mille;200;100;30;90\n", 0,
			[]LineError{{Line: 2, Code: errNumber, Column: "achats_total"}}},
		{"a negative amount", header + s1 + ";2025;1000;-200;100;30;90\n", 0,
			[]LineError{{Line: 2, Code: errNegative, Column: "achats_pme"}}},
		{"PME purchases above the total", header + s1 + ";2025;1000;2000;0;30;90\n", 0,
			[]LineError{{Line: 2, Code: errAboveTotal, Column: "achats_pme"}}},
		{"a duplicate SIREN and year", header + s1 + ";2025;1000;200;100;30;90\n" + s2 + ";2025;1000;200;100;30;90\n" +
			s1 + ";2025;1100;200;100;30;90\n", 2, []LineError{{Line: 4, Code: errDuplicate}}},
		{"a bad SIREN", header + "123456789;2025;1000;200;100;30;90\n", 0, []LineError{{Line: 2, Code: errSIREN, Column: "siren"}}},
		{"a header only", header, 0, []LineError{{Line: 2, Code: errEmpty}}},
		{"an empty file", "", 0, []LineError{{Line: 1, Code: errEmpty}}},
		{"a broken quote", header + s1 + ";2025;\"1000;200;100;30;90\n", 0, []LineError{{Line: 2, Code: errCSV}}},
		{"errors on several lines", header + s1 + ";2031;1000;200;100;30;90\n" + s2 + ";2025;1000;200;100;30;190\n", 0,
			[]LineError{{Line: 2, Code: errYear, Column: "annee"}, {Line: 3, Code: errPercent, Column: "part_factures_a_temps"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines, errs := parseFile([]byte(c.file), 2026, nil)
			if len(lines) != c.lines {
				t.Errorf("%d valid lines, want %d", len(lines), c.lines)
			}
			if len(errs) != len(c.want) {
				t.Fatalf("errors %+v, want %+v", errs, c.want)
			}
			for i, w := range c.want {
				if errs[i].Line != w.Line || errs[i].Code != w.Code || (w.Column != "" && errs[i].Column != w.Column) {
					t.Errorf("error %d: %+v, want %+v", i, errs[i], w)
				}
			}
		})
	}
	lines, _ := parseFile([]byte("\xef\xbb\xbf"+header+s1+";2025;1 000 000;224 000;150 000;41,5;88,5\n"), 2026, nil)
	if lines[0].Figures != (Figures{Total: 1_000_000, PME: 224_000, ETI: 150_000, PaymentDays: 41.5, OnTime: 88.5}) || lines[0].SIREN != s1 {
		t.Errorf("read %+v", lines[0])
	}
}

func (f *fixture) upload(t *testing.T, data string) Import {
	t.Helper()
	ctx := context.Background()
	id, err := f.svc.Upload(ctx, f.staff, "declarations.csv", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.check(ctx, id); err != nil {
		t.Fatal(err)
	}
	i, err := f.svc.GetImport(ctx, f.staff, id)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func (f *fixture) declarations(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM declarations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImport: a file is checked against the members and their
// declarations, previewed, then written as new versions in one go; a file
// with one bad line writes nothing.
func TestImport(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a, b := f.buyers[0], f.buyers[1]
	f.declare(t, a, Input{Year: "2024", Total: "1000000", PME: "200000", ETI: "0", PaymentDays: "40", OnTime: "80"})
	f.declare(t, a, Input{Year: "2023", Total: "500000", PME: "100000", ETI: "0", PaymentDays: "40", OnTime: "80"})
	sa, sb, sme := f.siren(t, a), f.siren(t, b), f.siren(t, f.smes[0])
	good := header +
		sa + ";2025;1 200 000;300 000;100 000;38;85\n" + // new
		sa + ";2024;1000000;250000;0;40;80\n" + // corrects 2024
		sa + ";2023;500000;100000;0;40;80\n" + // the same as declared
		sb + ";2025;4000000;800000;400000;60;65,5\n" // new

	bad := f.upload(t, good+sme+";2025;1000;100;0;30;90\n")
	if bad.Status != ImportChecked || bad.ErrorCount != 1 || bad.Errors[0].Line != 6 || bad.Errors[0].Code != "indicator.err.not_member" ||
		bad.Importable() {
		t.Fatalf("an SME's SIREN: %+v", bad)
	}
	if err := f.svc.ConfirmImport(ctx, f.staff, bad.ID); !errors.Is(err, ErrInvalidState) {
		t.Errorf("confirming a file with errors: %v", err)
	}
	if n := f.declarations(t); n != 2 {
		t.Fatalf("%d declarations after a refused file", n)
	}

	i := f.upload(t, good)
	if i.ErrorCount != 0 || i.Preview.New != 2 || i.Preview.Corrections != 1 || i.Preview.Unchanged != 1 || !i.Importable() {
		t.Fatalf("preview %+v", i.Preview)
	}
	if n := f.declarations(t); n != 2 {
		t.Fatalf("the check wrote: %d declarations", n)
	}
	if err := f.svc.ConfirmImport(ctx, f.staff, i.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ConfirmImport(ctx, f.staff, i.ID); err != nil {
		t.Fatalf("a double confirm: %v", err)
	}
	args := ApplyImportArgs{ID: i.ID, UserID: f.staff.UserID, UserName: f.staff.Name}
	if err := f.svc.apply(ctx, args); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.apply(ctx, args); err != nil { // the job retried: nothing more
		t.Fatal(err)
	}
	if n := f.declarations(t); n != 5 {
		t.Errorf("%d declarations, want 2 + 3 written (one unchanged)", n)
	}
	i, _ = f.svc.GetImport(ctx, f.staff, i.ID)
	if i.Status != ImportImported || i.Valid != 3 || i.Done != i.Total {
		t.Errorf("after the import %+v", i)
	}
	h, _ := f.svc.History(ctx, a, a.OrgID)
	if len(h) != 4 || h[0].Year != 2025 || h[1].Year != 2024 || h[1].Version != 2 || h[1].PME != 250_000 || h[1].Source != "import" ||
		h[1].AuthorName != f.staff.Name {
		t.Errorf("history %+v", h)
	}
	var left int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM declaration_imports WHERE content IS NOT NULL AND status = 'imported'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("imported files keep their content: %d", left)
	}
}

// TestImportAllOrNothing: a member that leaves between the check and the
// write makes the write fail whole.
func TestImportAllOrNothing(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString(header)
	for _, a := range f.buyers {
		for y := 2015; y <= 2025; y++ {
			fmt.Fprintf(&b, "%s;%d;1000000;230000;90000;45;80\n", f.siren(t, a), y)
		}
	}
	i := f.upload(t, b.String())
	if !i.Importable() || i.Preview.New != 33 {
		t.Fatalf("preview %+v errors %+v", i.Preview, i.Errors)
	}
	if err := f.svc.ConfirmImport(ctx, f.staff, i.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `UPDATE organisations SET status = 'left' WHERE id = $1`, f.buyers[2].OrgID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.apply(ctx, ApplyImportArgs{ID: i.ID}); err != nil {
		t.Fatal(err)
	}
	i, _ = f.svc.GetImport(ctx, f.staff, i.ID)
	if i.Status != ImportFailed || i.Failure == "" {
		t.Errorf("import %+v", i)
	}
	if n := f.declarations(t); n != 0 {
		t.Errorf("%d declarations half-imported", n)
	}
}

// TestImportOfFiftyMegabytes: a 50 MB file is taken and checked line by
// line: its errors counted, the first ones kept, nothing written; over
// the limit, the file is refused before it is stored.
func TestImportOfFiftyMegabytes(t *testing.T) {
	f := setup(t)
	sa := f.siren(t, f.buyers[0])
	var b bytes.Buffer
	b.WriteString(header)
	for n := 0; b.Len() < 50<<20; n++ {
		// Every year from 2000 to 2025, then the same again: duplicates.
		fmt.Fprintf(&b, "%s;%d;123456789012;23456789012;3456789012;45,5;88,25\n", sa, 2000+n%26)
	}
	i := f.upload(t, b.String())
	if i.Status != ImportChecked || i.Valid != 26 || i.ErrorCount != i.Total-1-26 || len(i.Errors) != MaxErrorsKept ||
		i.Errors[0].Code != errDuplicate || i.Errors[0].Line != 28 || i.Errors[0].Ref != 2 || i.Importable() {
		t.Errorf("import of %d bytes: status %s, %d valid, %d errors of %d lines, first %+v", i.Size, i.Status, i.Valid, i.ErrorCount,
			i.Total, i.Errors[0])
	}
	if n := f.declarations(t); n != 0 {
		t.Errorf("%d declarations written", n)
	}
	f.svc.MaxImport = 10 << 20
	if _, err := f.svc.Upload(context.Background(), f.staff, "big.csv", b.Bytes()); fieldErrs(err)["file"] != "indicator.err.too_large" {
		t.Errorf("over the limit: %v", err)
	}
}

// TestUploadWithANulByte: the reported file (a NUL in a number) is
// checked like any other once cleaned; it used to fail the check job on
// every attempt (jsonb refuses \u0000) and leave staff a bar polling
// forever.
func TestUploadWithANulByte(t *testing.T) {
	f := setup(t)
	siren := f.siren(t, f.buyers[0])
	i := f.upload(t, header+siren+";2025;1000\x00;1;1;1;1\n\xff")
	if i.Status != ImportChecked || i.ErrorCount != 0 || i.Valid != 1 {
		t.Fatalf("import %s: %d errors %+v, %d valid lines", i.Status, i.ErrorCount, i.Errors, i.Valid)
	}
}

// TestImportJobGivesUpVisibly: when the check fails on its last attempt,
// the import is left failed with a reason the page shows, not "checking"
// forever; earlier attempts leave it to the retry.
func TestImportJobGivesUpVisibly(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
		CREATE TRIGGER refuse BEFORE UPDATE ON declaration_imports FOR EACH ROW WHEN (NEW.status = 'checked') EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	id, err := f.svc.Upload(ctx, f.staff, "declarations.csv", []byte(header+f.siren(t, f.buyers[0])+";2025;1000;1;1;1;1\n"))
	if err != nil {
		t.Fatal(err)
	}
	w := &checkWorker{s: f.svc}
	for attempt := 1; attempt <= ImportAttempts; attempt++ {
		job := &river.Job[CheckImportArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: ImportAttempts}, Args: CheckImportArgs{ID: id}}
		if err := w.Work(ctx, job); err == nil || !strings.Contains(err.Error(), "refused by the test") {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		i, err := f.svc.GetImport(ctx, f.staff, id)
		if err != nil {
			t.Fatal(err)
		}
		want, failure := ImportChecking, ""
		if attempt == ImportAttempts {
			want, failure = ImportFailed, "indicator.import.failed_error"
		}
		if i.Status != want || i.Failure != failure || i.Running() != (attempt < ImportAttempts) {
			t.Fatalf("after attempt %d: %s %q, want %s %q", attempt, i.Status, i.Failure, want, failure)
		}
	}
}
