// Package jobs owns the background job queue (River on PostgreSQL) that
// every server runs. Each domain registers its own workers and periodic
// jobs on a Registry; the queue itself belongs to no domain, so jobs run
// whether or not mail is delivered, and any number of servers share the
// same tables safely.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Client enqueues jobs inside the callers' transactions and, when built
// with a Registry, works them.
type Client = *river.Client[pgx.Tx]

// Registry collects the workers and periodic jobs of every domain before
// the client starts.
type Registry struct {
	workers  *river.Workers
	periodic []*river.PeriodicJob
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{workers: river.NewWorkers()} }

// Add registers the worker of one kind of job.
func Add[T river.JobArgs](r *Registry, w river.Worker[T]) {
	river.AddWorker(r.workers, w)
}

// Every schedules the job that args builds every interval, and once when
// the client starts (a server restarted daily still runs its daily jobs).
func (r *Registry) Every(interval time.Duration, args func() river.JobArgs) {
	r.periodic = append(r.periodic, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args(), nil },
		&river.PeriodicJobOpts{RunOnStart: true}))
}

// Options tune the client that works jobs.
type Options struct {
	MaxWorkers int           // concurrent jobs on this server; default 4
	Poll       time.Duration // how often idle workers look for jobs; default 200 ms
	// Quiet quiets the queue's log during a database outage; nil: one is
	// made (and its counts are not read).
	Quiet *Quiet
}

// New builds a client that enqueues and works the registry's jobs. Call
// Start on it, and Stop before the pool closes.
func New(pool *pgxpool.Pool, reg *Registry, log *slog.Logger, o Options) (Client, error) {
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 4
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.Quiet == nil {
		o.Quiet = NewQuiet(log, pool)
	}
	cfg := &river.Config{
		Logger:            slog.New(o.Quiet),
		MaxAttempts:       10,
		Workers:           reg.workers,
		PeriodicJobs:      reg.periodic,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.MaxWorkers}},
		FetchPollInterval: o.Poll,
	}
	c, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	return c, nil
}

// InsertOnly builds a client that enqueues jobs but works none (commands
// and tests that only check what was enqueued).
func InsertOnly(pool *pgxpool.Pool, log *slog.Logger) (Client, error) {
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: log, MaxAttempts: 10})
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	return c, nil
}

// Func is the worker of a job whose arguments carry nothing, as most
// periodic jobs: it runs Do. Limit, when set, replaces the queue's
// default timeout (a minute) for the long ones.
type Func[A river.JobArgs] struct {
	river.WorkerDefaults[A]
	Do    func(ctx context.Context) error
	Limit time.Duration
}

// Work runs Do.
func (w *Func[A]) Work(ctx context.Context, _ *river.Job[A]) error { return w.Do(ctx) }

// Timeout is Limit (0: the queue's default).
func (w *Func[A]) Timeout(*river.Job[A]) time.Duration { return w.Limit }

// Periodic registers do as the worker of the jobs of kind A and schedules
// one every interval (and once when the client starts).
func Periodic[A river.JobArgs](r *Registry, interval time.Duration, do func(ctx context.Context) error) {
	Add(r, &Func[A]{Do: do})
	r.Every(interval, func() river.JobArgs { var a A; return a })
}

// Count adapts a method that returns how much it did to Do.
func Count(fn func(ctx context.Context) (int, error)) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := fn(ctx)
		return err
	}
}

// Batches runs step in a transaction of its own, again and again, until it
// reports there is nothing left: each batch commits or fails alone, and no
// lock is held from one batch to the next (two servers share the work
// with SKIP LOCKED). It stops at the first error.
func Batches(ctx context.Context, db *pgxpool.Pool, step func(tx pgx.Tx) (more bool, err error)) error {
	for {
		var more bool
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			var err error
			more, err = step(tx)
			return err
		})
		if err != nil || !more {
			return err
		}
	}
}
