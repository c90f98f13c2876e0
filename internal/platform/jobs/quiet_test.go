package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"passerelle/internal/platform/jobs"
	"passerelle/internal/platform/postgres/pgtest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSpace(l.b.String()), "\n")
}

type tickArgs struct{}

func (tickArgs) Kind() string { return "test.tick" }

// TestQuietOutage: PostgreSQL stops for a few seconds under a working
// queue. The log says once that the database went and once that it came
// back, nothing in between; the errors are counted; the queue works again.
func TestQuietOutage(t *testing.T) {
	ctx := context.Background()
	c := pgtest.OwnCluster(t)
	pool := c.Pool(t)

	var out lockedBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var ticks atomic.Int64
	reg := jobs.NewRegistry()
	jobs.Add(reg, &jobs.Func[tickArgs]{Do: func(context.Context) error { ticks.Add(1); return nil }})
	reg.Every(200*time.Millisecond, func() river.JobArgs { return tickArgs{} })
	q := jobs.NewQuiet(log, pool)
	q.Poll = 200 * time.Millisecond
	client, err := jobs.New(pool, reg, log, jobs.Options{Quiet: q, Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if err := client.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	}()
	wait := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s; log:\n%s", what, strings.Join(out.lines(), "\n"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("the queue works", func() bool { return ticks.Load() > 0 })
	before := len(out.lines())

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	wait("the outage is noticed", q.Down)
	time.Sleep(5 * time.Second) // the queue keeps failing all along
	quieted := q.Suppressed()
	c.Restart(t)
	wait("the return is noticed", func() bool { return !q.Down() })
	after := ticks.Load()
	wait("the queue works again", func() bool { return ticks.Load() > after })

	var went, back, others []string
	for _, l := range out.lines()[before:] {
		switch {
		case strings.Contains(l, "database unreachable"):
			went = append(went, l)
		case strings.Contains(l, "database reachable again"):
			back = append(back, l)
		case strings.Contains(l, "level=ERROR"), strings.Contains(l, "level=WARN"):
			others = append(others, l)
		}
	}
	if len(went) != 1 || len(back) != 1 || len(others) != 0 {
		t.Fatalf("outage logged as %d went, %d back, %d other warnings or errors:\n%s", len(went), len(back), len(others),
			strings.Join(others, "\n"))
	}
	if q.Outages() != 1 || quieted < 5 {
		t.Fatalf("%d outages, %d lines quieted in 5 s (the queue did not fail at all?)", q.Outages(), quieted)
	}
	t.Logf("5 s of outage: %d queue warnings and errors counted, 2 lines logged", quieted)
}
