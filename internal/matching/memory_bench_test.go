package matching

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/postgres/pgtest"
)

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
