package registers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"unicode/utf8"
)

// ErrFormat is a file that is not what the import reads: a missing
// column, a broken quote, a truncated line, another encoding, another
// JSON shape. Nothing is written.
var ErrFormat = errors.New("registers: file format")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// table reads a CSV file by its header names, one record at a time.
type table struct {
	name string
	r    *csv.Reader
	cols map[string]int
	rec  []string
	line int
	p    Progress
}

// newTable reads the header and checks that every required column is
// there, naming the first one missing.
func newTable(name string, r io.Reader, p Progress, required, optional []string) (*table, error) {
	c := csv.NewReader(r)
	c.ReuseRecord = true
	header, err := c.Read()
	if err == io.EOF {
		return nil, formatErr("%s: empty file", name)
	}
	if err != nil {
		return nil, formatErr("%s: header: %v", name, err)
	}
	t := &table{name: name, r: c, cols: map[string]int{}, line: 1, p: p}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !utf8.ValidString(h) {
			return nil, formatErr("%s: the header is not UTF-8 (a Latin-1 file? INSEE publishes the *_utf8.csv files)", name)
		}
		t.cols[h] = i
	}
	for _, col := range required {
		if _, ok := t.cols[col]; !ok {
			return nil, formatErr("%s: required column %q missing", name, col)
		}
	}
	for _, col := range optional {
		if _, ok := t.cols[col]; !ok {
			t.cols[col] = -1
		}
	}
	return t, nil
}

// next reads a record; io.EOF at the end. A broken quote, a line with
// another number of fields (a truncated file) or bytes that are not
// UTF-8 stop the read with the line named.
func (t *table) next() error {
	rec, err := t.r.Read()
	if err == io.EOF {
		return io.EOF
	}
	t.line, _ = t.r.FieldPos(0)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			switch {
			case errors.Is(pe.Err, csv.ErrFieldCount):
				return formatErr("%s line %d: %d fields where the header has %d (a truncated or damaged file)", t.name, pe.StartLine, len(rec), len(t.cols))
			case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
				return formatErr("%s line %d: broken quote", t.name, pe.StartLine)
			}
			return formatErr("%s line %d: %v", t.name, pe.StartLine, pe.Err)
		}
		return fmt.Errorf("%s: %w", t.name, err)
	}
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return formatErr("%s line %d: not UTF-8 (a Latin-1 file? INSEE publishes the *_utf8.csv files)", t.name, t.line)
		}
	}
	t.rec = rec
	t.p.Add(0, 1)
	return nil
}

// get is the value of a column ("" for an optional one the file lacks).
// INSEE writes "[ND]" (non diffusible) where a partially diffusible row's
// value is withheld: it is read as empty.
func (t *table) get(col string) string {
	i := t.cols[col]
	if i < 0 || i >= len(t.rec) {
		return ""
	}
	v := strings.TrimSpace(t.rec[i])
	if v == "[ND]" {
		return ""
	}
	return v
}

// digest hashes a row's fields (FNV-1a, 64 bits).
func digest(fields ...string) int64 {
	h := fnv.New64a()
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{0x1f})
	}
	return int64(h.Sum64())
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// departementOfCommune derives a département from an INSEE commune code
// (01001, 2A004, 97411); a foreign or empty code gives "".
func departementOfCommune(code string) string {
	if len(code) != 5 {
		return ""
	}
	switch {
	case strings.HasPrefix(code, "97"):
		return code[:3]
	case strings.HasPrefix(code, "2A"), strings.HasPrefix(code, "2B"):
		return code[:2]
	case strings.HasPrefix(code, "99") || !allDigits(code):
		return ""
	}
	return code[:2]
}

// departementOfPostcode derives a département from a French postcode
// (Corsica: 200xx–201xx is 2A, the rest of 20xxx 2B).
func departementOfPostcode(code string) string {
	if len(code) != 5 || !allDigits(code) {
		return ""
	}
	switch {
	case strings.HasPrefix(code, "97"):
		return code[:3]
	case strings.HasPrefix(code, "20"):
		if code < "20200" {
			return "2A"
		}
		return "2B"
	case code[:2] == "00" || code[:2] == "99" || code[:2] == "98":
		return ""
	}
	return code[:2]
}
