package purchase

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"passerelle/internal/member"
)

// Shortlist returns the SMEs a buyer kept for a request (shortlisted, in
// discussion, won), for the CSV export.
func (s *Service) Shortlist(ctx context.Context, actor member.Actor, id int64) (Request, []Match, error) {
	p, err := s.Get(ctx, actor, id)
	if err != nil {
		return Request{}, nil, err
	}
	if !p.Mine {
		return Request{}, nil, ErrNotFound
	}
	var kept []Match
	for _, m := range p.Answers {
		if m.State == StateShortlisted || m.State == StateDiscussion || m.State == StateWon {
			kept = append(kept, m)
		}
	}
	return p.Request, kept, nil
}

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
			return fmt.Errorf("purchase: csv: %w", err)
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
