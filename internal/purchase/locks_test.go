package purchase_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/matching"
	"passerelle/internal/member"
	"passerelle/internal/platform/refdata"
	"passerelle/internal/purchase"
	"passerelle/internal/search"
	"passerelle/internal/taxonomy"
)

// TestViewsDuringRecompute: SMEs opening a request for the first time
// (their match marked viewed, an event written) while the matches of that
// request are recomputed never deadlock. The recompute locked the request
// row FOR UPDATE, which waits for the key-share lock a new event takes on
// it, while the page held the match row the recompute then updated.
func TestViewsDuringRecompute(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.svc.UseMatcher(matching.ForRequests{Service: matching.NewService(f.pool, tax), Limit: 100})
	f.svc.Invitations.MinScore = 0
	id := f.open(t, input())
	// The recompute runs on a pool of its own, as on a server (the
	// background pool), so that the pages' waits cannot starve it.
	bg, err := pgxpool.New(ctx, f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer bg.Close()
	jobs := purchase.NewService(bg, tax, search.NewIndexer(tax), nil)
	jobs.Now, jobs.Invitations = f.clock.now, f.svc.Invitations
	jobs.UseMatcher(matching.ForRequests{Service: matching.NewService(bg, tax), Limit: 100})

	// 24 real winners of the DECP data, each with a past contract in the
	// request's code and place: all matched.
	awards, err := refdata.ReadAwards()
	if err != nil {
		t.Fatal(err)
	}
	var smes []member.Actor
	seen := map[string]bool{"007050065": true, "007350200": true}
	for _, a := range awards {
		if len(smes) == 24 {
			break
		}
		if len(a.Winners) != 1 || seen[a.Winners[0]] || !taxonomy.ValidSIREN(a.Winners[0]) {
			continue
		}
		seen[a.Winners[0]] = true
		s := addMember(t, f.pool, a.Winners[0], fmt.Sprintf("Titulaire %d", len(smes)+1), "pme", award.Departement)
		if _, err := f.pool.Exec(ctx, `INSERT INTO org_references (organisation_id, client, object, cpv_code, year, departement)
			VALUES ($1, $2, $3, $4, 2018, $5)`, s.OrgID, award.Buyer, award.Object, award.CPV, award.Departement); err != nil {
			t.Fatal(err)
		}
		smes = append(smes, s)
	}
	if _, err := jobs.ApplyMatchChanges(ctx); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // recompute again and again, as references change
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := f.pool.Exec(ctx, `INSERT INTO match_changes (organisation_id) VALUES ($1)`, smes[i%len(smes)].OrgID); err != nil {
				t.Error(err)
				return
			}
			if _, err := jobs.ApplyMatchChanges(ctx); err != nil {
				t.Errorf("recompute: %v", err)
				return
			}
		}
	}()
	errs := make(chan error, len(smes))
	var viewers sync.WaitGroup
	for _, s := range smes {
		viewers.Add(1)
		go func() {
			defer viewers.Done()
			if _, err := f.svc.Get(ctx, s, id); err != nil {
				errs <- err
			}
		}()
	}
	viewers.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("an SME opening the request: %v", err)
	}
	var viewed int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM request_events WHERE request_id = $1 AND kind = 'viewed'`, id).Scan(&viewed); err != nil {
		t.Fatal(err)
	}
	if viewed != len(smes) {
		t.Errorf("%d first views recorded, want %d", viewed, len(smes))
	}
}
