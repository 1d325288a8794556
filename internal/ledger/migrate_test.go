package ledger_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/testdb"
)

// schema describes the ledger's tables, columns and indexes, to compare
// before and after a migration.
func schema(tb testing.TB, d *db.DB) []string {
	tb.Helper()
	var out []string
	q := `SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master
		WHERE name LIKE 'sameteam%' ORDER BY name`
	if d.Engine == db.Postgres {
		q = `SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name LIKE 'sameteam%'
			UNION ALL
			SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename LIKE 'sameteam%'
			ORDER BY 1`
	}
	if err := d.SelectContext(context.Background(), &out, q); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestMigrateTwice: a second Migrate changes nothing and keeps the data.
func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		id := startRun(t, l, rep, per)
		claim(t, l, id, rep, per, "a@x.com", ledger.ClaimOptions{})
		before := schema(t, b.db)
		for _, want := range []string{"sameteam_runs", "sameteam_deliveries", "sameteam_runs_one_running", "sameteam_deliveries_sending", "sameteam_opt_outs"} {
			if !slices.ContainsFunc(before, func(s string) bool { return strings.Contains(s, want+" ") }) {
				t.Errorf("schema lacks %s: %v", want, before)
			}
		}
		if err := ledger.Migrate(ctx, b.db); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if after := schema(t, b.db); !slices.Equal(before, after) {
			t.Errorf("schema changed:\n%v\n%v", before, after)
		}
		var applied int
		if err := b.db.GetContext(ctx, &applied, `SELECT COUNT(*) FROM sameteam_schema_migrations`); err != nil || applied != 3 {
			t.Errorf("%d migrations recorded, %v", applied, err)
		}
		if n := countDeliveries(t, b.db); n != 1 {
			t.Errorf("%d deliveries after the second migrate, want 1", n)
		}
	})
}

// TestMigrateConcurrently: replicas starting together all migrate without
// error (PostgreSQL serialises them with an advisory lock, SQLite with its
// write lock).
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			d := testdb.Open(t, url)
			wg.Go(func() { errs[i] = ledger.Migrate(context.Background(), d) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("migrate %d: %v", i, err)
			}
		}
	})
}
