package jobs

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Quiet is the job queue's log while the database is away. River retries
// whatever it does every fraction of a second and logs each failure: a
// PostgreSQL outage of ten seconds wrote fifty ERROR lines. Through Quiet,
// the first error that says the database is unreachable writes one line,
// the queue's warnings and errors after it are counted instead of logged,
// and one line says when the database answers again (a ping every second
// finds out). The counts are on /metrics.
type Quiet struct {
	next slog.Handler
	log  *slog.Logger // where the two lines go
	pool *pgxpool.Pool

	mu         sync.Mutex
	down       bool
	since      time.Time
	outages    atomic.Int64
	suppressed atomic.Int64
	// Poll is how often a ping looks for the database while it is away.
	Poll time.Duration
}

// NewQuiet wraps log for the queue on pool.
func NewQuiet(log *slog.Logger, pool *pgxpool.Pool) *Quiet {
	return &Quiet{next: log.Handler(), log: log, pool: pool, Poll: time.Second}
}

// Down reports whether the database is thought away now.
func (q *Quiet) Down() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.down
}

// Outages counts the outages seen; Suppressed the queue's log lines not
// written during them.
func (q *Quiet) Outages() int64    { return q.outages.Load() }
func (q *Quiet) Suppressed() int64 { return q.suppressed.Load() }

// unreachable tells whether a log line says the database cannot be
// reached (refused, reset, shutting down, a pool closed by it).
func unreachable(text string) bool {
	text = strings.ToLower(text)
	for _, s := range []string{"connection refused", "failed to connect", "connection reset", "broken pipe", "unexpected eof",
		"the database system is shutting down", "the database system is starting up", "terminating connection",
		"server closed the connection", "conn closed", "no such host", "i/o timeout", "sqlstate 57p01", "sqlstate 57p03"} {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// Enabled is the wrapped handler's.
func (q *Quiet) Enabled(ctx context.Context, l slog.Level) bool { return q.next.Enabled(ctx, l) }

// Handle writes the record, unless the database is away and it is one of
// the queue's warnings or errors.
func (q *Quiet) Handle(ctx context.Context, r slog.Record) error { return q.handle(ctx, r, q.next) }

func (q *Quiet) handle(ctx context.Context, r slog.Record, next slog.Handler) error {
	if r.Level < slog.LevelWarn {
		return next.Handle(ctx, r)
	}
	var text strings.Builder
	text.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		text.WriteString(" " + a.Value.String())
		return true
	})
	q.mu.Lock()
	if q.down {
		q.mu.Unlock()
		q.suppressed.Add(1)
		return nil
	}
	if !unreachable(text.String()) {
		q.mu.Unlock()
		return next.Handle(ctx, r)
	}
	q.down, q.since = true, time.Now()
	q.mu.Unlock()
	q.outages.Add(1)
	q.suppressed.Add(1)
	q.log.Error("database unreachable: background jobs wait for it (their errors are counted on /metrics, not logged)", "err", text.String())
	go q.watch()
	return nil
}

// watch pings until the database answers, then writes the second line.
func (q *Quiet) watch() {
	for {
		time.Sleep(q.Poll)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := q.pool.Ping(ctx)
		cancel()
		if err != nil && strings.Contains(err.Error(), "closed pool") {
			return // the server is stopping
		}
		if err == nil {
			q.mu.Lock()
			q.down = false
			away := time.Since(q.since)
			q.mu.Unlock()
			q.log.Info("database reachable again: background jobs resume", "away", away.Round(time.Second),
				"queue_errors_not_logged", q.suppressed.Load())
			return
		}
	}
}

// WithAttrs and WithGroup keep the quieting on derived loggers (River
// names its parts).
func (q *Quiet) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &derived{q: q, next: q.next.WithAttrs(attrs)}
}

// WithGroup: see WithAttrs.
func (q *Quiet) WithGroup(name string) slog.Handler {
	return &derived{q: q, next: q.next.WithGroup(name)}
}

// derived writes to its own handler, quieted by the same Quiet.
type derived struct {
	q    *Quiet
	next slog.Handler
}

func (d *derived) Enabled(ctx context.Context, l slog.Level) bool  { return d.next.Enabled(ctx, l) }
func (d *derived) Handle(ctx context.Context, r slog.Record) error { return d.q.handle(ctx, r, d.next) }
func (d *derived) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &derived{q: d.q, next: d.next.WithAttrs(attrs)}
}
func (d *derived) WithGroup(name string) slog.Handler {
	return &derived{q: d.q, next: d.next.WithGroup(name)}
}
