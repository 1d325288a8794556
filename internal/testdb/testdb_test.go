package testdb_test

import (
	"context"
	"testing"

	"github.com/sameteam/sameteam/internal/testdb"
)

// Each PostgreSQL test database is a schema of its own on the search_path,
// so two tests can create the same table without meeting.
func TestPostgresSchemasAreSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := testdb.Postgres(t), testdb.Postgres(t)
	if _, err := a.ExecContext(ctx, `CREATE TABLE x (n int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ExecContext(ctx, `CREATE TABLE x (n int)`); err != nil {
		t.Fatalf("second schema sees the first one's table: %v", err)
	}
}
