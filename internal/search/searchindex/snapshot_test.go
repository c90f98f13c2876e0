package searchindex_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"passerelle/internal/search"
	"passerelle/internal/search/searchindex"
)

func newSyncer(w world) *searchindex.Syncer {
	return searchindex.NewSyncer(w.pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// snapshotWorld is a world of a few offers with a snapshot written.
func snapshotWorld(t *testing.T) (world, *searchindex.Syncer, []int64) {
	t.Helper()
	w := newWorld(t)
	var ids []int64
	for _, title := range []string{"Terrassement des parkings", "Enrochement des berges", "Curage des fossés", "Terrassement des giratoires"} {
		ids = append(ids, w.offer(t, title))
	}
	sy := syncer(t, w)
	written, size, err := sy.WriteSnapshot(context.Background())
	if err != nil || !written || size == 0 {
		t.Fatalf("write: %t, %d bytes, %v", written, size, err)
	}
	return w, sy, ids
}

func results(x *searchindex.Index) []searchindex.Result {
	var out []searchindex.Result
	for _, q := range []searchindex.Query{
		{Limit: 10},
		{Terms: []string{"terrass"}, Limit: 10},
		{Terms: []string{"terrass"}, Facets: []string{"cpv:45"}, Limit: 10},
		{Terms: []string{"digu"}, Limit: 10},
		{Terms: []string{"curag"}, Limit: 10},
	} {
		out = append(out, x.Search(q))
	}
	return out
}

// A server that loads the snapshot and applies the changes made since
// answers exactly as one that builds from the database.
func TestSnapshotThenChangesAgreesWithAFreshBuild(t *testing.T) {
	w, _, ids := snapshotWorld(t)
	ctx := context.Background()
	w.offer(t, "Terrassement et digue")
	if _, err := w.pool.Exec(ctx, `UPDATE offers SET title = 'Entretien des digues' WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pool.Exec(ctx, `UPDATE offers SET status = 'archived' WHERE id = $1`, ids[2]); err != nil {
		t.Fatal(err)
	}
	loaded := newSyncer(w)
	if err := loaded.LoadSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := syncer(t, w)
	if !loaded.Ready() {
		t.Fatal("loaded but not ready")
	}
	got, want := results(loaded.Index(searchindex.Offers)), results(fresh.Index(searchindex.Offers))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("from the snapshot:\n%+v\nfrom the database:\n%+v", got, want)
	}
	if want[3].Total != 2 || want[4].Total != 0 {
		t.Fatalf("the changes are not in the fresh build: %+v", want)
	}
	if loaded.Index(searchindex.SMEs).Len() != fresh.Index(searchindex.SMEs).Len() {
		t.Error("the SMEs differ")
	}
}

// A truncated or damaged snapshot is refused, never served; the server
// builds from the database instead.
func TestDamagedSnapshotIsRefused(t *testing.T) {
	w, _, _ := snapshotWorld(t)
	ctx := context.Background()
	for name, damage := range map[string]string{
		"truncated":      `UPDATE search_snapshot_chunks SET data = substring(data from 1 for length(data) - 7)`,
		"a byte changed": `UPDATE search_snapshot_chunks SET data = set_byte(data, length(data) / 2, (get_byte(data, length(data) / 2) + 1) % 256)`,
	} {
		t.Run(name, func(t *testing.T) {
			tx, err := w.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, damage); err != nil {
				t.Fatal(err)
			}
			// The damage is seen by this transaction only: load through it.
			sy := newSyncer(w)
			err = sy.LoadSnapshot(ctx) // the pool: undamaged
			if err != nil {
				t.Fatalf("the undamaged snapshot: %v", err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			sy = newSyncer(w)
			if err := sy.LoadSnapshot(ctx); !errors.Is(err, searchindex.ErrBadSnapshot) || sy.Ready() || sy.Index(searchindex.Offers) != nil {
				t.Fatalf("a %s snapshot: %v, ready %t", name, err, sy.Ready())
			}
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			go func() { _ = sy.Run(runCtx) }()
			waitReady(t, sy)
			if sy.FromSnapshot() || found(sy.Index(searchindex.Offers), "enroch") != 1 {
				t.Errorf("after the fallback: from snapshot %t, %d found", sy.FromSnapshot(), found(sy.Index(searchindex.Offers), "enroch"))
			}
			// The rebuild writes a good snapshot again (just after it is
			// ready: the background loop writes it).
			deadline := time.Now().Add(20 * time.Second)
			for err := newSyncer(w).LoadSnapshot(ctx); err != nil; err = newSyncer(w).LoadSnapshot(ctx) {
				if time.Now().After(deadline) {
					t.Fatalf("the snapshot written after the fallback: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			stop()
		})
	}
}

func waitReady(t *testing.T, sy *searchindex.Syncer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !sy.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the index never became ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A snapshot older than the pruned change log cannot be caught up: it is
// refused and the server builds from the database.
func TestSnapshotOlderThanThePrunedLog(t *testing.T) {
	w, _, _ := snapshotWorld(t)
	ctx := context.Background()
	w.offer(t, "Entretien des digues") // after the snapshot
	if _, err := w.pool.Exec(ctx, `UPDATE search_changes SET at = now() - interval '2 days'`); err != nil {
		t.Fatal(err)
	}
	if err := (&search.PruneChangesWorker{DB: w.pool}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	sy := newSyncer(w)
	if err := sy.LoadSnapshot(ctx); !errors.Is(err, searchindex.ErrStaleSnapshot) || sy.Ready() {
		t.Fatalf("a snapshot older than the pruned log: %v, ready %t", err, sy.Ready())
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = sy.Run(runCtx) }()
	waitReady(t, sy)
	if sy.FromSnapshot() || found(sy.Index(searchindex.Offers), "digu") != 1 {
		t.Errorf("after the rebuild: from snapshot %t", sy.FromSnapshot())
	}
}

// Two servers writing a snapshot at the same moment: one writes, the
// other finds it busy; one complete snapshot remains and loads.
func TestTwoServersWriteASnapshotAtOnce(t *testing.T) {
	w, a, _ := snapshotWorld(t)
	ctx := context.Background()
	b := syncer(t, w)
	w.offer(t, "Entretien des digues")
	for _, sy := range []*searchindex.Syncer{a, b} {
		if err := sy.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wrote := make([]bool, 2)
	errs := make([]error, 2)
	for i, sy := range []*searchindex.Syncer{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wrote[i], _, errs[i] = sy.WriteSnapshot(ctx)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || !(wrote[0] || wrote[1]) {
		t.Fatalf("wrote %v, errors %v", wrote, errs)
	}
	var n int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM search_snapshots`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d snapshots kept", n)
	}
	c := newSyncer(w)
	if err := c.LoadSnapshot(ctx); err != nil || found(c.Index(searchindex.Offers), "digu") != 1 {
		t.Fatalf("the snapshot left: %v", err)
	}
	// Both servers still answer from their indexes.
	if !a.Ready() || !b.Ready() || a.CatchUp(ctx) != nil || b.CatchUp(ctx) != nil {
		t.Error("a writer stopped answering")
	}
}

// A running server starts from the snapshot when one exists.
func TestRunStartsFromTheSnapshot(t *testing.T) {
	w, _, _ := snapshotWorld(t)
	sy := newSyncer(w)
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = sy.Run(runCtx) }()
	waitReady(t, sy)
	if !sy.FromSnapshot() || found(sy.Index(searchindex.Offers), "parking") != 1 {
		t.Errorf("from snapshot %t", sy.FromSnapshot())
	}
}

// A new snapshot is due only when there is none, when the latest is over
// an hour old with enough changes since, or when it is older than the
// longest wait: each one rewrites the whole index in PostgreSQL.
func TestSnapshotDue(t *testing.T) {
	ctx := context.Background()
	empty := newWorld(t)
	if due, err := newSyncer(empty).SnapshotDue(ctx); err != nil || !due {
		t.Fatalf("no snapshot: due %t, %v", due, err)
	}
	w, sy, _ := snapshotWorld(t)
	age := func(d time.Duration) {
		t.Helper()
		if _, err := w.pool.Exec(ctx, `UPDATE search_snapshots SET created_at = now() - $1::interval`, d.String()); err != nil {
			t.Fatal(err)
		}
	}
	changes := func(n int) {
		t.Helper()
		if _, err := w.pool.Exec(ctx, `INSERT INTO search_changes (list, id) SELECT 'offers', 0 FROM generate_series(1, $1)`, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		age     time.Duration
		changes int // added before the check
		due     bool
	}{
		{"just written", 0, 0, false},
		{"an hour and a half, a few changes", 90 * time.Minute, 10, false},
		{"ten minutes, many changes", 10 * time.Minute, searchindex.SnapshotChanges, false},
		{"an hour and a half, many changes", 90 * time.Minute, 0, true},
		{"older than the longest wait, few changes", searchindex.SnapshotMaxAge + time.Minute, 0, true},
	} {
		if c.name == "older than the longest wait, few changes" {
			// A fresh snapshot: the changes so far are in it.
			if err := sy.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			if written, _, err := sy.WriteSnapshot(ctx); err != nil || !written {
				t.Fatalf("rewrite: %t, %v", written, err)
			}
		}
		changes(c.changes)
		age(c.age)
		if due, err := sy.SnapshotDue(ctx); err != nil || due != c.due {
			t.Errorf("%s: due %t (%v), want %t", c.name, due, err, c.due)
		}
	}
	// The hour-and-a-half case again, just under the threshold.
	if err := sy.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if written, _, err := sy.WriteSnapshot(ctx); err != nil || !written {
		t.Fatalf("rewrite: %t, %v", written, err)
	}
	changes(searchindex.SnapshotChanges - 1)
	age(90 * time.Minute)
	if due, err := sy.SnapshotDue(ctx); err != nil || due {
		t.Errorf("one change short of the threshold: due %t, %v", due, err)
	}
	// "Everything changed" (a migration of the text analysis): due at once.
	age(0)
	if _, err := w.pool.Exec(ctx, `INSERT INTO search_changes (list) VALUES ('all')`); err != nil {
		t.Fatal(err)
	}
	if due, err := sy.SnapshotDue(ctx); err != nil || !due {
		t.Errorf("after an everything-changed entry: due %t, %v", due, err)
	}
}
