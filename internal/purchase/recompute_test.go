package purchase_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/matching"
	"passerelle/internal/member"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/purchase"
	"passerelle/internal/taxonomy"
)

// countingMatcher is the matching service counting its whole rankings and
// its rescorings of a few SMEs.
type countingMatcher struct {
	matching.ForRequests
	ranked, rescored *atomic.Int64
}

func (m countingMatcher) Match(ctx context.Context, tx pgx.Tx, r purchase.Request) ([]purchase.Suggestion, error) {
	m.ranked.Add(1)
	return m.ForRequests.Match(ctx, tx, r)
}

func (m countingMatcher) Rescoring(ctx context.Context, orgs []int64) (purchase.Rescoring, error) {
	r, err := m.ForRequests.Rescoring(ctx, orgs)
	return countingRescoring{r, m.rescored}, err
}

// countingRescoring counts the requests it scores a batch for.
type countingRescoring struct {
	purchase.Rescoring
	rescored *atomic.Int64
}

func (r countingRescoring) Rescore(ctx context.Context, reqs []purchase.Request) ([][]purchase.Suggestion, error) {
	r.rescored.Add(int64(len(reqs)))
	return r.Rescoring.Rescore(ctx, reqs)
}

// rankings are the stored rankings of the requests, one line per SME.
func rankings(t *testing.T, pool *pgxpool.Pool, ids []int64) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT format('%s #%s %s score=%s offer=%s %s', request_id,
			row_number() OVER (PARTITION BY request_id ORDER BY score DESC, organisation_id), organisation_id, score, best_offer_id, reasons)
		FROM request_matches WHERE request_id = ANY($1) AND matched AND ranked ORDER BY request_id, score DESC, organisation_id`, ids)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// winnersOf72 walks the real DECP awards of CPV division 72 with one
// winner of a valid SIREN not already a member of the fixture: the first
// n winners become member SMEs holding their contract as a reference;
// every later award is handed to rest.
func winnersOf72(t *testing.T, f fixture, n int, rest func(a refdata.Award)) {
	t.Helper()
	awards, err := refdata.ReadAwards()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{"007050065": true, "007350200": true, "015650955": true, "552081317": true, "999000002": true}
	smes := 0
	for _, a := range awards {
		if !strings.HasPrefix(a.CPV, "72") || len(a.Winners) != 1 || seen[a.Winners[0]] || !taxonomy.ValidSIREN(a.Winners[0]) || a.Departement == "" || a.Damaged {
			continue
		}
		seen[a.Winners[0]] = true
		if smes == n {
			rest(a)
			continue
		}
		s := addMember(t, f.pool, a.Winners[0], fmt.Sprintf("Titulaire %d", smes+1), "pme", a.Departement)
		if _, err := f.pool.Exec(context.Background(), `INSERT INTO org_references (organisation_id, client, object, cpv_code, year, departement)
			VALUES ($1, $2, $3, $4, $5, $6)`, s.OrgID, a.Buyer, a.Object, a.CPV, max(a.Year, 2015), a.Departement); err != nil {
			t.Fatal(err)
		}
		smes++
	}
}

// openOn opens a request on a real award: its object, code and place.
func openOn(t *testing.T, f fixture, a refdata.Award) int64 {
	t.Helper()
	in := input()
	in.Title, in.Description, in.CPVCodes, in.Departements = a.Object, "Besoin : "+a.Object, []string{a.CPV}, []string{a.Departement}
	return f.open(t, in)
}

// rankedAgain ranks the requests again, every candidate, and returns their
// stored rankings.
func rankedAgain(t *testing.T, f fixture, ids []int64) []string {
	t.Helper()
	for _, id := range ids {
		if err := f.svc.Rerank(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	return rankings(t, f.pool, ids)
}

// TestIncrementalRecomputeEqualsFullRanking: 40 real winners of DECP
// contracts in CPV division 72 hold their contract as a reference; three
// requests open on three of those contracts. Two SMEs gain past contracts
// in the first request's code (one from outside its ranking, one from its
// tail) and another request's first three SMEs lose all of their own
// (and their trade), leaving a full ranking places the merge cannot fill;
// the
// recompute scores the changed SMEs alone and merges them into the stored
// rankings, or ranks a request again when it must — and every open
// request's ranking then equals ranking all its candidates again. Each
// request is a chunk of its own, two worked on at once.
func TestIncrementalRecomputeEqualsFullRanking(t *testing.T) {
	f := setup(t)
	pool := f.pool
	ctx := context.Background()
	m := countingMatcher{ForRequests: matching.ForRequests{Service: matching.NewService(pool, tax), Limit: 8},
		ranked: &atomic.Int64{}, rescored: &atomic.Int64{}}
	f.svc.UseMatcher(m)
	svc := f.svc
	var needs []refdata.Award
	winnersOf72(t, f, 40, func(a refdata.Award) {
		if len(needs) < 2 && len(a.Object) > 20 && len(a.Object) < 140 {
			needs = append(needs, a)
		}
	})
	ids := []int64{f.open(t, input())}
	for _, a := range needs {
		ids = append(ids, openOn(t, f, a))
	}
	rankAll := func() []string { return rankedAgain(t, f, ids) }
	if _, err := pool.Exec(ctx, `DELETE FROM match_changes`); err != nil {
		t.Fatal(err)
	}
	before := rankAll()
	m.ranked.Store(0)

	// The changes, on two requests with a full ranking.
	var full []int64
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT coalesce(array_agg(request_id ORDER BY request_id), '{}') FROM (
		SELECT request_id FROM request_matches WHERE request_id = ANY($1) AND ranked GROUP BY 1 HAVING count(*) = 8) x`, ids), &full)
	if len(full) < 2 {
		t.Fatalf("%d open demo requests with a full ranking of 8, want 2", len(full))
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	gain := func(req, org int64) { // three recent contracts in the request's code and département
		exec(`INSERT INTO org_references (organisation_id, client, object, cpv_code, year, departement)
			SELECT $2, 'Ville de Toulouse', r.title, r.cpv_codes[1], y, coalesce((SELECT substr(f, 5) FROM unnest(r.facets) f WHERE f LIKE 'dep:%' LIMIT 1), '31')
			FROM purchase_requests r, generate_series(2023, 2025) y WHERE r.id = $1`, req, org)
	}
	var outsider, tail int64
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT g.id FROM organisations g WHERE g.kind = 'pme' AND g.status = 'member'
		AND NOT EXISTS (SELECT 1 FROM request_matches m WHERE m.organisation_id = g.id AND m.request_id = $1 AND m.matched)
		ORDER BY g.id LIMIT 1`, full[0]), &outsider)
	gain(full[0], outsider)
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT organisation_id FROM request_matches WHERE request_id = $1 AND ranked
		ORDER BY score, organisation_id DESC LIMIT 1`, full[0]), &tail)
	gain(full[0], tail)
	var tops []int64
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT array_agg(organisation_id) FROM (SELECT organisation_id FROM request_matches WHERE request_id = $1 AND ranked
		ORDER BY score DESC, organisation_id LIMIT 3) x`, full[1]), &tops)
	exec(`DELETE FROM org_references WHERE organisation_id = ANY($1)`, tops)
	exec(`UPDATE organisations SET naf_code = '01.11Z' WHERE id = ANY($1)`, tops) // and their trade is no longer one of the division's

	defer purchase.SetRequestChunk(1)() // each request a chunk, two at once
	n, err := svc.ApplyMatchChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM match_changes`), &left)
	incremental := rankings(t, pool, ids)
	ranked, rescored := m.ranked.Load(), m.rescored.Load()
	t.Logf("%d requests brought up to date: %d by merging rescored SMEs, %d ranked again; %d changes left; %+v", n, rescored-ranked, ranked, left, svc.Recomputed())
	if left != 0 || n != len(ids) || ranked < 1 || ranked >= int64(len(ids)) || rescored != int64(len(ids)) {
		t.Fatalf("%d changes left, %d requests brought up to date, %d ranked again, %d rescorings; want 0, %d, at least the one that lost its first three but not all, %d",
			left, n, ranked, rescored, len(ids), len(ids))
	}
	if slices.Equal(before, incremental) {
		t.Fatal("the changes moved no ranking: the test proves nothing")
	}
	for _, c := range []struct {
		req, org int64
		what     string
	}{{full[0], outsider, "the SME from outside the ranking"}, {full[0], tail, "the SME from the ranking's tail"}} {
		var rank int
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT coalesce((SELECT x.rank FROM (SELECT organisation_id, row_number() OVER (ORDER BY score DESC, organisation_id) AS rank
			FROM request_matches WHERE request_id = $1 AND ranked) x WHERE x.organisation_id = $2), 0)`,
			c.req, c.org), &rank)
		if rank == 0 || (c.org == tail && rank == 8) {
			t.Errorf("%s (%d) did not rise in request %d: rank %d", c.what, c.org, c.req, rank)
		}
	}

	again := rankAll()
	if !slices.Equal(incremental, again) {
		for i := range max(len(incremental), len(again)) {
			a, b := "", ""
			if i < len(incremental) {
				a = incremental[i]
			}
			if i < len(again) {
				b = again[i]
			}
			if a != b {
				t.Errorf("line %d:\n  merged:     %s\n  ranked all: %s", i, a, b)
			}
		}
		t.Fatal(fmt.Sprintf("the merged rankings differ from ranking all again (%d and %d lines)", len(incremental), len(again)))
	}
}

// TestLeasedChangesWaitForTheirLease: changes another server leased (and
// may still be working on, or died with) are left alone until the lease
// is over, then taken; changes made while a pass runs stay for the next.
func TestLeasedChangesWaitForTheirLease(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.svc.UseMatcher(matching.ForRequests{Service: matching.NewService(f.pool, tax), Limit: 8})
	if _, err := f.pool.Exec(ctx, `INSERT INTO org_references (organisation_id, client, object, cpv_code, year, departement)
		VALUES ($1, $2, $3, $4, 2024, $5)`, f.sme.OrgID, award.Buyer, award.Object, award.CPV, award.Departement); err != nil {
		t.Fatal(err)
	}
	id := f.open(t, input())
	if err := f.svc.Rerank(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ApplyMatchChanges(ctx); err != nil {
		t.Fatal(err)
	}
	var org int64
	var first float64
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT organisation_id, score FROM request_matches WHERE request_id = $1 AND ranked
		ORDER BY score DESC, organisation_id LIMIT 1`, id), &org, &first)
	score := func() float64 {
		t.Helper()
		var s float64
		pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT coalesce((SELECT score FROM request_matches WHERE request_id = $1 AND organisation_id = $2 AND ranked), 0)`, id, org), &s)
		return s
	}
	count := func() (all, leased int) {
		t.Helper()
		pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE leased_until > now()) FROM match_changes`), &all, &leased)
		return all, leased
	}
	// Another server leased a change of the first ranked SME: its contract is withdrawn.
	if _, err := f.pool.Exec(ctx, `DELETE FROM org_references WHERE organisation_id = $1`, org); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `UPDATE match_changes SET leased_until = now() + interval '5 minutes'`); err != nil {
		t.Fatal(err)
	}
	all, leased := count()
	if all == 0 || leased != all {
		t.Fatalf("%d changes, %d leased: the test has no leased change", all, leased)
	}
	n, err := f.svc.ApplyMatchChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a, l := count(); n != 0 || a != all || l != leased {
		t.Fatalf("a pass with every change leased elsewhere brought %d requests up to date and left %d changes (%d leased), want 0, %d, %d", n, a, l, all, leased)
	}
	if s := score(); s != first {
		t.Fatalf("the leased change was applied meanwhile: score %v, was %v", s, first)
	}
	// The lease is over (the server died): the next pass takes them.
	if _, err := f.pool.Exec(ctx, `UPDATE match_changes SET leased_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if n, err = f.svc.ApplyMatchChanges(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _ := count(); n == 0 || a != 0 {
		t.Fatalf("after the lease: %d requests brought up to date, %d changes left; want some, 0", n, a)
	}
	if s := score(); s >= first {
		t.Fatalf("the SME whose contract was withdrawn still scores %v (was %v)", s, first)
	}
}

// TestRecomputeMergesAChangedRequestBeforeAnUnchangedOne: of two open
// requests in CPV division 72 (different groups, départements and
// words), an SME of the first's département (ranked there for its trade)
// gains a contract in its code; the second, taken after it, cannot rank
// that SME. The first is merged (the SME's score rises), the second left
// as it was, and both equal
// ranking all their candidates again — a pass whose last requests are
// unchanged still merges those before them.
func TestRecomputeMergesAChangedRequestBeforeAnUnchangedOne(t *testing.T) {
	f := setup(t)
	pool, svc := f.pool, f.svc
	ctx := context.Background()
	svc.UseMatcher(matching.ForRequests{Service: matching.NewService(pool, tax), Limit: 8})
	var first, second *refdata.Award
	winnersOf72(t, f, 12, func(a refdata.Award) {
		switch {
		case first == nil && len(a.Object) > 20:
			first = &a
		case first != nil && second == nil && len(a.Object) > 20 && a.CPV[:3] != first.CPV[:3] && a.Departement != first.Departement:
			second = &a
		}
	})
	if first == nil || second == nil {
		t.Fatal("no two requests of division 72 in different groups and départements in the awards")
	}
	ids := []int64{openOn(t, f, *first), openOn(t, f, *second)}
	rankAll := func() []string { return rankedAgain(t, f, ids) }
	newcomer := addMember(t, pool, "130005481", "Nouvelle venue", "pme", first.Departement) // a valid SIREN, in no award
	if _, err := pool.Exec(ctx, `DELETE FROM match_changes`); err != nil {
		t.Fatal(err)
	}
	before := rankAll()
	score := func() float64 {
		t.Helper()
		var s float64
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT coalesce((SELECT score FROM request_matches WHERE request_id = $1 AND organisation_id = $2 AND ranked), 0)`,
			ids[0], newcomer.OrgID), &s)
		return s
	}
	was := score()
	if _, err := pool.Exec(ctx, `INSERT INTO org_references (organisation_id, client, object, cpv_code, year, departement)
		VALUES ($1, $2, $3, $4, 2025, $5)`, newcomer.OrgID, first.Buyer, first.Object, first.CPV, first.Departement); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApplyMatchChanges(ctx); err != nil {
		t.Fatal(err)
	}
	merged := rankings(t, pool, ids)
	if now := score(); now <= was {
		t.Fatalf("the SME that gained a contract in request %d's code scores %g there after the recompute, %g before", ids[0], now, was)
	}
	secondOf := func(lines []string) []string {
		return slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return !strings.HasPrefix(l, fmt.Sprint(ids[1])+" ") })
	}
	if !slices.Equal(secondOf(before), secondOf(merged)) || len(secondOf(before)) == 0 {
		t.Fatalf("the second request's ranking (%d lines) changed or is empty: not the case this test is about", len(secondOf(before)))
	}
	if again := rankAll(); !slices.Equal(merged, again) {
		t.Fatalf("merged rankings differ from ranking all again:\n%s\n---\n%s", strings.Join(merged, "\n"), strings.Join(again, "\n"))
	}
}

// scored suggests the SMEs of orgs with the scores given, in any order.
type scored map[int64]float64

func (m scored) Match(context.Context, pgx.Tx, purchase.Request) ([]purchase.Suggestion, error) {
	var out []purchase.Suggestion
	for o, s := range m {
		out = append(out, purchase.Suggestion{OrgID: o, Score: s, Reasons: []byte("[]")})
	}
	return out, nil
}

// TestPlacesAreTheRankingsOrder: a match's place is its rank in the
// ranking's order (score, then organisation), as the buyer's list and an
// SME's own page read it; when one SME rises, its row alone is written
// (the rows it passes keep their version); and a match written the way
// the previous release writes it (a rank, no ranked) is in the ranking
// until its rank is cleared (migration 000030's rolling deploy).
func TestPlacesAreTheRankingsOrder(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	var smes []member.Actor
	for i := range 5 {
		siren := fmt.Sprintf("81000%04d", i)
		smes = append(smes, addMember(t, f.pool, siren, "PME "+siren, "pme", "69"))
	}
	m := scored{}
	for i, a := range smes {
		m[a.OrgID] = 10 - float64(i)*0.25 // exact as a real
	}
	m[smes[3].OrgID] = m[smes[2].OrgID] // a tie: the lower id first
	f.svc.UseMatcher(m)
	id := f.open(t, input())

	places := func() (orgs []int64, ranks []int) {
		t.Helper()
		p, err := f.svc.Get(ctx, f.staff, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range p.Matches {
			orgs = append(orgs, x.OrgID)
			ranks = append(ranks, ptrValue(x.Rank))
		}
		return orgs, ranks
	}
	own := func(a member.Actor) int {
		t.Helper()
		p, err := f.svc.Get(ctx, a, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Match == nil {
			t.Fatalf("SME %d: no match of its own on request %d", a.OrgID, id)
		}
		return ptrValue(p.Match.Rank)
	}
	ids := func(list ...int) []int64 {
		out := make([]int64, len(list))
		for i, k := range list {
			out[i] = smes[k].OrgID
		}
		return out
	}
	check := func(step string, want []int64) {
		t.Helper()
		orgs, ranks := places()
		if !slices.Equal(orgs, want) {
			t.Fatalf("%s: the buyer's list %v, want %v", step, orgs, want)
		}
		for i, r := range ranks {
			if r != i+1 {
				t.Fatalf("%s: places %v, want 1 to %d in order", step, ranks, len(ranks))
			}
		}
		for _, a := range smes {
			if k := slices.Index(orgs, a.OrgID); k >= 0 {
				if got := own(a); got != k+1 {
					t.Errorf("%s: SME %d reads place %d on its page, the buyer's list says %d", step, a.OrgID, got, k+1)
				}
			}
		}
	}
	check("opened", ids(0, 1, 2, 3, 4))

	versions := func() map[int64]string {
		t.Helper()
		rows, err := f.pool.Query(ctx, `SELECT organisation_id, xmin::text FROM request_matches WHERE request_id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]string{}
		var org int64
		var v string
		if _, err := pgx.ForEachRow(rows, []any{&org, &v}, func() error { out[org] = v; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := versions()
	m[smes[4].OrgID] = 11
	if err := f.svc.Rerank(ctx, id); err != nil {
		t.Fatal(err)
	}
	after := versions() // before the SMEs' pages, which mark their views
	for _, a := range smes {
		if rewritten := before[a.OrgID] != after[a.OrgID]; rewritten != (a.OrgID == smes[4].OrgID) {
			t.Errorf("SME %d's row rewritten: %v; want only the one that rose", a.OrgID, rewritten)
		}
	}
	check("the last rose to the top", ids(4, 0, 1, 2, 3))

	// The previous release's writes, during a rolling deploy.
	late := addMember(t, f.pool, "810009999", "PME tardive", "pme", "69")
	if _, err := f.pool.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, matched, score, rank, reasons, created_at, updated_at)
		VALUES ($1, $2, true, 9.9, 2, '[]', now(), now())`, id, late.OrgID); err != nil {
		t.Fatal(err)
	}
	check("a match the previous release wrote", append(ids(4, 0), append([]int64{late.OrgID}, ids(1, 2, 3)...)...))
	if _, err := f.pool.Exec(ctx, `UPDATE request_matches SET matched = false, rank = NULL WHERE request_id = $1 AND organisation_id = $2`,
		id, late.OrgID); err != nil {
		t.Fatal(err)
	}
	check("the previous release took it out", ids(4, 0, 1, 2, 3))
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
