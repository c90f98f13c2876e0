package indicator

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"passerelle/internal/member"
	"passerelle/internal/platform/validate"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func fieldErrs(err error) validate.Errors {
	var v *validate.Error
	if errors.As(err, &v) {
		return v.Fields
	}
	return nil
}

func TestDeclarationChecks(t *testing.T) {
	ok := Input{Year: "2025", Total: "1 000 000", PME: "224 000", ETI: "150000", PaymentDays: "41,5", OnTime: "88,5 %"}
	year, f, errs := ok.check(2026)
	if errs.Any() || year != 2025 || f != (Figures{Total: 1_000_000, PME: 224_000, ETI: 150_000, PaymentDays: 41.5, OnTime: 88.5}) {
		t.Fatalf("valid input: %d %+v %v", year, f, errs)
	}
	cases := []struct {
		name  string
		edit  func(*Input)
		field string
		code  string
	}{
		{"year missing", func(i *Input) { i.Year = "" }, "year", errRequired},
		{"a future year", func(i *Input) { i.Year = "2027" }, "year", errYear},
		{"text in a number", func(i *Input) { i.Total = "beaucoup" }, "total", errNumber},
		{"a negative amount", func(i *Input) { i.PME = "-5" }, "pme", errNegative},
		{"cents", func(i *Input) { i.ETI = "10,50" }, "eti", errWhole},
		{"no purchases", func(i *Input) { i.Total = "0"; i.PME = "0"; i.ETI = "0" }, "total", errZeroTotal},
		{"PME above the total", func(i *Input) { i.PME = "1 000 001" }, "pme", errAboveTotal},
		{"ETI above the total", func(i *Input) { i.ETI = "2000000" }, "eti", errAboveTotal},
		{"PME and ETI above the total", func(i *Input) { i.PME = "600000"; i.ETI = "500000" }, "eti", errSumAbove},
		{"a share over 100", func(i *Input) { i.OnTime = "101" }, "on_time", errPercent},
		{"days missing", func(i *Input) { i.PaymentDays = " " }, "payment_days", errRequired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := ok
			c.edit(&in)
			_, _, errs := in.check(2026)
			if errs[c.field] != c.code || len(errs) != 1 {
				t.Errorf("errors %v, want only %s: %s", errs, c.field, c.code)
			}
		})
	}
}

// TestWeightedAggregate checks the observatory against figures computed
// by hand: the share of a year is Σ PME ÷ Σ total over the accounts that
// declared it (not the mean of their shares), and a year an account did
// not declare counts only the others.
func TestWeightedAggregate(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a, b, c := f.buyers[0], f.buyers[1], f.buyers[2]
	f.declare(t, a, Input{Year: "2024", Total: "1000000", PME: "300000", ETI: "100000", PaymentDays: "30", OnTime: "90"})
	f.declare(t, b, Input{Year: "2024", Total: "9000000", PME: "1800000", ETI: "900000", PaymentDays: "55", OnTime: "70"})
	f.declare(t, a, Input{Year: "2025", Total: "2000000", PME: "500000", ETI: "0", PaymentDays: "28", OnTime: "92"})
	f.declare(t, c, Input{Year: "2025", Total: "6000000", PME: "1500000", ETI: "600000", PaymentDays: "40", OnTime: "80"})

	o, err := f.svc.Observatory(ctx, f.staff)
	if err != nil {
		t.Fatal(err)
	}
	y24, ok := o.Year(2024)
	// (300 000 + 1 800 000) / 10 000 000 = 21 %; the mean of 30 % and 20 % would be 25 %.
	if !ok || y24.Accounts != 2 || !near(y24.PMEShare(), 0.21) || !near(y24.ETIShare(), 0.10) {
		t.Errorf("2024: %+v share %v", y24, y24.PMEShare())
	}
	y25, _ := o.Year(2025)
	// b did not declare 2025: (500 000 + 1 500 000) / 8 000 000 = 25 %.
	if y25.Accounts != 2 || !near(y25.PMEShare(), 0.25) || y25.Total != 8_000_000 {
		t.Errorf("2025: %+v", y25)
	}
	if _, ok := o.Year(2023); ok {
		t.Error("a year nobody declared has an aggregate")
	}
	if len(o.Accounts) != 3 || !o.AllAccounts {
		t.Fatalf("staff see %d accounts", len(o.Accounts))
	}
	for _, l := range o.Accounts {
		if l.OrgID == b.OrgID {
			if _, ok := l.ByYear[2025]; ok {
				t.Error("b has a 2025 line it never declared")
			}
		}
	}
	if len(o.Years) != 2 || o.Years[0] != 2024 {
		t.Errorf("years %v", o.Years)
	}

	// Computed a second way, from the declarations staff list.
	list, err := f.svc.Current(ctx, f.staff, 2024)
	if err != nil {
		t.Fatal(err)
	}
	var pme, total int64
	for _, d := range list {
		pme, total = pme+d.PME, total+d.Total
	}
	if !near(float64(pme)/float64(total), y24.PMEShare()) {
		t.Errorf("the list gives %v, the aggregate %v", float64(pme)/float64(total), y24.PMEShare())
	}

	// A buyer sees the aggregate and its own line; an SME the aggregate only.
	ob, err := f.svc.Observatory(ctx, a)
	if err != nil || len(ob.Accounts) != 1 || ob.Accounts[0].OrgID != a.OrgID || !ob.Accounts[0].Own || ob.AllAccounts {
		t.Errorf("buyer sees %+v, %v", ob.Accounts, err)
	}
	if len(ob.Aggregate) != 2 {
		t.Errorf("buyer sees %d aggregate years", len(ob.Aggregate))
	}
	os, err := f.svc.Observatory(ctx, f.smes[0])
	if err != nil || len(os.Accounts) != 0 || len(os.Aggregate) != 2 {
		t.Errorf("SME sees %d accounts, %d years, %v", len(os.Accounts), len(os.Aggregate), err)
	}
	if _, err := f.svc.Observatory(ctx, member.Actor{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a visitor: %v", err)
	}
}

// TestCorrectionKeepsTheHistory: a second declaration of a year is a new
// version that counts; the first stays in the history with who and when;
// the same figures again change nothing.
func TestCorrectionKeepsTheHistory(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a := f.buyers[0]
	first := Input{Year: "2025", Total: "1000000", PME: "200000", ETI: "50000", PaymentDays: "45", OnTime: "75"}
	if v := f.declare(t, a, first); v != 1 {
		t.Fatalf("first version %d", v)
	}
	f.clock.t = f.clock.t.Add(48 * time.Hour)
	fixed := first
	fixed.PME = "240000"
	if v := f.declare(t, a, fixed); v != 2 {
		t.Fatalf("correction version %d", v)
	}
	if v := f.declare(t, a, fixed); v != 2 {
		t.Fatalf("the same figures again made version %d", v)
	}
	o, err := f.svc.Observatory(ctx, f.staff)
	if err != nil {
		t.Fatal(err)
	}
	if y, _ := o.Year(2025); !near(y.PMEShare(), 0.24) || y.Accounts != 1 {
		t.Errorf("the aggregate counts %+v", y)
	}
	h, err := f.svc.History(ctx, a, a.OrgID)
	if err != nil || len(h) != 2 {
		t.Fatalf("history %d versions, %v", len(h), err)
	}
	if h[0].Version != 2 || h[0].PME != 240_000 || h[1].Version != 1 || h[1].PME != 200_000 || h[1].AuthorName != a.Name ||
		!h[0].CreatedAt.After(h[1].CreatedAt) {
		t.Errorf("history %+v", h)
	}
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries WHERE action IN ('declaration.declared', 'declaration.corrected')`).Scan(&n); err != nil || n != 2 {
		t.Errorf("audit entries %d, %v", n, err)
	}
}

func TestDeclarationPermissions(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := Input{Year: "2025", Total: "1000", PME: "200", ETI: "100", PaymentDays: "30", OnTime: "90"}
	for name, try := range map[string]func() error{
		"a buyer for another account": func() error { _, err := f.svc.Declare(ctx, f.buyers[0], f.buyers[1].OrgID, in); return err },
		"an SME":                      func() error { _, err := f.svc.Declare(ctx, f.smes[0], f.smes[0].OrgID, in); return err },
		"staff by form":               func() error { _, err := f.svc.Declare(ctx, f.staff, f.buyers[0].OrgID, in); return err },
		"another buyer's history":     func() error { _, err := f.svc.History(ctx, f.buyers[1], f.buyers[0].OrgID); return err },
		"an SME's history":            func() error { _, err := f.svc.History(ctx, f.smes[0], f.buyers[0].OrgID); return err },
		"a buyer's list of all":       func() error { _, err := f.svc.Current(ctx, f.buyers[0], 0); return err },
		"an SME's upload":             func() error { _, err := f.svc.Upload(ctx, f.smes[0], "a.csv", []byte("x")); return err },
		"a buyer's platform figures":  func() error { _, err := f.svc.Platform(ctx, f.buyers[0]); return err },
		"a buyer's barometer answer": func() error {
			return f.svc.Answer(ctx, f.buyers[0], RatingInput{Account: "1", Scores: [4]string{"5", "5", "5", "5"}})
		},
		"an SME opening a campaign": func() error { _, err := f.svc.OpenCampaign(ctx, f.smes[0], "2026"); return err },
	} {
		if err := try(); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: %v, want forbidden", name, err)
		}
	}
	if h, err := f.svc.History(ctx, f.staff, f.buyers[0].OrgID); err != nil || len(h) != 0 {
		t.Errorf("staff read the history: %v", err)
	}
}

// TestBarometerThreshold: four answers show nothing, the fifth shows the
// means; an SME answering again replaces its answer.
func TestBarometerThreshold(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	account := f.buyers[0]
	rate := func(sme member.Actor, s ...string) error {
		return f.svc.Answer(ctx, sme, RatingInput{Account: itoa(account.OrgID), Scores: [4]string{s[0], s[1], s[2], s[3]}, Comment: "RAS"})
	}
	if err := rate(f.smes[0], "5", "5", "5", "5"); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("answer with no campaign open: %v", err)
	}
	id, err := f.svc.OpenCampaign(ctx, f.staff, "2026")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.OpenCampaign(ctx, f.staff, "2025"); fieldErrs(err)["year"] != "indicator.err.campaign_open" {
		t.Errorf("a second open campaign: %v", err)
	}
	if err := rate(f.smes[0], "11", "5", "", "x"); len(fieldErrs(err)) != 3 {
		t.Errorf("bad scores: %v", fieldErrs(err))
	}
	// Hand-checked: relationship 6,7,8,5,9 → 7; payment 2,4,6,8,10 → 6;
	// clarity all 5; innovation 0,0,10,10,5 → 5. The first SME first
	// answers 0 everywhere, then changes its mind to its final answer.
	if err := rate(f.smes[0], "0", "0", "0", "0"); err != nil {
		t.Fatal(err)
	}
	answers := [][]string{{"6", "2", "5", "0"}, {"7", "4", "5", "0"}, {"8", "6", "5", "10"}, {"5", "8", "5", "10"}, {"9", "10", "5", "5"}}
	for i, a := range answers[:4] {
		if err := rate(f.smes[i], a...); err != nil {
			t.Fatal(err)
		}
	}
	_, scores, err := f.svc.Results(ctx, f.buyers[1], 0)
	if err != nil || len(scores) != 1 {
		t.Fatalf("results %+v, %v", scores, err)
	}
	if s := scores[0]; s.Answers != 4 || s.Enough || s.Means != [4]float64{} || s.Overall != 0 {
		t.Errorf("4 answers show %+v", s)
	}
	if r, err := f.svc.Reputation(ctx, f.smes[6], account.OrgID); err != nil || r.Score != nil {
		t.Errorf("reputation with 4 answers: %+v, %v", r, err)
	}
	if m, err := f.svc.Marks(ctx, []int64{account.OrgID}, 2026); err != nil || len(m) != 0 {
		t.Errorf("a mark with 4 answers: %v, %v", m, err)
	}
	if err := rate(f.smes[4], answers[4]...); err != nil {
		t.Fatal(err)
	}
	c, scores, err := f.svc.Results(ctx, f.smes[6], id)
	if err != nil || len(scores) != 1 || c.Answers != 5 {
		t.Fatalf("results %+v %+v, %v", c, scores, err)
	}
	if s := scores[0]; s.Answers != 5 || !s.Enough || s.Means != [4]float64{7, 6, 5, 5} || !near(s.Overall, 5.75) {
		t.Errorf("5 answers show %+v", s)
	}
	if len(scores[0].Comments) != 0 {
		t.Error("an SME reads the comments")
	}
	// The marks progress plans read: the same rule, for the campaign's year only.
	if m, err := f.svc.Marks(ctx, []int64{account.OrgID, f.buyers[1].OrgID}, 2026); err != nil || len(m) != 1 || !near(m[account.OrgID], 5.75) {
		t.Errorf("marks of 2026: %v, %v", m, err)
	}
	if m, err := f.svc.Marks(ctx, []int64{account.OrgID}, 2025); err != nil || len(m) != 0 {
		t.Errorf("marks of 2025: %v, %v", m, err)
	}
	_, staffView, _ := f.svc.Results(ctx, f.staff, id)
	if c := staffView[0].Comments; len(c) != 5 || c[0] != "RAS" {
		t.Errorf("staff read the comments %q", c)
	}
	r, err := f.svc.Reputation(ctx, f.smes[6], account.OrgID)
	if err != nil || r.Score == nil || r.Score.Means[1] != 6 || r.PaymentYear != 0 {
		t.Errorf("reputation %+v, %v", r, err)
	}
	q, err := f.svc.Questionnaire(ctx, f.smes[0])
	if err != nil || q.Campaign == nil || len(q.Answers) != 1 || q.Answers[0].Scores != [4]int{6, 2, 5, 0} || len(q.Accounts) != 3 {
		t.Errorf("questionnaire %+v, %v", q, err)
	}
	if err := f.svc.CloseCampaign(ctx, f.staff, id); err != nil {
		t.Fatal(err)
	}
	if err := rate(f.smes[5], "5", "5", "5", "5"); !errors.Is(err, ErrInvalidState) {
		t.Errorf("answer after the close: %v", err)
	}
	// Rating an SME or oneself is not rating a large account.
	if _, err := f.svc.OpenCampaign(ctx, f.staff, "2025"); err != nil {
		t.Fatal(err)
	}
	err = f.svc.Answer(ctx, f.smes[0], RatingInput{Account: itoa(f.smes[1].OrgID), Scores: [4]string{"5", "5", "5", "5"}})
	if fieldErrs(err)["account"] != "form.choose" {
		t.Errorf("rating an SME: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
