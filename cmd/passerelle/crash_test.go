package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"passerelle/internal/platform/config"
	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/once"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/purchase"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/demo"
)

// TestMain lets the crash test run this very binary as a server process
// (PASSERELLE_TEST_SERVE=1), which it can then kill -9.
func TestMain(m *testing.M) {
	if os.Getenv("PASSERELLE_TEST_SERVE") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverProcess runs `passerelle serve` in a process of its own on
// databaseURL and waits until it answers.
func serverProcess(t *testing.T, databaseURL string) (*exec.Cmd, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PASSERELLE_TEST_SERVE=1", "PASSERELLE_ENV=test", "DATABASE_URL="+databaseURL,
		"HOST=127.0.0.1", "PORT="+port, "RATE_LIMIT_PER_MINUTE=1000000", "LOG_LEVEL=error", "SMTP_ADDR=")
	cmd.Args = []string{os.Args[0], "serve"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server process did not become ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sirens returns n valid SIRENs no demo or generated data uses.
func sirens(n int) []string {
	var out []string
	for base := 30000000; len(out) < n; base++ {
		for d := 0; d <= 9; d++ {
			if s := strconv.Itoa(base) + strconv.Itoa(d); taxonomy.ValidSIREN(s) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// Fault test: the server is killed (-9) while 6 clients send applications
// and 2 write offers. After a restart, every write that got its success
// answer is there (an application with its owner and its audit entry, an
// offer with its search facets), and nothing is half-saved.
func TestKillNineLosesNoAcknowledgedWrite(t *testing.T) {
	databaseURL := pgtest.URL(t)
	seedPool, err := postgres.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(context.Background(), seedPool, false); err != nil {
		t.Fatal(err)
	}
	seedPool.Close()
	srv, base := serverProcess(t, databaseURL)
	ids := sirens(4000)
	var mu sync.Mutex
	var acked []string
	next := make(chan string, len(ids))
	for _, s := range ids {
		next <- s
	}
	close(next)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func(email string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: client.CheckRedirect}
		resp, err := c.PostForm(base+"/connexion", url.Values{"email": {email}, "password": {demo.Password}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in as %s: %v %v", email, resp, err)
		}
		resp.Body.Close()
		return c
	}
	// The buyer side: where the demo SME talks with the demo buyer, and an
	// open request it has not answered.
	var talk, open, smeOrg int64
	if err := openPool(t, databaseURL).QueryRow(context.Background(), `SELECT
			(SELECT min(m.request_id) FROM request_matches m JOIN users u ON u.organisation_id = m.organisation_id
				WHERE u.email = $1 AND m.state = 'discussion'),
			coalesce((SELECT min(r.id) FROM purchase_requests r WHERE r.status = 'open' AND NOT EXISTS (
				SELECT 1 FROM request_matches m JOIN users u ON u.organisation_id = m.organisation_id
				WHERE m.request_id = r.id AND u.email = $1 AND m.state NOT IN ('suggested', 'viewed'))), 0),
			(SELECT organisation_id FROM users WHERE email = $1)`, demo.SMEEmail).Scan(&talk, &open, &smeOrg); err != nil {
		t.Fatal(err)
	}
	// Each writer posts its form with a one-time token and keeps every
	// attempt: acknowledged (303) or cut off by the kill.
	var attempts []attempt
	writer := func(c *http.Client, form func(i int) (path, key string, v url.Values)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path, key, v := form(i)
				a := attempt{path: path, key: key, values: v}
				v.Set("envoi", once.New())
				resp, err := c.PostForm(base+path, v)
				if err == nil {
					resp.Body.Close()
					a.acked = resp.StatusCode == http.StatusSeeOther
				}
				a.client = c
				mu.Lock()
				attempts = append(attempts, a)
				mu.Unlock()
				if err != nil {
					return // the server is gone
				}
			}
		}()
	}
	for w := range 2 { // two SME users write offers
		sme := signIn(demo.SMEEmail)
		writer(sme, func(i int) (string, string, url.Values) {
			title := fmt.Sprintf("Offre écrite avant le crash %d-%d", w, i)
			return "/espace/offres/nouvelle", "offer:" + title, url.Values{"title": {title}, "summary": {"Nettoyage des locaux"},
				"kind": {"service"}, "regions": {"32"}, "cpv": {"90910000"}, "action": {"submit"}}
		})
	}
	writer(signIn("acheteur@passerelle.test"), func(i int) (string, string, url.Values) { // the buyer writes requests
		title := fmt.Sprintf("Demande écrite avant le crash %d", i)
		return "/espace/demandes/nouvelle", "request:" + title, url.Values{"title": {title}, "description": {"Nettoyage des bureaux."},
			"budget_band": {"lt40k"}, "deadline": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, "visibility": {"all"},
			"cpv": {"90910000"}, "regions": {"32"}, "action": {"draft"}}
	})
	talker := signIn(demo.SMEEmail)
	writer(talker, func(i int) (string, string, url.Values) { // the SME writes messages, and answers a request once
		if i == 0 && open != 0 {
			return fmt.Sprintf("/demandes/%d/interet", open), "interest", url.Values{"message": {"Nous sommes disponibles."},
				"answer0": {"Sous quinze jours."}, "answer1": {"Trois contrats comparables."}, "answer2": {"Oui."}}
		}
		body := fmt.Sprintf("Message écrit avant le crash %d", i)
		return fmt.Sprintf("/demandes/%d/echanges/%d", talk, smeOrg), "message:" + body, url.Values{"body": {body}}
	})
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for siren := range next {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.PostForm(base+"/adhesion", url.Values{"siren": {siren}, "legal_name": {"Société " + siren},
					"kind": {"pme"}, "naf_code": {"62.01Z"}, "headcount_band": {"11"}, "departement": {"75"},
					"name": {"Dirigeant " + siren}, "email": {"contact-" + siren + "@exemple.fr"}, "password": {"une phrase de passe solide"}})
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusSeeOther {
					mu.Lock()
					acked = append(acked, siren)
					mu.Unlock()
				}
			}
		}()
	}
	// Kill once both kinds of write have been acknowledged a few times (on
	// a loaded machine argon2id hashing makes applications slow), and
	// never before 1.5 s of writing.
	start := time.Now()
	for time.Since(start) < 20*time.Second {
		mu.Lock()
		enough := len(acked) >= 8 && countAcked(attempts, "offer:") >= 8 && countAcked(attempts, "request:") >= 4 &&
			countAcked(attempts, "message:") >= 8
		mu.Unlock()
		if enough && time.Since(start) >= 1500*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	interest := countAcked(attempts, "interest")
	mu.Unlock()
	if open == 0 || interest != 1 {
		t.Fatalf("the SME's interest in request %d was not acknowledged: the test would say nothing of interests", open)
	}
	if err := srv.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	_, _ = srv.Process.Wait()
	offers, requests, messages := countAcked(attempts, "offer:"), countAcked(attempts, "request:"), countAcked(attempts, "message:")
	if len(acked) < 5 || offers < 5 || requests < 2 || messages < 2 {
		t.Fatalf("only %d applications, %d offers, %d requests, %d messages acknowledged before the kill: the test says nothing",
			len(acked), offers, requests, messages)
	}

	_, base = serverProcess(t, databaseURL)
	pool, err := postgres.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var missing []string
	for _, siren := range acked {
		var users, audits int
		if err := pool.QueryRow(context.Background(), `SELECT
				(SELECT count(*) FROM users u JOIN organisations o ON o.id = u.organisation_id WHERE o.siren = $1 AND u.role = 'owner'),
				(SELECT count(*) FROM audit_entries a JOIN organisations o ON o.id = a.organisation_id WHERE o.siren = $1 AND a.action = 'application.submitted')`,
			siren).Scan(&users, &audits); err != nil {
			t.Fatal(err)
		}
		if users != 1 || audits != 1 {
			missing = append(missing, fmt.Sprintf("%s (owners %d, audit %d)", siren, users, audits))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged applications lost or incomplete: %s", len(missing), len(acked), strings.Join(missing[:min(5, len(missing))], ", "))
	}
	rows := func(key string) int {
		kind, what, _ := strings.Cut(key, ":")
		sql, args := map[string]string{
			"offer":   `SELECT count(*) FROM offers WHERE title = $1 AND status = 'submitted' AND facets <> '{}'`,
			"request": `SELECT count(*) FROM purchase_requests WHERE title = $1`,
			"message": `SELECT count(*) FROM request_messages WHERE body = $1`,
		}[kind], []any{what}
		if kind == "interest" {
			sql, args = `SELECT count(*) FROM request_events WHERE kind = 'interested' AND organisation_id = $1 AND request_id = $2`, []any{smeOrg, open}
		}
		var n int
		if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, a := range attempts {
		if n := rows(a.key); a.acked && n != 1 {
			t.Errorf("acknowledged %s: %d rows (with their facets for an offer)", a.key, n)
		}
	}
	// Every attempt sent again with its token after the restart (a client
	// that got no answer retries): each answers 303, and each write exists
	// exactly once — the acknowledged ones are not written twice, those
	// the kill cut off are written now.
	replayed := 0
	for _, a := range attempts {
		c := a.client // its session is in the database: it survives the restart
		resp, err := c.PostForm(base+a.path, a.values)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		replayed++
		if n := rows(a.key); resp.StatusCode != http.StatusSeeOther || n != 1 {
			t.Errorf("%s replayed after the restart: %d, %d rows", a.key, resp.StatusCode, n)
		}
	}
	var halves int
	// Among every application tried (acknowledged or cut off by the kill).
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM organisations o
		WHERE o.siren = ANY($1) AND (NOT EXISTS (SELECT 1 FROM users u WHERE u.organisation_id = o.id)
		   OR NOT EXISTS (SELECT 1 FROM emails e JOIN users u ON u.email = e.to_addr WHERE u.organisation_id = o.id))`, ids).Scan(&halves); err != nil {
		t.Fatal(err)
	}
	if halves != 0 {
		t.Errorf("%d organisations half-saved (without their owner or their mail)", halves)
	}
	// The restarted server serves.
	resp, err := http.Get(base + "/adhesion")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("after restart: %v %v", resp, err)
	}
	t.Logf("%d applications, %d offers, %d requests, %d messages and %d interest acknowledged before kill -9, all found after restart; "+
		"%d submissions replayed with their tokens, none written twice", len(acked), offers, requests, messages, countAcked(attempts, "interest"), replayed)
}

// attempt is one form posted during the crash test.
type attempt struct {
	path   string
	key    string // kind:what identifies the row it writes
	values url.Values
	acked  bool
	client *http.Client
}

func countAcked(list []attempt, prefix string) int {
	n := 0
	for _, a := range list {
		if a.acked && strings.HasPrefix(a.key, prefix) {
			n++
		}
	}
	return n
}

// openPool opens the database, closed when the test ends.
func openPool(t *testing.T, databaseURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Fault test: two server processes on one database, as behind a load
// balancer. An offer published through one is found through the other
// within a second; its notice is delivered once; the daily job runs once.
func TestTwoServerProcessesShareOneDatabase(t *testing.T) {
	databaseURL := pgtest.URL(t)
	pool, err := postgres.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	if _, err := demo.Seed(ctx, pool, false); err != nil {
		t.Fatal(err)
	}
	_, one := serverProcess(t, databaseURL)
	_, two := serverProcess(t, databaseURL)
	signIn := func(base, email string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(base+"/connexion", url.Values{"email": {email}, "password": {demo.Password}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in %s on %s: %v %v", email, base, resp, err)
		}
		resp.Body.Close()
		return c
	}
	title := "Curage des fossés et enrochement des berges"
	resp, err := signIn(one, demo.SMEEmail).PostForm(one+"/espace/offres/nouvelle", url.Values{"title": {title},
		"summary": {"Entretien des cours d'eau"}, "kind": {"service"}, "regions": {"84"}, "cpv": {"45246000"}, "action": {"submit"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create through server one: %v %v", resp, err)
	}
	resp.Body.Close()
	var id int64
	var version string
	if err := pool.QueryRow(ctx, `SELECT id, ((extract(epoch FROM updated_at) * 1000000)::bigint)::text FROM offers WHERE title = $1`, title).Scan(&id, &version); err != nil {
		t.Fatal(err)
	}
	buyer := signIn(one, "acheteur@passerelle.test")
	resp, err = signIn(two, "equipe@passerelle.test").PostForm(fmt.Sprintf("%s/equipe/moderation/offer/%d/publier", two, id), url.Values{"version": {version}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish through server two: %v %v", resp, err)
	}
	resp.Body.Close()
	published := time.Now()
	for {
		resp, err := buyer.Get(one + "/offres?q=enrochement+berges")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), title) {
			t.Logf("found through server one %s after the publication through server two", time.Since(published).Round(time.Millisecond))
			break
		}
		if time.Since(published) > time.Second {
			t.Fatal("server one does not find the offer published through server two after 1 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The notice: delivered once, by one of the two servers' workers.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var sent, attempts int
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE sent_at IS NOT NULL), coalesce(sum(attempts), 0)
			FROM emails WHERE kind = 'offer_published'`), &sent, &attempts)
		if sent == 1 {
			if attempts != 1 {
				t.Errorf("the notice took %d delivery attempts, want 1", attempts)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the notice was not delivered (sent %d)", sent)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var runs int
	deadline = time.Now().Add(15 * time.Second)
	for runs == 0 && time.Now().Before(deadline) {
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'search.prune_changes'`), &runs)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'search.prune_changes'`), &runs)
	if runs != 1 {
		t.Errorf("the daily prune job ran %d times for two servers, want 1", runs)
	}
}

// TestTwoServerProcessesMatchAndInviteOnce starts two server processes on
// one database. SMEs gain references in an open request's category (the
// triggers list the change), recompute and invitation jobs are enqueued
// many times; both servers' workers take them, and each effect happens
// once: every new SME is matched, the change list is drained, and the
// day's batch of invitations goes out once, each SME invited once.
func TestTwoServerProcessesMatchAndInviteOnce(t *testing.T) {
	databaseURL := pgtest.URL(t)
	ctx := context.Background()
	pool, err := postgres.Open(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := demo.Seed(ctx, pool, false); err != nil {
		t.Fatal(err)
	}
	serverProcess(t, databaseURL)
	serverProcess(t, databaseURL)
	// An open request with few answers: invitations may go on.
	var request int64
	var title, code, dep string
	if err := pool.QueryRow(ctx, `SELECT r.id, r.title, r.cpv_codes[1], coalesce((SELECT substr(f, 5) FROM unnest(r.facets) f WHERE f LIKE 'dep:%' ORDER BY f LIMIT 1), '69') FROM purchase_requests r
		WHERE r.status = 'open' AND r.deadline >= current_date
		  AND (SELECT count(*) FROM request_matches m WHERE m.request_id = r.id AND m.state NOT IN ('suggested', 'viewed', 'not_interested')) < 3
		ORDER BY r.id LIMIT 1`).Scan(&request, &title, &code, &dep); err != nil {
		t.Fatalf("no open demo request: %v", err)
	}
	const n = 25
	var added []int64
	for i, siren := range sirens(n) {
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
			VALUES ($1, $2, 'pme', '62.01Z', '11', $3, 'member') RETURNING id`, siren, fmt.Sprintf("PME RÉFÉRENCÉE %d", i), dep).Scan(&id); err != nil {
			t.Fatal(err)
		}
		for y := range 2 {
			if _, err := pool.Exec(ctx, `INSERT INTO org_references (organisation_id, client, object, cpv_code, year, departement)
				VALUES ($1, 'Ville de Lyon', $2, $3, $4, $5)`, id, title, code, 2023+y, dep); err != nil {
				t.Fatal(err)
			}
		}
		added = append(added, id)
	}
	var listed int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(DISTINCT organisation_id) FROM match_changes WHERE organisation_id = ANY($1)`, added), &listed)
	if listed != n {
		t.Fatalf("%d of the %d SMEs with a new reference are in the change list", listed, n)
	}
	client, err := jobs.InsertOnly(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(args river.JobArgs) {
		t.Helper()
		for range 10 {
			if _, err := client.Insert(ctx, args, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	enqueue(purchase.RecomputeArgs{})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left, matched int
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM match_changes),
			(SELECT count(*) FROM request_matches WHERE request_id = $1 AND matched AND organisation_id = ANY($2))`, request, added), &left, &matched)
		if left == 0 && matched == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %d changes left, %d of %d new SMEs matched", left, matched, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A day later (the request's last batch moved back 25 hours): ten
	// invitation jobs over two servers send one batch.
	for _, q := range []string{`UPDATE request_matches SET invited_at = invited_at - interval '25 hours' WHERE request_id = $1 AND invited_at IS NOT NULL`,
		`UPDATE purchase_requests SET published_at = published_at - interval '25 hours' WHERE id = $1`} {
		if _, err := pool.Exec(ctx, q, request); err != nil {
			t.Fatal(err)
		}
	}
	since := time.Now()
	enqueue(purchase.InviteArgs{})
	deadline = time.Now().Add(30 * time.Second)
	for {
		var pending int
		pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND state NOT IN ('completed', 'discarded', 'cancelled')`,
			purchase.InviteArgs{}.Kind()), &pending)
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d invitation jobs still pending after 30 s", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var invited, events, twice int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM request_matches WHERE request_id = $1 AND invited_at >= $2),
		(SELECT count(*) FROM request_events WHERE request_id = $1 AND kind = 'invited' AND at >= $2),
		(SELECT count(*) FROM (SELECT organisation_id FROM request_events WHERE request_id = $1 AND kind = 'invited' GROUP BY 1 HAVING count(*) > 1) x)`,
		request, since).Scan(&invited, &events, &twice); err != nil {
		t.Fatal(err)
	}
	var workers int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(DISTINCT attempted_by[1]) FROM river_job WHERE kind = ANY($1)`,
		[]string{purchase.InviteArgs{}.Kind(), purchase.RecomputeArgs{}.Kind()}), &workers)
	t.Logf("the jobs were worked by %d server processes; %d SMEs invited", workers, invited)
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if batch := cfg.Invitations.DailyBatch; invited != batch || events != invited || twice != 0 {
		t.Fatalf("one day's batch over two servers: %d SMEs invited, %d invitation events, %d SMEs invited twice; want %d, %d, 0",
			invited, events, twice, batch, batch)
	}
}
