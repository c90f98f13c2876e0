package searchindex_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/postgres/pgtest"
	"passerelle/internal/search"
	"passerelle/internal/search/searchindex"
)

// world is one member SME with published offers, written by SQL.
type world struct {
	pool *pgxpool.Pool
	org  int64
}

func newWorld(t *testing.T) world {
	t.Helper()
	pool := pgtest.Pool(t)
	w := world{pool: pool}
	if err := pool.QueryRow(context.Background(), `INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status)
		VALUES ('007050065', 'Terrassements des Alpes', 'pme', '43.12A', '11', '04', 'member') RETURNING id`).Scan(&w.org); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w world) offer(t *testing.T, title string) int64 {
	t.Helper()
	var id int64
	if err := w.pool.QueryRow(context.Background(), `INSERT INTO offers (organisation_id, title, summary, kind, cpv_codes, status, published_at)
		VALUES ($1, $2, 'Travaux de terrassement', 'service', '{45112000}', 'published', now()) RETURNING id`, w.org, title).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func found(x *searchindex.Index, word string) int {
	terms, _ := searchindex.ParseQuery("'" + word + "'")
	return x.Search(searchindex.Query{Terms: terms, TotalOnly: true}).Total
}

func syncer(t *testing.T, w world) *searchindex.Syncer {
	t.Helper()
	sy := searchindex.NewSyncer(w.pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := sy.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sy
}

// Each change is applied once: polling again and again leaves no new dead
// copies (the clock window re-inserted every recent document at each
// poll, about 60 copies per change).
func TestChangesAreAppliedOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id := w.offer(t, "Terrassement des parkings")
	sy := syncer(t, w)
	if _, err := w.pool.Exec(ctx, `UPDATE offers SET title = 'Terrassement des giratoires' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	// The background loop polls 20 times.
	sy.Poll = 50 * time.Millisecond
	runCtx, stop := context.WithTimeout(ctx, time.Second)
	defer stop()
	_ = sy.Run(runCtx)
	x := sy.Index(searchindex.Offers)
	if x.Dead() != 1 || found(x, "giratoir") != 1 || found(x, "parking") != 0 {
		t.Errorf("after one change and 20 polls: %d dead copies (want 1), new word %d, old word %d", x.Dead(), found(x, "giratoir"), found(x, "parking"))
	}
}

// A change whose transaction commits after later ones (a long transaction)
// is still applied, once it commits.
func TestALongTransactionIsNotMissed(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sy := syncer(t, w)
	long, err := w.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Rollback(ctx)
	if _, err := long.Exec(ctx, `INSERT INTO offers (organisation_id, title, summary, kind, cpv_codes, status, published_at)
		VALUES ($1, 'Curage des fossés', 'Travaux de terrassement', 'service', '{45112000}', 'published', now())`, w.org); err != nil {
		t.Fatal(err)
	}
	w.offer(t, "Enrochement des berges") // committed meanwhile, with a later sequence number
	if err := sy.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	x := sy.Index(searchindex.Offers)
	if found(x, "enroch") != 1 || found(x, "curag") != 0 {
		t.Fatalf("before the long transaction commits: enrochement %d, curage %d", found(x, "enroch"), found(x, "curag"))
	}
	if err := long.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sy.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if found(x, "curag") != 1 {
		t.Error("the long transaction's change was missed")
	}
}

// A rebuild entry never rebuilds inside a search: the index steps aside
// (search runs in SQL) and the background loop rebuilds.
func TestRebuildHappensInTheBackground(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.offer(t, "Terrassement des parkings")
	sy := syncer(t, w)
	sy.Poll = 100 * time.Millisecond
	if _, err := w.pool.Exec(ctx, `INSERT INTO search_changes (list) VALUES ('all')`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := sy.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if sy.Ready() {
		t.Fatal("after a rebuild entry the index still answers (it would serve stale data or rebuild in the request)")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the catch-up took %s: it rebuilt in the request", d)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = sy.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !sy.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the background loop did not rebuild")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := found(sy.Index(searchindex.Offers), "parking"); n != 1 {
		t.Errorf("after the rebuild: %d", n)
	}
}

// A log pruned past what an index applied makes it rebuild, never miss
// the pruned change.
func TestPrunedPastTheIndexMeansRebuild(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sy := syncer(t, w)
	w.offer(t, "Enrochement des berges") // a change the index has not applied
	// The daily prune runs with that change already a day old.
	if _, err := w.pool.Exec(ctx, `UPDATE search_changes SET at = now() - interval '2 days'`); err != nil {
		t.Fatal(err)
	}
	if err := (&search.PruneChangesWorker{DB: w.pool}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := sy.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if sy.Ready() {
		t.Fatal("an index that missed a pruned change still answers")
	}
	if err := sy.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if found(sy.Index(searchindex.Offers), "enroch") != 1 || !sy.Ready() {
		t.Error("the rebuild did not bring the pruned change")
	}
	// Once rebuilt past the pruning, it follows the log again.
	w.offer(t, "Curage des fossés")
	if err := sy.CatchUp(ctx); err != nil || !sy.Ready() || found(sy.Index(searchindex.Offers), "curag") != 1 {
		t.Errorf("after the rebuild: ready %t, %v", sy.Ready(), err)
	}
}
