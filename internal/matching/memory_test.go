package matching

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/postgres/pgtest"
)

// A change written by a transaction that began before another's but
// committed after the memory read the other's (its number is the lower)
// still reaches the memory; the log keeps a day of changes.
func TestMemoryReadsAChangeCommittedLate(t *testing.T) {
	ctx := context.Background()
	pool, _ := generated(t, 40, 3)
	m, err := LoadMemory(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	orgs := pgtest.Rows[int64](t, pool, `SELECT id FROM organisations ORDER BY id LIMIT 2`)
	add := `INSERT INTO org_references (organisation_id, client, object, cpv_code, year) VALUES ($1, 'Ville de Lyon', 'Maintenance informatique', '72267100', 2024)`
	late, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback(ctx)
	if _, err := late.Exec(ctx, add, orgs[0]); err != nil { // logged first, committed last
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, add, orgs[1]); err != nil {
		t.Fatal(err)
	}
	if n, err := m.CatchUp(ctx); err != nil || n != 1 {
		t.Fatalf("first catch-up: %d SMEs read again (%v), want the one committed", n, err)
	}
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := m.CatchUp(ctx); err != nil || n != 1 {
		t.Fatalf("second catch-up: %d SMEs read again (%v), want the one committed late", n, err)
	}
	for _, org := range orgs {
		if refs := m.refsOf("722", org); len(refs) == 0 || refs[len(refs)-1].code != 72267100 {
			t.Errorf("SME %d: its new contract is not in memory: %v", org, refs)
		}
	}
	// A day of changes kept, older ones pruned.
	if _, err := pool.Exec(ctx, `UPDATE evidence_log SET logged_at = now() - interval '25 hours' WHERE organisation_id = $1`, orgs[0]); err != nil {
		t.Fatal(err)
	}
	if err := PruneLog(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var old, kept int
	pgtest.Scan(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE organisation_id = $1), count(*) FILTER (WHERE organisation_id = $2) FROM evidence_log`, orgs[0], orgs[1]), &old, &kept)
	if old != 0 || kept == 0 {
		t.Fatalf("after pruning: %d changes older than a day, %d of today", old, kept)
	}
}

// BenchmarkCatchUpReplace times what a catch-up does under the memory's
// write lock (rankings wait meanwhile) after an import changed 2,000 of
// 6,000 generated SMEs: each taken out of the lists it was in, then filed
// with what it holds now (read before the clock runs, as CatchUp reads it
// before taking the lock).
func BenchmarkCatchUpReplace(b *testing.B) {
	ctx := context.Background()
	pool, _ := generated(b, 6000, 7)
	m, err := LoadMemory(ctx, pool)
	if err != nil {
		b.Fatal(err)
	}
	changed := pgtest.Rows[int64](b, pool, `SELECT id FROM organisations WHERE id % 3 = 0 ORDER BY id`)
	for b.Loop() {
		b.StopTimer()
		next := newMemory(nil)
		var got memRead
		if err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
			got, err = next.read(ctx, tx, changed)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		m.mu.Lock()
		m.replace(append([]int64(nil), changed...), next, got)
		m.mu.Unlock()
	}
}

// A keeper says what it loaded once it holds it (servers log it).
func TestKeeperSaysWhatItLoaded(t *testing.T) {
	pool, _ := generated(t, 40, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := NewKeeper(pool)
	heard := make(chan [3]int, 1)
	k.Loaded = func(orgs, refs, offers int, _ time.Duration) { heard <- [3]int{orgs, refs, offers} }
	go func() { _ = k.Run(ctx) }()
	select {
	case got := <-heard:
		want := [3]int{}
		want[0], want[1], want[2] = k.memory().Size()
		if got != want || got[0] < 40 || got[2] == 0 {
			t.Fatalf("heard %v loaded, the memory holds %v", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the keeper never said it loaded")
	}
}
