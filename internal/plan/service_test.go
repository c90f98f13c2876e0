package plan_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/indicator"
	"passerelle/internal/member"
	"passerelle/internal/plan"
	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/notify"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/validate"
)

type fixture struct {
	pool                *pgxpool.Pool
	svc                 *plan.Service
	buyer, other, staff member.Actor
	committee, outsider member.Actor
	indicators          *indicator.Service
	clock               *time.Time
}

// addMember inserts a member organisation with one user of role.
func addMember(t *testing.T, pool *pgxpool.Pool, siren, name, kind string, role member.Role) member.Actor {
	t.Helper()
	ctx := context.Background()
	a := member.Actor{Kind: member.Kind(kind), Role: role, OrgName: name, Name: "Utilisateur " + name, Email: siren + "@test.fr"}
	if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
		VALUES ($1, $2, $3, '62.01Z', '11', '75', 'member') RETURNING id`, siren, name, kind).Scan(&a.OrgID); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role, mail_token)
		VALUES ($1, $2, $3, 'x', $4, $5) RETURNING id`, a.OrgID, a.Email, a.Name, role, "tok"+siren).Scan(&a.UserID); err != nil {
		t.Fatal(err)
	}
	return a
}

// setup: a large account (EDF's real SIREN), another one, staff, an SME
// of the year's committee and one that is not on it. The year is 2026,
// in October.
func setup(t *testing.T) fixture {
	pool := pgtest.Pool(t)
	now := time.Date(2026, 10, 15, 9, 0, 0, 0, time.UTC)
	f := fixture{pool: pool, clock: &now, indicators: indicator.NewService(pool, nil)}
	f.svc = plan.NewService(pool, f.indicators)
	queue, err := jobs.InsertOnly(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Notify = notify.New(pool, mail.NewOutbox(queue), i18n.MustLoad(), "https://passerelle.test")
	f.svc.Now = func() time.Time { return *f.clock }
	f.buyer = addMember(t, pool, "552081317", "ELECTRICITE DE FRANCE", "ge", member.RoleOwner)
	f.other = addMember(t, pool, "542107651", "ENGIE", "ge", member.RoleOwner)
	f.staff = addMember(t, pool, "999000002", "Passerelle", "association", member.RoleStaff)
	f.committee = addMember(t, pool, "007050065", "AZURIAL SAS", "pme", member.RoleOwner)
	f.outsider = addMember(t, pool, "007350200", "ATELIER DU NORD", "pme", member.RoleOwner)
	if err := f.svc.Invite(context.Background(), f.staff, 2026, "007 050 065"); err != nil {
		t.Fatal(err)
	}
	return f
}

func fields(err error) validate.Errors {
	var v *validate.Error
	if errors.As(err, &v) {
		return v.Fields
	}
	return nil
}

// A plan's life: the buyer writes and publishes it, its commitments are
// measured (the declaration, the platform); it assesses itself from
// December; the committee's SME comments anonymously, staff sign theirs;
// staff close it. Each step is versioned and audited; each role may only
// what the table says.
func TestPlanLifecycle(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := plan.Input{Targets: map[plan.Indicator]string{plan.PMEShare: "25", plan.PaymentDays: "30", plan.Requests: "2"},
		Referent: "Claire Martin, direction des achats"}
	// Bad targets are refused field by field; nothing is written.
	bad := in
	bad.Targets = map[plan.Indicator]string{plan.PMEShare: "120", plan.Barometer: "onze"}
	if err := fields(saveErr(f.svc.Save(ctx, f.buyer, 2026, bad))); err["target_pme_share"] != "plan.target_invalid" || err["target_barometer"] != "plan.target_invalid" {
		t.Fatalf("bad targets: %v", err)
	}
	if n := pgtest.Count(t, f.pool, `SELECT count(*) FROM progress_plans`); n != 0 {
		t.Fatalf("%d plans written by a refused form", n)
	}
	id, err := f.svc.Save(ctx, f.buyer, 2026, in)
	if err != nil {
		t.Fatal(err)
	}
	// A draft is its account's and staff's only.
	for _, a := range []member.Actor{f.other, f.committee, f.outsider, {}} {
		if _, err := f.svc.Get(ctx, a, id); !errors.Is(err, plan.ErrNotFound) {
			t.Errorf("%s reads a draft: %v", a.OrgName, err)
		}
	}
	if _, err := f.svc.Get(ctx, f.staff, id); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Publish(ctx, f.other, id); !errors.Is(err, plan.ErrNotFound) {
		t.Errorf("another account publishes it: %v", err)
	}
	if err := f.svc.Publish(ctx, f.buyer, id); err != nil {
		t.Fatal(err)
	}
	// The year measured: a declaration of 2026 (22.4 % PME, 41.5 days),
	// two requests published on the platform in 2026.
	if _, err := f.pool.Exec(ctx, `INSERT INTO declarations (organisation_id, year, version, total_purchases, pme_purchases, eti_purchases,
		payment_days, on_time_share, source) VALUES ($1, 2026, 1, 1000000, 224000, 150000, 41.5, 88.5, 'demo')`, f.buyer.OrgID); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := f.pool.Exec(ctx, `INSERT INTO purchase_requests (organisation_id, title, description, cpv_codes, budget_band, deadline,
			places, status, published_at) VALUES ($1, $2, 'Besoin', '{72212000}', 'lt40k', '2026-11-30', '{dep:75}', 'open', '2026-03-02')`,
			f.buyer.OrgID, "Demande "+string(rune('A'+i))); err != nil {
			t.Fatal(err)
		}
	}
	v, err := f.svc.Get(ctx, f.committee, id)
	if err != nil {
		t.Fatal(err)
	}
	want := map[plan.Indicator]struct {
		value   float64
		source  string
		outcome plan.Outcome
	}{
		plan.PMEShare: {22.4, "declaration", plan.Missed}, plan.PaymentDays: {41.5, "declaration", plan.Missed},
		plan.Requests: {2, "platform", plan.Met}, plan.Referent: {1, "plan", plan.Met},
	}
	for _, m := range v.Measures {
		w := want[m.Indicator]
		if m.Value == nil || *m.Value != w.value || m.Source != w.source || m.Outcome != w.outcome {
			t.Errorf("%s measured %v from %q: %s; want %v from %s: %s", m.Indicator, m.Value, m.Source, m.Outcome, w.value, w.source, w.outcome)
		}
	}
	if len(v.Measures) != len(want) {
		t.Errorf("%d measures, want %d", len(v.Measures), len(want))
	}
	// No assessment before December, no comment before the assessment.
	if err := f.svc.Assess(ctx, f.buyer, id, "Bilan."); !errors.Is(err, plan.ErrInvalidState) {
		t.Errorf("assessed in October: %v", err)
	}
	if err := f.svc.Comment(ctx, f.committee, id, "Bravo."); !errors.Is(err, plan.ErrInvalidState) {
		t.Errorf("commented before the assessment: %v", err)
	}
	*f.clock = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	if err := f.svc.Assess(ctx, f.buyer, id, "  "); fields(err)["self_assessment"] != "form.required" {
		t.Errorf("an empty assessment: %v", err)
	}
	if err := f.svc.Assess(ctx, f.buyer, id, "Part PME en hausse mais sous la cible ; délais de paiement à réduire."); err != nil {
		t.Fatal(err)
	}
	// The committee is told, once; nobody else.
	told := func() (committee, others int) {
		pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE to_addr = $1), count(*) FILTER (WHERE to_addr <> $1)
			FROM emails WHERE kind = 'plan_assessed'`, f.committee.Email), &committee, &others)
		return committee, others
	}
	if err := f.svc.Assess(ctx, f.buyer, id, "Bilan revu : part PME en hausse, délais de paiement à réduire."); err != nil {
		t.Fatal(err)
	}
	if c, o := told(); c != 1 || o != 0 {
		t.Errorf("mails on the assessment: %d to the committee, %d to others; want 1 and 0", c, o)
	}
	if err := f.svc.Comment(ctx, f.outsider, id, "Je ne suis pas du comité."); !errors.Is(err, plan.ErrNotFound) {
		t.Errorf("an SME off the committee comments: %v", err)
	}
	if err := f.svc.Comment(ctx, f.committee, id, "Les délais restent longs pour nous."); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Comment(ctx, f.staff, id, "Plan sérieux ; la part PME progresse."); err != nil {
		t.Fatal(err)
	}
	v, err = f.svc.Get(ctx, f.buyer, id)
	if err != nil || v.Plan.Status != plan.StatusCommented || len(v.Comments) != 2 {
		t.Fatalf("after the comments: %v, %s, %d comments", err, v.Plan.Status, len(v.Comments))
	}
	if c := v.Comments[0]; c.Staff || c.AuthorName != "" {
		t.Errorf("the SME's comment names its author: %+v", c)
	}
	if c := v.Comments[1]; !c.Staff || c.AuthorName != f.staff.Name {
		t.Errorf("staff's comment is not signed: %+v", c)
	}
	if err := f.svc.Close(ctx, f.buyer, id); !errors.Is(err, plan.ErrInvalidState) {
		t.Errorf("the buyer closes its own plan: %v", err)
	}
	if err := f.svc.Close(ctx, f.staff, id); err != nil {
		t.Fatal(err)
	}
	// Every step a version, and an audit entry.
	versions := pgtest.Count(t, f.pool, `SELECT count(*) FROM plan_versions WHERE plan_id = $1`, id)
	audited := pgtest.Count(t, f.pool, `SELECT count(*) FROM audit_entries WHERE action LIKE 'plan.%' AND action <> 'plan.committee_invited'`)
	if versions != 7 || audited != 7 { // saved, published, assessed ×2, commented ×2, closed
		t.Errorf("%d versions, %d audit entries; want 7 and 7", versions, audited)
	}
}

func saveErr(_ int64, err error) error { return err }

// A plan made public is read by anyone once published, and the year's
// list shows each reader what it may read, with its outcomes counted.
func TestPublicPlansAndTheList(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	pub, err := f.svc.Save(ctx, f.buyer, 2026, plan.Input{Targets: map[plan.Indicator]string{plan.Requests: "1"}, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	private, err := f.svc.Save(ctx, f.other, 2026, plan.Input{Targets: map[plan.Indicator]string{plan.Barometer: "7"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, member.Actor{}, pub); !errors.Is(err, plan.ErrNotFound) {
		t.Errorf("a visitor reads a public draft: %v", err)
	}
	for _, id := range []int64{pub, private} {
		a := f.buyer
		if id == private {
			a = f.other
		}
		if err := f.svc.Publish(ctx, a, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Get(ctx, member.Actor{}, pub); err != nil {
		t.Errorf("a visitor cannot read a public plan: %v", err)
	}
	if _, err := f.svc.Get(ctx, f.outsider, private); !errors.Is(err, plan.ErrNotFound) {
		t.Errorf("an SME off the committee reads a private plan: %v", err)
	}
	names := func(a member.Actor) []string {
		list, err := f.svc.List(ctx, a, 2026)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.OrgName)
		}
		return out
	}
	for _, tc := range []struct {
		who  string
		a    member.Actor
		want int
	}{{"visitor", member.Actor{}, 1}, {"outsider SME", f.outsider, 1}, {"committee SME", f.committee, 2}, {"staff", f.staff, 2},
		{"the other account", f.other, 2}} {
		if got := names(tc.a); len(got) != tc.want {
			t.Errorf("%s lists %v, want %d plans", tc.who, got, tc.want)
		}
	}
	list, _ := f.svc.List(ctx, f.staff, 2026)
	for _, s := range list {
		if s.OrgID == f.other.OrgID && s.Counts[plan.Unmeasurable] != 1 {
			t.Errorf("a barometer without 5 answers is not measurable: %v", s.Counts)
		}
	}
	// Only staff invite, and only a member SME.
	if err := f.svc.Invite(ctx, f.buyer, 2026, "007350200"); !errors.Is(err, plan.ErrForbidden) {
		t.Errorf("a buyer invites: %v", err)
	}
	if err := f.svc.Invite(ctx, f.staff, 2026, "552081317"); fields(err)["siren"] != "plan.siren_not_member" {
		t.Errorf("a large account invited to the SME committee: %v", err)
	}
}

// The contracts SMEs won through the platform, measured for a plan: the
// account's won matches of the year (dated by the contract, else by the
// last change), not those of another year, of another account, or not won.
func TestPlanCountsTheContractsWonInItsYear(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id, err := f.svc.Save(ctx, f.buyer, 2026, plan.Input{Targets: map[plan.Indicator]string{plan.SMEContracts: "3"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Publish(ctx, f.buyer, id); err != nil {
		t.Fatal(err)
	}
	request := func(org int64) int64 {
		var id int64
		if err := f.pool.QueryRow(ctx, `INSERT INTO purchase_requests (organisation_id, title, description, cpv_codes, budget_band, deadline,
			places, status, published_at) VALUES ($1, 'Maintenance applicative', 'Besoin', '{72212000}', 'lt40k', '2026-11-30', '{dep:75}', 'open', '2025-11-02')
			RETURNING id`, org).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	mine, mineToo, theirs := request(f.buyer.OrgID), request(f.buyer.OrgID), request(f.other.OrgID)
	for _, m := range []struct {
		req, sme int64
		state    string
		contract *string // contract_date
		updated  string
	}{
		{mine, f.committee.OrgID, "won", ptr("2026-05-04"), "2026-05-04"},   // counted
		{mineToo, f.committee.OrgID, "won", nil, "2026-02-10"},              // counted: undated, changed in 2026
		{mineToo, f.outsider.OrgID, "won", ptr("2025-12-15"), "2026-01-05"}, // won in 2025
		{mine, f.outsider.OrgID, "shortlisted", nil, "2026-06-01"},          // not won
		{theirs, f.committee.OrgID, "won", ptr("2026-03-01"), "2026-03-01"}, // another account's
	} {
		if _, err := f.pool.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, matched, state, contract_amount, contract_date, updated_at)
			VALUES ($1, $2, true, $3, CASE WHEN $3 = 'won' THEN 50000 END, $4, $5)`, m.req, m.sme, m.state, m.contract, m.updated); err != nil {
			t.Fatal(err)
		}
	}
	v, err := f.svc.Get(ctx, f.staff, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Measures) != 1 || v.Measures[0].Indicator != plan.SMEContracts || v.Measures[0].Value == nil || *v.Measures[0].Value != 2 ||
		v.Measures[0].Source != "platform" || v.Measures[0].Outcome != plan.Missed {
		t.Fatalf("measures %+v: want 2 contracts won through the platform in 2026, target 3 missed", v.Measures)
	}
	list, err := f.svc.List(ctx, f.staff, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Counts[plan.Missed] != 1 {
		t.Fatalf("the year's list %+v: want the plan, its one commitment missed", list)
	}
}

func ptr(s string) *string { return &s }
