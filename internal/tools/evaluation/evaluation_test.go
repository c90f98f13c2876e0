package evaluation_test

import (
	"context"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/matching"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/evaluation"
	"passerelle/internal/tools/importer"
)

// history is the first n contracts of the real DECP history the repository ships.
func history(t *testing.T, n int) ([]importer.Contract, []importer.Supplier) {
	t.Helper()
	root, err := pgtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "internal/platform/refdata/data/decp_history.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := importer.ReadContracts(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(filepath.Join(root, "internal/platform/refdata/data/sirene_etablissements_decp_suppliers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	dir, err := importer.ReadSuppliers(g)
	if err != nil {
		t.Fatal(err)
	}
	return all[:min(n, len(all))], dir[:200]
}

// hierarchyByHand is the hierarchical popularity of a winner for a query,
// computed from the contracts themselves (not from the database).
func hierarchyByHand(hist []importer.Contract, q importer.Contract, siren string) float64 {
	var at, atDep [6]int
	same := 0
	for _, c := range hist {
		if c.BuyerSIRET == q.BuyerSIRET && strings.EqualFold(c.Object, q.Object) && c.CPV == q.CPV &&
			strings.Join(c.Winners, ",") == strings.Join(q.Winners, ",") {
			continue // left out: the query and its re-publications
		}
		won := false
		for _, w := range c.Winners {
			won = won || w == siren
		}
		if !won {
			continue
		}
		lvl := matching.Level(c.CPV, q.CPV)
		for l := matching.LevelDivision; l <= lvl; l++ {
			at[l]++
			if c.Departement != "" && c.Departement == q.Departement {
				atDep[l]++
			}
		}
		if len(c.BuyerSIRET) >= 9 && len(q.BuyerSIRET) >= 9 && c.BuyerSIRET[:9] == q.BuyerSIRET[:9] {
			same++
		}
	}
	s := float64(same)
	for l := matching.LevelDivision; l <= matching.LevelExact; l++ {
		s += math.Log1p(float64(at[l])) + math.Log1p(float64(atDep[l]))
	}
	return s
}

// The evidence the service reads from PostgreSQL agrees with the same
// figures computed from the contracts by hand, and leaving a contract out
// leaves nothing of it behind: a winner with no other contract has no
// past contract at all while its one contract is the query.
func TestEvidenceAgreesWithTheContractsAndLeavesTheQueryOut(t *testing.T) {
	ctx := context.Background()
	pool, tax, hist, queries := loaded(t, 400)
	svc := matching.NewService(pool, tax)
	svc.EvalExhaustive = true
	sirenOf := map[int64]string{}
	for _, id := range pgtest.Rows[int64](t, pool, `SELECT id FROM organisations`) {
		var s string
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT siren FROM organisations WHERE id = $1`, id), &s)
		sirenOf[id] = s
	}
	var warm, cold int
	for _, q := range queries[:120] {
		ev, err := svc.Evidence(ctx, q.Request)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ev {
			want := hierarchyByHand(hist, q.Contract, sirenOf[e.OrgID])
			if got := evaluation.Hierarchy(e); math.Abs(got-want) > 1e-9 && e.SameBuyer+e.RefsAt[1] > 0 {
				t.Fatalf("query %s, SME %s: hierarchy %.4f from the database, %.4f by hand", q.Contract.UID, sirenOf[e.OrgID], got, want)
			}
		}
		if q.Warm {
			warm++
		} else {
			cold++
		}
		for _, w := range q.Winners {
			for _, e := range ev {
				if e.OrgID == w && !q.Warm && (e.RefsAt != [6]int{} || e.SameBuyer != 0 || e.References != 0) {
					t.Fatalf("query %s left out, yet its only winner %s has evidence %+v", q.Contract.UID, sirenOf[w], e)
				}
			}
		}
	}
	if warm == 0 || cold == 0 {
		t.Fatalf("the sample has %d warm and %d cold queries: the test says little", warm, cold)
	}
}

// loaded is a fresh database holding the first n contracts of the
// history and the directory, loaded as the evaluation loads them, with
// their leave-one-out queries.
func loaded(t *testing.T, n int) (*pgxpool.Pool, *taxonomy.Taxonomy, []importer.Contract, []evaluation.Query) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	tax := taxonomy.MustLoad()
	hist, dir := history(t, n)
	o := evaluation.Options{History: hist, Directory: dir}
	st, err := evaluation.Load(ctx, pool, tax, o)
	if err != nil {
		t.Fatal(err)
	}
	if st.References == 0 || st.Organisations == 0 {
		t.Fatalf("nothing loaded: %+v", st)
	}
	queries, err := evaluation.Prepare(ctx, pool, tax, o)
	if err != nil {
		t.Fatal(err)
	}
	return pool, tax, hist, queries
}

// The report's measures on a hand-made list of ranks.
func TestMeasure(t *testing.T) {
	queries := []evaluation.Query{{Winners: []int64{1}, Warm: true}, {Winners: []int64{2}}, {Winners: []int64{3}, Warm: true}, {}}
	ranks := []evaluation.Ranks{
		{ByIndex: [4]int{1, 2, 0, 0}, Top10: []int64{1}},
		{ByIndex: [4]int{5, 0, 0, 0}, Top10: []int64{9, 9, 9, 9, 2}},
		{ByIndex: [4]int{0, 0, 0, 0}},
		{ByIndex: [4]int{1, 1, 1, 1}, Top10: []int64{7}}, // its winner was never loaded: not counted
	}
	rep := evaluation.Measure(queries, ranks, map[int64]bool{1: true})
	if rep.Matcher.All.N != 3 || rep.Matcher.Warm.N != 2 {
		t.Fatalf("n: all %d warm %d", rep.Matcher.All.N, rep.Matcher.Warm.N)
	}
	if got, want := rep.Matcher.All.MRR, (1+0.2)/3; math.Abs(got-want) > 1e-9 {
		t.Errorf("MRR %.4f, want %.4f", got, want)
	}
	if rep.Matcher.Warm.R1 != 0.5 || rep.Matcher.All.R10 != 2.0/3 || rep.Popularity.All.R1 != 0 {
		t.Errorf("recall: %+v %+v", rep.Matcher, rep.Popularity)
	}
	if rep.LongTail != 0.5 { // two hits, one of a top-100 winner
		t.Errorf("long tail %.2f, want 0.5", rep.LongTail)
	}
}

// The platform's bounded read (contracts of the group counted in SQL, the
// département's read apart, candidates searched at once) gives every SME
// it finds the same counts from the group down, the same département
// counts at every level and the same buyer figures as the exhaustive read
// the baselines use; and it finds every SME with a contract in the
// request's class (fewer than the bound here).
func TestPlatformEvidenceAgreesWithTheExhaustiveRead(t *testing.T) {
	ctx := context.Background()
	pool, tax, _, queries := loaded(t, 400)
	full := matching.NewService(pool, tax)
	full.EvalExhaustive = true
	platform := full.Platform(matching.DefaultWeights())
	compared := 0
	for _, q := range queries[:120] {
		all, err := full.Evidence(ctx, q.Request)
		if err != nil {
			t.Fatal(err)
		}
		mine, err := platform.Evidence(ctx, q.Request)
		if err != nil {
			t.Fatal(err)
		}
		found := map[int64]matching.Evidence{}
		for _, e := range mine {
			found[e.OrgID] = e
		}
		for _, want := range all {
			got, ok := found[want.OrgID]
			if !ok {
				if want.RefsAt[matching.LevelClass] > 0 {
					t.Fatalf("query %s: SME %d has %d contracts in the class, yet the platform does not find it", q.Contract.UID, want.OrgID, want.RefsAt[matching.LevelClass])
				}
				continue
			}
			compared++
			if got.RefsAtDep != want.RefsAtDep || got.SameBuyer != want.SameBuyer || got.SameBuyerDiv != want.SameBuyerDiv ||
				got.NAF != want.NAF || got.AffinityGroup != want.AffinityGroup {
				t.Fatalf("query %s, SME %d: platform %+v, exhaustive %+v", q.Contract.UID, want.OrgID, got, want)
			}
			if got.RefsAt[matching.LevelGroup] > 0 && !slices.Equal(got.RefsAt[matching.LevelGroup:], want.RefsAt[matching.LevelGroup:]) {
				t.Fatalf("query %s, SME %d: counts from the group %v, exhaustive %v", q.Contract.UID, want.OrgID, got.RefsAt, want.RefsAt)
			}
		}
	}
	if compared < 100 {
		t.Fatalf("only %d SMEs compared: the test says little", compared)
	}
}

// TestBatchScoresAsEvidenceAmong: the recompute's batch (a few SMEs read
// once, scored for many requests in memory) gives each SME of each of 150
// real DECP contracts, taken as requests, the score, evidence and reasons
// the platform's own searches give it when they look at the batch alone
// (Request.Among): the SMEs the platform ranks first for these requests,
// some of every rank, and SMEs with no tie to them.
func TestBatchScoresAsEvidenceAmong(t *testing.T) {
	ctx := context.Background()
	pool, tax, _, queries := loaded(t, 400)
	platform := matching.NewService(pool, tax)
	var reqs []matching.Request
	var years []int
	batch := map[int64]bool{}
	for i, q := range queries[:min(150, len(queries))] {
		r := q.Request
		r.EvalExclude = nil
		ranked, err := platform.Rank(ctx, r, 2024, 40)
		if err != nil {
			t.Fatal(err)
		}
		for k, x := range ranked {
			if k < 2 || (k+i)%9 == 0 {
				batch[x.OrgID] = true
			}
		}
		reqs, years = append(reqs, r), append(years, 2024)
	}
	var strangers []int64
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT array_agg(id) FROM (SELECT id FROM organisations WHERE id <> ALL($1) ORDER BY id DESC LIMIT 20) x`,
		slices.Collect(maps.Keys(batch))), &strangers)
	for _, id := range strangers {
		batch[id] = true
	}
	orgs := slices.Sorted(maps.Keys(batch))
	b, err := platform.Prepare(ctx, orgs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Score(ctx, reqs, years, len(orgs))
	if err != nil {
		t.Fatal(err)
	}
	compared, worded, buyers := 0, 0, 0
	for i, r := range reqs {
		r.Among = orgs
		want, err := platform.Rank(ctx, r, years[i], len(orgs))
		if err != nil {
			t.Fatal(err)
		}
		if len(got[i]) != len(want) {
			t.Fatalf("request %d (%q): the batch ranks %d SMEs, the searches among them %d", i, r.Text, len(got[i]), len(want))
		}
		for k := range want {
			g, w := got[i][k], want[k]
			if g.OrgID != w.OrgID || g.Score != w.Score || !reflect.DeepEqual(g.Evidence, w.Evidence) || !reflect.DeepEqual(g.Facts, w.Facts) {
				t.Fatalf("request %d (%q), place %d:\n batch    %+v\n searches %+v", i, r.Text, k+1, g, w)
			}
			compared++
			if w.Text > 0 {
				worded++
			}
			if w.SameBuyer > 0 {
				buyers++
			}
		}
	}
	t.Logf("%d SMEs in the batch, %d requests, %d scores compared (%d with words, %d with the same buyer)", len(orgs), len(reqs), compared, worded, buyers)
	if compared < 500 || worded < 50 || buyers < 5 {
		t.Fatalf("%d scores compared, %d with words, %d with the same buyer: the test says little", compared, worded, buyers)
	}
}
