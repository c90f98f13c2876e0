package registers_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

// mustScan reads one row, failing the test on a query error (a broken
// query must not read as zero and pass).
func mustScan(t testing.TB, row pgx.Row, dest ...any) {
	t.Helper()
	if err := row.Scan(dest...); err != nil {
		t.Fatalf("query: %v", err)
	}
}
