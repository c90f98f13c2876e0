// Package pgtest gives each integration test a fresh, migrated PostgreSQL
// database, copied from a template database so it costs milliseconds.
//
// The server is TEST_DATABASE_URL when set (its role needs CREATEDB);
// otherwise a private throwaway cluster in <repo>/.data/postgres-test,
// started on first use. A missing PostgreSQL fails the test with what to
// install: tests never skip.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/config"
	"passerelle/internal/platform/pgcluster"
	"passerelle/internal/platform/postgres"
	"passerelle/migrations"
)

var (
	once     sync.Once
	adminURL string
	tmplName string
	setupErr error
)

// URL creates a fresh migrated database for t, dropped when t ends, and
// returns its connection URL.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("pgtest: no PostgreSQL for tests: %v", setupErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)

	name := "test_" + randomSuffix()
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{tmplName}.Sanitize())); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	u, err := postgres.WithDatabase(adminURL, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Pool returns a pool on a fresh migrated database, closed when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := URL(t)
	pool, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// AdminURL returns the URL of the test server's maintenance database, for
// tests that create databases of their own.
func AdminURL(t testing.TB) string {
	t.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("pgtest: no PostgreSQL for tests: %v", setupErr)
	}
	return adminURL
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	adminURL = os.Getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		root, err := RepoRoot()
		if err != nil {
			return err
		}
		c, err := pgcluster.Ensure(ctx, pgcluster.Options{
			Dir:       filepath.Join(root, ".data", "postgres-test"),
			Throwaway: true,
			Log:       os.Stderr,
		})
		if err != nil {
			return fmt.Errorf("%w (or set TEST_DATABASE_URL)", err)
		}
		adminURL = c.URL("postgres")
	}
	sum, err := migrationsHash()
	if err != nil {
		return err
	}
	tmplName = "passerelle_tmpl_" + sum
	return ensureTemplate(ctx)
}

// ensureTemplate builds the template database once per migration set; an
// advisory lock keeps parallel test binaries from building it twice.
func ensureTemplate(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", config.MaskURL(adminURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(727272)`); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(727272)`)

	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tmplName).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	// Templates of older migration sets are of no further use.
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'passerelle\_tmpl\_%'`)
	if err != nil {
		return err
	}
	old, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, name := range old {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{tmplName}.Sanitize()); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	u, err := postgres.WithDatabase(adminURL, tmplName)
	if err != nil {
		return err
	}
	if err := postgres.Migrate(u); err != nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{tmplName}.Sanitize()+" WITH (FORCE)")
		return err
	}
	return nil
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// RepoRoot returns the folder holding go.mod above the working directory
// (tests run in their package folder).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("pgtest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

var (
	suffixMu sync.Mutex
	suffixN  int
)

func randomSuffix() string {
	suffixMu.Lock()
	suffixN++
	n := suffixN
	suffixMu.Unlock()
	return fmt.Sprintf("%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, n)
}
