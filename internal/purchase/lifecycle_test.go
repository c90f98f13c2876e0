package purchase

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The whole lifecycle, read as a grid: in an open request that takes
// answers, for an SME the matcher suggests, each role's possible actions
// from each state and where they lead. Every other state × role × action
// must be refused: ErrForbidden when the role never takes the action,
// ErrInvalidState otherwise.
var grid = map[Role]map[State]string{
	RoleSME: {
		StateSuggested:     "interest→interested not_interested→not_interested",
		StateViewed:        "interest→interested not_interested→not_interested",
		StateInterested:    "not_interested→not_interested",
		StateNotInterested: "interest→interested",
		StateShortlisted:   "interest→shortlisted", // shortlisted before it answered
	},
	RoleBuyer: {
		StateSuggested:   "shortlist→shortlisted",
		StateViewed:      "shortlist→shortlisted",
		StateInterested:  "shortlist→shortlisted accept→discussion decline→declined",
		StateShortlisted: "accept→discussion decline→declined won→won",
		StateDiscussion:  "decline→declined won→won lost→lost",
		StateLost:        "won→won",
	},
	RoleSystem: {
		StateInterested:  "close→lost",
		StateShortlisted: "close→lost",
		StateDiscussion:  "close→lost",
	},
}

// answeredIn tells whether, in the grid, the SME has sent its interest.
func answeredIn(st State) bool {
	return st != StateSuggested && st != StateViewed && st != StateNotInterested && st != StateShortlisted
}

func TestLifecycleTable(t *testing.T) {
	takers := map[Action][]Role{}
	for _, tr := range transitions {
		if !slices.Contains(takers[tr.act], tr.role) {
			takers[tr.act] = append(takers[tr.act], tr.role)
		}
	}
	cells := 0
	for _, role := range Roles {
		for _, st := range States {
			want := map[Action]State{}
			for _, cell := range strings.Fields(grid[role][st]) {
				a, to, _ := strings.Cut(cell, "→")
				want[Action(a)] = State(to)
			}
			sit := Situation{State: st, Answered: answeredIn(st), Matched: true, Status: StatusOpen, Takes: true}
			for _, act := range Actions {
				cells++
				got, err := Next(sit, role, act)
				name := fmt.Sprintf("%s %s from %s", role, act, st)
				if to, ok := want[act]; ok {
					if err != nil || got != to {
						t.Errorf("%s: got %q, %v; want %q", name, got, err, to)
					}
					continue
				}
				wantErr := ErrInvalidState
				if !slices.Contains(takers[act], role) {
					wantErr = ErrForbidden
				}
				if !errors.Is(err, wantErr) || got != "" {
					t.Errorf("%s: got %q, %v; want %v", name, got, err, wantErr)
				}
			}
		}
	}
	if want := len(Roles) * len(States) * len(Actions); cells != want || cells != 4*9*8 {
		t.Fatalf("checked %d cells, want %d", cells, want)
	}
}

// The conditions beside the state: the request's status and deadline,
// whether the SME answered, whether the matcher suggests it.
func TestLifecycleGuards(t *testing.T) {
	open := Situation{Matched: true, Status: StatusOpen, Takes: true}
	with := func(st State, f func(*Situation)) Situation {
		s := open
		s.State = st
		f(&s)
		return s
	}
	none := func(*Situation) {}
	tests := []struct {
		name string
		sit  Situation
		role Role
		act  Action
		to   State
		err  error
	}{
		{"interest after the deadline", with(StateViewed, func(s *Situation) { s.Takes = false }), RoleSME, ActInterest, "", ErrClosed},
		{"not interested after the deadline", with(StateInterested, func(s *Situation) { s.Takes = false; s.Answered = true }), RoleSME, ActNotInterested, "", ErrClosed},
		{"interest from a closed request's suggestion", with(StateSuggested, func(s *Situation) { s.Takes = false; s.Status = StatusClosed }), RoleSME, ActInterest, "", ErrClosed},
		{"interest again once shortlisted after answering", with(StateShortlisted, func(s *Situation) { s.Answered = true }), RoleSME, ActInterest, "", ErrInvalidState},
		{"interest when shortlisted before answering", with(StateShortlisted, none), RoleSME, ActInterest, StateShortlisted, nil},
		{"interest again after not interested", with(StateNotInterested, none), RoleSME, ActInterest, StateInterested, nil},
		{"interest from a visible request it is not matched to", with(StateSuggested, func(s *Situation) { s.Matched = false }), RoleSME, ActInterest, StateInterested, nil},
		{"shortlist a suggestion not matched", with(StateSuggested, func(s *Situation) { s.Matched = false }), RoleBuyer, ActShortlist, "", ErrInvalidState},
		{"shortlist a suggestion of a closed request", with(StateViewed, func(s *Situation) { s.Status = StatusClosed; s.Takes = false }), RoleBuyer, ActShortlist, "", ErrInvalidState},
		{"shortlist an answer after the deadline", with(StateInterested, func(s *Situation) { s.Takes = false; s.Answered = true }), RoleBuyer, ActShortlist, StateShortlisted, nil},
		{"accept in a closed request", with(StateShortlisted, func(s *Situation) { s.Status = StatusClosed; s.Takes = false }), RoleBuyer, ActAccept, StateDiscussion, nil},
		{"won in a closed request", with(StateLost, func(s *Situation) { s.Status = StatusClosed; s.Takes = false }), RoleBuyer, ActWon, StateWon, nil},
		{"accept in a draft", with(StateInterested, func(s *Situation) { s.Status = StatusDraft }), RoleBuyer, ActAccept, "", ErrInvalidState},
		{"decline in a rejected request", with(StateInterested, func(s *Situation) { s.Status = StatusRejected }), RoleBuyer, ActDecline, "", ErrInvalidState},
		{"close whatever the status", with(StateDiscussion, func(s *Situation) { s.Status = StatusClosed; s.Takes = false }), RoleSystem, ActClose, StateLost, nil},
		{"staff never act", with(StateInterested, none), RoleStaff, ActAccept, "", ErrForbidden},
		{"an SME never accepts itself", with(StateInterested, none), RoleSME, ActAccept, "", ErrForbidden},
		{"a buyer never answers for an SME", with(StateViewed, none), RoleBuyer, ActInterest, "", ErrForbidden},
		{"an unknown action", with(StateViewed, none), RoleSME, Action("delete"), "", ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Next(tc.sit, tc.role, tc.act)
			if got != tc.to || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Next = %q, %v; want %q, %v", got, err, tc.to, tc.err)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		sit  Situation
		role Role
		want []Action
	}{
		{Situation{State: StateViewed, Status: StatusOpen, Takes: true}, RoleSME, []Action{ActInterest, ActNotInterested}},
		{Situation{State: StateViewed, Status: StatusOpen}, RoleSME, nil},
		{Situation{State: StateInterested, Answered: true, Status: StatusOpen, Takes: true}, RoleBuyer, []Action{ActShortlist, ActAccept, ActDecline}},
		{Situation{State: StateDiscussion, Answered: true, Status: StatusClosed}, RoleBuyer, []Action{ActDecline, ActWon, ActLost}},
		{Situation{State: StateWon, Answered: true, Status: StatusClosed}, RoleBuyer, nil},
		{Situation{State: StateInterested, Answered: true, Status: StatusOpen, Takes: true}, RoleStaff, nil},
	}
	for _, tc := range tests {
		if got := Allowed(tc.sit, tc.role); !slices.Equal(got, tc.want) {
			t.Errorf("Allowed(%+v, %s) = %v, want %v", tc.sit, tc.role, got, tc.want)
		}
	}
	if got := From(RoleSystem, ActClose); !slices.Equal(got, []State{StateInterested, StateShortlisted, StateDiscussion}) {
		t.Errorf("closing ends %v", got)
	}
}
