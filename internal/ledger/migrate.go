package ledger

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/db"
)

// schemaFS holds one folder of numbered migrations per engine
// (schema/postgres/0001_init.sql, schema/sqlite/0001_init.sql). A file, once
// released, is never edited: a change is a new, higher-numbered file.
//
//go:embed schema
var schemaFS embed.FS

// migrationsTable is the DDL of the table that records which migrations
// ran. It is created before reading it, so it cannot itself be a numbered
// migration.
func migrationsTable(engine db.Engine) string {
	if engine == db.SQLite {
		return `CREATE TABLE IF NOT EXISTS sameteam_schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL) STRICT`
	}
	return `CREATE TABLE IF NOT EXISTS sameteam_schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL)`
}

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the engine's migrations in version order.
func migrations(fsys fs.FS, engine db.Engine) ([]migration, error) {
	dir := path.Join("schema", string(engine))
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("%w: no schema for engine %q", ErrMigration, engine)
	}
	var out []migration
	for _, e := range entries { // ReadDir sorts by name, and names start with the zero-padded version
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%w: %s: name must start with a version number", ErrMigration, e.Name())
		}
		if len(out) > 0 && out[len(out)-1].version == v {
			return nil, fmt.Errorf("%w: two migrations numbered %d", ErrMigration, v)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return out, nil
}

// Migrate creates or updates the ledger's tables. It applies, in one
// transaction, every migration not yet recorded in
// sameteam_schema_migrations, so running it again changes nothing and a
// failed migration leaves the schema as it was. On PostgreSQL a transaction
// advisory lock makes replicas that start together wait for each other
// instead of racing on CREATE TABLE.
func Migrate(ctx context.Context, d *db.DB) error { return migrate(ctx, d, schemaFS) }

// migrate applies the migrations found in fsys.
func migrate(ctx context.Context, d *db.DB, fsys fs.FS) error {
	ms, err := migrations(fsys, d.Engine)
	if err != nil {
		return err
	}
	if upToDate(ctx, d, ms) {
		// Nothing to apply: issue no DDL at all, so a role with only DML
		// on the ledger tables (no CREATE on the schema) can run once the
		// owner has run init-db.
		return nil
	}
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate ledger: begin: %w", err)
	}
	defer tx.Rollback()

	if d.Engine == db.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(COALESCE(current_schema(), '') || ':sameteam:migrate', 0))`); err != nil {
			return fmt.Errorf("migrate ledger: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, migrationsTable(d.Engine)); err != nil {
		return fmt.Errorf("migrate ledger: create migrations table: %w", err)
	}
	var applied []int
	if err := tx.SelectContext(ctx, &applied, `SELECT version FROM sameteam_schema_migrations`); err != nil {
		return fmt.Errorf("migrate ledger: read applied versions: %w", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrMigration, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO sameteam_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, d.Time(time.Now())); err != nil {
			return fmt.Errorf("%w: record %s: %w", ErrMigration, m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate ledger: commit: %w", err)
	}
	return nil
}

// upToDate reports whether every migration of ms is recorded as applied.
// It only reads; any error (the table does not exist yet) means "no", and
// the migration transaction then finds out for itself.
func upToDate(ctx context.Context, d *db.DB, ms []migration) bool {
	var applied []int
	if err := d.SelectContext(ctx, &applied, `SELECT version FROM sameteam_schema_migrations`); err != nil {
		return false
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	for _, m := range ms {
		if !done[m.version] {
			return false
		}
	}
	return true
}
