package indicator

import (
	"context"
	"slices"
	"testing"
	"time"

	"passerelle/internal/platform/i18n"
	"passerelle/internal/platform/mail"
	"passerelle/internal/platform/notify"
)

// request inserts an open request of buyer published at pub, with a
// matched SME whose steps happen at the given times (zero: never).
func (f *fixture) request(t *testing.T, buyer int64, pub time.Time, sme int64, interested, shortlisted time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO purchase_requests (organisation_id, title, description, cpv_codes, budget_band, deadline,
			places, status, published_at, created_at)
		VALUES ($1, 'Maintenance du parc informatique', 'Besoin', '{72000000}', 'lt40k', $3, '{dep:69}', 'open', $2, $2) RETURNING id`,
		buyer, pub, pub.AddDate(0, 1, 0)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	state := "suggested"
	if !interested.IsZero() {
		state = "interested"
	}
	if !shortlisted.IsZero() {
		state = "shortlisted"
	}
	if _, err := f.pool.Exec(ctx, `INSERT INTO request_matches (request_id, organisation_id, matched, state, created_at) VALUES ($1, $2, true, $3, $4)`,
		id, sme, state, pub); err != nil {
		t.Fatal(err)
	}
	for kind, at := range map[string]time.Time{"interested": interested, "shortlisted": shortlisted} {
		if !at.IsZero() {
			if _, err := f.pool.Exec(ctx, `INSERT INTO request_events (request_id, organisation_id, kind, at) VALUES ($1, $2, $3, $4)`,
				id, sme, kind, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	return id
}

// TestPlatformFigures checks the funnel and its medians against figures
// worked out by hand, including months where nothing happened.
func TestPlatformFigures(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	empty, err := f.svc.Platform(ctx, f.staff)
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Months) != 12 || empty.MedianDecision != nil || empty.Months[11].FirstAnswer != nil {
		t.Fatalf("an empty platform: %+v", empty)
	}
	if _, ok := empty.Months[0].AnsweredShare(); ok {
		t.Error("a share over no request")
	}
	if !empty.Months[11].Month.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !empty.Months[0].Month.Equal(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("months %v … %v", empty.Months[0].Month, empty.Months[11].Month)
	}

	buyer, smes := f.buyers[0].OrgID, f.smes
	sept := time.Date(2026, 9, 7, 9, 0, 0, 0, time.UTC)
	nov := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	// September: three requests; answers after 2 h and 6 h (median 4 h),
	// the third unanswered; one answer shortlisted.
	f.request(t, buyer, sept, smes[0].OrgID, sept.Add(2*time.Hour), sept.Add(24*time.Hour))
	f.request(t, buyer, sept, smes[1].OrgID, sept.Add(6*time.Hour), time.Time{})
	f.request(t, buyer, sept, smes[2].OrgID, time.Time{}, time.Time{})
	// November: one request answered after 10 h, not replied to.
	f.request(t, buyer, nov, smes[3].OrgID, nov.Add(10*time.Hour), time.Time{})
	// An application waiting since 3 days, two decided after 2 and 4 days.
	for i, days := range []int{2, 4} {
		if _, err := f.pool.Exec(ctx, `UPDATE organisations SET created_at = $2, decided_at = $2::timestamptz + make_interval(days => $3::int) WHERE id = $1`,
			smes[4+i].OrgID, f.clock.t.AddDate(0, -1, 0), days); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.pool.Exec(ctx, `UPDATE organisations SET status = 'applied', decided_at = NULL, created_at = $2 WHERE id = $1`,
		smes[6].OrgID, f.clock.t.AddDate(0, 0, -3)); err != nil {
		t.Fatal(err)
	}

	if _, err := f.svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Platform(ctx, f.staff)
	if err != nil {
		t.Fatal(err)
	}
	if p.ApplicationsWaiting != 1 || p.OldestApplication == nil || p.MedianDecision == nil || *p.MedianDecision != 72*time.Hour || p.Decisions != 2 {
		t.Errorf("applications: %d waiting, median %v over %d", p.ApplicationsWaiting, p.MedianDecision, p.Decisions)
	}
	s, o, n := p.Months[9], p.Months[10], p.Months[11] // September, October, November
	if s.Published != 3 || s.Answered != 2 || s.FirstAnswer == nil || *s.FirstAnswer != 4*time.Hour {
		t.Errorf("September requests: %+v", s)
	}
	if s.Suggested != 3 || s.Interested != 2 || s.Shortlisted != 1 || s.Viewed != 2 || s.Won != 0 || s.Answers != 2 || s.Replied != 1 {
		t.Errorf("September funnel: %+v", s)
	}
	if sh, ok := s.RepliedShare(); !ok || sh != 0.5 {
		t.Errorf("September replies %v", sh)
	}
	if o.Published != 0 || o.FirstAnswer != nil || o.Suggested != 0 {
		t.Errorf("October, when nothing happened: %+v", o)
	}
	if n.Published != 1 || n.FirstAnswer == nil || *n.FirstAnswer != 10*time.Hour || n.Replied != 0 {
		t.Errorf("November: %+v", n)
	}

	// The first SME's own figures: matched once, answered, replied to;
	// its offer seen twice by a buyer, never by itself or staff.
	var offerID int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO offers (organisation_id, title, summary, description, kind, cpv_codes, status)
		VALUES ($1, 'Supervision', 'Résumé', 'Description', 'service', '{72000000}', 'published') RETURNING id`, smes[0].OrgID).Scan(&offerID); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{0, 1} {
		f.svc.OfferViewed(f.buyers[v], offerID, smes[0].OrgID)
	}
	f.svc.OfferViewed(smes[0], offerID, smes[0].OrgID)
	f.svc.OfferViewed(f.staff, offerID, smes[0].OrgID)
	if n := f.svc.Views.Pending(); n != 2 {
		t.Errorf("%d views pending, want the 2 buyers' (not the SME's own, not staff's)", n)
	}
	fig, err := f.svc.SMEFigures(ctx, smes[0])
	if err != nil {
		t.Fatal(err)
	}
	if fig != (SMEFigures{OfferViews: 2, AllViews: 2, Matches: 1, Answers: 1, Replies: 1}) {
		t.Errorf("SME figures %+v", fig)
	}
}

// TestRollupsEqualDirectCounts: the monthly roll-ups staff's page reads
// equal the months counted directly from the matches, events and
// requests — after a first roll-up, and again after late changes to old
// months: an interest and a shortlisting on a match suggested eight months
// earlier, a contract won on another, a request's publication moved, a
// match no longer suggested. Between a change and the next roll-up the
// page is a roll-up behind (the test would see it), never wrong after.
func TestRollupsEqualDirectCounts(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	buyer, smes := f.buyers[0].OrgID, f.smes
	now := f.clock.t
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -11, 0)
	end := first.AddDate(1, 0, 0)
	month := func(back int, day int, hour int) time.Time {
		return time.Date(now.Year(), now.Month(), day, hour, 0, 0, 0, time.UTC).AddDate(0, -back, 0)
	}
	var old, other int64
	for back := range 14 { // two months before the page's twelve too
		pub := month(back, 3+back%20, 9)
		for k := range 3 {
			var interested, shortlisted time.Time
			if (back+k)%2 == 0 {
				interested = pub.Add(time.Duration(2+back+k) * time.Hour)
			}
			if (back+k)%4 == 0 {
				shortlisted = pub.AddDate(0, 0, 2)
			}
			id := f.request(t, buyer, pub, smes[k].OrgID, interested, shortlisted)
			if back == 8 && k == 1 {
				old = id
			}
			if back == 5 && k == 2 {
				other = id
			}
		}
	}
	check := func(when string) bool {
		t.Helper()
		p, err := f.svc.Platform(ctx, f.staff)
		if err != nil {
			t.Fatal(err)
		}
		direct, err := f.svc.Months(ctx, f.pool, first, end)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Months) != len(direct) {
			t.Fatalf("%s: %d months rolled up, %d counted", when, len(p.Months), len(direct))
		}
		same := true
		for i := range direct {
			a, b := p.Months[i], direct[i]
			if a.Month.Equal(b.Month) && a.Suggested == b.Suggested && a.Viewed == b.Viewed && a.Interested == b.Interested &&
				a.Shortlisted == b.Shortlisted && a.Won == b.Won && a.Published == b.Published && a.Answered == b.Answered &&
				a.Answers == b.Answers && a.Replied == b.Replied && (a.FirstAnswer == nil) == (b.FirstAnswer == nil) &&
				(a.FirstAnswer == nil || *a.FirstAnswer == *b.FirstAnswer) && slices.Equal(a.decisions, b.decisions) {
				continue
			}
			same = false
			if when != "" {
				t.Errorf("%s, %s: rolled up %+v, counted %+v", when, b.Month.Format("2006-01"), a, b)
			}
		}
		return same
	}
	deciders := []int64{f.buyers[1].OrgID, f.buyers[2].OrgID, smes[3].OrgID, smes[4].OrgID}
	for i, back := range []int{2, 2, 3, 9} { // membership decisions in three months
		if _, err := f.pool.Exec(ctx, `UPDATE organisations SET created_at = $2, decided_at = $3 WHERE id = $1`,
			deciders[i], month(back+1, 20, 9), month(back, 2+i, 9+i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	check("after the first roll-up")
	total := 0
	for _, m := range f.mustMonths(t, first, end) {
		total += m.Suggested + m.Answers + m.Published
	}
	if total < 50 {
		t.Fatalf("the fixtures count %d: too few to compare anything", total)
	}

	// Late changes to old months.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO request_events (request_id, organisation_id, kind, at) VALUES ($1, $2, 'interested', $3)`, []any{old, smes[1].OrgID, now.Add(-time.Hour)}},
		{`INSERT INTO request_events (request_id, organisation_id, kind, at) VALUES ($1, $2, 'shortlisted', $3)`, []any{old, smes[1].OrgID, now}},
		{`UPDATE request_matches SET state = 'won' WHERE request_id = $1`, []any{other}},
		{`UPDATE purchase_requests SET published_at = published_at - interval '40 days' WHERE id = $1`, []any{other}},
		{`UPDATE request_matches SET matched = false WHERE request_id = $1 AND organisation_id = $2`, []any{old - 1, smes[0].OrgID}},
		{`UPDATE organisations SET created_at = $2, decided_at = $3 WHERE id = $1`, []any{smes[6].OrgID, month(7, 1, 9), month(7, 4, 15)}},
	} {
		if _, err := f.pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if check("") {
		t.Fatal("the late changes moved no month: the test proves nothing")
	}
	n, err := f.svc.Rollup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("after late changes")
	if n < 3 || n > 7 {
		t.Errorf("%d months rolled up again after late changes to four months and this one, want the months they touch", n)
	}
	if n, err := f.svc.Rollup(ctx); err != nil || n != 0 {
		t.Errorf("a roll-up with nothing changed recomputed %d months (%v)", n, err)
	}
}

func (f *fixture) mustMonths(t *testing.T, first, end time.Time) []Month {
	t.Helper()
	m, err := f.svc.Months(context.Background(), f.pool, first, end)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBarometerInvitations: opening a campaign tells every member SME
// once, in its users' language; a second run tells nobody again, and a
// user who turned the mails off gets none.
func TestBarometerInvitations(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.svc.Notify = notify.New(f.pool, mail.NewOutbox(f.queue), i18n.MustLoad(), "https://passerelle.test")
	if n, err := f.svc.InviteToBarometer(ctx); err != nil || n != 0 {
		t.Fatalf("no campaign: %d, %v", n, err)
	}
	if _, err := f.pool.Exec(ctx, `INSERT INTO notification_optouts (user_id, category) VALUES ($1, 'barometer')`, f.smes[1].UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `INSERT INTO barometer_campaigns (year) VALUES (2026)`); err != nil {
		t.Fatal(err)
	}
	n, err := f.svc.InviteToBarometer(ctx)
	if err != nil || n != len(f.smes) {
		t.Fatalf("told %d organisations, want %d: %v", n, len(f.smes), err)
	}
	if again, err := f.svc.InviteToBarometer(ctx); err != nil || again != 0 {
		t.Fatalf("told %d again", again)
	}
	var mails, toOptedOut, toBuyers int
	if err := f.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE to_addr = $1), count(*) FILTER (WHERE to_addr = $2)
		FROM emails WHERE kind = 'barometer_open' AND subject LIKE '%2026%' AND body LIKE '%/barometre%'`,
		f.smes[1].Email, f.buyers[0].Email).Scan(&mails, &toOptedOut, &toBuyers); err != nil {
		t.Fatal(err)
	}
	if mails != len(f.smes)-1 || toOptedOut != 0 || toBuyers != 0 {
		t.Errorf("%d mails (want %d), %d to the user who opted out, %d to buyers", mails, len(f.smes)-1, toOptedOut, toBuyers)
	}
}
