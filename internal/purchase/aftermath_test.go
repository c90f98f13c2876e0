package purchase_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"passerelle/internal/coach"
	"passerelle/internal/member"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/purchase"
)

// After the deadline, the buyer's page says what happened to the request
// as its events hold it — who was told, who read it, who answered and
// who declined and why — and the suggestion for the next one follows
// from it. Before the deadline there is none; the coach's reading is
// the buyer's (and staff's) only.
func TestAftermathCountsTheEvents(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := input()
	in.Visibility = "all"
	id := f.open(t, in)
	// Three more SMEs of the demo's kind, in the request's département.
	smes := []member.Actor{f.sme, f.farSME}
	for i, siren := range []string{"007150249", "007250130", "007350846"} {
		smes = append(smes, addMember(t, f.pool, siren, "PME "+string(rune('A'+i)), "pme", award.Departement))
	}
	// All read it; one is interested, three are not (two lack time).
	for _, s := range smes {
		if _, err := f.svc.Get(ctx, s, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.ExpressInterest(ctx, f.sme, id, purchase.Interest{Message: "Oui", Answers: []string{"Sous huit jours"}}); err != nil {
		t.Fatal(err)
	}
	for i, s := range smes[2:] {
		reason := "deadline"
		if i == 2 {
			reason = "scope"
		}
		if err := f.svc.NotInterested(ctx, s, id, purchase.Decline{Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := f.svc.Get(ctx, f.buyer, id)
	if err != nil || p.Review == nil || p.Review.Aftermath != nil || len(p.Review.Findings) == 0 {
		t.Fatalf("before the deadline: %v, review %+v", err, p.Review)
	}
	f.clock.t = time.Date(2027, 3, 16, 9, 0, 0, 0, time.UTC) // the day after the deadline
	p, err = f.svc.Get(ctx, f.buyer, id)
	if err != nil || p.Review.Aftermath == nil || p.Review.Next == nil {
		t.Fatalf("after the deadline: %v, review %+v", err, p.Review)
	}
	a := *p.Review.Aftermath
	// What request_events holds, counted here on its own.
	count := func(kind string) int {
		return pgtest.Count(t, f.pool, `SELECT count(DISTINCT organisation_id) FROM request_events WHERE request_id = $1 AND kind = $2`, id, kind)
	}
	want := coach.Aftermath{Invited: count("invited"), Seen: count("viewed"), Interested: count("interested"), NotInterested: count("not_interested")}
	if a.Invited != want.Invited || a.Seen != want.Seen || a.Interested != want.Interested || a.NotInterested != want.NotInterested {
		t.Errorf("aftermath %+v, events %+v", a, want)
	}
	if a.Seen != 5 || a.Interested != 1 || a.NotInterested != 3 ||
		len(a.Reasons) != 2 || a.Reasons[0] != (coach.Count{Reason: "deadline", N: 2}) || a.Reasons[1] != (coach.Count{Reason: "scope", N: 1}) {
		t.Errorf("aftermath %+v: want 5 seen, 1 interested, 3 not (deadline 2, scope 1)", a)
	}
	if p.Review.Next.Code != coach.NextLongerDeadline || p.Review.Next.Values["Count"] != 2 {
		t.Errorf("next time: %+v, want a longer deadline for the 2 SMEs short of time", *p.Review.Next)
	}
	// An SME reads no review, and may not ask the coach.
	if p, err := f.svc.Get(ctx, f.sme, id); err != nil || p.Review != nil {
		t.Errorf("an SME's page: %v, review %+v", err, p.Review)
	}
	if _, err := f.svc.Coach(ctx, f.sme, in); !errors.Is(err, purchase.ErrForbidden) {
		t.Errorf("an SME asking the coach: %v", err)
	}
}
