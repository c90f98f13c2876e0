package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"passerelle/internal/platform/pgcluster"
	"passerelle/internal/platform/postgres"
)

// Own is a throwaway PostgreSQL cluster of one test's own, for the tests
// that stop it and start it again (outages), with a migrated database.
type Own struct {
	*pgcluster.Cluster
	dir string
	URL string // the migrated database "passerelle"
}

// OwnCluster starts an Own cluster, stopped and removed when t ends.
func OwnCluster(t testing.TB) *Own {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	c, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: dir, Throwaway: true})
	if err != nil {
		t.Fatalf("private cluster: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Stop(context.Background())
		_ = os.RemoveAll(c.Dir) // may sit outside TempDir when run as root
	})
	if err := postgres.EnsureDatabase(ctx, c.URL("postgres"), "passerelle"); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(c.URL("passerelle")); err != nil {
		t.Fatal(err)
	}
	return &Own{Cluster: c, dir: dir, URL: c.URL("passerelle")}
}

// Pool opens the database, closed when t ends.
func (o *Own) Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Open(context.Background(), o.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Restart starts the stopped cluster again, on the same port.
func (o *Own) Restart(t testing.TB) {
	t.Helper()
	c, err := pgcluster.Ensure(context.Background(), pgcluster.Options{Dir: o.dir, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != o.Port {
		t.Fatalf("restarted on port %d, was %d: clients could not reconnect", c.Port, o.Port)
	}
}
