// Package importer loads public data into the platform: a directory of
// suppliers (SIRENE establishments) as member SMEs, and awarded public
// contracts (DECP) as references of their winners, each winner becoming
// an SME when it is not one yet. `passerelle eval` loads its contracts
// through it; it writes references with profile.AddReferences, as the
// platform does, so the evaluation measures the matching on references
// stored the way the platform stores them. (The national registers'
// import, `passerelle import`, is internal/registers.)
package importer

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/validate"
	"passerelle/internal/profile"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

// Contract is one awarded public contract of a DECP file.
type Contract struct {
	UID         string
	BuyerSIRET  string
	BuyerName   string
	Object      string
	CPV         string // 8 digits
	Departement string
	AmountEUR   int64
	Year        int      // 0: unknown
	Date        string   // notification date, YYYY-MM-DD when known
	Winners     []string // SIRENs
	WinnerNames []string // as published, in the order of Winners when they match
}

// Supplier is one establishment of a SIRENE directory file.
type Supplier struct {
	SIREN       string
	NAF         string
	Departement string
}

// ReadCSV calls fn for each row of a CSV file as a map from header to
// trimmed value.
func ReadCSV(r io.Reader, fn func(row map[string]string) error) error {
	c := csv.NewReader(r)
	c.FieldsPerRecord = -1
	c.ReuseRecord = true
	header, err := c.Read()
	if err != nil {
		return fmt.Errorf("importer: header: %w", err)
	}
	header = append([]string(nil), header...)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	for line := 2; ; line++ {
		rec, err := c.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("importer: line %d: %w", line, err)
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			if i < len(rec) {
				row[h] = strings.TrimSpace(rec[i])
			}
		}
		if err := fn(row); err != nil {
			return fmt.Errorf("importer: line %d: %w", line, err)
		}
	}
}

// ReadContracts reads a DECP file (the columns of decp_history.csv), each
// contract once (re-publications share a uid), keeping those with an
// 8-digit CPV code and at least one winner identified by a SIREN or SIRET.
func ReadContracts(r io.Reader) ([]Contract, error) {
	var out []Contract
	seen := map[string]bool{}
	err := ReadCSV(r, func(row map[string]string) error {
		uid := row["uid"]
		if uid == "" || seen[uid] {
			return nil
		}
		seen[uid] = true
		c := Contract{UID: uid, BuyerSIRET: row["acheteur_siret"], BuyerName: row["acheteur_nom"],
			Object: strings.Join(strings.Fields(row["objet"]), " "), CPV: row["cpv8"], Departement: row["lieu_departement"]}
		if len(c.CPV) != 8 || strings.Trim(c.CPV, "0123456789") != "" {
			return nil
		}
		if f, err := strconv.ParseFloat(row["montant"], 64); err == nil && f > 0 && f < 1e13 {
			c.AmountEUR = int64(f)
		}
		c.Date = row["date_notification"]
		if c.Date == "" {
			c.Date = row["date_publication"]
		}
		if y, err := strconv.Atoi(strings.SplitN(c.Date, "-", 2)[0]); err == nil && y >= 1990 && y <= 2100 {
			c.Year = y
		}
		names := strings.Split(row["titulaires_noms"], "|")
		for i, id := range strings.Split(row["titulaires_ids"], "|") {
			id = strings.ReplaceAll(id, " ", "")
			if len(id) < 9 || strings.Trim(id[:9], "0123456789") != "" || contains(c.Winners, id[:9]) {
				continue
			}
			c.Winners = append(c.Winners, id[:9])
			name := ""
			if i < len(names) {
				name = strings.TrimSpace(names[i])
			}
			c.WinnerNames = append(c.WinnerNames, name)
		}
		if len(c.Winners) > 0 {
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// ReadSuppliers reads a SIRENE establishments file (the columns of
// sirene_etablissements_decp_suppliers.csv), one entry per SIREN.
func ReadSuppliers(r io.Reader) ([]Supplier, error) {
	var out []Supplier
	seen := map[string]bool{}
	err := ReadCSV(r, func(row map[string]string) error {
		s := Supplier{SIREN: row["siren"], NAF: row["activite_principale"], Departement: row["departement"]}
		if len(s.SIREN) != 9 || strings.Trim(s.SIREN, "0123456789") != "" || seen[s.SIREN] {
			return nil
		}
		seen[s.SIREN] = true
		out = append(out, s)
		return nil
	})
	return out, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Stats says what an import created.
type Stats struct {
	Organisations int
	References    int
}

// Load creates the member SMEs of the directory and of the contracts'
// winners that do not exist yet, and adds each contract as a reference of
// each of its winners (once: a reference is keyed by the contract's uid),
// then refreshes the search entry of every organisation it touched.
// progress, when not nil, is told how far it is.
func Load(ctx context.Context, db *pgxpool.Pool, tax *taxonomy.Taxonomy, suppliers []Supplier, contracts []Contract,
	progress func(done, total int)) (Stats, error) {
	var st Stats
	type org struct{ name, naf, dept string }
	orgs := map[string]*org{}
	var order []string
	add := func(siren string) *org {
		if o, ok := orgs[siren]; ok {
			return o
		}
		o := &org{}
		orgs[siren] = o
		order = append(order, siren)
		return o
	}
	for _, s := range suppliers {
		o := add(s.SIREN)
		o.naf, o.dept = s.NAF, s.Departement
	}
	for _, c := range contracts {
		for i, w := range c.Winners {
			o := add(w)
			if o.name == "" && c.WinnerNames[i] != "" {
				o.name = c.WinnerNames[i]
			}
			if o.dept == "" {
				o.dept = c.Departement
			}
		}
	}
	ids := map[string]int64{}
	total := len(order) + len(contracts)
	done := 0
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		for _, siren := range order {
			o := orgs[siren]
			name := validate.Clip(validate.Line(o.name), 200)
			if name == "" {
				name = "SIREN " + siren
			}
			if _, ok := tax.NAF(o.naf); !ok {
				o.naf = ""
			}
			var id int64
			var created bool
			err := tx.QueryRow(ctx, `WITH found AS (SELECT id FROM organisations WHERE siren = $1 AND status NOT IN ('rejected', 'left')),
				made AS (INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status, decided_at)
					SELECT $1, $2, 'pme', $3, '', $4, 'member', now() WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id)
				SELECT id, true FROM made UNION ALL SELECT id, false FROM found`, siren, name, o.naf, o.dept).Scan(&id, &created)
			if err != nil {
				return fmt.Errorf("importer: organisation %s: %w", siren, err)
			}
			ids[siren] = id
			if created {
				st.Organisations++
			}
			done++
			if progress != nil && done%500 == 0 {
				progress(done, total)
			}
		}
		var refs []profile.NewReference
		flush := func() error {
			n, err := profile.AddReferences(ctx, tx, refs)
			st.References += n
			refs = refs[:0]
			if progress != nil {
				progress(done, total)
			}
			return err
		}
		for _, c := range contracts {
			client := validate.Line(c.BuyerName)
			if client == "" {
				client = c.BuyerSIRET
			}
			for _, w := range c.Winners {
				refs = append(refs, profile.NewReference{OrgID: ids[w], Client: client, ClientSIRET: c.BuyerSIRET, Object: c.Object, CPV: c.CPV,
					AmountEUR: c.AmountEUR, Year: c.Year, Departement: c.Departement, SourceUID: c.UID})
			}
			done++
			if len(refs) >= 5000 {
				if err := flush(); err != nil {
					return fmt.Errorf("importer: references: %w", err)
				}
			}
		}
		if err := flush(); err != nil {
			return fmt.Errorf("importer: references: %w", err)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	// The directory and the matching read each organisation's search entry.
	index := search.NewIndexer(tax)
	for i, siren := range order {
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return index.Refresh(ctx, tx, ids[siren]) }); err != nil {
			return st, err
		}
		if progress != nil && (i+1)%500 == 0 {
			progress(i+1, len(order))
		}
	}
	return st, nil
}
