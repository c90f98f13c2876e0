package purchase

import (
	"slices"
	"time"
)

// The match lifecycle, decided once: which actor may take which action
// from which state, and where it leads. The service checks every
// transition through Next; the pages show the actions Allowed returns.
// Nothing here reads the database or the clock.

// Role is who acts on a match.
type Role string

// Roles that act on a match. The system closes a request's matches when
// the request closes.
const (
	RoleSME    Role = "sme"
	RoleBuyer  Role = "buyer"
	RoleStaff  Role = "staff"
	RoleSystem Role = "system"
)

// Roles lists the roles, for the table test.
var Roles = []Role{RoleSME, RoleBuyer, RoleStaff, RoleSystem}

// Action is a step an actor takes on a match. Its value is the one the
// buyer's forms post (/reponses/{org}/{action}).
type Action string

// The actions, in the order the pages offer them.
const (
	ActInterest      Action = "interest"       // SME: I am interested
	ActNotInterested Action = "not_interested" // SME: not for us, with a reason
	ActShortlist     Action = "shortlist"      // buyer
	ActAccept        Action = "accept"         // buyer: opens the conversation
	ActDecline       Action = "decline"        // buyer, with a reason the SME reads
	ActWon           Action = "won"            // buyer, with the contract
	ActLost          Action = "lost"           // buyer
	ActClose         Action = "close"          // system: the request closed
)

// Actions lists every action in page order.
var Actions = []Action{ActInterest, ActNotInterested, ActShortlist, ActAccept, ActDecline, ActWon, ActLost, ActClose}

// ReplyActions are the buyer's steps on an answer, in page order.
var ReplyActions = []Action{ActShortlist, ActAccept, ActDecline, ActWon, ActLost}

// Situation is what the lifecycle reads of a match and its request.
type Situation struct {
	State    State
	Answered bool   // the SME sent its interest and did not take it back
	Matched  bool   // the matcher suggests this SME for the request
	Status   Status // the request's
	Takes    bool   // the request takes SMEs' answers today
}

// transition is one row of the table: who, what, from which states, to
// which state, and what else must hold.
type transition struct {
	role  Role
	act   Action
	from  []State
	to    State
	guard func(Situation) error
}

// transitions is the lifecycle.
var transitions = []transition{
	// An SME answers while the request takes answers; it may change its
	// mind after "not interested", and a buyer who shortlisted it first
	// keeps it on the shortlist when it answers.
	{RoleSME, ActInterest, []State{StateSuggested, StateViewed, StateNotInterested}, StateInterested, smeAnswers},
	{RoleSME, ActInterest, []State{StateShortlisted}, StateShortlisted, smeAnswers},
	{RoleSME, ActNotInterested, []State{StateSuggested, StateViewed, StateInterested}, StateNotInterested, takesAnswers},
	// The buyer shortlists an answer, or a suggestion before it is
	// answered while the request is open.
	{RoleBuyer, ActShortlist, []State{StateInterested}, StateShortlisted, buyerActs},
	{RoleBuyer, ActShortlist, []State{StateSuggested, StateViewed}, StateShortlisted, shortlistsSuggestion},
	{RoleBuyer, ActAccept, []State{StateInterested, StateShortlisted}, StateDiscussion, buyerActs},
	{RoleBuyer, ActDecline, []State{StateInterested, StateShortlisted, StateDiscussion}, StateDeclined, buyerActs},
	{RoleBuyer, ActWon, []State{StateShortlisted, StateDiscussion, StateLost}, StateWon, buyerActs},
	{RoleBuyer, ActLost, []State{StateDiscussion}, StateLost, buyerActs},
	// A request that closes ends what was still going on.
	{RoleSystem, ActClose, []State{StateInterested, StateShortlisted, StateDiscussion}, StateLost, nil},
}

func takesAnswers(s Situation) error {
	if !s.Takes {
		return ErrClosed
	}
	return nil
}

func smeAnswers(s Situation) error {
	if err := takesAnswers(s); err != nil {
		return err
	}
	if s.Answered {
		return ErrInvalidState // answered once: the buyer works from that answer
	}
	return nil
}

func buyerActs(s Situation) error {
	if s.Status != StatusOpen && s.Status != StatusClosed {
		return ErrInvalidState
	}
	return nil
}

func shortlistsSuggestion(s Situation) error {
	if !s.Matched || s.Status != StatusOpen {
		return ErrInvalidState
	}
	return nil
}

// Next is where action takes a match, or why it may not: ErrForbidden
// when the role never takes it, ErrClosed when the request no longer
// takes answers, ErrInvalidState otherwise.
func Next(s Situation, role Role, act Action) (State, error) {
	err := ErrForbidden
	for _, t := range transitions {
		if t.role != role || t.act != act {
			continue
		}
		// The request's conditions first: "it takes no more answers"
		// says more than "not from this state".
		if t.guard != nil {
			if gerr := t.guard(s); gerr != nil {
				err = gerr
				continue
			}
		}
		err = ErrInvalidState
		if !slices.Contains(t.from, s.State) {
			continue
		}
		return t.to, nil
	}
	return "", err
}

// Allowed lists the actions role may take on the match now, in page order.
func Allowed(s Situation, role Role) []Action {
	var out []Action
	for _, a := range Actions {
		if _, err := Next(s, role, a); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// From lists the states from which role's act is possible at all, for
// the service's set-based updates (closing a request).
func From(role Role, act Action) []State {
	var out []State
	for _, t := range transitions {
		if t.role == role && t.act == act {
			out = append(out, t.from...)
		}
	}
	return out
}

// Situation is the match's, in its request r on day today.
func (m Match) Situation(r Request, today time.Time) Situation {
	return Situation{State: m.State, Answered: m.AnsweredAt != nil && m.State != StateNotInterested, Matched: m.Matched,
		Status: r.Status, Takes: r.Takes(today)}
}

// Step is one step of the lifecycle line.
type Step struct {
	State   State
	Done    bool // reached (or passed)
	Current bool
}

// Lifecycle is the line both sides see: where the match is and the steps
// still possible, nothing else. suggested → viewed → interested /
// not interested → shortlisted → in discussion → won / lost / declined,
// with the branch taken instead of the ones not taken; a step skipped
// (accepted without a shortlist, by the states visited, its events) is
// left out; after an end (won, lost, declined, not interested) nothing
// is drawn ahead of it. Without visited, every step before the current
// one counts as taken.
func Lifecycle(st State, visited ...State) []Step {
	answer := StateInterested
	if st == StateNotInterested {
		answer = StateNotInterested
	}
	end := StateWon
	if st == StateLost || st == StateDeclined {
		end = st
	}
	line := []State{StateSuggested, StateViewed, answer, StateShortlisted, StateDiscussion, end}
	reached := map[State]int{StateSuggested: 0, StateViewed: 1, StateInterested: 2, StateNotInterested: 2, StateShortlisted: 3,
		StateDiscussion: 4, StateWon: 5, StateLost: 5, StateDeclined: 5}
	at := reached[st]
	final := st == StateWon || st == StateLost || st == StateDeclined || st == StateNotInterested
	var steps []Step
	for i, x := range line {
		skipped := (i == 3 || i == 4) && i < at && (st == StateDeclined || len(visited) > 0) && !slices.Contains(visited, x)
		if skipped || (final && i > at) {
			continue
		}
		steps = append(steps, Step{State: x, Done: i <= at, Current: i == at})
	}
	return steps
}
