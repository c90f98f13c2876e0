// Package refdata reads the project's reference CSV files: the public award
// data (DECP) and the SIRENE extract embedded here, and any other embedded
// CSV (the taxonomy's) through EachRow.
package refdata

import (
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

//go:embed data/*.csv
var dataFS embed.FS

// DECPOfficial is the same contracts as DECP, as their sources published
// them (the DECP's 2019 JSON schema): what the registers import loads on a
// machine given no DECP file.
//
//go:embed data/decp_history_official.json
var DECPOfficial []byte

// Files of this package.
const (
	DECP   = "decp_history.csv"
	SIRENE = "sirene_etablissements_decp_suppliers.csv"
)

// Each calls fn for every row of one of this package's files.
func Each(file string, fn func(row map[string]string) error) error {
	return EachRow(dataFS, "data/"+file, fn)
}

// EachRow calls fn for every row of the CSV file name in fsys, as a map from
// header to trimmed value. An error names the file and line.
func EachRow(fsys fs.FS, name string, fn func(row map[string]string) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			row[h] = strings.TrimSpace(rec[i])
		}
		if err := fn(row); err != nil {
			return fmt.Errorf("%s line %d: %w", name, line, err)
		}
	}
}
