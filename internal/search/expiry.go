package search

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"passerelle/internal/platform/jobs"
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

// PruneChangesArgs is the daily job that deletes the search change log
// older than a day: servers follow it within seconds, and one that fell
// further behind rebuilds its index from the tables anyway.
type PruneChangesArgs struct{}

// Kind names the job in River.
func (PruneChangesArgs) Kind() string { return "search.prune_changes" }

// PruneChangesWorker works PruneChangesArgs.
type PruneChangesWorker struct {
	river.WorkerDefaults[PruneChangesArgs]
	DB *pgxpool.Pool
}

// Work deletes the old entries.
func (w *PruneChangesWorker) Work(ctx context.Context, _ *river.Job[PruneChangesArgs]) error {
	// The newest pruned transaction is recorded: a server that had not
	// applied it yet rebuilds (searchindex) instead of missing it.
	if _, err := w.DB.Exec(ctx, `WITH gone AS (DELETE FROM search_changes WHERE at < now() - interval '1 day' RETURNING xid)
		UPDATE search_changes_pruned SET xid = greatest(xid, (SELECT max(xid) FROM gone))
		WHERE EXISTS (SELECT 1 FROM gone)`); err != nil {
		return fmt.Errorf("search: prune change log: %w", err)
	}
	return nil
}

// Register adds search's daily jobs (certifications that expired, the
// change log's old entries) to the server's background jobs; they also run
// once at start.
func Register(reg *jobs.Registry, db *pgxpool.Pool, index *Indexer) {
	jobs.Add(reg, &CertExpiryWorker{DB: db, Index: index})
	jobs.Add(reg, &PruneChangesWorker{DB: db})
	reg.Every(24*time.Hour, func() river.JobArgs { return CertExpiryArgs{} })
	reg.Every(24*time.Hour, func() river.JobArgs { return PruneChangesArgs{} })
}
