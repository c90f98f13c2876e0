package purchase

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func ranking(pairs ...float64) []Suggestion { // org, score, org, score…
	var out []Suggestion
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Suggestion{OrgID: int64(pairs[i]), Score: pairs[i+1]})
	}
	return out
}

func orgsOf(list []Suggestion) []int64 {
	var out []int64
	for _, x := range list {
		out = append(out, x.OrgID)
	}
	return out
}

// TestMerge: a changed SME's new score moves it in the stored ranking;
// one the matcher no longer suggests leaves it; when a full ranking
// loses a place to the unknown below it, merge refuses.
func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stored  []Suggestion
		changed []int64
		fresh   []Suggestion
		keep    int
		want    []int64
		ok      bool
	}{
		{"a new SME enters a ranking not full", ranking(1, 3, 2, 2), []int64{9}, ranking(9, 2.5), 3, []int64{1, 9, 2}, true},
		{"a new SME enters a full ranking, the last leaves", ranking(1, 3, 2, 2, 3, 1), []int64{9}, ranking(9, 2.5), 3, []int64{1, 9, 2}, true},
		{"a new SME below a full ranking's last stays out", ranking(1, 3, 2, 2, 3, 1), []int64{9}, ranking(9, 0.5), 3, []int64{1, 2, 3}, true},
		{"a stored SME rises", ranking(1, 3, 2, 2, 3, 1), []int64{3}, ranking(3, 4), 3, []int64{3, 1, 2}, true},
		{"equal scores: the lower id first", ranking(1, 3, 5, 2), []int64{4}, ranking(4, 2), 3, []int64{1, 4, 5}, true},
		{"one leaves a ranking not full: nothing below it", ranking(1, 3, 2, 2), []int64{1}, nil, 3, []int64{2}, true},
		{"one leaves a full ranking: who comes in is unknown", ranking(1, 3, 2, 2, 3, 1), []int64{1}, nil, 3, nil, false},
		{"one falls below a full ranking's last: unknown", ranking(1, 3, 2, 2, 3, 1), []int64{1}, ranking(1, 0.5), 3, nil, false},
		{"one falls to the full ranking's old last: still known", ranking(1, 3, 2, 2, 3, 1), []int64{2}, ranking(2, 1), 3, []int64{1, 2, 3}, true},
		{"one leaves, another enters above the old last", ranking(1, 3, 2, 2, 3, 1), []int64{1, 8}, ranking(8, 1.5), 3, []int64{2, 8, 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := merge(tc.stored, slices.Sorted(slices.Values(tc.changed)), tc.fresh, tc.keep)
			if ok != tc.ok || (ok && !slices.Equal(orgsOf(got), tc.want)) {
				t.Errorf("merge = %v, %v; want %v, %v", orgsOf(got), ok, tc.want, tc.ok)
			}
		})
	}
}

// TestMergeEqualsRankingAll: over random candidates and changes, merging
// the changed SMEs' new scores into the stored top gives exactly the top
// of all candidates ranked again, whenever merge says it knows.
func TestMergeEqualsRankingAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	top := func(all map[int64]float64, keep int) []Suggestion {
		var list []Suggestion
		for org, sc := range all {
			if sc > 0 {
				list = append(list, Suggestion{OrgID: org, Score: sc})
			}
		}
		slices.SortFunc(list, func(a, b Suggestion) int {
			if better(a, b) {
				return -1
			}
			return 1
		})
		return list[:min(len(list), keep)]
	}
	known, refused := 0, 0
	for i := range 5000 {
		keep := 1 + rng.IntN(10)
		all := map[int64]float64{}
		for org := range int64(rng.IntN(25)) {
			all[org] = float64(rng.IntN(6)) // ties on purpose
		}
		stored := top(all, keep)
		var changed []int64
		for range rng.IntN(5) {
			org := int64(rng.IntN(30))
			if !slices.Contains(changed, org) {
				changed = append(changed, org)
			}
			all[org] = float64(rng.IntN(6))
		}
		var fresh []Suggestion
		for _, org := range changed {
			if all[org] > 0 {
				fresh = append(fresh, Suggestion{OrgID: org, Score: all[org]})
			}
		}
		got, ok := merge(stored, slices.Sorted(slices.Values(changed)), fresh, keep)
		if !ok {
			refused++
			continue
		}
		known++
		if want := top(all, keep); !slices.Equal(orgsOf(got), orgsOf(want)) {
			t.Fatalf("case %d: merged %v, ranking all %v (stored %v, changed %v)", i, orgsOf(got), orgsOf(want), orgsOf(stored), changed)
		}
	}
	if known < 2500 {
		t.Errorf("merge knew %d cases of 5000 (refused %d): it should know most", known, refused)
	}
	t.Logf("merged %d, ranked again %d", known, refused)
}
