package registers

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/taxonomy"
)

// The columns of INSEE's stock files the import reads, by name (any
// order; the files' other columns are ignored). Described by INSEE's
// "Description des fichiers de stock" of the Base Sirene.
var (
	unitRequired = []string{"siren", "statutDiffusionUniteLegale", "etatAdministratifUniteLegale",
		"categorieEntreprise", "trancheEffectifsUniteLegale", "activitePrincipaleUniteLegale",
		"denominationUniteLegale", "nomUniteLegale", "categorieJuridiqueUniteLegale", "nicSiegeUniteLegale"}
	unitOptional = []string{"anneeCategorieEntreprise", "nomUsageUniteLegale", "prenomUsuelUniteLegale", "prenom1UniteLegale"}

	establishmentRequired = []string{"siren", "siret", "statutDiffusionEtablissement", "etablissementSiege",
		"etatAdministratifEtablissement", "activitePrincipaleEtablissement", "codePostalEtablissement",
		"codeCommuneEtablissement", "libelleCommuneEtablissement", "libelleVoieEtablissement"}
	establishmentOptional = []string{"numeroVoieEtablissement", "indiceRepetitionEtablissement", "typeVoieEtablissement",
		"trancheEffectifsEtablissement"}
)

var unitCols = []string{"n", "siren", "diffusion", "individual", "name", "category", "category_year", "headcount_band",
	"naf_code", "legal_form", "active", "head_nic", "digest"}

var establishmentCols = []string{"n", "siret", "siren", "diffusion", "head", "naf_code", "headcount_band", "address",
	"postcode", "commune_code", "city", "departement", "active", "digest"}

// stock is one of INSEE's stock files as the import reads it: the table
// it fills, its temporary table, its key, the staged columns (n first:
// the line), the columns it reads and how a line becomes a row.
type stock struct {
	table, stage, key  string
	cols               []string
	required, optional []string
	read               func(t *table, w *copyWriter, rep *Report) error
}

var (
	unitStock = stock{table: "sirene_units", stage: "su", key: "siren", cols: unitCols,
		required: unitRequired, optional: unitOptional, read: readUnits}
	establishmentStock = stock{table: "sirene_establishments", stage: "se", key: "siret", cols: establishmentCols,
		required: establishmentRequired, optional: establishmentOptional, read: readEstablishments}
)

// Rejection reasons (the report's keys).
const (
	RejectSIREN = "siren invalide"
	RejectSIRET = "siret invalide"
)

// ImportSirene replaces the SIRENE register by the two stock files, in one
// transaction: units then establishments are streamed into temporary
// tables, each key kept once (the last line of a duplicated key wins),
// then merged; units and establishments no longer in the files are
// removed.
func ImportSirene(ctx context.Context, db *pgxpool.Pool, units, establishments Source, p Progress) (Report, error) {
	if p == nil {
		p = noProgress{}
	}
	return record(ctx, db, "sirene", units.Name+" "+establishments.Name, func() (Report, error) {
		rep := Report{}
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockSirene); err != nil {
				return err
			}
			if err := bulkSettings(ctx, tx); err != nil {
				return err
			}
			for _, f := range []struct {
				stock
				src  Source
				kept *int64
			}{{unitStock, units, &rep.Units}, {establishmentStock, establishments, &rep.Establishments}} {
				n, err := stage(ctx, tx, f.stock, f.src, p, &rep)
				if err != nil {
					return err
				}
				*f.kept = n
			}
			for _, f := range []stock{unitStock, establishmentStock} {
				w, rm, err := merge(ctx, tx, f.table, f.stage, f.key, f.cols[1:])
				if err != nil {
					return err
				}
				rep.Written += w
				rep.Removed += rm
			}
			rep.Unchanged = rep.Units + rep.Establishments - rep.Written
			if rep.Written == 0 && rep.Removed == 0 {
				return nil // nothing changed: what is derived from the registers stands
			}
			return refreshDerived(ctx, tx)
		})
		return rep, err
	})
}

// stage creates the stock's temporary table, copies the rows the reader
// gives into it, keeps the last of each key, and returns how many
// distinct keys it holds.
func stage(ctx context.Context, tx pgx.Tx, f stock, src Source, p Progress, rep *Report) (int64, error) {
	if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TEMP TABLE %s_all ON COMMIT DROP AS SELECT 0::bigint AS n, * FROM %s WITH NO DATA`, f.stage, f.table)); err != nil {
		return 0, err
	}
	rc, size, err := src.open(ctx, ".csv")
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	p.Start(src.Name, size)
	defer p.Done()
	copied, err := copyRows(ctx, tx, f.stage+"_all", f.cols, func(w *copyWriter) error {
		t, err := newTable(src.Name, counting{r: rc, p: p}, p, f.required, f.optional)
		if err != nil {
			return err
		}
		return f.read(t, w, rep)
	})
	if err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TEMP TABLE %[1]s ON COMMIT DROP AS
		SELECT DISTINCT ON (%[2]s) * FROM %[1]s_all ORDER BY %[2]s, n DESC`, f.stage, f.key))
	if err != nil {
		return 0, err
	}
	kept := tag.RowsAffected()
	rep.Duplicates += copied - kept
	if _, err := tx.Exec(ctx, fmt.Sprintf(`DROP TABLE %[1]s_all; ANALYZE %[1]s`, f.stage)); err != nil {
		return 0, err
	}
	return kept, nil
}

// merge writes the staged rows whose digest differs from the register's
// and removes the register's rows the stage lacks. The changed rows are
// set apart first, so no statement reads the table it writes.
func merge(ctx context.Context, tx pgx.Tx, table, stage, key string, cols []string) (written, removed int64, err error) {
	var set []string
	for _, c := range cols {
		if c != key {
			set = append(set, c+" = EXCLUDED."+c)
		}
	}
	list := strings.Join(cols, ", ")
	if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TEMP TABLE %[2]s_changed ON COMMIT DROP AS SELECT s.* FROM %[2]s s
		WHERE NOT EXISTS (SELECT 1 FROM %[1]s t WHERE t.%[3]s = s.%[3]s AND t.digest = s.digest)`, table, stage, key)); err != nil {
		return 0, 0, fmt.Errorf("registers: changes to %s: %w", table, err)
	}
	tag, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %[1]s (%[3]s) SELECT %[3]s FROM %[2]s_changed
		ON CONFLICT (%[4]s) DO UPDATE SET %[5]s`, table, stage, list, key, strings.Join(set, ", ")))
	if err != nil {
		return 0, 0, fmt.Errorf("registers: merge %s: %w", table, err)
	}
	written = tag.RowsAffected()
	tag, err = tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %[1]s t WHERE NOT EXISTS (SELECT 1 FROM %[2]s s WHERE s.%[3]s = t.%[3]s)`, table, stage, key))
	if err != nil {
		return 0, 0, fmt.Errorf("registers: remove from %s: %w", table, err)
	}
	return written, tag.RowsAffected(), nil
}

// each calls fn for every record of t, counted read.
func (t *table) each(rep *Report, fn func()) error {
	for {
		err := t.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rep.Read++
		fn()
	}
}

// stageRow writes a staged row: its line, its fields and their digest.
func stageRow(w *copyWriter, n int64, fields []string) {
	w.field(strconv.FormatInt(n, 10))
	for _, f := range fields {
		w.field(f)
	}
	w.field(strconv.FormatInt(digest(fields...), 10))
	w.end()
}

func readUnits(t *table, w *copyWriter, rep *Report) error {
	return t.each(rep, func() {
		siren := t.get("siren")
		if len(siren) != 9 || !taxonomy.ValidSIREN(siren) {
			rep.reject(RejectSIREN)
			return
		}
		diffusion := t.get("statutDiffusionUniteLegale")
		if diffusion != "P" {
			diffusion = "O"
		}
		legal := t.get("categorieJuridiqueUniteLegale")
		denomination := t.get("denominationUniteLegale")
		individual := legal == "1000" || (denomination == "" && t.get("nomUniteLegale") != "")
		name := denomination
		if individual {
			last := t.get("nomUsageUniteLegale")
			if last == "" {
				last = t.get("nomUniteLegale")
			}
			first := t.get("prenomUsuelUniteLegale")
			if first == "" {
				first = t.get("prenom1UniteLegale")
			}
			name = strings.TrimSpace(first + " " + last)
		}
		category := t.get("categorieEntreprise")
		if category != "PME" && category != "ETI" && category != "GE" {
			category = ""
		}
		year := null
		if y, err := strconv.Atoi(t.get("anneeCategorieEntreprise")); err == nil && y > 1900 && y < 2200 {
			year = strconv.Itoa(y)
		}
		band := t.get("trancheEffectifsUniteLegale")
		if band == "NN" {
			band = ""
		}
		active := boolText(t.get("etatAdministratifUniteLegale") != "C")
		stageRow(w, rep.Read, []string{siren, diffusion, boolText(individual), name, category, year, band,
			t.get("activitePrincipaleUniteLegale"), legal, active, t.get("nicSiegeUniteLegale")})
	})
}

func readEstablishments(t *table, w *copyWriter, rep *Report) error {
	return t.each(rep, func() {
		siret, siren := t.get("siret"), t.get("siren")
		if len(siret) != 14 || !strings.HasPrefix(siret, siren) || !taxonomy.ValidSIRET(siret) {
			rep.reject(RejectSIRET)
			return
		}
		diffusion := t.get("statutDiffusionEtablissement")
		if diffusion != "P" {
			diffusion = "O"
		}
		var street []string
		for _, c := range []string{"numeroVoieEtablissement", "indiceRepetitionEtablissement", "typeVoieEtablissement", "libelleVoieEtablissement"} {
			if v := t.get(c); v != "" {
				street = append(street, v)
			}
		}
		band := t.get("trancheEffectifsEtablissement")
		if band == "NN" {
			band = ""
		}
		commune := t.get("codeCommuneEtablissement")
		stageRow(w, rep.Read, []string{siret, siren, diffusion, boolText(t.get("etablissementSiege") == "true"),
			t.get("activitePrincipaleEtablissement"), band, strings.Join(street, " "), t.get("codePostalEtablissement"),
			commune, t.get("libelleCommuneEtablissement"), departementOfCommune(commune),
			boolText(t.get("etatAdministratifEtablissement") != "F")})
	})
}

func boolText(b bool) string {
	if b {
		return "t"
	}
	return "f"
}
