package moderation_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/audit"
	"passerelle/internal/platform/moderation"
	"passerelle/internal/platform/postgres/pgtest"
)

// Two kinds of content, as offers and purchase requests will be: each
// declared once by its domain.
var (
	kindA = moderation.DeclareKind("test_offer")
	kindB = moderation.DeclareKind("test_request")
)

// waiting is a kind of content whose items wait in memory: enough to see
// what the queue does with several kinds; the audit entries it writes go
// to a real database.
type waiting struct {
	kind  moderation.Kind
	items map[int64]moderation.Item
}

func (w *waiting) Kind() moderation.Kind { return w.kind }

func (w *waiting) Waiting(_ context.Context, _ moderation.Querier, limit int) ([]moderation.Item, int, error) {
	var out []moderation.Item
	for id := int64(1); id <= int64(len(w.items)) && len(out) < limit; id++ {
		if it, ok := w.items[id]; ok {
			out = append(out, it)
		}
	}
	return out, len(w.items), nil
}

func (w *waiting) Decide(_ context.Context, _ pgx.Tx, id, version int64, publish bool, reason string) (moderation.Decided, error) {
	it, ok := w.items[id]
	switch {
	case !ok:
		return moderation.Decided{}, moderation.ErrNotWaiting
	case version != moderation.AnyVersion && version != it.Version:
		return moderation.Decided{}, moderation.ErrChanged
	}
	delete(w.items, id)
	return moderation.Decided{Title: it.Title, Path: "/espace"}, nil
}

type staffer struct{}

func (staffer) IsStaff() bool { return true }
func (staffer) AuditEntry(a audit.Action, orgID int64, target, reason string) audit.Entry {
	return audit.Entry{ActorName: "Sam Staff", Action: a, Target: target, Reason: reason}
}

type visitor struct{ staffer }

func (visitor) IsStaff() bool { return false }

// One queue over every registered kind, oldest first whatever the kind,
// paged with the total; each decision audited under its kind's action.
func TestOneQueueOverEveryKind(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	a := &waiting{kind: kindA, items: map[int64]moderation.Item{}}
	b := &waiting{kind: kindB, items: map[int64]moderation.Item{}}
	for i := int64(1); i <= 60; i++ { // A items every other minute, B items in between
		a.items[i] = moderation.Item{Kind: kindA.Name, ID: i, Version: 1, Title: fmt.Sprint("A", i), SubmittedAt: start.Add(time.Duration(2*i) * time.Minute)}
		if i <= 50 {
			b.items[i] = moderation.Item{Kind: kindB.Name, ID: i, Version: 1, Title: fmt.Sprint("B", i), SubmittedAt: start.Add(time.Duration(2*i+1) * time.Minute)}
		}
	}
	q := moderation.NewService(pool, nil)
	q.Register(a)
	q.Register(b)

	page1, total, err := q.Queue(ctx, staffer{}, 1)
	if err != nil || total != 110 || len(page1) != moderation.PageSize {
		t.Fatalf("page 1: %d items of %d, %v", len(page1), total, err)
	}
	for i := 1; i < len(page1); i++ {
		if page1[i].SubmittedAt.Before(page1[i-1].SubmittedAt) {
			t.Fatalf("not oldest first at %d: %s after %s", i, page1[i].Title, page1[i-1].Title)
		}
	}
	if page1[0].Title != "A1" || page1[1].Title != "B1" {
		t.Errorf("kinds not interleaved by age: %s, %s", page1[0].Title, page1[1].Title)
	}
	page3, _, _ := q.Queue(ctx, staffer{}, 3)
	if len(page3) != 10 || page3[len(page3)-1].Title != "A60" {
		t.Errorf("last page: %d items, ending with %v", len(page3), page3[len(page3)-1].Title)
	}

	if err := q.Decide(ctx, staffer{}, kindB.Name, 1, 2, moderation.Publish, ""); !errors.Is(err, moderation.ErrChanged) {
		t.Errorf("stale version: %v", err)
	}
	if err := q.Decide(ctx, staffer{}, kindB.Name, 1, 1, moderation.SendBack, ""); err == nil {
		t.Error("sent back without a reason")
	}
	if err := q.Decide(ctx, staffer{}, kindB.Name, 1, 1, moderation.SendBack, "Budget manquant"); err != nil {
		t.Fatal(err)
	}
	if err := q.Decide(ctx, visitor{}, kindA.Name, 1, 1, moderation.Publish, ""); !errors.Is(err, moderation.ErrForbidden) {
		t.Errorf("a visitor decides: %v", err)
	}
	if _, _, err := q.Queue(ctx, visitor{}, 1); !errors.Is(err, moderation.ErrForbidden) {
		t.Errorf("a visitor reads the queue: %v", err)
	}
	var action, reason string
	if err := pool.QueryRow(ctx, `SELECT action, reason FROM audit_entries`).Scan(&action, &reason); err != nil {
		t.Fatal(err)
	}
	if action != "test_request.sent_back" || reason != "Budget manquant" {
		t.Errorf("audited %q %q", action, reason)
	}
	if _, total, _ := q.Queue(ctx, staffer{}, 1); total != 109 {
		t.Errorf("after one decision, %d waiting", total)
	}
}

// A page past the last reads the last page, not page×50 items of each kind.
func TestQueuePageIsBounded(t *testing.T) {
	pool := pgtest.Pool(t)
	w := &countingWaiting{waiting: waiting{kind: kindA, items: map[int64]moderation.Item{}}}
	for i := int64(1); i <= 60; i++ {
		w.items[i] = moderation.Item{Kind: kindA.Name, ID: i, Version: 1, SubmittedAt: time.Unix(i, 0)}
	}
	q := moderation.NewService(pool, nil)
	q.Register(w)
	items, total, err := q.Queue(context.Background(), staffer{}, 100000)
	if err != nil || total != 60 || len(items) != 10 || items[0].ID != 51 {
		t.Fatalf("page 100000: %d items from %v of %d, %v; want the last page", len(items), items[0].ID, total, err)
	}
	if w.largest > 2*moderation.PageSize {
		t.Errorf("asked a kind for %d items to show the last of 2 pages", w.largest)
	}
}

type countingWaiting struct {
	waiting
	largest int
}

func (c *countingWaiting) Waiting(ctx context.Context, q moderation.Querier, limit int) ([]moderation.Item, int, error) {
	c.largest = max(c.largest, limit)
	return c.waiting.Waiting(ctx, q, limit)
}
