package ledger

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/testdb"
)

// TestMigrateIsAtomic: a migration that fails leaves no trace of the
// migrations applied with it, and is retried whole the next time.
func TestMigrateIsAtomic(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		dir := "schema/" + string(d.Engine) + "/"
		broken := fstest.MapFS{
			dir + "0001_a.sql": {Data: []byte(`CREATE TABLE sameteam_test_a (n integer);`)},
			dir + "0002_b.sql": {Data: []byte(`CREATE TABLE sameteam_test_b (n integer); INSERT INTO no_such_table VALUES (1);`)},
		}
		if err := migrate(ctx, d, broken); !errors.Is(err, ErrMigration) {
			t.Fatalf("broken migration: %v, want ErrMigration", err)
		}
		for _, table := range []string{"sameteam_test_a", "sameteam_test_b", "sameteam_schema_migrations"} {
			if _, err := d.ExecContext(ctx, `SELECT 1 FROM `+table); err == nil {
				t.Errorf("%s exists after a failed migration", table)
			}
		}
		fixed := fstest.MapFS{
			dir + "0001_a.sql": broken[dir+"0001_a.sql"],
			dir + "0002_b.sql": {Data: []byte(`CREATE TABLE sameteam_test_b (n integer);`)},
		}
		if err := migrate(ctx, d, fixed); err != nil {
			t.Fatalf("fixed migration: %v", err)
		}
		var versions []int
		if err := d.SelectContext(ctx, &versions, `SELECT version FROM sameteam_schema_migrations ORDER BY version`); err != nil {
			t.Fatal(err)
		}
		if len(versions) != 2 || versions[0] != 1 || versions[1] != 2 {
			t.Errorf("applied versions %v, want [1 2]", versions)
		}
	})
}

// TestMigrationFiles: both engines have the same numbered files, and
// badly named ones are refused.
func TestMigrationFiles(t *testing.T) {
	t.Parallel()
	pg, err := migrations(schemaFS, db.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := migrations(schemaFS, db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) == 0 || len(pg) != len(lite) {
		t.Fatalf("%d PostgreSQL and %d SQLite migrations", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].version != i+1 || pg[i].name != lite[i].name {
			t.Errorf("migration %d: %s (PostgreSQL) vs %s (SQLite)", i+1, pg[i].name, lite[i].name)
		}
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
	}{
		{name: "no_number", fsys: fstest.MapFS{"schema/sqlite/init.sql": {}}},
		{name: "duplicate_number", fsys: fstest.MapFS{"schema/sqlite/0001_a.sql": {}, "schema/sqlite/01_b.sql": {}}},
		{name: "no_folder", fsys: fstest.MapFS{"schema/postgres/0001_a.sql": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := migrations(tt.fsys, db.SQLite); !errors.Is(err, ErrMigration) {
				t.Errorf("err %v, want ErrMigration", err)
			}
		})
	}
}

// TestHeldAndSkippedMigration: a ledger made by the first release keeps its
// runs and deliveries through 0002, and then takes the new statuses and
// the run's note.
func TestHeldAndSkippedMigration(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		dir := "schema/" + string(d.Engine) + "/"
		first, err := schemaFS.ReadFile(dir + "0001_init.sql")
		if err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, d, fstest.MapFS{dir + "0001_init.sql": {Data: first}}); err != nil {
			t.Fatal(err)
		}
		now := d.Time(time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC))
		mustExec := func(q string, args ...any) {
			t.Helper()
			if _, err := d.ExecContext(ctx, d.Rebind(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		mustExec(`INSERT INTO sameteam_runs (id, report, period, status, "trigger", started_at, sent_count) VALUES (7, 'r', '2026-W47', 'succeeded', 'manual', ?, 1)`, now)
		mustExec(`INSERT INTO sameteam_deliveries (report, period, recipient, message_id, status, run_id, updated_at) VALUES ('r', '2026-W47', 'a@x.com', 'm', 'sent', 7, ?)`, now)
		if err := Migrate(ctx, d); err != nil {
			t.Fatalf("0002 over a first-release ledger: %v", err)
		}
		var sent, runID int
		if err := d.QueryRowContext(ctx, `SELECT r.sent_count, d.run_id FROM sameteam_runs r JOIN sameteam_deliveries d ON d.run_id = r.id`).Scan(&sent, &runID); err != nil || sent != 1 || runID != 7 {
			t.Fatalf("rows after 0002: sent %d run %d, %v", sent, runID, err)
		}
		mustExec(`INSERT INTO sameteam_runs (report, period, status, "trigger", started_at, note) VALUES ('r', '2026-W48', 'held', 'scheduled', ?, 'newest activity 3 d old')`, now)
		mustExec(`INSERT INTO sameteam_deliveries (report, period, recipient, message_id, status, updated_at, last_error) VALUES ('r', '2026-W47', 'b@x.com', 'm2', 'skipped', ?, 'nothing to read')`, now)
		if _, err := d.ExecContext(ctx, d.Rebind(`INSERT INTO sameteam_runs (report, period, status, "trigger", started_at) VALUES ('r', '2026-W49', 'paused', 'manual', ?)`), now); err == nil {
			t.Error("a status outside the list was accepted")
		}
	})
}

// TestOptOutsMigration: a ledger at 0002 keeps its runs and deliveries
// through 0003, and then keeps opt-outs, one per report and recipient.
func TestOptOutsMigration(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		dir := "schema/" + string(d.Engine) + "/"
		before := fstest.MapFS{}
		for _, name := range []string{"0001_init.sql", "0002_held_and_skipped.sql"} {
			b, err := schemaFS.ReadFile(dir + name)
			if err != nil {
				t.Fatal(err)
			}
			before[dir+name] = &fstest.MapFile{Data: b}
		}
		if err := migrate(ctx, d, before); err != nil {
			t.Fatal(err)
		}
		now := d.Time(time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC))
		mustExec := func(q string, args ...any) error {
			t.Helper()
			_, err := d.ExecContext(ctx, d.Rebind(q), args...)
			return err
		}
		if err := mustExec(`INSERT INTO sameteam_runs (id, report, period, status, "trigger", started_at, sent_count, note) VALUES (7, 'r', '2026-W47', 'held', 'manual', ?, 0, 'stale')`, now); err != nil {
			t.Fatal(err)
		}
		if err := mustExec(`INSERT INTO sameteam_deliveries (report, period, recipient, message_id, status, run_id, updated_at, last_error) VALUES ('r', '2026-W47', 'a@x.com', 'm', 'skipped', 7, ?, 'x')`, now); err != nil {
			t.Fatal(err)
		}
		if err := Migrate(ctx, d); err != nil {
			t.Fatalf("0003 over a 0002 ledger: %v", err)
		}
		var note, status string
		if err := d.QueryRowContext(ctx, `SELECT r.note, d.status FROM sameteam_runs r JOIN sameteam_deliveries d ON d.run_id = r.id`).Scan(&note, &status); err != nil || note != "stale" || status != "skipped" {
			t.Fatalf("rows after 0003: note %q status %q, %v", note, status, err)
		}
		if err := mustExec(`INSERT INTO sameteam_opt_outs (report, recipient, opted_out_at) VALUES ('r', 'a@x.com', ?)`, now); err != nil {
			t.Fatalf("an opt-out: %v", err)
		}
		if err := mustExec(`INSERT INTO sameteam_opt_outs (report, recipient, opted_out_at) VALUES ('r', 'a@x.com', ?)`, now); err == nil {
			t.Error("a second opt-out of the same report and recipient was stored")
		}
		if err := mustExec(`INSERT INTO sameteam_opt_outs (report, recipient, opted_out_at) VALUES ('other', 'a@x.com', ?)`, now); err != nil {
			t.Errorf("an opt-out of another report: %v", err)
		}
	})
}
