package demo_test

import (
	"context"
	"slices"
	"testing"

	"passerelle/internal/indicator"
	"passerelle/internal/member"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/platform/validate"
	"passerelle/internal/purchase"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/demo"
)

// The demo SME's first look shows what a member's profile becomes: a
// description, places served, a certification, its real public contracts
// as references, an offer in each status; the directory and the catalogue
// find it. Seeding twice adds nothing.
func TestDemoSMEStartsWithAFilledProfile(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	for range 2 {
		if _, err := demo.Seed(ctx, pool, false); err != nil {
			t.Fatal(err)
		}
	}
	var org int64
	var kind, band, description string
	var places, facets []string
	if err := pool.QueryRow(ctx, `SELECT g.id, g.kind::text, g.headcount_band, g.description, g.places, g.facets
		FROM organisations g JOIN users u ON u.organisation_id = g.id WHERE u.email = $1`, demo.SMEEmail).
		Scan(&org, &kind, &band, &description, &places, &facets); err != nil {
		t.Fatal(err)
	}
	b, _ := taxonomy.MustLoad().HeadcountBand(band)
	if kind != "pme" || (b.Size != "TPE" && b.Size != "PME") {
		t.Errorf("the demo SME is a %s with band %s (%s)", kind, band, b.Size)
	}
	if description == "" || len(places) == 0 || !slices.Contains(facets, "cert") {
		t.Errorf("profile not filled: description %q, places %v, facets %v", description, places, facets)
	}
	var refs, fromDECP int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE source = 'decp') FROM org_references WHERE organisation_id = $1`, org), &refs, &fromDECP)
	if refs < 2 || fromDECP != refs {
		t.Errorf("%d references, %d imported from DECP", refs, fromDECP)
	}
	statuses := pgtest.Rows[string](t, pool, `SELECT DISTINCT status::text FROM offers WHERE organisation_id = $1 ORDER BY 1`, org)
	if want := []string{"archived", "draft", "published", "rejected", "submitted"}; !slices.Equal(statuses, want) {
		t.Errorf("offers in statuses %v, want %v", statuses, want)
	}
	var listed, wrongFacets int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE listed), count(*) FILTER (WHERE facets = '{}') FROM offers WHERE organisation_id = $1`, org),
		&listed, &wrongFacets)
	if listed != 2 || wrongFacets != 0 {
		t.Errorf("%d offers listed (want 2), %d without facets", listed, wrongFacets)
	}
}

// Each role's home page has requests to show: the buyer an open request
// with two answers and a conversation, the demo SME a request suggested to
// it (anonymous) and its answer in discussion, staff a request to review.
// Seeding twice adds nothing.
func TestDemoRequestsFillEveryHome(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	for range 2 {
		if _, err := demo.Seed(ctx, pool, false); err != nil {
			t.Fatal(err)
		}
	}
	statuses := pgtest.Rows[string](t, pool, `SELECT status::text FROM purchase_requests ORDER BY id`)
	// Four requests of today, then six of earlier years, closed and won
	// through the platform (the observatory's contribution).
	// (The fifth, of two months ago, closed after its deadline.)
	if want := []string{"open", "open", "submitted", "draft", "closed", "closed", "closed", "closed", "closed", "closed", "closed"}; !slices.Equal(statuses, want) {
		t.Fatalf("requests %v, want %v", statuses, want)
	}
	states := pgtest.Rows[string](t, pool, `SELECT m.state FROM request_matches m JOIN users u ON u.organisation_id = m.organisation_id
		WHERE u.email = $1 ORDER BY m.request_id`, demo.SMEEmail)
	if want := []string{"discussion", "suggested", "not_interested"}; !slices.Equal(states, want) {
		t.Fatalf("demo SME's states %v, want %v", states, want)
	}
	var answers, messages int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM request_matches WHERE state IN ('interested', 'discussion')),
		(SELECT count(*) FROM request_messages)`), &answers, &messages)
	if answers != 2 || messages != 2 {
		t.Fatalf("%d answers, %d messages; want 2 and 2", answers, messages)
	}
	// The past request's page says what happened: both SMEs lacked time.
	var past int64
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT id FROM purchase_requests WHERE status = 'closed' AND published_at > now() - interval '1 year' ORDER BY id LIMIT 1`), &past)
	notInterested := pgtest.Count(t, pool, `SELECT count(DISTINCT organisation_id) FROM request_events WHERE request_id = $1 AND kind = 'not_interested'`, past)
	if notInterested != 2 {
		t.Errorf("the past request's events hold %d SMEs not interested, want 2", notInterested)
	}
	// Each of today's requests is a real contract, published where that
	// contract was executed: the place its text names.
	awards, err := refdata.ReadAwards()
	if err != nil {
		t.Fatal(err)
	}
	rows := pgtest.Rows[[]string](t, pool, `SELECT ARRAY[title, places[1]] FROM purchase_requests WHERE status <> 'closed' ORDER BY id`)
	for _, r := range rows {
		i := slices.IndexFunc(awards, func(a refdata.Award) bool { return validate.Clip(a.Object, purchase.MaxTitle) == r[0] })
		if i < 0 {
			t.Errorf("request %q is no contract of the DECP data", r[0])
			continue
		}
		if want := "dep:" + awards[i].Departement; r[1] != want {
			t.Errorf("request %q is placed in %s; its contract was executed in %s", r[0], r[1], want)
		}
	}
}

// The demo declarations add up to the association's published share
// (22–24 %) every year, computed by the observatory itself; the current
// barometer campaign has four answers about the demo buyer, the last one
// enough for most accounts. Seeding twice adds nothing.
func TestDemoIndicators(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	for range 2 {
		if _, err := demo.Seed(ctx, pool, false); err != nil {
			t.Fatal(err)
		}
	}
	svc := indicator.NewService(pool, nil)
	staff := member.Actor{UserID: 1, Role: member.RoleStaff}
	o, err := svc.Observatory(ctx, staff)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Aggregate) != 7 {
		t.Fatalf("%d years declared", len(o.Aggregate))
	}
	for _, y := range o.Aggregate {
		if sh := y.PMEShare(); sh < 0.22 || sh > 0.245 || y.Accounts < 8 {
			t.Errorf("%d: share %.4f over %d accounts", y.Year, sh, y.Accounts)
		}
	}
	var contracts, would int
	for _, c := range o.Contribution {
		contracts, would = contracts+c.PMEContracts, would+c.WouldNot
	}
	if contracts != 6 || would != 3 {
		t.Errorf("contribution: %d contracts, %d without Passerelle", contracts, would)
	}
	campaign, scores, err := svc.Results(ctx, staff, 0)
	if err != nil || campaign.ClosedAt != nil || len(scores) != 1 || scores[0].Answers != 4 || scores[0].Enough {
		t.Errorf("current campaign %+v: %+v, %v", campaign, scores, err)
	}
	campaigns, _ := svc.Campaigns(ctx, staff)
	if len(campaigns) != 2 {
		t.Fatalf("%d campaigns", len(campaigns))
	}
	_, past, _ := svc.Results(ctx, staff, campaigns[1].ID)
	enough := 0
	for _, s := range past {
		if s.Enough {
			enough++
		}
	}
	if enough < 5 || enough == len(past) {
		t.Errorf("last year: %d of %d accounts with enough answers", enough, len(past))
	}
}
