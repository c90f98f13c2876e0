package coach_test

import (
	"slices"
	"testing"
	"time"

	"passerelle/internal/coach"
)

var today = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

// good is a request that opens well to SMEs: three weeks for a small
// budget, one trade, legal payment terms, a plain text with its outcome.
func good() coach.Draft {
	return coach.Draft{
		Title:       "Entretien des espaces verts de trois collèges du département",
		Description: "Tonte, taille des haies et ramassage des feuilles sur trois sites (12 000 m² au total), de mars à novembre. Résultat attendu : des espaces entretenus chaque quinzaine, un compte rendu après chaque passage.",
		CPV:         []string{"77310000"}, BudgetBand: "40k_100k", Deadline: today.AddDate(0, 0, 21), Today: today,
		Questions: 2, PaymentDays: 30, Public: true,
	}
}

func codes(fs []coach.Finding) (change, ok []string) {
	for _, f := range fs {
		if f.Change {
			change = append(change, f.Code)
		} else {
			ok = append(ok, f.Code)
		}
	}
	return change, ok
}

// Each rule: inputs, then finding or not.
func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(d *coach.Draft)
		change []string // findings to change, in order
		good   []string // and what is good, in order
	}{
		{"a request that opens well", func(d *coach.Draft) {}, nil, []string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"five days for 40–100 k€", func(d *coach.Draft) { d.Deadline = today.AddDate(0, 0, 5) },
			[]string{coach.ShortDeadline}, []string{coach.OneTrade, coach.PaymentOK}},
		{"fifteen days for 40–100 k€ is enough", func(d *coach.Draft) { d.Deadline = today.AddDate(0, 0, 15) }, nil,
			[]string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"fifteen days for 100–500 k€ is not", func(d *coach.Draft) { d.Deadline, d.BudgetBand = today.AddDate(0, 0, 15), "100k_500k" },
			[]string{coach.ShortDeadline}, []string{coach.OneTrade, coach.PaymentOK}},
		{"three divisions in one lot", func(d *coach.Draft) { d.CPV = []string{"77310000", "45000000", "90911200", "77311000"} },
			[]string{coach.SeveralTrades}, []string{coach.DeadlineOK, coach.PaymentOK}},
		{"a public innovative need under 100 k€", func(d *coach.Draft) { d.Description += " Une solution innovante de suivi est bienvenue." },
			[]string{coach.InnovativeRoute}, []string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"already on the innovative route", func(d *coach.Draft) { d.Description += " Solution innovante."; d.Innovative = true }, nil,
			[]string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"innovative, over 100 k€: the route does not apply", func(d *coach.Draft) {
			d.Description += " Solution innovante."
			d.BudgetBand, d.Deadline = "100k_500k", today.AddDate(0, 0, 30)
		}, nil, []string{coach.DeadlineOK, coach.OneTrade, coach.InnovativeNot, coach.PaymentOK}},
		{"innovative, a private buyer: no route to suggest", func(d *coach.Draft) { d.Description += " Solution innovante."; d.Public = false }, nil,
			[]string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"60-day payment, public buyer", func(d *coach.Draft) { d.PaymentDays = 60 }, []string{coach.PaymentTooLong}, []string{coach.DeadlineOK, coach.OneTrade}},
		{"50-day payment, public hospital", func(d *coach.Draft) { d.PaymentDays, d.Hospital = 50, true }, nil,
			[]string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"60-day payment, private buyer", func(d *coach.Draft) { d.PaymentDays, d.Public = 60, false }, nil,
			[]string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"75-day payment, private buyer", func(d *coach.Draft) { d.PaymentDays, d.Public = 75, false }, []string{coach.PaymentTooLong},
			[]string{coach.DeadlineOK, coach.OneTrade}},
		{"payment terms not said", func(d *coach.Draft) { d.PaymentDays = 0 }, []string{coach.PaymentUnsaid}, []string{coach.DeadlineOK, coach.OneTrade}},
		{"turnover of 250 k€ for at most 100 k€", func(d *coach.Draft) { d.MinTurnover = 250_000 }, []string{coach.TurnoverTooHigh},
			[]string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"turnover of 200 k€ for at most 100 k€", func(d *coach.Draft) { d.MinTurnover = 200_000 }, nil,
			[]string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"turnover above twice, a private buyer", func(d *coach.Draft) { d.MinTurnover, d.Public = 900_000, false }, nil,
			[]string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"five questions", func(d *coach.Draft) { d.Questions = 5 }, []string{coach.ManyQuestions}, []string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"an acronym title", func(d *coach.Draft) { d.Title = "Marché GMAO SDIS DSI 2027" }, []string{coach.TitleVague},
			[]string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
		{"a one-line need without outcome", func(d *coach.Draft) { d.Description = "Prestations d'entretien." },
			[]string{coach.TextThin, coach.NoOutcome}, []string{coach.DeadlineOK, coach.OneTrade, coach.PaymentOK}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.edit(&d)
			change, ok := codes(coach.Check(d, coach.Norms{}))
			if !slices.Equal(change, tc.change) || !slices.Equal(ok, tc.good) {
				t.Errorf("to change %v, good %v; want %v and %v", change, ok, tc.change, tc.good)
			}
		})
	}
}

// Every finding to change names its source: a legal text, or the requests
// it was measured on, or a stated default (Measured 0, no law).
func TestFindingsCarryTheirValues(t *testing.T) {
	d := good()
	d.Deadline, d.PaymentDays, d.MinTurnover = today.AddDate(0, 0, 5), 60, 500_000
	for _, f := range coach.Check(d, coach.Norms{}) {
		switch f.Code {
		case coach.ShortDeadline:
			if f.Values["Days"] != 5 || f.Values["Min"] != 15 || f.Source.Law != "" || f.Source.Measured != 0 {
				t.Errorf("deadline: %+v", f)
			}
		case coach.PaymentTooLong:
			if f.Values["Max"] != coach.PublicPaymentDays || f.Source.Law != "Code de la commande publique, art. R2192-10" {
				t.Errorf("payment: %+v", f)
			}
		case coach.TurnoverTooHigh:
			if f.Values["Max"] != int64(200_000) || f.Source.Law != "Code de la commande publique, art. R2142-7" {
				t.Errorf("turnover: %+v", f)
			}
		}
	}
}

// The suggestion for the next request comes from what happened to this one.
func TestSuggest(t *testing.T) {
	d := good()
	d.Deadline = today.AddDate(0, 0, 6)
	tests := []struct {
		name string
		a    coach.Aftermath
		d    func(d *coach.Draft)
		want string
	}{
		{"three SMEs short of time", coach.Aftermath{Seen: 7, NotInterested: 3, Reasons: []coach.Count{{"deadline", 3}}}, nil, coach.NextLongerDeadline},
		{"out of their trade", coach.Aftermath{Seen: 7, NotInterested: 2, Reasons: []coach.Count{{"scope", 2}, {"deadline", 1}}}, nil, coach.NextNarrower},
		{"one reason alone is no trend", coach.Aftermath{Seen: 7, Interested: 1, NotInterested: 1, Reasons: []coach.Count{{"budget", 1}}}, nil, coach.NextKeep},
		{"nobody saw it", coach.Aftermath{Invited: 0}, nil, coach.NextVisibility},
		{"seen, unanswered, five questions", coach.Aftermath{Seen: 9}, func(d *coach.Draft) { d.Questions = 5 }, coach.NextFewerQuestions},
		{"seen, unanswered, few questions", coach.Aftermath{Seen: 9}, nil, coach.NextClearerText},
		{"answered", coach.Aftermath{Seen: 9, Interested: 2}, nil, coach.NextKeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dd := d
			if tc.d != nil {
				tc.d(&dd)
			}
			f := coach.Suggest(tc.a, dd, coach.Norms{})
			if f.Code != tc.want {
				t.Errorf("%s, want %s", f.Code, tc.want)
			}
			if f.Code == coach.NextLongerDeadline && (f.Values["Days"] != 6 || f.Values["Min"] != 15) {
				t.Errorf("longer deadline values %v: 6 days given, at least 15", f.Values)
			}
		})
	}
}
