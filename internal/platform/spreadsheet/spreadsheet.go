// Package spreadsheet writes the CSV files the platform exports (a
// shortlist, the observatory's figures) as a French spreadsheet opens
// them, safe from formula injection.
package spreadsheet

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// WriteCSV writes rows as a French spreadsheet opens them: UTF-8 with a
// byte order mark, ";" between cells, CRLF line ends. A cell that a
// spreadsheet would run as a formula (=, +, -, @, tab, CR first) is
// prefixed with an apostrophe, so a name typed "=cmd|…" stays text.
func WriteCSV(w io.Writer, rows [][]string) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	c := csv.NewWriter(w)
	c.Comma, c.UseCRLF = ';', true
	for _, row := range rows {
		safe := make([]string, len(row))
		for i, cell := range row {
			safe[i] = Neutralise(cell)
		}
		if err := c.Write(safe); err != nil {
			return fmt.Errorf("spreadsheet: csv: %w", err)
		}
	}
	c.Flush()
	return c.Error()
}

// Neutralise keeps a cell from being read as a formula.
func Neutralise(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
