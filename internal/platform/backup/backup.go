// Package backup takes and restores a logical backup of the platform's
// database with PostgreSQL's own tools: pg_dump (one consistent snapshot,
// taken while the platform runs and writes) in its custom format, and
// pg_restore into an empty database.
//
// Derived data is left out and rebuilt by the restored platform:
//   - search_snapshots, search_snapshot_chunks: the in-memory search
//     index's snapshots (hundreds of MB at 1 M organisations); a server
//     that finds none builds the index from the tables and writes one;
//   - search_changes: the change log the index follows, positioned by
//     transaction ids of the backed-up cluster, which mean nothing in
//     another (the index is rebuilt anyway); search_changes_pruned, its
//     one-row mark, is reset on restore.
//
// Everything else is kept: members, sessions (users stay signed in), the
// key that signs one-click links (links mailed before the backup still
// work), the job queue, the outbox.
package backup

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/pgcluster"
)

// Derived are the tables whose rows are not backed up.
var Derived = []string{"search_snapshots", "search_snapshot_chunks", "search_changes"}

// Dump writes a backup of databaseURL to file.
func Dump(ctx context.Context, databaseURL, file string) (time.Duration, error) {
	start := time.Now()
	bin, err := pgcluster.Tool("pg_dump")
	if err != nil {
		return 0, err
	}
	args := []string{"--format=custom", "--no-owner", "--no-privileges", "--file=" + file}
	for _, t := range Derived {
		args = append(args, "--exclude-table-data="+t)
	}
	if err := run(ctx, bin, append(args, "--dbname="+databaseURL)...); err != nil {
		return 0, fmt.Errorf("backup: pg_dump: %w", err)
	}
	return time.Since(start), nil
}

// Restore loads file into databaseURL, which must be empty, then resets
// the search change log's mark (see the package comment).
func Restore(ctx context.Context, file, databaseURL string) (time.Duration, error) {
	start := time.Now()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, fmt.Errorf("backup: restore: %w", err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		return 0, fmt.Errorf("backup: restore: %w", err)
	}
	if tables > 0 {
		return 0, fmt.Errorf("backup: restore: the database holds %d tables; restore into an empty one", tables)
	}
	bin, err := pgcluster.Tool("pg_restore")
	if err != nil {
		return 0, err
	}
	if err := run(ctx, bin, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname="+databaseURL, file); err != nil {
		return 0, fmt.Errorf("backup: pg_restore: %w", err)
	}
	if _, err := conn.Exec(ctx, `UPDATE search_changes_pruned SET xid = '0'`); err != nil {
		return 0, fmt.Errorf("backup: restore: reset the search change log: %w", err)
	}
	return time.Since(start), nil
}

func run(ctx context.Context, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
