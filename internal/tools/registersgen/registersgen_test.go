package registersgen_test

import (
	"context"
	"testing"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/registers"
	"passerelle/internal/tools/registersgen"
)

// The generated files import whole in the official layouts; the same seed
// writes nothing the second time; with 5 % changed, about 5 % is written.
func TestGeneratedRegistersImport(t *testing.T) {
	db := pgtest.Pool(t)
	ctx := context.Background()
	o := registersgen.Options{Units: 2000, Establishments: 4000, Contracts: 3000, Buyers: 50, Seed: 7}
	run := func(o registersgen.Options) (registers.Report, registers.Report) {
		f, err := registersgen.Write(t.TempDir(), o)
		if err != nil {
			t.Fatal(err)
		}
		s, err := registers.ImportSirene(ctx, db, registers.FileSource(f.Units), registers.FileSource(f.Establishments), nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := registers.ImportDECP(ctx, db, registers.FileSource(f.DECP), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s, d
	}
	s, d := run(o)
	if s.Units != 2000 || s.Establishments != 4000 || s.RejectedTotal() != 0 || d.Contracts != 3000 || d.Duplicates == 0 || d.RejectedTotal() != 0 {
		t.Fatalf("first import: %s %s", s.JSON(), d.JSON())
	}
	if s, d := run(o); s.Written != 0 || d.Written != 0 {
		t.Errorf("same files again: %s %s", s.JSON(), d.JSON())
	}
	o.Changed = 0.05
	s, d = run(o)
	if s.Written < 150 || s.Written > 450 || d.Written < 100 || d.Written > 200 || s.Removed != 0 {
		t.Errorf("5 %% changed: %s %s", s.JSON(), d.JSON())
	}
	var pme float64
	pgtest.Scan(t, db.QueryRow(ctx, `SELECT sum(contracts) FILTER (WHERE category = 'PME') / sum(contracts) FROM public_buyer_shares`), &pme)
	if pme < 0.5 || pme > 0.95 {
		t.Errorf("PME share of the generated contracts %.2f", pme)
	}
}
