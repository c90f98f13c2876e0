package registers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/member"
)

// Run is one recorded import.
type Run struct {
	ID         int64
	Register   string
	Source     string
	StartedAt  time.Time
	FinishedAt *time.Time
	OK         *bool
	Report     Report
	Error      string
}

const runColumns = `id, register, source, started_at, finished_at, ok, coalesce(report, '{}'), error`

func scanRun(r pgx.CollectableRow) (Run, error) {
	var x Run
	var raw []byte
	if err := r.Scan(&x.ID, &x.Register, &x.Source, &x.StartedAt, &x.FinishedAt, &x.OK, &raw, &x.Error); err != nil {
		return x, err
	}
	return x, json.Unmarshal(raw, &x.Report)
}

// Runs lists the latest imports, newest first, for staff.
func Runs(ctx context.Context, db *pgxpool.Pool, actor member.Actor, limit int) ([]Run, error) {
	if !actor.IsStaff() {
		return nil, ErrForbidden
	}
	rows, err := db.Query(ctx, `SELECT `+runColumns+` FROM register_imports ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("registers: runs: %w", err)
	}
	return pgx.CollectRows(rows, scanRun)
}

// Latest gives each register's latest finished run (for /metrics).
func Latest(ctx context.Context, db *pgxpool.Pool) ([]Run, error) {
	rows, err := db.Query(ctx, `SELECT DISTINCT ON (register) `+runColumns+`
		FROM register_imports WHERE finished_at IS NOT NULL ORDER BY register, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("registers: latest: %w", err)
	}
	return pgx.CollectRows(rows, scanRun)
}
