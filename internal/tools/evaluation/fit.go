package evaluation

import (
	"sort"

	"passerelle/internal/matching"
	"passerelle/internal/tools/importer"
)

// TimeSplit splits the queries by date: the older share (by notification
// date; undated ones count as oldest) to fit on, the newer to measure on,
// as the held-out contracts are newer than the history.
func TimeSplit(queries []Query, share float64) (older, newer []int) {
	idx := make([]int, len(queries))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return queries[idx[a]].Contract.Date < queries[idx[b]].Contract.Date })
	cut := int(float64(len(idx)) * share)
	return idx[:cut], idx[cut:]
}

// mrr is the mean reciprocal rank of the first winner among the kept
// candidates of the given queries, under w.
func mrr(ranks []Ranks, subset []int, w matching.Weights) float64 {
	total, n := 0.0, 0
	for _, i := range subset {
		cases := ranks[i].Cases
		best := -1.0
		for _, c := range cases {
			if c.Won {
				best = max(best, matching.Score(c.F, w))
			}
		}
		n++
		if best <= 0 {
			continue
		}
		rank := 1
		for _, c := range cases {
			if !c.Won && matching.Score(c.F, w) > best {
				rank++
			}
		}
		total += 1 / float64(rank)
	}
	if n == 0 {
		return 0
	}
	return total / float64(n)
}

// Fit searches weights that maximise the MRR of the queries in subset
// (coordinate ascent from start: each weight in turn is scaled or moved
// while that improves, for a few rounds). It never needs a gradient and
// keeps every weight non-negative, so each reason keeps its meaning.
func Fit(ranks []Ranks, subset []int, start matching.Weights) (matching.Weights, float64) {
	w := start
	best := mrr(ranks, subset, w)
	steps := []func(x float64) float64{
		func(x float64) float64 { return x * 2 },
		func(x float64) float64 { return x / 2 },
		func(x float64) float64 { return x * 1.25 },
		func(x float64) float64 { return x * 0.8 },
		func(x float64) float64 { return x + 0.5 },
		func(x float64) float64 { return max(0, x-0.5) },
		func(x float64) float64 { return 0 },
	}
	for round := 0; round < 12; round++ {
		improved := false
		for f := range w {
			if matching.ExhaustiveOnly[f] {
				continue
			}
			for _, step := range steps {
				try := w
				try[f] = step(w[f])
				if try[f] == w[f] {
					continue
				}
				if m := mrr(ranks, subset, try); m > best+1e-6 {
					w, best, improved = try, m, true
				}
			}
		}
		if !improved {
			break
		}
	}
	return w, best
}

// Subset keeps the queries at the given indexes (their ranks too).
func Subset(queries []Query, ranks []Ranks, idx []int) ([]Query, []Ranks) {
	q := make([]Query, len(idx))
	r := make([]Ranks, len(idx))
	for i, j := range idx {
		q[i], r[i] = queries[j], ranks[j]
	}
	return q, r
}

// Contracts are the query contracts at the given indexes.
func Contracts(queries []Query, idx []int) []importer.Contract {
	out := make([]importer.Contract, len(idx))
	for i, j := range idx {
		out[i] = queries[j].Contract
	}
	return out
}
