package evaluation_test

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"passerelle/internal/matching"
	"passerelle/internal/platform/postgres/pgtest"
)

// TestRankingFromMemoryEqualsSQL: a ranking whose group counts and
// candidates' trade come from memory (matching.Memory) equals the one the
// SQL searches give, for 150 real DECP contracts taken as requests, with
// a limit on the group's SMEs small enough to cut (which ones are kept
// must agree too) — and again after past contracts are added, moved and
// deleted, an SME suspended and another's trade changed, which the memory
// reads from the change log before ranking.
func TestRankingFromMemoryEqualsSQL(t *testing.T) {
	ctx := context.Background()
	pool, tax, _, queries := loaded(t, 400)
	sql := matching.NewService(pool, tax)
	mem := matching.NewService(pool, tax)
	var used atomic.Int64
	mem.Trace = func(step string, _ time.Duration) {
		if step == "memory: caught up" {
			used.Add(1)
		}
	}
	for _, s := range []*matching.Service{sql, mem} {
		s.ReferenceCandidates = 15
	}
	if err := mem.KeepInMemory(ctx); err != nil {
		t.Fatal(err)
	}
	compare := func(when string) (compared int) {
		t.Helper()
		for i, q := range queries[:min(150, len(queries))] {
			r := q.Request
			r.EvalExclude = nil
			want, err := sql.Rank(ctx, r, 2024, 100)
			if err != nil {
				t.Fatal(err)
			}
			got, err := mem.Rank(ctx, r, 2024, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s: request %d (%v): %d ranked from memory, %d from SQL", when, i, r.CPV, len(got), len(want))
			}
			for k := range want {
				g, w := got[k], want[k]
				if g.OrgID != w.OrgID || g.Score != w.Score || !reflect.DeepEqual(g.Evidence, w.Evidence) || !reflect.DeepEqual(g.Facts, w.Facts) {
					t.Fatalf("%s: request %d (%v), place %d:\n memory %+v\n SQL    %+v", when, i, r.CPV, k+1, g, w)
				}
				compared++
			}
		}
		return compared
	}
	before := used.Load()
	if n := compare("loaded"); n < 2000 {
		t.Fatalf("%d places compared: the test says little", n)
	}
	if used.Load()-before < 150 {
		t.Fatalf("the memory served %d rankings of 150", used.Load()-before)
	}
	// The SMEs ranked first for the first requests change.
	var first []int64
	for _, q := range queries[:20] {
		r := q.Request
		r.EvalExclude = nil
		ranked, err := sql.Rank(ctx, r, 2024, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ranked {
			first = append(first, x.OrgID)
		}
	}
	if len(first) < 10 {
		t.Fatalf("%d SMEs ranked first", len(first))
	}
	for _, c := range []struct {
		sql  string
		args []any
	}{
		// the first SME's contracts given to the second, twice over
		{`INSERT INTO org_references (organisation_id, client, object, cpv_code, amount_eur, year, departement, client_siret, source, source_uid)
			SELECT $2, client, object, cpv_code, amount_eur, year, departement, client_siret, source, source_uid || '-copy' || n
			FROM org_references, generate_series(1, 2) n WHERE organisation_id = $1`, []any{first[0], first[1]}},
		{`UPDATE org_references SET year = year + 1 WHERE organisation_id = $1`, []any{first[2]}},
		{`DELETE FROM org_references WHERE organisation_id = $1`, []any{first[3]}},
		{`UPDATE organisations SET status = 'suspended' WHERE id = $1`, []any{first[4]}},
		{`UPDATE organisations SET naf_code = '43.22A', departement = '2A' WHERE id = $1`, []any{first[5]}},
	} {
		if _, err := pool.Exec(ctx, c.sql, c.args...); err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		compare(c.sql)
	}
	var logged int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM evidence_log`), &logged)
	if logged < 5 {
		t.Fatalf("%d SMEs in the change log", logged)
	}
}
