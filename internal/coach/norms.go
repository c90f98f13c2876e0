package coach

// Norms are the thresholds the coach measures on the platform's own past
// requests — how many days SMEs need to answer, how many questions they
// still answer — with stated defaults until there is enough data.
type Norms struct {
	Deadline  Curve // interest by days given to answer
	Questions Curve // interest by number of questions
	minDays   int   // measured; 0: the defaults by band
	maxQs     int   // measured; 0: DefaultMaxQuestions
}

// Observation is one past request: the days SMEs had to answer, its
// questions, how many SMEs saw it and how many answered it with interest.
type Observation struct {
	Days, Questions  int
	Seen, Interested int
}

// Curve is the interest of SMEs in requests, by one of their values (days
// to answer, questions).
type Curve struct{ obs []point }

type point struct{ x, seen, yes int }

// Ratio compares the interest of the requests below a threshold with that
// of the others: the share of the SMEs that saw them who answered, and on
// how many requests each is measured.
type Ratio struct {
	Short, Long   float64 // below, at or above
	ShortN, LongN int
}

// MinRequests is how many requests each side of a threshold needs before
// the coach trusts a measured difference.
const MinRequests = 10

// Stated defaults, used until the platform has measured its own.
var (
	// DefaultMinDays by budget band: the larger the purchase, the longer
	// an SME needs to put an answer together (and the formal procedures'
	// own minimums: 35 days for an open call for tenders, art. R2161-2).
	DefaultMinDays = map[string]int{"lt40k": 10, "40k_100k": 15, "100k_500k": 21, "500k_2m": 30, "gt2m": 35}
	// DefaultMaxQuestions mandatory questions before answers fall.
	DefaultMaxQuestions = 3
	// dayThresholds and questionThresholds are the thresholds tried.
	dayThresholds      = []int{7, 10, 14, 21, 30}
	questionThresholds = []int{1, 2, 3, 4}
)

// Measure computes the norms from past requests. The minimum days is the
// longest tried threshold below which requests got markedly less interest
// (a quarter less, or worse) than those at or above it, each side holding
// MinRequests requests; the maximum of questions the fewest above which
// they got a fifth less. Without enough data, or without such a
// difference, the defaults stand.
func Measure(list []Observation) Norms {
	var n Norms
	for _, o := range list {
		if o.Seen == 0 {
			continue
		}
		n.Deadline.obs = append(n.Deadline.obs, point{o.Days, o.Seen, o.Interested})
		n.Questions.obs = append(n.Questions.obs, point{o.Questions, o.Seen, o.Interested})
	}
	for _, t := range dayThresholds {
		if r, ok := n.Deadline.Below(t); ok && r.Short <= 0.75*r.Long {
			n.minDays = t
		}
	}
	for _, t := range questionThresholds {
		if r, ok := n.Questions.Above(t); ok && r.Long <= 0.8*r.Short {
			n.maxQs = t
			break
		}
	}
	return n
}

// MinDays is the days an SME needs to answer a request of the band, and
// where that comes from.
func (n Norms) MinDays(band string) (int, Source) {
	if n.minDays > 0 {
		return n.minDays, Source{Measured: len(n.Deadline.obs)}
	}
	if d, ok := DefaultMinDays[band]; ok {
		return d, Source{}
	}
	return DefaultMinDays["gt2m"], Source{}
}

// MaxQuestions is how many mandatory questions SMEs still answer, and
// where that comes from.
func (n Norms) MaxQuestions() (int, Source) {
	if n.maxQs > 0 {
		return n.maxQs, Source{Measured: len(n.Questions.obs)}
	}
	return DefaultMaxQuestions, Source{}
}

// Below is the interest of requests whose value is below threshold
// (Short) and at or above it (Long); ok when each side holds MinRequests
// requests.
func (c Curve) Below(threshold int) (Ratio, bool) {
	var r Ratio
	var seenS, yesS, seenL, yesL int
	for _, p := range c.obs {
		if p.x < threshold {
			r.ShortN++
			seenS, yesS = seenS+p.seen, yesS+p.yes
		} else {
			r.LongN++
			seenL, yesL = seenL+p.seen, yesL+p.yes
		}
	}
	if r.ShortN < MinRequests || r.LongN < MinRequests || seenS == 0 || seenL == 0 {
		return r, false
	}
	r.Short, r.Long = float64(yesS)/float64(seenS), float64(yesL)/float64(seenL)
	return r, true
}

// Above is Below split after t: Short holds the requests with at most t,
// Long those with more.
func (c Curve) Above(t int) (Ratio, bool) { return c.Below(t + 1) }
