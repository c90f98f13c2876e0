package indicator

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"passerelle/internal/platform/validate"
	"passerelle/internal/taxonomy"
)

// Column is one column of the declarations file: its name in the header
// (French, as the association's template has it), the English name also
// accepted, and the form field it fills.
type Column struct {
	Name, English, Field string
}

// Columns are the declarations file's columns, in the template's order.
var Columns = []Column{
	{"siren", "siren", "siren"},
	{"annee", "year", "year"},
	{"achats_total", "total_purchases", "total"},
	{"achats_pme", "pme_purchases", "pme"},
	{"achats_eti", "eti_purchases", "eti"},
	{"delai_paiement_jours", "payment_days", "payment_days"},
	{"part_factures_a_temps", "on_time_share", "on_time"},
}

// LineError is what is wrong with one line of a file (line 1 is the
// header): a message id with what it names.
type LineError struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Code   string `json:"code"`
	Value  string `json:"value,omitempty"`
	Ref    int    `json:"ref,omitempty"` // the line a duplicate repeats; the expected count of fields
	Got    int    `json:"got,omitempty"` // the count of fields found
}

// line is a valid line of a file.
type line struct {
	N     int
	SIREN string
	Year  int
	Figures
}

// More file-level message ids.
const (
	errSeparator = "indicator.err.separator"
	errMissing   = "indicator.err.missing_column"
	errUnknown   = "indicator.err.unknown_column"
	errFields    = "indicator.err.fields"
	errCSV       = "indicator.err.csv"
	errSIREN     = "indicator.err.siren"
	errDuplicate = "indicator.err.duplicate"
	errEmpty     = "indicator.err.empty_file"
)

// headerName folds a header cell for comparison: case, accents of
// "année", spaces and dashes.
func headerName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("é", "e", "è", "e", "ê", "e", "à", "a", " ", "_", "-", "_").Replace(s)
	return s
}

// parseFile reads a declarations file: UTF-8 with or without Excel's BOM,
// ";" (Excel in French) or "," between fields, a header naming the
// columns in any order. It returns the valid lines and every error, each
// with its line; progress is told the lines read so far, now and then.
// Checks that need the database (is the SIREN a member's?) come after.
func parseFile(data []byte, thisYear int, progress func(int)) ([]line, []LineError) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	var sep rune
	switch {
	case bytes.Count(first, []byte(";")) > 0:
		sep = ';'
	case bytes.Count(first, []byte(",")) > 0:
		sep = ','
	case len(bytes.TrimSpace(first)) == 0:
		return nil, []LineError{{Line: 1, Code: errEmpty}}
	default:
		return nil, []LineError{{Line: 1, Code: errSeparator, Value: validate.Shorten(string(first), 80)}}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = sep
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return nil, []LineError{{Line: 1, Code: errCSV}}
	}
	at, errs := columnsOf(head)
	if len(errs) > 0 {
		return nil, errs
	}
	var lines []line
	seen := map[sirenYear]int{} // → the line it was first on
	for read := 1; ; read++ {
		if progress != nil && read%20000 == 0 {
			progress(read)
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			// A broken quote: the reader cannot find where this line
			// ends, so the rest of the file cannot be trusted.
			errs = append(errs, LineError{Line: pe.StartLine, Code: errCSV})
			break
		} else if err != nil {
			errs = append(errs, LineError{Line: read + 1, Code: errCSV})
			break
		}
		n, _ := r.FieldPos(0) // the file's line (a quoted field may span several)
		if blank(rec) {
			continue // Excel's trailing ";;;;;;"
		}
		if len(rec) != len(head) {
			errs = append(errs, LineError{Line: n, Code: errFields, Ref: len(head), Got: len(rec)})
			continue
		}
		l, lerrs := checkLine(n, func(field string) string { return rec[at[field]] }, thisYear)
		if len(lerrs) > 0 {
			errs = append(errs, lerrs...)
			continue
		}
		key := sirenYear{l.SIREN, l.Year}
		if first, dup := seen[key]; dup {
			errs = append(errs, LineError{Line: n, Column: "siren", Code: errDuplicate, Value: l.SIREN, Ref: first})
			continue
		}
		seen[key] = n
		lines = append(lines, l)
	}
	if len(lines) == 0 && len(errs) == 0 {
		errs = append(errs, LineError{Line: 2, Code: errEmpty})
	}
	return lines, errs // in the file's order: the lines are read in it
}

type sirenYear struct {
	siren string
	year  int
}

// columnsOf finds each field's column in the header row, by its French or
// English name; a column unknown, missing or given twice is an error.
func columnsOf(head []string) (map[string]int, []LineError) {
	at := map[string]int{}
	var errs []LineError
	for i, h := range head {
		name, found := headerName(h), false
		for _, c := range Columns {
			if name == c.Name || name == c.English {
				if _, dup := at[c.Field]; dup {
					errs = append(errs, LineError{Line: 1, Code: errDuplicateColumn, Column: c.Name})
				}
				at[c.Field], found = i, true
			}
		}
		if !found {
			errs = append(errs, LineError{Line: 1, Code: errUnknown, Value: validate.Shorten(h, 80)})
		}
	}
	for _, c := range Columns {
		if _, ok := at[c.Field]; !ok {
			errs = append(errs, LineError{Line: 1, Code: errMissing, Column: c.Name})
		}
	}
	return at, errs
}

// checkLine checks line n's fields as the form checks a declaration, and
// its SIREN (spaces allowed).
func checkLine(n int, get func(field string) string, thisYear int) (line, []LineError) {
	var errs []LineError
	siren := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' {
			return -1
		}
		return r
	}, get("siren"))
	if !taxonomy.ValidSIREN(siren) {
		errs = append(errs, LineError{Line: n, Column: "siren", Code: errSIREN, Value: validate.Shorten(get("siren"), 40)})
	}
	in := Input{Year: get("year"), Total: get("total"), PME: get("pme"), ETI: get("eti"),
		PaymentDays: get("payment_days"), OnTime: get("on_time")}
	year, f, ferrs := in.check(thisYear)
	for _, c := range Columns {
		if code, ok := ferrs[c.Field]; ok {
			errs = append(errs, LineError{Line: n, Column: c.Name, Code: code, Value: validate.Shorten(get(c.Field), 40)})
		}
	}
	return line{N: n, SIREN: siren, Year: year, Figures: f}, errs
}

const errDuplicateColumn = "indicator.err.duplicate_column"

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
