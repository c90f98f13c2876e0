package registers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/registers"
	"passerelle/internal/registers/registerstest"
)

// The daily imports read the folder of SIRENE_DIR (zipped files, as INSEE
// publishes them) and the URL of DECP_URL; two servers started at once
// run each import once.
func TestDailyImportJobs(t *testing.T) {
	db := pgtest.Pool(t)
	ctx := context.Background()
	dir := t.TempDir()
	units, estabs, _ := registerstest.Rows(t)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("StockUniteLegale_utf8.zip", zipOf(t, "StockUniteLegale_utf8.csv", registerstest.File(t, registers.UnitHeader(), units)))
	write("StockEtablissement_utf8.zip", zipOf(t, "StockEtablissement_utf8.csv", registerstest.File(t, registers.EstablishmentHeader(), estabs)))
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/decp.json" {
			http.NotFound(w, r)
			return
		}
		w.Write(refdata.DECPOfficial)
	}))
	defer web.Close()

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		reg := jobs.NewRegistry()
		registers.Register(reg, db, registers.Config{SireneDir: dir, DECPURL: web.URL + "/decp.json"}, log)
		q, err := jobs.New(db, reg, log, jobs.Options{Poll: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		qctx, cancel := context.WithCancel(ctx)
		if err := q.Start(qctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, done := context.WithTimeout(context.Background(), 10*time.Second)
			defer done()
			q.Stop(stop)
			cancel()
		})
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var sirene, decp, failed int
		pgtest.Scan(t, db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE register = 'sirene' AND ok), count(*) FILTER (WHERE register = 'decp' AND ok),
			count(*) FILTER (WHERE NOT ok) FROM register_imports`), &sirene, &decp, &failed)
		if failed > 0 {
			runs, _ := registers.Latest(ctx, db)
			t.Fatalf("a daily import failed: %+v", runs)
		}
		if sirene >= 1 && decp >= 1 {
			time.Sleep(time.Second) // a second run would have started by now
			pgtest.Scan(t, db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE register = 'sirene'), count(*) FILTER (WHERE register = 'decp') FROM register_imports`), &sirene, &decp)
			if sirene != 1 || decp != 1 {
				t.Errorf("two servers ran %d SIRENE and %d DECP imports, want one each", sirene, decp)
			}
			if n := count(t, db, `SELECT count(*) FROM river_job WHERE kind IN ('registers.import_sirene', 'registers.import_decp')`); n != 2 {
				t.Errorf("%d import jobs queued by two servers, want 2 (one a day of each)", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daily imports not run: %d SIRENE, %d DECP", sirene, decp)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := count(t, db, `SELECT count(*) FROM sirene_units`); n != 5 {
		t.Errorf("%d units", n)
	}
	if n := count(t, db, `SELECT count(*) FROM decp_contracts`); n < 5000 {
		t.Errorf("%d contracts", n)
	}
}
