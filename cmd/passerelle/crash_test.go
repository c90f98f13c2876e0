package main

import (
	"context"
	"fmt"
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

	"passerelle/internal/demo"
	"passerelle/internal/postgres"
	"passerelle/internal/postgres/pgtest"
	"passerelle/internal/taxonomy"
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
	// Two clients, signed in as the demo SME, write offers.
	var ackedOffers []string
	for w := range 2 {
		jar, _ := cookiejar.New(nil)
		sme := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: client.CheckRedirect}
		resp, err := sme.PostForm(base+"/connexion", url.Values{"email": {demo.SMEEmail}, "password": {demo.Password}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in: %v %v", resp, err)
		}
		resp.Body.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				title := fmt.Sprintf("Offre écrite avant le crash %d-%d", w, i)
				resp, err := sme.PostForm(base+"/espace/offres/nouvelle", url.Values{"title": {title}, "summary": {"Nettoyage des locaux"},
					"kind": {"service"}, "regions": {"32"}, "cpv": {"90910000"}, "action": {"submit"}})
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusSeeOther {
					mu.Lock()
					ackedOffers = append(ackedOffers, title)
					mu.Unlock()
				}
			}
		}()
	}
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
	time.Sleep(1500 * time.Millisecond)
	if err := srv.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	_, _ = srv.Process.Wait()
	if len(acked) < 5 || len(ackedOffers) < 5 {
		t.Fatalf("only %d applications and %d offers acknowledged before the kill: the test says nothing", len(acked), len(ackedOffers))
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
	for _, title := range ackedOffers {
		var n int
		var facets []string
		if err := pool.QueryRow(context.Background(), `SELECT count(*), coalesce(max(facets::text), '{}')::text[] FROM offers WHERE title = $1 AND status = 'submitted'`, title).Scan(&n, &facets); err != nil {
			t.Fatal(err)
		}
		if n != 1 || len(facets) == 0 {
			t.Errorf("acknowledged offer %q: %d rows, facets %v", title, n, facets)
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
	t.Logf("%d applications and %d offers acknowledged before kill -9, all found after restart", len(acked), len(ackedOffers))
}
