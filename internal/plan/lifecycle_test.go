package plan_test

import (
	"slices"
	"testing"
	"time"

	"passerelle/internal/plan"
)

// The lifecycle draft → published → assessed → commented → closed, every
// role × status × action against a written grid (private plan, year
// ending): what each may do.
func TestLifecycleTable(t *testing.T) {
	// Allowed actions, by role then status (d p a c x), as letters:
	// r read, e edit, p publish, a assess, m comment, x close.
	grid := map[plan.Role][5]string{
		plan.RoleOwner:     {"rep", "rea", "ra", "r", "r"},
		plan.RoleStaff:     {"r", "r", "rm", "rmx", "r"},
		plan.RoleCommittee: {"", "r", "rm", "rm", "r"},
		plan.RoleOther:     {"", "", "", "", ""},
	}
	letter := map[plan.Action]string{plan.ActRead: "r", plan.ActEdit: "e", plan.ActPublish: "p", plan.ActAssess: "a",
		plan.ActComment: "m", plan.ActClose: "x"}
	for role, row := range grid {
		for i, st := range plan.Statuses {
			got := ""
			for _, a := range plan.Allowed(plan.Situation{Status: st, Ending: true}, role) {
				got += letter[a]
			}
			if got != row[i] {
				t.Errorf("%s on a %s plan: %q, want %q", role, st, got, row[i])
			}
		}
	}
}

// The guards and where each step leads.
func TestLifecycleSteps(t *testing.T) {
	tests := []struct {
		s    plan.Situation
		role plan.Role
		act  plan.Action
		to   plan.Status
		ok   bool
	}{
		{plan.Situation{Status: plan.StatusDraft}, plan.RoleOwner, plan.ActPublish, plan.StatusPublished, true},
		{plan.Situation{Status: plan.StatusPublished}, plan.RoleOwner, plan.ActAssess, "", false}, // not before December
		{plan.Situation{Status: plan.StatusPublished, Ending: true}, plan.RoleOwner, plan.ActAssess, plan.StatusAssessed, true},
		{plan.Situation{Status: plan.StatusAssessed}, plan.RoleCommittee, plan.ActComment, plan.StatusCommented, true},
		{plan.Situation{Status: plan.StatusPublished}, plan.RoleStaff, plan.ActComment, "", false}, // nothing assessed yet
		{plan.Situation{Status: plan.StatusCommented}, plan.RoleStaff, plan.ActClose, plan.StatusClosed, true},
		{plan.Situation{Status: plan.StatusPublished, Public: true}, plan.RoleOther, plan.ActRead, plan.StatusPublished, true},
		{plan.Situation{Status: plan.StatusDraft, Public: true}, plan.RoleOther, plan.ActRead, "", false}, // a draft is nobody's
		{plan.Situation{Status: plan.StatusClosed, Public: true}, plan.RoleOther, plan.ActComment, "", false},
	}
	for _, tc := range tests {
		to, ok := plan.Next(tc.s, tc.role, tc.act)
		if to != tc.to || ok != tc.ok {
			t.Errorf("%s %s on %+v: %q %v, want %q %v", tc.role, tc.act, tc.s, to, ok, tc.to, tc.ok)
		}
	}
	p := plan.Plan{Year: 2026, Status: plan.StatusPublished}
	if plan.SituationOf(p, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)).Ending || !plan.SituationOf(p, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)).Ending ||
		!plan.SituationOf(p, time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)).Ending {
		t.Error("a plan's year ends from December 1st")
	}
}

// A commitment is met at or above its target (at or under it for the
// payment delay), missed otherwise, unmeasurable without a measure.
func TestOutcome(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	tests := []struct {
		c    plan.Commitment
		val  *float64
		want plan.Outcome
	}{
		{plan.Commitment{Indicator: plan.PMEShare, Target: 25}, v(25.4), plan.Met},
		{plan.Commitment{Indicator: plan.PMEShare, Target: 25}, v(22.4), plan.Missed},
		{plan.Commitment{Indicator: plan.PMEShare, Target: 25}, nil, plan.Unmeasurable},
		{plan.Commitment{Indicator: plan.PaymentDays, Target: 30}, v(28), plan.Met},
		{plan.Commitment{Indicator: plan.PaymentDays, Target: 30}, v(41.5), plan.Missed},
		{plan.Commitment{Indicator: plan.Requests, Target: 5}, v(5), plan.Met},
	}
	for _, tc := range tests {
		if got := plan.OutcomeOf(tc.c, tc.val); got != tc.want {
			t.Errorf("%+v at %v: %s, want %s", tc.c, tc.val, got, tc.want)
		}
	}
	if !slices.Contains(plan.Outcomes, plan.Unmeasurable) {
		t.Fatal("outcomes")
	}
}
