package indicator

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestViewsBatched checks that views are written per offer and day in
// batches, that two processes flushing at once add up, that a failed
// flush keeps its views for the next one, and that views of an offer
// deleted meanwhile are dropped instead of failing the batch.
func TestViewsBatched(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	offer := func(title string) int64 {
		var id int64
		if err := f.pool.QueryRow(ctx, `INSERT INTO offers (organisation_id, title, summary, description, kind, cpv_codes, status)
			VALUES ($1, $2, 'Résumé', 'Description', 'service', '{72000000}', 'published') RETURNING id`, f.smes[0].OrgID, title).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	a, b, gone := offer("Supervision"), offer("Hébergement"), offer("Retirée")
	views := func(id int64) map[string]int {
		rows, err := f.pool.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), views FROM offer_views WHERE offer_id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var d string
			var n int
			if err := rows.Scan(&d, &n); err != nil {
				t.Fatal(err)
			}
			out[d] = n
		}
		return out
	}
	day1 := time.Date(2026, 11, 20, 23, 59, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Minute)

	// Two servers, each with its own counter, flushing at the same time.
	one, two := NewViews(f.pool), NewViews(f.pool)
	for range 3 {
		one.Add(a, day1)
		two.Add(a, day1)
	}
	one.Add(a, day2)
	two.Add(b, day2)
	if got := views(a); len(got) != 0 {
		t.Fatalf("views written before a flush: %v", got)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, v := range []*Views{one, two} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = v.Flush(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := views(a); got["2026-11-20"] != 6 || got["2026-11-21"] != 1 || len(got) != 2 {
		t.Errorf("offer a: %v, want 6 on the 20th and 1 on the 21st", got)
	}
	if got := views(b); got["2026-11-21"] != 1 || len(got) != 1 {
		t.Errorf("offer b: %v", got)
	}
	if one.Pending() != 0 || two.Pending() != 0 {
		t.Error("views still pending after a flush")
	}

	// A flush that fails keeps its views; the next one writes them once.
	one.Add(b, day2)
	one.Add(b, day2)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := one.Flush(cancelled); err == nil {
		t.Fatal("a flush with a cancelled context succeeded")
	}
	if n := one.Pending(); n != 2 {
		t.Fatalf("%d views pending after a failed flush, want 2", n)
	}
	one.Add(b, day2)
	if err := one.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := views(b); got["2026-11-21"] != 4 {
		t.Errorf("offer b after the retry: %v, want 4 on the 21st", got)
	}

	// An offer deleted between the view and the flush: its views are
	// dropped, the others' written.
	one.Add(gone, day1)
	one.Add(a, day1)
	if _, err := f.pool.Exec(ctx, `DELETE FROM offers WHERE id = $1`, gone); err != nil {
		t.Fatal(err)
	}
	if err := one.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := views(a); got["2026-11-20"] != 7 {
		t.Errorf("offer a: %v, want 7 on the 20th", got)
	}
	if one.Pending() != 0 {
		t.Error("the deleted offer's views stay pending")
	}
}

// TestViewsRun checks that the periodic flush writes views without being
// asked and stops with its context.
func TestViewsRun(t *testing.T) {
	f := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	var id int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO offers (organisation_id, title, summary, description, kind, cpv_codes, status)
		VALUES ($1, 'Supervision', 'Résumé', 'Description', 'service', '{72000000}', 'published') RETURNING id`, f.smes[0].OrgID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	v := NewViews(f.pool)
	done := make(chan struct{})
	go func() { v.Run(ctx, 20*time.Millisecond, func(err error) { t.Error(err) }); close(done) }()
	v.Add(id, f.clock.t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := f.pool.QueryRow(context.Background(), `SELECT coalesce(sum(views), 0) FROM offer_views WHERE offer_id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the periodic flush wrote %d views in 10 s, want 1", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}
