package offer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
	"passerelle/internal/offer"
	"passerelle/internal/platform/moderation"
	"passerelle/internal/platform/once"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

var tax = taxonomy.MustLoad()

// valid is an offer built from real reference data: a CPV label as title.
func valid() offer.Input {
	c, _ := tax.CPV("72212000")
	return offer.Input{Title: c.LabelFR, Summary: "Développement d'applications métier pour les collectivités.",
		Kind: "service", CPVCodes: []string{"72212000-4"}, TRL: "7", Departements: []string{"69"}, Keywords: " logiciel ,, métier "}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*offer.Input)
		field  string
		msg    string
	}{
		{"empty title", func(i *offer.Input) { i.Title = "  " }, "title", "form.required"},
		{"title too long", func(i *offer.Input) { i.Title = strings.Repeat("é", 151) }, "title", "form.too_long"},
		{"no summary", func(i *offer.Input) { i.Summary = "" }, "summary", "form.required"},
		{"unknown kind", func(i *offer.Input) { i.Kind = "gift" }, "kind", "form.choose"},
		{"no CPV", func(i *offer.Input) { i.CPVCodes = nil }, "cpv", "offer.cpv_required"},
		{"unknown CPV", func(i *offer.Input) { i.CPVCodes = []string{"99999999"} }, "cpv", "offer.cpv_unknown"},
		{"11 CPV", func(i *offer.Input) {
			i.CPVCodes = []string{"72000000", "72200000", "72210000", "72212000", "72211000", "48000000", "45000000", "90910000", "09300000", "71000000", "79000000"}
		}, "cpv", "offer.cpv_too_many"},
		{"TRL 10", func(i *offer.Input) { i.TRL = "10" }, "trl", "form.choose"},
		{"TRL words", func(i *offer.Input) { i.TRL = "sept" }, "trl", "form.choose"},
		{"no place", func(i *offer.Input) { i.Departements = nil }, "regions", "offer.places_required"},
		{"unknown département", func(i *offer.Input) { i.Departements = []string{"99"} }, "departements", "form.choose"},
		{"unknown region", func(i *offer.Input) { i.Regions = []string{"00"} }, "regions", "form.choose"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.change(&in)
			in.Normalize()
			errs := in.Validate(tax)
			if errs[tc.field] != tc.msg {
				t.Errorf("errors %v, want %s: %s", errs, tc.field, tc.msg)
			}
		})
	}
	in := valid()
	in.Normalize()
	if errs := in.Validate(tax); errs.Any() {
		t.Fatalf("valid input refused: %v", errs)
	}
	if in.CPVCodes[0] != "72212000" || in.Keywords != "logiciel, métier" {
		t.Errorf("normalised: %q %q", in.CPVCodes, in.Keywords)
	}
}

type fixture struct {
	pool            *pgxpool.Pool
	svc             *offer.Service
	sme, other      member.Actor
	buyer, staff    member.Actor
	visitor         member.Actor
	smeOrg, otherID int64
}

// queue is the staff's moderation queue with offers registered.
func (f fixture) queue() *moderation.Service {
	q := moderation.NewService(f.pool, nil)
	q.Register(f.svc.Moderation())
	return q
}

func setup(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	ctx := context.Background()
	org := func(siren, kind string) int64 {
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
			VALUES ($1, 'Org ' || $1, $2, '62.01Z', '11', '69', 'member') RETURNING id`, siren, kind).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Real SIRENs of the SIRENE extract.
	f := fixture{pool: pool, svc: offer.NewService(pool, tax, search.NewIndexer(tax))}
	f.smeOrg = org("007050065", "pme")
	f.otherID = org("007350200", "pme")
	buyerOrg := org("015650955", "public")
	assoc := org("999000002", "association")
	var staffID int64
	if err := pool.QueryRow(ctx, `INSERT INTO users (organisation_id, email, name, password_hash, role)
		VALUES ($1, 'staff@passerelle.test', 'Sam Staff', 'x', 'staff') RETURNING id`, assoc).Scan(&staffID); err != nil {
		t.Fatal(err)
	}
	f.sme = member.Actor{UserID: 1, OrgID: f.smeOrg, Role: member.RoleOwner, Kind: member.KindPME}
	f.other = member.Actor{UserID: 2, OrgID: f.otherID, Role: member.RoleMember, Kind: member.KindPME}
	f.buyer = member.Actor{UserID: 3, OrgID: buyerOrg, Role: member.RoleOwner, Kind: member.KindPublic}
	f.staff = member.Actor{UserID: staffID, OrgID: assoc, Name: "Sam Staff", Role: member.RoleStaff, Kind: member.KindAssociation}
	return f
}

func status(t *testing.T, f fixture, id int64) (st, reason string) {
	t.Helper()
	if err := f.pool.QueryRow(context.Background(), `SELECT status::text, status_reason FROM offers WHERE id = $1`, id).Scan(&st, &reason); err != nil {
		t.Fatal(err)
	}
	return st, reason
}

func TestLifecycle(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id, err := f.svc.Create(ctx, f.sme, valid(), false)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := status(t, f, id); st != "draft" {
		t.Fatalf("new offer %s", st)
	}
	// Staff cannot publish a draft; the SME submits it first.
	if err := f.svc.Review(ctx, f.staff, id, true, ""); !errors.Is(err, offer.ErrInvalidState) {
		t.Fatalf("review of a draft: %v", err)
	}
	if err := f.svc.Submit(ctx, f.sme, id); err != nil {
		t.Fatal(err)
	}
	// Sending back needs a reason; the SME reads it.
	if err := f.svc.Review(ctx, f.staff, id, false, "  "); err == nil {
		t.Fatal("sent back without a reason")
	}
	if err := f.svc.Review(ctx, f.staff, id, false, "Précisez le niveau de maturité."); err != nil {
		t.Fatal(err)
	}
	mine, total, err := f.svc.Mine(ctx, f.sme, 1)
	if err != nil || len(mine) != 1 || total != 1 || mine[0].Status != offer.StatusRejected || mine[0].StatusReason != "Précisez le niveau de maturité." {
		t.Fatalf("SME sees %+v, %v", mine, err)
	}
	// Editing an offer sent back makes it a draft again; resubmit, approve.
	if err := f.svc.Update(ctx, f.sme, id, valid(), true); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Review(ctx, f.staff, id, true, ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := status(t, f, id); st != "published" {
		t.Fatalf("approved offer %s", st)
	}
	var audits int
	pgtest.Scan(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries WHERE action IN ('offer.approved', 'offer.sent_back')`), &audits)
	if audits != 2 {
		t.Errorf("%d audit entries, want 2", audits)
	}
	// Editing a published offer sends it back to review (and off the catalogue).
	if err := f.svc.Update(ctx, f.sme, id, valid(), false); err != nil {
		t.Fatal(err)
	}
	if st, _ := status(t, f, id); st != "submitted" {
		t.Fatalf("edited published offer %s", st)
	}
	// Archived is final.
	if err := f.svc.Archive(ctx, f.sme, id); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Update(ctx, f.sme, id, valid(), false); !errors.Is(err, offer.ErrInvalidState) {
		t.Fatalf("edit archived: %v", err)
	}
	if err := f.svc.Submit(ctx, f.sme, id); !errors.Is(err, offer.ErrInvalidState) {
		t.Fatalf("submit archived: %v", err)
	}
	if _, err := f.svc.Editable(ctx, f.sme, id); !errors.Is(err, offer.ErrInvalidState) {
		t.Fatalf("editable archived: %v", err)
	}
}

// TestPermissions: each role may do only what it should.
func TestPermissions(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id, err := f.svc.Create(ctx, f.sme, valid(), true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"buyer creates an offer", func() error { _, err := f.svc.Create(ctx, f.buyer, valid(), false); return err }, offer.ErrForbidden},
		{"visitor creates an offer", func() error { _, err := f.svc.Create(ctx, f.visitor, valid(), false); return err }, offer.ErrForbidden},
		{"staff create an offer", func() error { _, err := f.svc.Create(ctx, f.staff, valid(), false); return err }, offer.ErrForbidden},
		{"another SME edits it", func() error { return f.svc.Update(ctx, f.other, id, valid(), false) }, offer.ErrNotFound},
		{"another SME archives it", func() error { return f.svc.Archive(ctx, f.other, id) }, offer.ErrNotFound},
		{"buyer archives it", func() error { return f.svc.Archive(ctx, f.buyer, id) }, offer.ErrForbidden},
		{"SME approves its own offer", func() error { return f.svc.Review(ctx, f.sme, id, true, "") }, offer.ErrForbidden},
		{"buyer approves it", func() error { return f.svc.Review(ctx, f.buyer, id, true, "") }, offer.ErrForbidden},
		{"buyer reads the review queue", func() error { _, _, err := f.queue().Queue(ctx, f.buyer, 1); return err }, moderation.ErrForbidden},
		{"buyer reads an unpublished offer", func() error { _, err := f.svc.Get(ctx, f.buyer, id); return err }, offer.ErrNotFound},
		{"visitor reads an unpublished offer", func() error { _, err := f.svc.Get(ctx, f.visitor, id); return err }, offer.ErrNotFound},
		{"another SME reads it", func() error { _, err := f.svc.Get(ctx, f.other, id); return err }, offer.ErrNotFound},
		{"its SME reads it", func() error { _, err := f.svc.Get(ctx, f.sme, id); return err }, nil},
		{"its SME opens it for editing", func() error { _, err := f.svc.Editable(ctx, f.sme, id); return err }, nil},
		{"another SME opens it for editing", func() error { _, err := f.svc.Editable(ctx, f.other, id); return err }, offer.ErrNotFound},
		{"buyer opens it for editing", func() error { _, err := f.svc.Editable(ctx, f.buyer, id); return err }, offer.ErrForbidden},
		{"staff read it", func() error { _, err := f.svc.Get(ctx, f.staff, id); return err }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Once published, everyone reads it, visitors included.
	if err := f.svc.Review(ctx, f.staff, id, true, ""); err != nil {
		t.Fatal(err)
	}
	for _, a := range []member.Actor{f.visitor, f.buyer, f.other} {
		if _, err := f.svc.Get(ctx, a, id); err != nil {
			t.Errorf("%+v cannot read a published offer: %v", a, err)
		}
	}
}

// A write that fails inside its transaction leaves nothing behind: the
// offer row is written first, then the directory entry of its SME, which
// the database refuses here; the offer must go with it.
func TestNothingHalfSaved(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
		CREATE TRIGGER refuse BEFORE UPDATE OF search_extra ON organisations FOR EACH ROW EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Create(ctx, f.sme, valid(), true)
	if err == nil || !strings.Contains(err.Error(), "refused by the test") {
		t.Fatalf("create with the directory refused: %v, want the database's refusal", err)
	}
	if n := pgtest.Count(t, f.pool, `SELECT count(*) FROM offers`); n != 0 {
		t.Fatalf("%d offers stored after a refused create", n)
	}
}

// The SME's list is paged: 55 offers make two pages, newest change first.
func TestMinePaged(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `INSERT INTO offers (organisation_id, title, summary, kind, cpv_codes, updated_at)
		SELECT $1, 'Offre ' || i, 'Services de programmation de logiciels d''application', 'service', '{72212000}', now() - i * interval '1 minute'
		FROM generate_series(1, 55) i`, f.sme.OrgID); err != nil {
		t.Fatal(err)
	}
	first, total, err := f.svc.Mine(ctx, f.sme, 1)
	if err != nil || total != 55 || len(first) != offer.PageSize || first[0].Title != "Offre 1" {
		t.Fatalf("page 1: %d offers of %d (%v), first %q", len(first), total, err, first[0].Title)
	}
	second, _, err := f.svc.Mine(ctx, f.sme, 2)
	if err != nil || len(second) != 5 || second[4].Title != "Offre 55" {
		t.Fatalf("page 2: %d offers (%v)", len(second), err)
	}
}

// Staff see the whole offer in the queue and decide on the version they
// read: an offer edited after the queue was shown is not published.
func TestModerationDecidesOnTheVersionShown(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := valid()
	in.Description = strings.Repeat("Capteurs connectés pour chaufferies, télérelève. ", 40) // longer than any excerpt
	in.Keywords = "télérelève, chaufferie"
	id, err := f.svc.Create(ctx, f.sme, in, true)
	if err != nil {
		t.Fatal(err)
	}
	q := f.queue()
	items, total, err := q.Queue(ctx, f.staff, 1)
	if err != nil || total != 1 || len(items) != 1 || items[0].ID != id || items[0].Kind != "offer" {
		t.Fatalf("queue: %d items of %d, %v", len(items), total, err)
	}
	shown := items[0]
	texts := map[string]moderation.Field{}
	for _, fl := range shown.Fields {
		texts[fl.Label] = fl
	}
	got, _ := f.svc.Get(ctx, f.staff, id)
	if texts["offer.description"].Text != got.Description || texts["offer.keywords"].Text != got.Keywords ||
		!slices.Equal(texts["offer.cpv"].CPV, got.CPVCodes) || !slices.Equal(texts["offer.places"].Places, got.Places) {
		t.Errorf("the reviewer does not see the whole offer: %+v", shown.Fields)
	}

	// The SME changes its text after the queue was shown.
	in.Description = "Autre texte, que personne n'a relu."
	if err := f.svc.Update(ctx, f.sme, id, in, true); err != nil {
		t.Fatal(err)
	}
	if err := q.Decide(ctx, f.staff, "offer", id, shown.Version, moderation.Publish, ""); !errors.Is(err, moderation.ErrChanged) {
		t.Fatalf("publishing a version nobody read: %v, want ErrChanged", err)
	}
	if st, _ := status(t, f, id); st != "submitted" {
		t.Fatalf("after a refused decision the offer is %s", st)
	}
	if n := countRows(t, f, `SELECT count(*) FROM audit_entries WHERE action = 'offer.approved'`); n != 0 {
		t.Errorf("refused decision audited %d times", n)
	}
	// The new version, read again, can be published.
	items, _, _ = q.Queue(ctx, f.staff, 1)
	if items[0].Version == shown.Version {
		t.Fatal("the version did not change with the text")
	}
	if err := q.Decide(ctx, f.staff, "offer", id, items[0].Version, moderation.Publish, ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := status(t, f, id); st != "published" {
		t.Errorf("published offer is %s", st)
	}
	if n := countRows(t, f, `SELECT count(*) FROM audit_entries WHERE action = 'offer.approved'`); n != 1 {
		t.Errorf("decision audited %d times", n)
	}
	// Decided already: another decision on the same version is refused.
	if err := q.Decide(ctx, f.staff, "offer", id, items[0].Version, moderation.SendBack, "Trop tard"); !errors.Is(err, moderation.ErrNotWaiting) {
		t.Errorf("second decision: %v", err)
	}
	if err := q.Decide(ctx, f.staff, "request", id, 0, moderation.Publish, ""); !errors.Is(err, moderation.ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
}

func countRows(t *testing.T, f fixture, sql string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The SME's edits and the daily certification job lock the organisation,
// then its offers, in that order: run against each other they never
// deadlock.
func TestEditsAndTheExpiryJobDoNotDeadlock(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id, err := f.svc.Create(ctx, f.sme, valid(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `INSERT INTO certifications (organisation_id, name, expires_on) VALUES ($1, 'ISO 9001', current_date - 1)`, f.smeOrg); err != nil {
		t.Fatal(err)
	}
	job := &search.CertExpiryWorker{DB: f.pool, Index: search.NewIndexer(tax)}
	defer offer.HoldLocks(300 * time.Millisecond)()
	for round := range 3 {
		// The job refreshes SMEs still marked certified, and rewrites the
		// facets of their offers.
		if _, err := f.pool.Exec(ctx, `UPDATE organisations SET facets = array_append(facets, 'cert') WHERE id = $1;`, f.smeOrg); err != nil {
			t.Fatal(err)
		}
		if _, err := f.pool.Exec(ctx, `UPDATE offers SET facets = array_append(facets, 'cert') WHERE organisation_id = $1`, f.smeOrg); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		go func() {
			in := valid()
			in.Title = fmt.Sprintf("Révision %d", round)
			errs <- f.svc.Update(ctx, f.sme, id, in, false)
		}()
		go func() {
			time.Sleep(100 * time.Millisecond) // while the edit holds its locks
			errs <- job.Work(ctx, nil)
		}()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// TestCreateOnce: submissions of one form token make one offer, whether
// they arrive together or one after the other; every one of them gets
// that offer's id. A refused submission does not use the token up.
func TestCreateOnce(t *testing.T) {
	f := setup(t)
	token := once.New()
	ctx := once.With(context.Background(), token)
	bad := valid()
	bad.Title = ""
	if _, err := f.svc.Create(ctx, f.sme, bad, false); err == nil {
		t.Fatal("an offer without a title accepted")
	}
	const n = 8
	ids := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = f.svc.Create(ctx, f.sme, valid(), false)
		}()
	}
	wg.Wait()
	again, err := f.svc.Create(ctx, f.sme, valid(), false) // a replay once all are committed
	for i := range n {
		if errs[i] != nil || ids[i] == 0 || ids[i] != ids[0] {
			t.Fatalf("submission %d: id %d, %v (first %d)", i, ids[i], errs[i], ids[0])
		}
	}
	if err != nil || again != ids[0] {
		t.Fatalf("replay: %d, %v; want %d", again, err, ids[0])
	}
	if got := pgtest.Count(t, f.pool, `SELECT count(*) FROM offers`); got != 1 {
		t.Fatalf("%d offers from one token", got)
	}
	// Another token, another offer.
	if id, err := f.svc.Create(once.With(context.Background(), once.New()), f.sme, valid(), false); err != nil || id == ids[0] {
		t.Fatalf("a new token: %d, %v", id, err)
	}
}
