// Package postgres holds the plumbing shared by every store: opening the
// connection pool, applying the embedded migrations, creating databases and
// reporting readiness.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"passerelle/migrations"
)

// DB is what stores need: the pool or a transaction, so a service can run
// several stores in one transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Open connects a pool and checks the database answers.
func Open(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	return OpenWith(ctx, databaseURL, PoolOptions{})
}

// PoolOptions size a pool and bound what its connections may do.
type PoolOptions struct {
	Name             string        // application_name, seen in pg_stat_activity
	MaxConns         int32         // 0: pgx's default (the larger of 4 and the CPU count)
	StatementTimeout time.Duration // 0: none
	IdleInTxTimeout  time.Duration // idle_in_transaction_session_timeout; 0: none
	// Serial keeps its statements off parallel plans
	// (max_parallel_workers_per_gather = 0). A server's statements are
	// short and many run at once: starting workers for one of them costs
	// more than the work on two cores (a ranking's text search took 38 ms
	// to gather 1.5 ms of scans), and the planner chooses it or not from
	// one analyse to the next.
	Serial bool
}

// ServerPool is the shape of a server's pools: what the benchmarks open
// too, so that they measure what servers do.
func ServerPool(name string, maxConns int32) PoolOptions {
	return PoolOptions{Name: name, MaxConns: maxConns, Serial: true}
}

// OpenWith is Open with a pool of its own shape: the web requests' pool
// and the background pool (jobs, search index) are separate, so that
// neither can starve the other, and each has the limits that fit it.
func OpenWith(ctx context.Context, databaseURL string, o PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.Name != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = o.Name
	}
	if o.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	}
	if o.IdleInTxTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(o.IdleInTxTimeout.Milliseconds(), 10)
	}
	if o.Serial {
		cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping: %w", err)
	}
	return pool, nil
}

// Migrate applies every pending up migration: ours (golang-migrate, under
// a PostgreSQL advisory lock, so several servers starting at once are safe),
// then the job queue's own schema (River's migrator).
func Migrate(databaseURL string) error {
	m, err := newMigrate(databaseURL)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("postgres: migrate up: %w", err)
	}
	return migrateRiver(databaseURL, rivermigrate.DirectionUp, nil)
}

// MigrateDown reverts every migration (used to prove each one goes down cleanly).
func MigrateDown(databaseURL string) error {
	if err := migrateRiver(databaseURL, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: -1}); err != nil {
		return err
	}
	m, err := newMigrate(databaseURL)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Down(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("postgres: migrate down: %w", err)
	}
	return nil
}

func migrateRiver(databaseURL string, dir rivermigrate.Direction, opts *rivermigrate.MigrateOpts) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("postgres: river migrate: %w", err)
	}
	defer pool.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("postgres: river migrate: %w", err)
	}
	if _, err := migrator.Migrate(ctx, dir, opts); err != nil {
		return fmt.Errorf("postgres: river migrate %s: %w", dir, err)
	}
	return nil
}

func newMigrate(databaseURL string) (*migrate.Migrate, error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	u.Scheme = "pgx5"
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return m, nil
}

// HeadVersion is the number of the newest embedded migration.
func HeadVersion() uint {
	var head uint
	entries, _ := fs.ReadDir(migrations.FS, ".")
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		if v, err := strconv.ParseUint(num, 10, 64); err == nil && uint(v) > head {
			head = uint(v)
		}
	}
	return head
}

// ErrNotMigrated means the schema is behind the binary, or a migration
// failed half-way (dirty).
var ErrNotMigrated = errors.New("postgres: schema is not at the head migration")

// Ready checks that the database answers and its schema is at least at the
// head migration of this binary, clean. It is what /readyz reports.
//
// A schema newer than the binary is accepted: during a rolling deploy the
// new release migrates first and the old servers stay in rotation. That
// holds because every migration is additive (the rule, see
// migrations/README.md): a release adds tables, columns with defaults,
// indexes and functions; it renames or drops nothing that the previous
// release reads, which a later release removes once no server reads it.
func Ready(ctx context.Context, db DB) error {
	var version int64
	var dirty bool
	err := db.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&version, &dirty)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) || errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %v", ErrNotMigrated, err)
		}
		return fmt.Errorf("postgres: ready: %w", err)
	}
	if dirty || uint(version) < HeadVersion() {
		return fmt.Errorf("%w: at %d (dirty=%t), want %d or later", ErrNotMigrated, version, dirty, HeadVersion())
	}
	return nil
}

// EnsureDatabase creates database name through the server at adminURL when
// it does not exist yet.
func EnsureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: look up database: %w", err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile by another process
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres: create database %s: %w", name, err)
	}
	return nil
}

// WithDatabase returns databaseURL pointing at another database on the same server.
func WithDatabase(databaseURL, name string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", fmt.Errorf("postgres: parse url: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}
