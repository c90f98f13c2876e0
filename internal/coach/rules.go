// Package coach reads a purchase request as an SME would and tells its
// buyer what opens it to SMEs and what closes it: too short a deadline,
// several trades in one lot, the "achat innovant" route, payment terms
// beyond the legal maximum, a minimum turnover above what the law allows,
// too many questions, a text SMEs cannot act on. Each finding says why it
// matters and where its rule comes from — a legal text, or a figure
// measured on the platform's own requests (Norms). It never blocks.
// Rules are pure (this file); the measured thresholds are computed from
// the requests' outcomes (norms.go).
package coach

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Draft is a purchase request as the coach reads it.
type Draft struct {
	Title       string
	Description string
	CPV         []string
	BudgetBand  string // purchase.BudgetBands
	Deadline    time.Time
	Today       time.Time // when it is (or was) published
	Innovative  bool
	Questions   int
	PaymentDays int   // 0: not said
	MinTurnover int64 // € HT required of candidates; 0: none
	// Who buys: a public buyer (and a public hospital) follow the code de
	// la commande publique; a private company the code de commerce.
	Public, Hospital bool
}

// Finding is one thing the coach says: a code ("coach.<code>" in the
// catalogue), whether it is to change or already good, its values and its
// source.
type Finding struct {
	Code   string
	Change bool // false: what is good
	Values map[string]any
	Source Source
}

// Source is where a finding's rule comes from.
type Source struct {
	Law string // the legal text ("Code de la commande publique, art. R2192-10"), or
	// Measured: on how many requests of the platform the threshold was
	// measured (0: a stated default, not enough data yet).
	Measured int
}

// Finding codes.
const (
	ShortDeadline   = "short_deadline"
	DeadlineOK      = "deadline_ok"
	SeveralTrades   = "several_trades"
	OneTrade        = "one_trade"
	InnovativeRoute = "innovative_route"
	InnovativeNot   = "innovative_not_applicable"
	PaymentTooLong  = "payment_too_long"
	PaymentOK       = "payment_ok"
	PaymentUnsaid   = "payment_unsaid"
	TurnoverTooHigh = "turnover_too_high"
	ManyQuestions   = "many_questions"
	TitleVague      = "title_vague"
	TextThin        = "text_thin"
	NoOutcome       = "no_outcome"
)

// Codes are every finding code, for the catalogue's tests.
var Codes = []string{ShortDeadline, DeadlineOK, SeveralTrades, OneTrade, InnovativeRoute, InnovativeNot, PaymentTooLong,
	PaymentOK, PaymentUnsaid, TurnoverTooHigh, ManyQuestions, TitleVague, TextThin, NoOutcome}

// Legal maximum payment delays, in days.
const (
	PublicPaymentDays   = 30 // Code de la commande publique, art. R2192-10
	HospitalPaymentDays = 50 // art. R2192-11 (établissements publics de santé)
	PrivatePaymentDays  = 60 // Code de commerce, art. L441-10
)

// MaxBandValue is the top of each budget band (€ HT), the estimated value
// the turnover rule compares with; the open band above 2 M€ has none.
var MaxBandValue = map[string]int64{"lt40k": 40_000, "40k_100k": 100_000, "100k_500k": 500_000, "500k_2m": 2_000_000}

// innovativeBands are those where a public buyer may use the "achat
// innovant" route (under 100 k€ HT).
var innovativeBands = map[string]bool{"lt40k": true, "40k_100k": true}

// Check reads a draft and returns its findings: what to change first,
// then what is good. Thresholds measured on the platform come from n.
func Check(d Draft, n Norms) []Finding {
	var out []Finding
	add := func(f Finding) { out = append(out, f) }
	add(deadline(d, n))
	if f, ok := trades(d); ok {
		add(f)
	}
	if f, ok := innovative(d); ok {
		add(f)
	}
	add(payment(d))
	if f, ok := turnover(d); ok {
		add(f)
	}
	if f, ok := questions(d, n); ok {
		add(f)
	}
	out = append(out, text(d)...)
	// What to change first, each group in the order above.
	var change, good []Finding
	for _, f := range out {
		if f.Change {
			change = append(change, f)
		} else {
			good = append(good, f)
		}
	}
	return append(change, good...)
}

// Days is the time SMEs have to answer, in whole days.
func (d Draft) Days() int {
	if d.Deadline.IsZero() || d.Today.IsZero() {
		return 0
	}
	return int(math.Round(d.Deadline.Sub(d.Today).Hours() / 24))
}

func deadline(d Draft, n Norms) Finding {
	min, src := n.MinDays(d.BudgetBand)
	days := d.Days()
	f := Finding{Code: DeadlineOK, Values: map[string]any{"Days": days, "Min": min}, Source: src}
	if days < min {
		f.Code, f.Change = ShortDeadline, true
		if r, ok := n.Deadline.Below(min); ok {
			f.Values["Short"], f.Values["Long"] = percent(r.Short), percent(r.Long)
			f.Values["ShortN"], f.Values["LongN"] = r.ShortN, r.LongN
		}
	}
	return f
}

func trades(d Draft) (Finding, bool) {
	var divisions []string
	for _, c := range d.CPV {
		if len(c) >= 2 && !slices.Contains(divisions, c[:2]) {
			divisions = append(divisions, c[:2])
		}
	}
	law := "Code de la commande publique, art. L2113-10"
	if !d.Public {
		law = ""
	}
	switch {
	case len(divisions) > 1:
		return Finding{Code: SeveralTrades, Change: true, Values: map[string]any{"Count": len(divisions), "Divisions": strings.Join(divisions, ", ")},
			Source: Source{Law: law}}, true
	case len(divisions) == 1:
		return Finding{Code: OneTrade, Values: map[string]any{"Division": divisions[0]}}, true
	}
	return Finding{}, false
}

func innovative(d Draft) (Finding, bool) {
	law := Source{Law: "Code de la commande publique, art. R2122-9-1"}
	switch {
	case !d.Public:
		return Finding{}, false
	case innovativeBands[d.BudgetBand] && !d.Innovative && mentionsInnovation(d):
		return Finding{Code: InnovativeRoute, Change: true, Source: law}, true
	case !innovativeBands[d.BudgetBand] && d.BudgetBand != "" && mentionsInnovation(d):
		return Finding{Code: InnovativeNot, Source: law}, true
	}
	return Finding{}, false
}

// mentionsInnovation tells whether the text speaks of an innovative need.
func mentionsInnovation(d Draft) bool {
	t := strings.ToLower(d.Title + " " + d.Description)
	for _, w := range []string{"innov", "expériment", "experiment", "prototype", "nouvelle technologie", "r&d", "recherche et développement"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

func payment(d Draft) Finding {
	max, law := PrivatePaymentDays, "Code de commerce, art. L441-10"
	switch {
	case d.Hospital:
		max, law = HospitalPaymentDays, "Code de la commande publique, art. R2192-11"
	case d.Public:
		max, law = PublicPaymentDays, "Code de la commande publique, art. R2192-10"
	}
	f := Finding{Values: map[string]any{"Days": d.PaymentDays, "Max": max}, Source: Source{Law: law}}
	switch {
	case d.PaymentDays == 0:
		f.Code, f.Change = PaymentUnsaid, true
	case d.PaymentDays > max:
		f.Code, f.Change = PaymentTooLong, true
	default:
		f.Code = PaymentOK
	}
	return f
}

func turnover(d Draft) (Finding, bool) {
	value, known := MaxBandValue[d.BudgetBand]
	if !d.Public || d.MinTurnover == 0 || !known || d.MinTurnover <= 2*value {
		return Finding{}, false
	}
	return Finding{Code: TurnoverTooHigh, Change: true, Values: map[string]any{"Turnover": d.MinTurnover, "Max": 2 * value},
		Source: Source{Law: "Code de la commande publique, art. R2142-7"}}, true
}

func questions(d Draft, n Norms) (Finding, bool) {
	max, src := n.MaxQuestions()
	if d.Questions <= max {
		return Finding{}, false
	}
	f := Finding{Code: ManyQuestions, Change: true, Values: map[string]any{"Count": d.Questions, "Max": max}, Source: src}
	if r, ok := n.Questions.Above(max); ok {
		f.Values["Few"], f.Values["Many"] = percent(r.Short), percent(r.Long)
	}
	return f, true
}

// text reads the title and the description as an SME deciding in a
// minute whether to answer.
func text(d Draft) []Finding {
	var out []Finding
	words := strings.Fields(d.Title)
	acronyms := 0
	for _, w := range words {
		if isAcronym(w) {
			acronyms++
		}
	}
	if len([]rune(strings.TrimSpace(d.Title))) < 25 || len(words) < 4 || acronyms*2 >= len(words) {
		out = append(out, Finding{Code: TitleVague, Change: true})
	}
	if len([]rune(strings.TrimSpace(d.Description))) < 200 {
		out = append(out, Finding{Code: TextThin, Change: true, Values: map[string]any{"Count": len([]rune(strings.TrimSpace(d.Description)))}})
	}
	if !statesOutcome(d.Description) {
		out = append(out, Finding{Code: NoOutcome, Change: true})
	}
	return out
}

// isAcronym: two letters or more, all capitals ("SDIS", "DSI", "GMAO").
func isAcronym(w string) bool {
	w = strings.Trim(w, ".,;:()«»\"'")
	letters := 0
	for _, r := range w {
		switch {
		case unicode.IsLower(r):
			return false
		case unicode.IsUpper(r):
			letters++
		}
	}
	return letters >= 2
}

// statesOutcome tells whether a description says what is expected.
func statesOutcome(desc string) bool {
	t := strings.ToLower(desc)
	for _, w := range []string{"attendu", "objectif", "résultat", "livrable", "permettre", "afin de", "pour que", "critère"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

func percent(x float64) int { return int(math.Round(x * 100)) }

// Message is the finding's sentence: its catalogue id ("coach.<code>")
// and values, as pairs.
func (f Finding) Message() (string, []any) {
	var kv []any
	for _, k := range sortedKeys(f.Values) {
		kv = append(kv, k, f.Values[k])
	}
	return "coach." + f.Code, kv
}

// Cited is where the finding's rule comes from, as a sentence of the
// catalogue: the law, the requests it was measured on, or a stated default
// for a threshold not measured yet; "" when none is said.
func (f Finding) Cited() (string, []any) {
	switch {
	case f.Source.Law != "":
		return "coach.source.law", []any{"Law", f.Source.Law}
	case f.Source.Measured > 0:
		return "coach.source.measured", []any{"Count", f.Source.Measured}
	case f.Change && measurable[f.Code]:
		return "coach.source.default", nil
	}
	return "", nil
}

// measurable are the findings whose threshold the platform measures once
// it has the data.
var measurable = map[string]bool{ShortDeadline: true, ManyQuestions: true, NextLongerDeadline: true, NextFewerQuestions: true}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
