package pgcluster_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"passerelle/internal/platform/pgcluster"
)

// A second Ensure reuses the running cluster; after a stop, the next one
// starts it again with the data in place (what a second `make run` does).
func TestEnsureReusesTheClusterAndKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	c1, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: dir, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c1.Stop(context.Background())
		_ = os.RemoveAll(c1.Dir)
	})
	if !c1.Started {
		t.Error("first Ensure did not start the cluster")
	}
	exec := func(c *pgcluster.Cluster, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(c1, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`)

	c2, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: dir, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Started || c2.Port != c1.Port || c2.Password != c1.Password {
		t.Errorf("second Ensure: started=%t port %d→%d", c2.Started, c1.Port, c2.Port)
	}

	if err := pgcluster.StopDir(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if err := pgcluster.StopDir(ctx, dir); err != nil {
		t.Errorf("stopping a stopped cluster: %v", err)
	}
	c3, err := pgcluster.Ensure(ctx, pgcluster.Options{Dir: dir, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c3.Started {
		t.Error("Ensure after stop did not start it")
	}
	conn, err := pgx.Connect(ctx, c3.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != "still here" {
		t.Errorf("data after restart: %q, %v", v, err)
	}
	// Only 127.0.0.1 with a password: a wrong password is refused.
	bad := c3.URL("postgres")
	bad = bad[:len("postgres://passerelle:")] + "wrong" + bad[len("postgres://passerelle:")+len(c3.Password):]
	if c, err := pgx.Connect(ctx, bad); err == nil {
		c.Close(ctx)
		t.Error("a wrong password was accepted")
	}
}
