package plan

import (
	"slices"
	"time"
)

// Role is who acts on a plan.
type Role string

// The roles: the plan's own large account, staff, an SME of the year's
// committee, anyone else signed in or not.
const (
	RoleOwner     Role = "owner"
	RoleStaff     Role = "staff"
	RoleCommittee Role = "committee"
	RoleOther     Role = "other"
)

// Action is a step on a plan.
type Action string

// The actions.
const (
	ActRead    Action = "read"
	ActEdit    Action = "edit"    // commitments, referent, public or not
	ActPublish Action = "publish" // the plan is set for the year
	ActAssess  Action = "assess"  // the year-end self-assessment
	ActComment Action = "comment" // on the self-assessment
	ActClose   Action = "close"
)

// Actions are every action, for the table's tests.
var Actions = []Action{ActRead, ActEdit, ActPublish, ActAssess, ActComment, ActClose}

// Situation is what decides which steps are possible: the plan's status,
// whether it is public, and whether its year is ending (from December
// 1st a plan may be assessed; a past year's any time).
type Situation struct {
	Status Status
	Public bool
	Ending bool
}

// SituationOf is a plan's situation on a day.
func SituationOf(p Plan, today time.Time) Situation {
	return Situation{Status: p.Status, Public: p.Public, Ending: today.Year() > p.Year || (today.Year() == p.Year && today.Month() == time.December)}
}

// rule is one row of the table: role and action allowed from these
// statuses (to the next status, "" for none), when the guard holds.
type rule struct {
	role  Role
	act   Action
	from  []Status
	to    Status
	guard func(Situation) bool
}

var (
	afterDraft = []Status{StatusPublished, StatusAssessed, StatusCommented, StatusClosed}
	assessed   = []Status{StatusAssessed, StatusCommented}
)

// rules is the lifecycle: draft → published → assessed → commented →
// closed. The owner writes and may change its commitments until it
// assesses (a new version each time); staff and the committee comment the
// assessment; staff close. Anyone reads a public plan once published.
var rules = []rule{
	{RoleOwner, ActRead, Statuses, "", nil},
	{RoleOwner, ActEdit, []Status{StatusDraft, StatusPublished}, "", nil},
	{RoleOwner, ActPublish, []Status{StatusDraft}, StatusPublished, nil},
	{RoleOwner, ActAssess, []Status{StatusPublished, StatusAssessed}, StatusAssessed, func(s Situation) bool { return s.Ending }},
	{RoleStaff, ActRead, Statuses, "", nil},
	{RoleStaff, ActComment, assessed, StatusCommented, nil},
	{RoleStaff, ActClose, []Status{StatusCommented}, StatusClosed, nil},
	{RoleCommittee, ActRead, afterDraft, "", nil},
	{RoleCommittee, ActComment, assessed, StatusCommented, nil},
	{RoleOther, ActRead, afterDraft, "", func(s Situation) bool { return s.Public }},
}

// Next is the status an action leads to ("" when it keeps it), and
// whether the role may take it now. Reading a public plan is open to
// every role that may read at all.
func Next(s Situation, role Role, act Action) (Status, bool) {
	for _, r := range rules {
		if r.act == act && (r.role == role || (act == ActRead && r.role == RoleOther)) && slices.Contains(r.from, s.Status) &&
			(r.guard == nil || r.guard(s)) {
			if r.to == "" {
				return s.Status, true
			}
			return r.to, true
		}
	}
	return "", false
}

// Allowed lists what role may do now.
func Allowed(s Situation, role Role) []Action {
	var out []Action
	for _, a := range Actions {
		if _, ok := Next(s, role, a); ok {
			out = append(out, a)
		}
	}
	return out
}

// Outcome is where a commitment stands against its measure.
type Outcome string

// The outcomes.
const (
	Met          Outcome = "met"
	Missed       Outcome = "missed"
	Unmeasurable Outcome = "unmeasurable"
)

// Outcomes are every outcome, in the order of the charts.
var Outcomes = []Outcome{Met, Missed, Unmeasurable}

// OutcomeOf compares a measured value with its target: a payment delay
// is met at or under it, every other indicator at or above; without a
// measure, it cannot be said. The referent is met when named.
func OutcomeOf(c Commitment, value *float64) Outcome {
	switch {
	case value == nil:
		return Unmeasurable
	case c.Indicator.LowerIsBetter() && *value <= c.Target, !c.Indicator.LowerIsBetter() && *value >= c.Target:
		return Met
	}
	return Missed
}
