package search

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// CertExpiryArgs is the daily job that takes the "certified" facet off the
// SMEs whose last valid certification has expired since it was computed.
type CertExpiryArgs struct{}

// Kind names the job in River.
func (CertExpiryArgs) Kind() string { return "search.cert_expiry" }

// CertExpiryWorker works CertExpiryArgs.
type CertExpiryWorker struct {
	river.WorkerDefaults[CertExpiryArgs]
	DB    *pgxpool.Pool
	Index *Indexer
}

// Work refreshes each SME still marked certified without a valid
// certification, one transaction each.
func (w *CertExpiryWorker) Work(ctx context.Context, _ *river.Job[CertExpiryArgs]) error {
	rows, err := w.DB.Query(ctx, `SELECT g.id FROM organisations g
		WHERE g.status = 'member' AND g.kind IN ('pme', 'eti') AND g.facets @> '{cert}'
		  AND NOT EXISTS (SELECT 1 FROM certifications c WHERE c.organisation_id = g.id
		                  AND (c.expires_on IS NULL OR c.expires_on >= current_date))`)
	if err != nil {
		return fmt.Errorf("search: expired certifications: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("search: expired certifications: %w", err)
	}
	for _, id := range ids {
		if err := pgx.BeginFunc(ctx, w.DB, func(tx pgx.Tx) error { return w.Index.Refresh(ctx, tx, id) }); err != nil {
			return err
		}
	}
	return nil
}

// CertExpiryJobs registers the worker and schedules it daily (and once at
// start), for mail.NewJobs.
func CertExpiryJobs(db *pgxpool.Pool, index *Indexer) func(*river.Workers) []*river.PeriodicJob {
	return func(workers *river.Workers) []*river.PeriodicJob {
		river.AddWorker(workers, &CertExpiryWorker{DB: db, Index: index})
		return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return CertExpiryArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true})}
	}
}
