package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"passerelle/internal/platform/backup"
	"passerelle/internal/platform/pgcluster"
	"passerelle/internal/platform/postgres"
	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/purchase"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
	"passerelle/internal/tools/demo"
)

// The restore drill, at demo scale: a backup taken with pg_dump while the
// platform runs and writes, restored with pg_restore into a fresh cluster,
// serves the same platform: the same members, offers, requests, matches
// and messages; sign-in works; a one-click link mailed before the backup
// still works; the search index, left out of the backup, is rebuilt.
func TestRestoreDrill(t *testing.T) {
	ctx := context.Background()
	databaseURL := pgtest.URL(t)
	pool, err := postgres.Open(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := demo.Seed(ctx, pool, false); err != nil {
		t.Fatal(err)
	}
	_, base := serverProcess(t, databaseURL)

	// A link mailed to the demo SME before the backup.
	tax := taxonomy.MustLoad()
	svc := purchase.NewService(pool, tax, search.NewIndexer(tax), nil)
	var req, sme, user int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT min(id) FROM purchase_requests WHERE status = 'open' AND anonymous),
		u.organisation_id, u.id FROM users u WHERE u.email = $1`, demo.SMEEmail).Scan(&req, &sme, &user); err != nil {
		t.Fatal(err)
	}
	token, err := svc.SignLink(ctx, purchase.Link{Purpose: purchase.LinkInterest, Request: req, Org: sme, User: user, Expires: time.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// The platform under writes: applications go on while pg_dump runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var written atomic.Int64
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, siren := range sirens(600)[w*300 : (w+1)*300] {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.PostForm(base+"/adhesion", url.Values{"siren": {siren}, "legal_name": {fmt.Sprintf("Société %d-%d", w, i)},
					"kind": {"pme"}, "naf_code": {"62.01Z"}, "headcount_band": {"11"}, "departement": {"75"},
					"name": {"Dirigeant " + siren}, "email": {"drill-" + siren + "@exemple.fr"}, "password": {"une phrase de passe solide"}})
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusSeeOther {
						written.Add(1)
					}
				}
			}
		}()
	}
	for written.Load() < 3 {
		time.Sleep(20 * time.Millisecond)
	}
	counts := `SELECT (SELECT count(*) FROM organisations WHERE status = 'member'), (SELECT count(*) FROM offers),
		(SELECT count(*) FROM purchase_requests), (SELECT count(*) FROM request_matches), (SELECT count(*) FROM request_messages),
		(SELECT count(*) FROM organisations)`
	var before [6]int
	if err := pool.QueryRow(ctx, counts).Scan(&before[0], &before[1], &before[2], &before[3], &before[4], &before[5]); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "passerelle.dump")
	took, err := backup.Dump(ctx, databaseURL, file)
	if err != nil {
		t.Fatal(err)
	}
	during := written.Load()
	close(stop)
	wg.Wait()
	var after [6]int
	if err := pool.QueryRow(ctx, counts).Scan(&after[0], &after[1], &after[2], &after[3], &after[4], &after[5]); err != nil {
		t.Fatal(err)
	}

	// A fresh cluster, as on another machine.
	dir := filepath.Join(t.TempDir(), "restored")
	c, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: dir, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()); _ = os.RemoveAll(c.Dir) })
	if err := postgres.EnsureDatabase(ctx, c.URL("postgres"), "passerelle"); err != nil {
		t.Fatal(err)
	}
	restoredURL := c.URL("passerelle")
	restoreTook, err := backup.Restore(ctx, file, restoredURL)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := postgres.Open(ctx, restoredURL)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	var got [6]int
	if err := restored.QueryRow(ctx, counts).Scan(&got[0], &got[1], &got[2], &got[3], &got[4], &got[5]); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"members", "offers", "requests", "matches", "messages"} {
		if got[i] != before[i] {
			t.Errorf("restored %d %s, the platform had %d", got[i], name, before[i])
		}
	}
	if got[5] < before[5] || got[5] > after[5] {
		t.Errorf("restored %d organisations: not a snapshot between %d and %d (applications went on during the dump)", got[5], before[5], after[5])
	}
	var snapshots int
	if err := restored.QueryRow(ctx, `SELECT count(*) FROM search_snapshots`).Scan(&snapshots); err != nil || snapshots != 0 {
		t.Errorf("%d search snapshots restored (%v): derived data is not backed up", snapshots, err)
	}

	// The restored platform serves.
	_, rbase := serverProcess(t, restoredURL)
	jar, _ := cookiejar.New(nil)
	buyer := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: client.CheckRedirect}
	resp, err := buyer.PostForm(rbase+"/connexion", url.Values{"email": {"acheteur@passerelle.test"}, "password": {demo.Password}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in on the restored platform: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(fmt.Sprintf("%s/demandes/%d/lien?%s", rbase, req, url.Values{"jeton": {token}}.Encode()))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a link mailed before the backup: %v %v", resp, err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		err := restored.QueryRow(ctx, `SELECT count(*) FROM search_snapshots WHERE size > 0`).Scan(&n)
		if err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restored platform did not rebuild its search index (no snapshot written within 30 s)")
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err = buyer.Get(rbase + "/annuaire?q=nettoyage")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("search on the restored platform: %v %v", resp, err)
	}
	resp.Body.Close()
	t.Logf("backup in %s during %d→%d applications, restore in %s; %d members, %d offers, %d requests, %d matches, %d messages restored",
		took.Round(time.Millisecond), during, written.Load(), restoreTook.Round(time.Millisecond), got[0], got[1], got[2], got[3], got[4])
}
