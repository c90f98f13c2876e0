package registers_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/registers"
	"passerelle/internal/registers/registerstest"
)

func stockFile(t *testing.T, header []string, rows []map[string]string) []byte {
	return registerstest.File(t, header, rows)
}

func fixture(t *testing.T) (units, estabs []map[string]string) {
	units, estabs, _ = registerstest.Rows(t)
	return units, estabs
}

func importSirene(t *testing.T, db *pgxpool.Pool, units, estabs []byte) (registers.Report, error) {
	return registers.ImportSirene(context.Background(), db, registers.Source{Name: "StockUniteLegale_utf8.csv", Data: units},
		registers.Source{Name: "StockEtablissement_utf8.csv", Data: estabs}, nil)
}

func count(t *testing.T, db *pgxpool.Pool, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSireneImport(t *testing.T) {
	db := pgtest.Pool(t)
	units, estabs := fixture(t)
	// Columns in the published order, then in another: both read the same.
	uh, eh := registers.UnitHeader(), registers.EstablishmentHeader()
	rep, err := importSirene(t, db, stockFile(t, uh, units), stockFile(t, eh, estabs))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Units != 5 || rep.Establishments != 5 || rep.Written != 10 || rep.Read != 10 {
		t.Errorf("report %s", rep.JSON())
	}
	type unit struct {
		Diffusion, Name, Category, Band string
		Individual, Active              bool
	}
	read := func() map[string]unit {
		out := map[string]unit{}
		rows, err := db.Query(context.Background(), `SELECT siren, diffusion, name, category, headcount_band, individual, active FROM sirene_units`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			var u unit
			if err := rows.Scan(&s, &u.Diffusion, &u.Name, &u.Category, &u.Band, &u.Individual, &u.Active); err != nil {
				t.Fatal(err)
			}
			out[s] = u
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		return out
	}
	got := read()
	want := []unit{{"O", "ALPHA TRAVAUX", "PME", "12", false, true}, {"O", "GROUPE OMEGA", "GE", "53", false, true},
		{"O", "ANCIENNE SARL", "PME", "", false, false}, {"P", "", "PME", "", true, true}, {"O", "CLAIRE MARTIN", "PME", "", true, true}}
	for i, u := range units {
		if got[u["siren"]] != want[i] {
			t.Errorf("%s: %+v, want %+v", u["siren"], got[u["siren"]], want[i])
		}
	}
	var addr, dep string
	pgtest.Scan(t, db.QueryRow(context.Background(), `SELECT address, departement FROM sirene_establishments WHERE siret = $1`, estabs[3]["siret"]), &addr, &dep)
	if addr != "" || dep == "" {
		t.Errorf("a partially diffusible establishment: address %q (withheld by INSEE), département %q", addr, dep)
	}

	// Reversed columns, same rows: nothing to write.
	rev := func(h []string) []string {
		out := append([]string(nil), h...)
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	rep, err = importSirene(t, db, stockFile(t, rev(uh), units), stockFile(t, rev(eh), estabs))
	if err != nil || rep.Written != 0 || rep.Unchanged != 10 || rep.Removed != 0 {
		t.Errorf("re-import in another column order: %s, %v", rep.JSON(), err)
	}

	// One unit changes category, one line has a bad SIREN, one SIRET twice
	// (the last line wins), one establishment leaves the file.
	units[0]["categorieEntreprise"] = "ETI"
	bad := map[string]string{"siren": "123456789", "statutDiffusionUniteLegale": "O"}
	dup := map[string]string{}
	for k, v := range estabs[1] {
		dup[k] = v
	}
	dup["activitePrincipaleEtablissement"] = "62.01Z"
	badSiret := map[string]string{}
	for k, v := range estabs[0] {
		badSiret[k] = v
	}
	badSiret["siret"] = badSiret["siret"][:13] + string('0'+(badSiret["siret"][13]-'0'+1)%10) // the Luhn digit broken
	rep, err = importSirene(t, db, stockFile(t, uh, append(append([]map[string]string{}, units...), bad)),
		stockFile(t, eh, append(append([]map[string]string{}, estabs[:4]...), dup, badSiret)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Written != 2 || rep.Removed != 1 || rep.Duplicates != 1 || rep.Rejected[registers.RejectSIREN] != 1 ||
		rep.Rejected[registers.RejectSIRET] != 1 || rep.Unchanged != 7 {
		t.Errorf("report %s", rep.JSON())
	}
	if got := read()[units[0]["siren"]].Category; got != "ETI" {
		t.Errorf("category %q after the change", got)
	}
	if n := count(t, db, `SELECT count(*) FROM sirene_establishments WHERE naf_code = '62.01Z'`); n != 1 {
		t.Errorf("the last line of a duplicated SIRET was not kept")
	}
}

// A file the import cannot read stops it and leaves the register whole.
func TestBadSireneFilesWriteNothing(t *testing.T) {
	db := pgtest.Pool(t)
	units, estabs := fixture(t)
	uh, eh := registers.UnitHeader(), registers.EstablishmentHeader()
	goodU, goodE := stockFile(t, uh, units), stockFile(t, eh, estabs)
	if _, err := importSirene(t, db, goodU, goodE); err != nil {
		t.Fatal(err)
	}
	withoutCol := func(h []string, col string) []string {
		var out []string
		for _, c := range h {
			if c != col {
				out = append(out, c)
			}
		}
		return out
	}
	latin1 := bytes.ReplaceAll(stockFile(t, uh, units), []byte("ALPHA"), []byte("\xc9LAN"))
	brokenQuote := bytes.Replace(goodE, []byte(",true,"), []byte(`,"tr"ue,`), 1)
	for _, c := range []struct {
		name        string
		units, etab []byte
		want        string
	}{
		{"a missing column", stockFile(t, withoutCol(uh, "categorieEntreprise"), units), goodE, `required column "categorieEntreprise" missing`},
		{"a missing column of establishments", goodU, stockFile(t, withoutCol(eh, "siret"), estabs), `required column "siret" missing`},
		{"a truncated file", goodU, goodE[:len(goodE)-40], "a truncated or damaged file"},
		{"a broken quote", goodU, brokenQuote, "broken quote"},
		{"Latin-1", latin1, goodE, "not UTF-8"},
		{"an empty file", []byte{}, goodE, "empty file"},
		{"a zip holding something else", zipOf(t, "notice.pdf", []byte("%PDF")), goodE, "must hold exactly one .csv"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := importSirene(t, db, c.units, c.etab)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if n := count(t, db, `SELECT count(*) FROM sirene_units`) + count(t, db, `SELECT count(*) FROM sirene_establishments`); n != 10 {
				t.Errorf("%d rows after a failed import, 10 before", n)
			}
		})
	}
	// Zipped, as INSEE publishes them.
	rep, err := importSirene(t, db, zipOf(t, "StockUniteLegale_utf8.csv", goodU), zipOf(t, "StockEtablissement_utf8.csv", goodE))
	if err != nil || rep.Unchanged != 10 {
		t.Errorf("zipped: %s, %v", rep.JSON(), err)
	}
}

// cancelAfter cancels the import once enough bytes were read: a run
// killed in the middle.
type cancelAfter struct {
	cancel func()
	bytes  int64
	limit  int64
}

func (c *cancelAfter) Start(string, int64) {}
func (c *cancelAfter) Done()               {}
func (c *cancelAfter) Add(b, _ int64) {
	if c.bytes += b; c.bytes > c.limit {
		c.cancel()
	}
}

// A run stopped in the middle leaves the previous register whole, and the
// next run completes.
func TestKilledImportLeavesThePreviousData(t *testing.T) {
	db := pgtest.Pool(t)
	units, estabs, _, err := registers.Sample()
	if err != nil {
		t.Fatal(err)
	}
	first, err := registers.ImportSirene(context.Background(), db, units, estabs, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := count(t, db, `SELECT count(*) FROM sirene_establishments`)
	// The next file: the same minus its last tenth, read until half.
	short := registers.Source{Name: "short.csv", Data: estabs.Data[:bytes.LastIndexByte(estabs.Data[:len(estabs.Data)*9/10], '\n')+1]}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = registers.ImportSirene(ctx, db, units, short, &cancelAfter{cancel: cancel, limit: int64(len(units.Data)) + int64(len(short.Data))/2})
	if err == nil {
		t.Fatal("a cancelled import succeeded")
	}
	if n := count(t, db, `SELECT count(*) FROM sirene_establishments`); n != before {
		t.Errorf("%d establishments after a killed run, %d before", n, before)
	}
	rep, err := registers.ImportSirene(context.Background(), db, units, short, nil)
	if err != nil || rep.Removed == 0 || rep.Written != 0 {
		t.Errorf("the next run: %s, %v", rep.JSON(), err)
	}
	if first.Establishments != int64(before) || before < 8000 {
		t.Errorf("sample: %s", first.JSON())
	}
}
