package indicator

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Views counts offer views in memory and writes them in batches, so that
// opening an offer page costs no write: one statement per flush adds every
// offer's views of each day at once. A process that stops without its
// final flush loses at most one interval's views (counters, not records).
type Views struct {
	db      *pgxpool.Pool
	mu      sync.Mutex
	pending map[viewKey]int
}

type viewKey struct {
	offer int64
	day   string // YYYY-MM-DD
}

// FlushEvery is how often a serving process writes its views.
const FlushEvery = 10 * time.Second

// NewViews builds an empty counter writing to db.
func NewViews(db *pgxpool.Pool) *Views {
	return &Views{db: db, pending: map[viewKey]int{}}
}

// Add counts one view of offer on the day of at.
func (v *Views) Add(offer int64, at time.Time) {
	v.mu.Lock()
	v.pending[viewKey{offer, at.Format(time.DateOnly)}]++
	v.mu.Unlock()
}

// Pending is how many views wait to be written.
func (v *Views) Pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, c := range v.pending {
		n += c
	}
	return n
}

// Flush writes the pending views in one statement; on failure they are
// kept for the next flush. Views of an offer deleted meanwhile are dropped.
func (v *Views) Flush(ctx context.Context) error {
	v.mu.Lock()
	batch := v.pending
	v.pending = map[viewKey]int{}
	v.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	offers := make([]int64, 0, len(batch))
	days := make([]string, 0, len(batch))
	counts := make([]int32, 0, len(batch))
	for k, c := range batch {
		offers = append(offers, k.offer)
		days = append(days, k.day)
		counts = append(counts, int32(c))
	}
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		// Sorted so that two servers flushing at once lock rows in the same
		// order (no deadlock).
		_, err := tx.Exec(ctx, `INSERT INTO offer_views (offer_id, day, views)
			SELECT b.offer_id, b.day, b.views
			FROM unnest($1::bigint[], $2::date[], $3::int[]) AS b(offer_id, day, views)
			JOIN offers o ON o.id = b.offer_id
			ORDER BY b.offer_id, b.day
			ON CONFLICT (offer_id, day) DO UPDATE SET views = offer_views.views + EXCLUDED.views`, offers, days, counts)
		return err
	})
	if err != nil {
		v.mu.Lock()
		for k, c := range batch {
			v.pending[k] += c
		}
		v.mu.Unlock()
		return wrap("offer views", err)
	}
	return nil
}

// Run flushes every interval until ctx ends; the caller flushes once more
// after the last request is served.
func (v *Views) Run(ctx context.Context, every time.Duration, failed func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := v.Flush(ctx); err != nil && failed != nil {
				failed(err)
			}
		}
	}
}
