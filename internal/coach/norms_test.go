package coach_test

import (
	"testing"

	"passerelle/internal/coach"
)

// requests are n past requests alike: days to answer, questions, SMEs that
// saw them and that answered with interest.
func requests(n, days, questions, seen, interested int) []coach.Observation {
	out := make([]coach.Observation, n)
	for i := range out {
		out[i] = coach.Observation{Days: days, Questions: questions, Seen: seen, Interested: interested}
	}
	return out
}

// The thresholds measured from past requests, and the defaults while the
// data is too thin or shows no difference.
func TestMeasure(t *testing.T) {
	tests := []struct {
		name             string
		obs              []coach.Observation
		minDays, maxQs   int
		measuredDays     bool
		measuredQuestion bool
	}{
		{"no data: the defaults", nil, 15, 3, false, false},
		{"too few requests on a side", append(requests(9, 5, 1, 10, 1), requests(30, 20, 1, 10, 4)...), 15, 3, false, false},
		// A week gets a quarter of the interest three weeks get: under 14
		// days is short (21 splits nothing: every request is under it).
		{"short deadlines get fewer answers", append(requests(12, 5, 2, 10, 1), requests(12, 20, 2, 10, 4)...), 14, 3, true, false},
		// The same interest whatever the days: no threshold measured.
		{"no deadline effect", append(requests(12, 5, 2, 10, 3), requests(12, 20, 2, 10, 3)...), 15, 3, false, false},
		// Four questions get 20 % where one gets 50 %: more than one loses answers.
		{"questions cost answers", append(requests(12, 20, 1, 10, 5), requests(12, 20, 4, 10, 2)...), 15, 1, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := coach.Measure(tc.obs)
			days, src := n.MinDays("40k_100k")
			qs, qsrc := n.MaxQuestions()
			if days != tc.minDays || qs != tc.maxQs || (src.Measured > 0) != tc.measuredDays || (qsrc.Measured > 0) != tc.measuredQuestion {
				t.Errorf("min days %d (measured on %d), max questions %d (on %d); want %d, %d", days, src.Measured, qs, qsrc.Measured, tc.minDays, tc.maxQs)
			}
		})
	}
	// A short deadline's finding then says what the data says.
	n := coach.Measure(append(requests(12, 5, 2, 10, 1), requests(12, 20, 2, 10, 4)...))
	d := good()
	d.Deadline = today.AddDate(0, 0, 5)
	f := coach.Check(d, n)[0]
	if f.Code != coach.ShortDeadline || f.Values["Short"] != 10 || f.Values["Long"] != 40 || f.Values["ShortN"] != 12 || f.Source.Measured != 24 {
		t.Errorf("measured finding %+v", f)
	}
}
