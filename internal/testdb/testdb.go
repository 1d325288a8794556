// Package testdb gives tests a real database of their own: a fresh schema in
// the PostgreSQL at TEST_DATABASE_URL (default the local server), or a
// SQLite file in a temporary folder. Without a reachable PostgreSQL the test
// is skipped with a clear message, except under CI=true, where that fails.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
)

// DefaultURL is the PostgreSQL used when TEST_DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns a URL for a new, empty schema of its own (dropped when
// the test ends) in the test PostgreSQL, set as the connection's
// search_path, so that tests of different packages never see each other.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = DefaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := db.Open(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is required under CI=true: %v", err)
		}
		tb.Skipf("no PostgreSQL reachable (set TEST_DATABASE_URL): %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create test schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a, err := db.Open(ctx, base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a new empty schema of the test PostgreSQL (see PostgresURL).
func Postgres(tb testing.TB) *db.DB {
	tb.Helper()
	return Open(tb, PostgresURL(tb))
}

// SQLiteURL returns the URL of a new SQLite file in a temporary folder.
func SQLiteURL(tb testing.TB) string {
	tb.Helper()
	return "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
}

// SQLite opens a new SQLite database in a temporary folder.
func SQLite(tb testing.TB) *db.DB {
	tb.Helper()
	return Open(tb, SQLiteURL(tb))
}

// Engines runs f once per engine, as subtests named postgres and sqlite.
func Engines(t *testing.T, f func(t *testing.T, url string)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) { f(t, PostgresURL(t)) })
	t.Run("sqlite", func(t *testing.T) { f(t, SQLiteURL(t)) })
}

// Open opens the database at u (any URL db.Open takes) for the length of
// the test: closed when it ends.
func Open(tb testing.TB, u string) *db.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := db.Open(ctx, u)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}
