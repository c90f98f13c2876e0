package purchase_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/matching"
	"passerelle/internal/member"
	"passerelle/internal/offer"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/moderation"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/purchase"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

var tax = taxonomy.MustLoad()

// award is a real public contract of the DECP data in CPV division 72
// (IT services) with its département: the request the tests publish.
var award = func() refdata.Award {
	list, err := refdata.ReadAwards()
	if err != nil {
		panic(err)
	}
	for _, a := range list {
		if strings.HasPrefix(a.CPV, "72") && a.Departement != "" && !a.Damaged && len(a.Object) > 20 && len(a.Object) < 140 {
			if _, ok := tax.CPV(a.CPV); ok {
				if _, ok := tax.Departement(a.Departement); ok {
					return a
				}
			}
		}
	}
	panic("no DECP contract in CPV 72 with a département")
}()

// input is a request built from the real contract.
func input() purchase.Input {
	return purchase.Input{Title: award.Object, Description: "Besoin : " + award.Object + ". Acheteur : " + award.Buyer,
		CPVCodes: []string{award.CPV}, BudgetBand: "40k_100k", Deadline: "2027-03-15", Departements: []string{award.Departement},
		Visibility: "all", Questions: []string{"Quelles références dans le secteur public ?"}}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type fixture struct {
	pool                *pgxpool.Pool
	svc                 *purchase.Service
	offers              *offer.Service
	clock               *clock
	buyer, otherBuyer   member.Actor
	sme, farSME, staff  member.Actor
	smeOffer            int64
	buyerName, smeEmail string
}

func (f fixture) queue() *moderation.Service {
	q := moderation.NewService(f.pool, nil)
	q.Register(f.svc.Moderation())
	q.Register(f.offers.Moderation())
	return q
}

// approve is staff's approval in the moderation queue.
func (f fixture) approve(t *testing.T, kind moderation.Kind, c moderation.Content, id int64) {
	t.Helper()
	if err := moderation.Decide(context.Background(), f.pool, nil, c, f.staff, id, moderation.AnyVersion, moderation.Publish, ""); err != nil {
		t.Fatalf("approve %s %d: %v", kind.Name, id, err)
	}
}

// addMember inserts a member organisation with one owner (e-mail
// <siren>@<kind>.test) and returns the owner.
func addMember(t *testing.T, pool *pgxpool.Pool, siren, name, kind, dep string) member.Actor {
	t.Helper()
	ctx := context.Background()
	a := member.Actor{Kind: member.Kind(kind), Role: member.RoleOwner, OrgName: name}
	if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
		VALUES ($1, $2, $3, '62.01Z', '11', $4, 'member') RETURNING id`, siren, name, kind, dep).Scan(&a.OrgID); err != nil {
		t.Fatal(err)
	}
	a.Email, a.Name = siren+"@"+kind+".test", "Utilisateur "+name
	if err := pool.QueryRow(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role, mail_token)
		VALUES ($1, $2, $3, 'x', $4, $5) RETURNING id`, a.OrgID, a.Email, a.Name, a.Role, "tok"+siren).Scan(&a.UserID); err != nil {
		t.Fatal(err)
	}
	return a
}

func setup(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	ctx := context.Background()
	queue, err := jobs.InsertOnly(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	n := notify.New(pool, mail.NewOutbox(queue), i18n.MustLoad(), "https://passerelle.test")
	index := search.NewIndexer(tax)
	f := fixture{pool: pool, clock: &clock{t: time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)}, offers: offer.NewService(pool, tax, index)}
	f.svc = purchase.NewService(pool, tax, index, n)
	f.svc.Now = f.clock.now
	f.buyerName = award.Buyer
	f.buyer = addMember(t, pool, "015650955", award.Buyer, "public", award.Departement)
	f.otherBuyer = addMember(t, pool, "552081317", "ELECTRICITE DE FRANCE", "ge", "75")
	// Real SIRENs of the SIRENE extract.
	f.sme = addMember(t, pool, "007050065", "AZURIAL SAS", "pme", award.Departement)
	f.farSME = addMember(t, pool, "007350200", "ATELIER DU NORD", "pme", "59")
	f.smeEmail = f.sme.Email
	f.staff = addMember(t, pool, "999000002", "Passerelle", "association", "75")
	f.staff.Role = member.RoleStaff
	if _, err := pool.Exec(ctx, `UPDATE users SET role = 'staff' WHERE id = $1`, f.staff.UserID); err != nil {
		t.Fatal(err)
	}
	// The SME publishes an offer in the request's CPV division, serving its
	// département; the far SME one in another division, elsewhere.
	c, _ := tax.CPV("72212000")
	f.smeOffer, err = f.offers.Create(ctx, f.sme, offer.Input{Title: c.LabelFR, Summary: "Applications métier pour les collectivités.",
		Kind: "service", CPVCodes: []string{"72212000"}, Departements: []string{award.Departement}}, true)
	if err != nil {
		t.Fatal(err)
	}
	far, err := f.offers.Create(ctx, f.farSME, offer.Input{Title: "Nettoyage de bureaux", Summary: "Entretien des locaux.",
		Kind: "service", CPVCodes: []string{"90910000"}, Departements: []string{"59"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	f.approve(t, offer.Moderated, f.offers.Moderation(), f.smeOffer)
	f.approve(t, offer.Moderated, f.offers.Moderation(), far)
	return f
}

// open has the buyer write and submit the request, and staff approve it.
func (f fixture) open(t *testing.T, in purchase.Input) int64 {
	t.Helper()
	id, err := f.svc.Create(context.Background(), f.buyer, in, true)
	if err != nil {
		t.Fatal(err)
	}
	f.approve(t, purchase.Moderated, f.svc.Moderation(), id)
	return id
}

func mails(t *testing.T, f fixture, kind string) []mail.Message {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT to_addr, subject, body, kind FROM emails WHERE kind = $1 ORDER BY id`, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []mail.Message
	for rows.Next() {
		var m mail.Message
		if err := rows.Scan(&m.To, &m.Subject, &m.Body, &m.Kind); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func state(t *testing.T, f fixture, id, org int64) purchase.State {
	t.Helper()
	var st purchase.State
	err := f.pool.QueryRow(context.Background(), `SELECT state FROM request_matches WHERE request_id = $1 AND organisation_id = $2`, id, org).Scan(&st)
	if err != nil {
		return ""
	}
	return st
}

func TestValidate(t *testing.T) {
	today := time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		public bool
		change func(*purchase.Input)
		field  string
		msg    string
	}{
		{"empty title", true, func(i *purchase.Input) { i.Title = " " }, "title", "form.required"},
		{"10 kB description", true, func(i *purchase.Input) { i.Description = strings.Repeat("é", 10240) }, "description", "form.too_long"},
		{"no CPV", true, func(i *purchase.Input) { i.CPVCodes = nil }, "cpv", "offer.cpv_required"},
		{"unknown CPV", true, func(i *purchase.Input) { i.CPVCodes = []string{"99999999"} }, "cpv", "offer.cpv_unknown"},
		{"budget band not in the list", true, func(i *purchase.Input) { i.BudgetBand = "1k" }, "budget_band", "form.choose"},
		{"no deadline", true, func(i *purchase.Input) { i.Deadline = "" }, "deadline", "form.required"},
		{"deadline in the past", true, func(i *purchase.Input) { i.Deadline = "2026-12-31" }, "deadline", "request.deadline_past"},
		{"deadline today", true, func(i *purchase.Input) { i.Deadline = "2027-01-11" }, "deadline", "request.deadline_past"},
		{"deadline not a date", true, func(i *purchase.Input) { i.Deadline = "15/03/2027" }, "deadline", "request.deadline_invalid"},
		{"no place", true, func(i *purchase.Input) { i.Departements = nil }, "regions", "offer.places_required"},
		{"unknown département", true, func(i *purchase.Input) { i.Departements = []string{"99"} }, "departements", "form.choose"},
		{"visibility not in the list", true, func(i *purchase.Input) { i.Visibility = "friends" }, "visibility", "form.choose"},
		{"six questions", true, func(i *purchase.Input) { i.Questions = []string{"a", "b", "c", "d", "e", "f"} }, "questions", "request.questions_too_many"},
		{"innovative for a company", false, func(i *purchase.Input) { i.Innovative = true }, "innovative", "request.innovative_public_only"},
		{"innovative over 100 k€", true, func(i *purchase.Input) { i.Innovative, i.BudgetBand = true, "100k_500k" }, "innovative", "request.innovative_budget"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := input()
			tc.change(&in)
			in.Normalize()
			if errs := in.Validate(tax, today, tc.public); errs[tc.field] != tc.msg {
				t.Errorf("errors %v, want %s: %s", errs, tc.field, tc.msg)
			}
		})
	}
	in := input()
	in.Innovative = true
	in.Normalize()
	if errs := in.Validate(tax, today, true); errs.Any() {
		t.Fatalf("valid input refused: %v", errs)
	}
}

// TestNothingHalfSaved: a refused request writes nothing; HTML is kept as
// text, never interpreted.
func TestNothingHalfSaved(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	bad := input()
	bad.CPVCodes = []string{"99999999"}
	var v *purchase.ValidationError
	if _, err := f.svc.Create(ctx, f.buyer, bad, true); !errors.As(err, &v) {
		t.Fatalf("bad input: %v", err)
	}
	var n int
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM purchase_requests) + (SELECT count(*) FROM audit_entries WHERE action = 'request.submitted')`), &n)
	if n != 0 {
		t.Fatalf("%d rows written by a refused request", n)
	}
	html := input()
	html.Title = `<script>alert("x")</script> Maintenance`
	id, err := f.svc.Create(ctx, f.buyer, html, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Editable(ctx, f.buyer, id)
	if err != nil || r.Title != html.Title {
		t.Fatalf("stored %q, %v", r.Title, err)
	}
}

func TestRequestLifecycle(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id, err := f.svc.Create(ctx, f.buyer, input(), false)
	if err != nil {
		t.Fatal(err)
	}
	// Only buyers write requests; a draft is not reviewed.
	if _, err := f.svc.Create(ctx, f.sme, input(), false); !errors.Is(err, purchase.ErrForbidden) {
		t.Fatalf("SME creates a request: %v", err)
	}
	if err := moderation.Decide(ctx, f.pool, nil, f.svc.Moderation(), f.staff, id, moderation.AnyVersion, moderation.Publish, ""); !errors.Is(err, moderation.ErrNotWaiting) {
		t.Fatalf("publish a draft: %v", err)
	}
	if err := f.svc.Submit(ctx, f.otherBuyer, id); !errors.Is(err, purchase.ErrNotFound) {
		t.Fatalf("another buyer submits: %v", err)
	}
	if err := f.svc.Submit(ctx, f.buyer, id); err != nil {
		t.Fatal(err)
	}
	// Sent back with a reason the buyer reads; editing makes it a draft.
	if err := moderation.Decide(ctx, f.pool, nil, f.svc.Moderation(), f.staff, id, moderation.AnyVersion, moderation.SendBack, "Précisez le budget."); err != nil {
		t.Fatal(err)
	}
	mine, total, err := f.svc.Mine(ctx, f.buyer, 1)
	if err != nil || total != 1 || mine[0].Status != purchase.StatusRejected || mine[0].StatusReason != "Précisez le budget." {
		t.Fatalf("buyer sees %+v, %v", mine, err)
	}
	if err := f.svc.Update(ctx, f.buyer, id, input(), true); err != nil {
		t.Fatal(err)
	}
	f.approve(t, purchase.Moderated, f.svc.Moderation(), id)
	// Open: no more edits; the matched SME is suggested it, the far one not.
	if err := f.svc.Update(ctx, f.buyer, id, input(), false); !errors.Is(err, purchase.ErrInvalidState) {
		t.Fatalf("edit an open request: %v", err)
	}
	if st := state(t, f, id, f.sme.OrgID); st != purchase.StateSuggested {
		t.Fatalf("matched SME: %q", st)
	}
	if st := state(t, f, id, f.farSME.OrgID); st != "" {
		t.Fatalf("far SME: %q", st)
	}
	if got := mails(t, f, "request_announced"); len(got) != 1 || got[0].To != f.smeEmail {
		t.Fatalf("announcements %+v", got)
	}
	// The SME opens it (viewed), says it is interested with its answer.
	p, err := f.svc.Get(ctx, f.sme, id)
	if err != nil || p.Match == nil || p.Match.State != purchase.StateViewed || len(p.Answers) != 0 {
		t.Fatalf("SME page %+v, %v", p.Match, err)
	}
	interest := purchase.Interest{Message: "Nous avons livré un outil semblable.", Answers: []string{"Trois collectivités."},
		OfferID: fmt.Sprint(f.smeOffer)}
	if err := f.svc.ExpressInterest(ctx, f.sme, id, purchase.Interest{Message: "Oui"}); !isField(err, "answer0") {
		t.Fatalf("interest without the answer: %v", err)
	}
	if err := f.svc.ExpressInterest(ctx, f.sme, id, interest); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ExpressInterest(ctx, f.sme, id, interest); !errors.Is(err, purchase.ErrInvalidState) {
		t.Fatalf("interest twice: %v", err)
	}
	// The buyer reads the answer; the SME cannot act for the buyer.
	p, err = f.svc.Get(ctx, f.buyer, id)
	if err != nil || len(p.Answers) != 1 || p.Answers[0].Answers[0] != "Trois collectivités." || p.Answers[0].OfferTitle == nil {
		t.Fatalf("buyer page %+v, %v", p.Answers, err)
	}
	if err := f.svc.Respond(ctx, f.sme, id, f.sme.OrgID, purchase.Reply{Action: "accept"}); !errors.Is(err, purchase.ErrForbidden) {
		t.Fatalf("SME accepts itself: %v", err)
	}
	if err := f.svc.Respond(ctx, f.otherBuyer, id, f.sme.OrgID, purchase.Reply{Action: "accept"}); !errors.Is(err, purchase.ErrNotFound) {
		t.Fatalf("another buyer accepts: %v", err)
	}
	// Conversations open only on acceptance.
	if _, err := f.svc.Conversation(ctx, f.sme, id, f.sme.OrgID); !errors.Is(err, purchase.ErrNotFound) {
		t.Fatalf("conversation before acceptance: %v", err)
	}
	if err := f.svc.Respond(ctx, f.buyer, id, f.sme.OrgID, purchase.Reply{Action: "won", Amount: "1000", Date: "2027-01-10"}); !errors.Is(err, purchase.ErrInvalidState) {
		t.Fatalf("won before shortlist or discussion: %v", err)
	}
	for _, step := range []purchase.Action{purchase.ActShortlist, purchase.ActAccept} {
		if err := f.svc.Respond(ctx, f.buyer, id, f.sme.OrgID, purchase.Reply{Action: step}); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	if st := state(t, f, id, f.sme.OrgID); st != purchase.StateDiscussion {
		t.Fatalf("after accept: %q", st)
	}
	if got := mails(t, f, "answer_discussion"); len(got) != 1 || got[0].To != f.smeEmail {
		t.Fatalf("acceptance mails %+v", got)
	}
	// They exchange messages; each side is told.
	if err := f.svc.Post(ctx, f.buyer, id, f.sme.OrgID, "Pouvez-vous venir mardi ?"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Post(ctx, f.sme, id, f.sme.OrgID, "Oui, à 10 h."); err != nil {
		t.Fatal(err)
	}
	for _, empty := range []string{"   ", "\u202e\u200b", "\u200b\u00a0\u2060\n", "\x00\ufeff"} { // empty once cleaned is empty
		if err := f.svc.Post(ctx, f.sme, id, f.sme.OrgID, empty); !isField(err, "body") {
			t.Fatalf("message %q: %v", empty, err)
		}
	}
	if err := f.svc.Post(ctx, f.sme, id, f.sme.OrgID, "   "); !isField(err, "body") {
		t.Fatalf("empty message: %v", err)
	}
	c, err := f.svc.Conversation(ctx, f.buyer, id, f.sme.OrgID)
	if err != nil || len(c.Messages) != 2 || !c.CanWrite {
		t.Fatalf("conversation %+v, %v", c, err)
	}
	if got := mails(t, f, "message_received"); len(got) != 2 {
		t.Fatalf("%d message mails, want 2", len(got))
	}
	// Won needs an amount and a date.
	if err := f.svc.Respond(ctx, f.buyer, id, f.sme.OrgID, purchase.Reply{Action: "won", Amount: "-5", Date: ""}); !isField(err, "amount") || !isField(err, "date") {
		t.Fatalf("won without amount and date: %v", err)
	}
	if err := f.svc.Respond(ctx, f.buyer, id, f.sme.OrgID, purchase.Reply{Action: "won", Amount: "85 000 €", Date: "2027-01-10"}); err != nil {
		t.Fatal(err)
	}
	var amount int64
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT contract_amount FROM request_matches WHERE request_id = $1 AND organisation_id = $2`, id, f.sme.OrgID), &amount)
	if amount != 85000 {
		t.Fatalf("contract amount %d", amount)
	}
	// Both see "won".
	for _, a := range []member.Actor{f.buyer, f.sme} {
		c, err := f.svc.Conversation(ctx, a, id, f.sme.OrgID)
		if err != nil || c.Match.State != purchase.StateWon {
			t.Fatalf("%s sees %q, %v", a.OrgName, c.Match.State, err)
		}
	}
	// Closing ends it; a closed request takes no answer.
	if err := f.svc.Close(ctx, f.buyer, id, "awarded"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.NotInterested(ctx, f.sme, id, purchase.Decline{Reason: "scope"}); !errors.Is(err, purchase.ErrClosed) {
		t.Fatalf("answer to a closed request: %v", err)
	}
	// Every step is kept with its time, and audited.
	events := pgtest.Rows[string](t, f.pool, `SELECT kind FROM request_events WHERE request_id = $1 ORDER BY id`, id)
	want := []string{"opened", "invited", "viewed", "interested", "shortlisted", "discussion", "message", "message", "won", "closed_awarded"}
	if !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	var audits int
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries WHERE action LIKE 'request.%' OR action LIKE 'match.%'`), &audits)
	if audits != 9 { // submitted ×2, sent back, approved, interested, shortlisted, accepted, won, closed
		t.Fatalf("%d audit entries, want 9", audits)
	}
}

func isField(err error, field string) bool {
	var v *purchase.ValidationError
	return errors.As(err, &v) && v.Fields[field] != ""
}

// TestVisibility: who sees what.
func TestVisibility(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := input()
	in.Visibility = "matched"
	id := f.open(t, in)
	// The far SME is not matched: the request does not exist for it.
	if _, err := f.svc.Get(ctx, f.farSME, id); !errors.Is(err, purchase.ErrNotFound) {
		t.Fatalf("unmatched SME reads a matched-only request: %v", err)
	}
	if err := f.svc.ExpressInterest(ctx, f.farSME, id, purchase.Interest{Message: "x", Answers: []string{"y"}}); !errors.Is(err, purchase.ErrNotFound) {
		t.Fatalf("unmatched SME answers: %v", err)
	}
	res, err := f.svc.Browse(ctx, f.farSME, purchase.Query{})
	if err != nil || res.Total != 0 {
		t.Fatalf("unmatched SME finds %d, %v", res.Total, err)
	}
	res, err = f.svc.Browse(ctx, f.sme, purchase.Query{})
	if err != nil || res.Total != 1 {
		t.Fatalf("matched SME finds %d, %v", res.Total, err)
	}
	// Another buyer cannot read it; staff can.
	if _, err := f.svc.Get(ctx, f.otherBuyer, id); !errors.Is(err, purchase.ErrNotFound) {
		t.Fatalf("another buyer reads it: %v", err)
	}
	if _, err := f.svc.Get(ctx, f.staff, id); err != nil {
		t.Fatalf("staff: %v", err)
	}
	// A request open to all: the far SME reads it and answers; it never
	// sees the other SME's answer.
	all := f.open(t, input())
	if err := f.svc.ExpressInterest(ctx, f.sme, all, purchase.Interest{Message: "Intéressés", Answers: []string{"Oui"}}); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Get(ctx, f.farSME, all)
	if err != nil || len(p.Answers) != 0 || p.Match == nil || p.Match.State != purchase.StateViewed {
		t.Fatalf("far SME sees %+v, %v", p, err)
	}
	if _, err := f.svc.Conversation(ctx, f.farSME, all, f.sme.OrgID); !errors.Is(err, purchase.ErrNotFound) {
		t.Fatalf("another SME reads a conversation: %v", err)
	}
	// Past its deadline a request leaves the lists and takes no answer.
	f.clock.t = time.Date(2027, 3, 16, 9, 0, 0, 0, time.UTC)
	if err := f.svc.ExpressInterest(ctx, f.farSME, all, purchase.Interest{Message: "x", Answers: []string{"y"}}); !errors.Is(err, purchase.ErrClosed) {
		t.Fatalf("answer past the deadline: %v", err)
	}
	if res, _ := f.svc.Browse(ctx, f.sme, purchase.Query{}); res.Total != 0 {
		t.Fatalf("%d requests listed past their deadline", res.Total)
	}
}

// TestConversationAccess: only the two organisations read a conversation;
// staff read it once a member reported it, and never write in it.
func TestConversationAccess(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id := f.open(t, input())
	if err := f.svc.ExpressInterest(ctx, f.sme, id, purchase.Interest{Message: "Oui", Answers: []string{"Oui"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Respond(ctx, f.buyer, id, f.sme.OrgID, purchase.Reply{Action: "accept"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Post(ctx, f.sme, id, f.sme.OrgID, "Bonjour"); err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]member.Actor{"another buyer": f.otherBuyer, "another SME": f.farSME, "staff before a report": f.staff} {
		if _, err := f.svc.Conversation(ctx, a, id, f.sme.OrgID); !errors.Is(err, purchase.ErrNotFound) {
			t.Errorf("%s reads the conversation: %v", name, err)
		}
		if err := f.svc.Post(ctx, a, id, f.sme.OrgID, "Intrus"); !errors.Is(err, purchase.ErrNotFound) {
			t.Errorf("%s writes in the conversation: %v", name, err)
		}
	}
	if err := f.svc.Report(ctx, f.buyer, id, f.sme.OrgID); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Conversation(ctx, f.staff, id, f.sme.OrgID)
	if err != nil || len(c.Messages) != 1 || c.CanWrite {
		t.Fatalf("staff after report: %+v, %v", c, err)
	}
	if err := f.svc.Post(ctx, f.staff, id, f.sme.OrgID, "Modération"); !errors.Is(err, purchase.ErrForbidden) {
		t.Fatalf("staff writes: %v", err)
	}
}

// TestInterestMails: the buyer is told at the 1st, 2nd and 5th interest.
func TestInterestMails(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id := f.open(t, input())
	for i := range 6 {
		a := f.sme
		if i > 0 {
			siren := fmt.Sprintf("90000%04d", i)
			a = addMember(t, f.pool, siren, "PME "+siren, "pme", "69")
		}
		if err := f.svc.ExpressInterest(ctx, a, id, purchase.Interest{Message: "Oui", Answers: []string{"Oui"}}); err != nil {
			t.Fatal(err)
		}
	}
	got := mails(t, f, "interest_received")
	if len(got) != 3 {
		t.Fatalf("%d mails to the buyer for 6 interests, want 3 (1st, 2nd, 5th)", len(got))
	}
}

// TestLinks: a signed link is good for its purpose, request, SME and time only.
func TestLinks(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a, b := f.open(t, input()), f.open(t, input())
	l := purchase.Link{Purpose: purchase.LinkNotInterested, Request: a, Org: f.sme.OrgID, User: f.sme.UserID, Expires: f.clock.t.Add(time.Hour)}
	tok, err := f.svc.SignLink(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.VerifyLink(ctx, tok, purchase.LinkNotInterested, a); err != nil || got.Org != f.sme.OrgID || got.User != f.sme.UserID {
		t.Fatalf("valid link: %+v, %v", got, err)
	}
	// A delivered mail's stored copy loses the whole token.
	if got := mail.Redact("https://passerelle.test/demandes/1/lien?jeton=" + tok); got != "https://passerelle.test/demandes/1/lien?jeton=…" {
		t.Fatalf("redacted link %q", got)
	}
	other := l
	other.Org, other.User = f.farSME.OrgID, f.farSME.UserID
	forged, _ := f.svc.SignLink(ctx, other)
	// The other SME's payload under this link's signature.
	rawTok, _ := base64.RawURLEncoding.DecodeString(tok)
	rawForged, _ := base64.RawURLEncoding.DecodeString(forged)
	swapped := base64.RawURLEncoding.EncodeToString(append(rawTok[:20:20], rawForged[20:]...))
	tests := []struct {
		name    string
		token   string
		purpose string
		request int64
		at      time.Time
	}{
		{"another request", tok, purchase.LinkNotInterested, b, f.clock.t},
		{"another purpose", tok, purchase.LinkInterest, a, f.clock.t},
		{"another SME (payload swapped)", swapped, purchase.LinkNotInterested, a, f.clock.t},
		{"after expiry", tok, purchase.LinkNotInterested, a, f.clock.t.Add(time.Hour)},
		{"garbage", "abc", purchase.LinkNotInterested, a, f.clock.t},
	}
	start := f.clock.t
	for _, tc := range tests {
		f.clock.t = tc.at
		if _, err := f.svc.VerifyLink(ctx, tc.token, tc.purpose, tc.request); !errors.Is(err, purchase.ErrLinkInvalid) {
			t.Errorf("%s: %v", tc.name, err)
		}
		f.clock.t = start
	}
	// A changed last character is refused even where it only changes the
	// padding bits a lenient base64 decoder ignores.
	tampered := 0
	for _, purpose := range []string{purchase.LinkInterest, purchase.LinkNotInterested, purchase.LinkFollowUp} {
		pl := l
		pl.Purpose = purpose
		tok, err := f.svc.SignLink(ctx, pl)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		for _, c := range alphabet {
			alt := tok[:len(tok)-1] + string(c)
			if alt == tok {
				continue
			}
			if same, err := base64.RawURLEncoding.DecodeString(alt); err == nil && string(same) == string(raw) {
				tampered++
				if _, err := f.svc.VerifyLink(ctx, alt, purpose, a); !errors.Is(err, purchase.ErrLinkInvalid) {
					t.Errorf("%s link with its last character changed (%q → %q) accepted: %v", purpose, tok[len(tok)-1:], string(c), err)
				}
			}
		}
	}
	if tampered == 0 {
		t.Fatal("no link of the three purposes has padding bits to change: the case was not tried")
	}
	// A link written for a user who has left the SME acts for nobody.
	moved := l
	moved.Org = f.farSME.OrgID
	byID := func(context.Context, int64) (member.Actor, error) { return f.sme, nil }
	if _, err := f.svc.LinkActor(ctx, moved, byID); !errors.Is(err, purchase.ErrLinkInvalid) {
		t.Fatalf("link of a user in another organisation: %v", err)
	}
}

// TestAnonymous: an anonymous buyer's name appears nowhere an SME reads
// (page, list, mails, home) before the buyer accepts it.
func TestAnonymous(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := input()
	in.Anonymous = true
	in.Description = "Maintenance applicative."
	id := f.open(t, in)
	p, err := f.svc.Get(ctx, f.sme, id)
	if err != nil || !p.BuyerHidden || p.OrgName != "" {
		t.Fatalf("SME page shows %q (hidden %v), %v", p.OrgName, p.BuyerHidden, err)
	}
	res, _ := f.svc.Browse(ctx, f.sme, purchase.Query{})
	if len(res.Hits) != 1 || res.Hits[0].BuyerName != "" {
		t.Fatalf("list shows %+v", res.Hits)
	}
	if err := f.svc.ExpressInterest(ctx, f.sme, id, purchase.Interest{Message: "Oui", Answers: []string{"Oui"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Respond(ctx, f.buyer, id, f.sme.OrgID, purchase.Reply{Action: "shortlist"}); err != nil {
		t.Fatal(err)
	}
	h, _ := f.svc.Home(ctx, f.sme)
	if len(h.Waiting) != 1 || h.Waiting[0].OrgName != "" {
		t.Fatalf("home shows %+v", h.Waiting)
	}
	// The shortlist CSV carries the SMEs, never the buyer's own name.
	r, kept, err := f.svc.Shortlist(ctx, f.buyer, id)
	if err != nil || len(kept) != 1 {
		t.Fatalf("shortlist %v, %v", kept, err)
	}
	_ = r
	var all []string
	for _, m := range mails(t, f, "request_announced") {
		all = append(all, m.Subject, m.Body)
	}
	if err := f.svc.Respond(ctx, f.buyer, id, f.sme.OrgID, purchase.Reply{Action: "decline", Reason: "Offre trop éloignée du besoin."}); err != nil {
		t.Fatal(err)
	}
	for _, m := range mails(t, f, "answer_declined") {
		all = append(all, m.Subject, m.Body)
	}
	if len(all) != 4 {
		t.Fatalf("%d mail parts, want 4", len(all))
	}
	for _, s := range all {
		if strings.Contains(s, f.buyerName) {
			t.Fatalf("a mail names the anonymous buyer: %q", s)
		}
	}
	// Declined, it stays hidden; the SME reads the buyer's reason.
	p, _ = f.svc.Get(ctx, f.sme, id)
	if !p.BuyerHidden || p.Match.BuyerReason != "Offre trop éloignée du besoin." {
		t.Fatalf("after decline: hidden %v, reason %q", p.BuyerHidden, p.Match.BuyerReason)
	}
	// Accepted, the buyer is revealed.
	id2 := f.open(t, in)
	_ = f.svc.ExpressInterest(ctx, f.sme, id2, purchase.Interest{Message: "Oui", Answers: []string{"Oui"}})
	if err := f.svc.Respond(ctx, f.buyer, id2, f.sme.OrgID, purchase.Reply{Action: "accept"}); err != nil {
		t.Fatal(err)
	}
	p, _ = f.svc.Get(ctx, f.sme, id2)
	if p.BuyerHidden || p.OrgName != f.buyerName {
		t.Fatalf("after accept: %q hidden %v", p.OrgName, p.BuyerHidden)
	}
}

// TestDigest: with a controlled clock, one mail per user per day however
// many requests, none when nothing is new, none after unsubscribing.
func TestDigest(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if err := f.svc.SaveSearch(ctx, f.sme, purchase.Query{Facets: []string{"cpv:72"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SaveSearch(ctx, f.sme, purchase.Query{}); !isField(err, "q") {
		t.Fatalf("empty search saved: %v", err)
	}
	count := func() int { return len(mails(t, f, "request_digest")) }
	run := func() int {
		t.Helper()
		n, err := f.svc.SendDigests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if run() != 0 || count() != 0 {
		t.Fatal("a digest with nothing new")
	}
	f.clock.t = f.clock.t.Add(time.Hour)
	for range 3 {
		f.open(t, input())
	}
	f.clock.t = f.clock.t.Add(time.Hour)
	if run() != 1 || count() != 1 {
		t.Fatalf("3 new requests: %d digests", count())
	}
	if m := mails(t, f, "request_digest")[0]; strings.Count(m.Body, "/demandes/") < 3 {
		t.Fatalf("digest lists fewer than 3 requests:\n%s", m.Body)
	}
	// Later the same day, another request: still one mail today.
	f.clock.t = f.clock.t.Add(time.Hour)
	f.open(t, input())
	f.clock.t = f.clock.t.Add(time.Hour)
	if run() != 0 || count() != 1 {
		t.Fatalf("second digest the same day: %d", count())
	}
	// The next day it comes, with only what is new.
	f.clock.t = f.clock.t.Add(24 * time.Hour)
	if run() != 1 || count() != 2 {
		t.Fatalf("next day: %d digests", count())
	}
	f.clock.t = f.clock.t.Add(24 * time.Hour)
	if run() != 0 || count() != 2 {
		t.Fatal("a digest with nothing new")
	}
	// Unsubscribed: none.
	if _, err := f.pool.Exec(ctx, `INSERT INTO notification_optouts (user_id, category) VALUES ($1, 'requests')`, f.sme.UserID); err != nil {
		t.Fatal(err)
	}
	f.open(t, input())
	f.clock.t = f.clock.t.Add(24 * time.Hour)
	if run() != 0 || count() != 2 {
		t.Fatal("a digest after unsubscribing")
	}
}

// TestReminders: at most two per SME and request, none after "not
// interested" or once the request closed.
func TestReminders(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id := f.open(t, input())
	other := f.open(t, input())
	if err := f.svc.NotInterested(ctx, f.sme, other, purchase.Decline{Reason: "other"}); !isField(err, "text") {
		t.Fatalf("other without a text: %v", err)
	}
	if err := f.svc.NotInterested(ctx, f.sme, other, purchase.Decline{Reason: "capacity", Text: "Équipe complète jusqu'en juin."}); err != nil {
		t.Fatal(err)
	}
	var sent []int
	for range 5 {
		f.clock.t = f.clock.t.Add(5 * 24 * time.Hour)
		n, err := f.svc.SendReminders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, n)
	}
	if !slices.Equal(sent, []int{1, 1, 0, 0, 0}) {
		t.Fatalf("reminders per run %v, want [1 1 0 0 0]", sent)
	}
	for _, m := range mails(t, f, "request_reminder") {
		if !strings.Contains(m.Body, fmt.Sprintf("/demandes/%d", id)) {
			t.Fatalf("reminder of the declined request:\n%s", m.Body)
		}
	}
	// The buyer reads the reason.
	p, _ := f.svc.Get(ctx, f.buyer, other)
	if len(p.Answers) != 1 || p.Answers[0].SMEReason != "capacity" || p.Answers[0].SMEReasonText != "Équipe complète jusqu'en juin." {
		t.Fatalf("buyer reads %+v", p.Answers)
	}
}

// TestFollowUp: seven days after the deadline the buyer is asked once;
// its answer closes the request and the task goes.
func TestFollowUp(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id := f.open(t, input())
	f.clock.t = time.Date(2027, 3, 21, 9, 0, 0, 0, time.UTC) // 6 days after
	if n, _ := f.svc.AskFollowUps(ctx); n != 0 {
		t.Fatal("asked before seven days")
	}
	f.clock.t = f.clock.t.Add(24 * time.Hour)
	if n, _ := f.svc.AskFollowUps(ctx); n != 1 {
		t.Fatal("not asked after seven days")
	}
	if n, _ := f.svc.AskFollowUps(ctx); n != 0 {
		t.Fatal("asked twice")
	}
	got := mails(t, f, "request_follow_up")
	if len(got) != 1 || !strings.Contains(got[0].Body, "reponse=passerelle") {
		t.Fatalf("follow-up mails %+v", got)
	}
	h, _ := f.svc.Home(ctx, f.buyer)
	if len(h.FollowUps) != 1 {
		t.Fatalf("home tasks %+v", h.FollowUps)
	}
	if err := f.svc.FollowUp(ctx, f.otherBuyer, id, "passerelle", "no"); !errors.Is(err, purchase.ErrNotFound) {
		t.Fatalf("another buyer answers: %v", err)
	}
	if err := f.svc.FollowUp(ctx, f.buyer, id, "passerelle", "no"); err != nil {
		t.Fatal(err)
	}
	h, _ = f.svc.Home(ctx, f.buyer)
	var st, outcome string
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT status::text, outcome FROM purchase_requests WHERE id = $1`, id), &st, &outcome)
	if len(h.FollowUps) != 0 || st != "closed" || outcome != "awarded" {
		t.Fatalf("after the answer: tasks %d, %s %s", len(h.FollowUps), st, outcome)
	}
}

func TestLifecycleLine(t *testing.T) {
	tests := []struct {
		st      purchase.State
		visited []purchase.State
		line    string
	}{
		{purchase.StateSuggested, nil, "[suggested] viewed interested shortlisted discussion won"},
		{purchase.StateNotInterested, nil, "+suggested +viewed [not_interested]"},
		{purchase.StateShortlisted, nil, "+suggested +viewed +interested [shortlisted] discussion won"},
		{purchase.StateWon, nil, "+suggested +viewed +interested +shortlisted +discussion [won]"},
		{purchase.StateWon, []purchase.State{"viewed", "interested", "discussion", "message"}, "+suggested +viewed +interested +discussion [won]"},
		{purchase.StateDiscussion, []purchase.State{"interested", "shortlisted", "discussion"}, "+suggested +viewed +interested +shortlisted [discussion] won"},
		{purchase.StateLost, nil, "+suggested +viewed +interested +shortlisted +discussion [lost]"},
		{purchase.StateDeclined, nil, "+suggested +viewed +interested [declined]"},
	}
	for _, tc := range tests {
		var parts []string
		for _, s := range purchase.Lifecycle(tc.st, tc.visited...) {
			switch {
			case s.Current:
				parts = append(parts, "["+string(s.State)+"]")
			case s.Done:
				parts = append(parts, "+"+string(s.State))
			default:
				parts = append(parts, string(s.State))
			}
		}
		if got := strings.Join(parts, " "); got != tc.line {
			t.Errorf("%s: %s, want %s", tc.st, got, tc.line)
		}
	}
}

// ranked is a matcher that suggests the given SMEs with decreasing scores.
type ranked struct{ orgs []int64 }

func (m ranked) Match(context.Context, pgx.Tx, purchase.Request) ([]purchase.Suggestion, error) {
	out := make([]purchase.Suggestion, len(m.orgs))
	for i, o := range m.orgs {
		out[i] = purchase.Suggestion{OrgID: o, Score: 10 - float64(i)*0.3}
	}
	return out, nil
}

// TestInvitationsAreThrottled: with a controlled clock, a first batch when
// the request opens, then at most one batch a day down the ranking; none
// below the minimum score; none once enough SMEs are interested; no SME
// invited to more requests a week than the limit.
func TestInvitationsAreThrottled(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	var orgs []int64
	for i := range 30 {
		siren := fmt.Sprintf("80000%04d", i)
		orgs = append(orgs, addMember(t, f.pool, siren, "PME "+siren, "pme", "69").OrgID)
	}
	f.svc.UseMatcher(ranked{orgs})
	f.svc.Invitations.FirstBatch, f.svc.Invitations.DailyBatch, f.svc.Invitations.Enough = 10, 8, 3
	f.svc.Invitations.MinScore, f.svc.Invitations.PerWeek = 10-0.3*23.5, 2 // the first 24 score enough
	invited := func() []int64 {
		return pgtest.Rows[int64](t, f.pool, `SELECT organisation_id FROM request_matches WHERE invited_at IS NOT NULL ORDER BY score DESC, organisation_id`)
	}
	id := f.open(t, input())
	if got := invited(); !slices.Equal(got, orgs[:10]) {
		t.Fatalf("first batch %v, want the 10 best %v", got, orgs[:10])
	}
	if n := len(mails(t, f, "request_announced")); n != 10 {
		t.Fatalf("%d invitations mailed, want 10", n)
	}
	run := func() int {
		t.Helper()
		n, err := f.svc.SendInvitations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	f.clock.t = f.clock.t.Add(23 * time.Hour)
	if n := run(); n != 0 {
		t.Fatalf("%d invited within a day of the first batch", n)
	}
	f.clock.t = f.clock.t.Add(2 * time.Hour)
	if n := run(); n != 8 || !slices.Equal(invited(), orgs[:18]) {
		t.Fatalf("second batch: %d, invited %v", n, invited())
	}
	if n := run(); n != 0 {
		t.Fatal("two batches the same day")
	}
	// The next day, the ranking stops at the minimum score: 6 more, not 8.
	f.clock.t = f.clock.t.Add(25 * time.Hour)
	if n := run(); n != 6 {
		t.Fatalf("third batch: %d, want 6 (the rest score too low)", n)
	}
	f.clock.t = f.clock.t.Add(25 * time.Hour)
	if n := run(); n != 0 {
		t.Fatal("invited below the minimum score")
	}
	// Enough interest stops a second request's invitations; the weekly
	// limit (2) leaves out the SMEs invited twice this week.
	second := f.open(t, input())
	for _, org := range orgs[:3] {
		a := member.Actor{OrgID: org, Role: member.RoleOwner, Kind: member.KindPME}
		pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT id FROM users WHERE organisation_id = $1`, org), &a.UserID)
		if err := f.svc.ExpressInterest(ctx, a, second, purchase.Interest{Message: "Oui", Answers: []string{"Oui"}}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.t = f.clock.t.Add(25 * time.Hour)
	if n := run(); n != 0 {
		t.Fatalf("%d invited although 3 SMEs are interested", n)
	}
	var weekly int
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM request_matches WHERE request_id = $1 AND invited_at IS NOT NULL`, second), &weekly)
	if weekly != 10 {
		t.Fatalf("%d invited to the second request, want 10 (each SME's second this week)", weekly)
	}
	third := f.open(t, input())
	var over int
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM request_matches WHERE request_id = $1 AND invited_at IS NOT NULL AND organisation_id = ANY($2)`,
		third, orgs[:10]), &over)
	if over != 0 {
		t.Fatalf("%d SMEs invited a third time in a week", over)
	}
	_ = id
}

// TestMatchesFollowChangesOnce: publishing an offer, adding a reference
// and archiving an offer each recompute the matches of the open requests
// concerned; two servers draining the changes at once recompute each
// change once, and a newly matched SME gets one invitation, not two.
func TestMatchesFollowChangesOnce(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	matcher := matching.ForRequests{Service: matching.NewService(f.pool, tax), Limit: 100}
	f.svc.UseMatcher(matcher)
	f.svc.Invitations.MinScore = 0
	other := purchase.NewService(f.pool, tax, search.NewIndexer(tax), notifier(t, f))
	other.Now, other.Invitations = f.clock.now, f.svc.Invitations
	other.UseMatcher(matcher)
	id := f.open(t, input())
	matched := func(org int64) bool {
		var ok bool
		pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT coalesce((SELECT matched FROM request_matches WHERE request_id = $1 AND organisation_id = $2), false)`,
			id, org), &ok)
		return ok
	}
	if matched(f.farSME.OrgID) {
		t.Fatal("the far SME is matched before any change")
	}
	drain := func() int {
		t.Helper()
		var wg sync.WaitGroup
		counts := make([]int, 2)
		for i, svc := range []*purchase.Service{f.svc, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := svc.ApplyMatchChanges(ctx)
				if err != nil {
					t.Error(err)
				}
				counts[i] = n
			}()
		}
		wg.Wait()
		return counts[0] + counts[1]
	}
	drain() // the setup's own changes
	// An offer published in the request's category and place.
	c, _ := tax.CPV(award.CPV)
	offerID, err := f.offers.Create(ctx, f.farSME, offer.Input{Title: c.LabelFR, Summary: "Prestations pour les collectivités.", Kind: "service",
		CPVCodes: []string{award.CPV}, Departements: []string{award.Departement}}, true)
	if err != nil {
		t.Fatal(err)
	}
	f.approve(t, offer.Moderated, f.offers.Moderation(), offerID)
	matcher.Service.Reload()
	if n := drain(); n != 1 {
		t.Fatalf("%d recomputations for one change, want 1", n)
	}
	if !matched(f.farSME.OrgID) {
		t.Fatal("the far SME is not matched after publishing a fitting offer")
	}
	// Both servers invite: one mail.
	f.clock.t = f.clock.t.Add(25 * time.Hour)
	var wg sync.WaitGroup
	for _, svc := range []*purchase.Service{f.svc, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.SendInvitations(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n := 0
	for _, m := range mails(t, f, "request_announced") {
		if m.To == f.farSME.Email {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the newly matched SME got %d invitations, want 1", n)
	}
	// A reference added: a third SME without offers becomes a match.
	var third int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
		VALUES ('900000001', 'PME RÉFÉRENCÉE', 'pme', '62.01Z', '11', $1, 'member') RETURNING id`, award.Departement).Scan(&third); err != nil {
		t.Fatal(err)
	}
	drain()
	if _, err := f.pool.Exec(ctx, `INSERT INTO org_references (organisation_id, client, object, cpv_code, year, departement)
		VALUES ($1, $2, $3, $4, 2019, $5)`, third, award.Buyer, award.Object, award.CPV, award.Departement); err != nil {
		t.Fatal(err)
	}
	if n := drain(); n != 1 || !matched(third) {
		t.Fatalf("after a reference: %d recomputations, matched %v", n, matched(third))
	}
	// The offer archived: the far SME, which never answered, is no longer matched.
	if err := f.offers.Archive(ctx, f.farSME, offerID); err != nil {
		t.Fatal(err)
	}
	if n := drain(); n != 1 || matched(f.farSME.OrgID) {
		t.Fatalf("after archiving: %d recomputations, still matched %v", n, matched(f.farSME.OrgID))
	}
}

func notifier(t *testing.T, f fixture) *notify.Service {
	t.Helper()
	queue, err := jobs.InsertOnly(f.pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return notify.New(f.pool, mail.NewOutbox(queue), i18n.MustLoad(), "https://passerelle.test")
}
