package crmpack

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sameteam/sameteam/internal/db"
)

// ErrMapping matches every error of a pack whose mapping does not fit the
// sync's tables (errors.Is): a configuration error.
var ErrMapping = errors.New("crmpack: the mapping does not fit the sync")

// ReadCatalog reads the tables and columns of the sync's schema; ok is
// false when the schema does not exist.
func ReadCatalog(ctx context.Context, d *db.DB, schema string) (Catalog, bool, error) {
	if d.Engine != db.Postgres {
		return nil, false, fmt.Errorf("%w: source packs need PostgreSQL, the source is %s", ErrMapping, d.Engine)
	}
	var n int
	if err := d.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n); err != nil {
		return nil, false, fmt.Errorf("read the sync's schema: %w", err)
	}
	if n == 0 {
		return nil, false, nil
	}
	rows, err := d.QueryContext(ctx, "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1", schema)
	if err != nil {
		return nil, false, fmt.Errorf("read the sync's columns: %w", err)
	}
	defer rows.Close()
	cat := Catalog{}
	for rows.Next() {
		var t, c, typ string
		if err := rows.Scan(&t, &c, &typ); err != nil {
			return nil, false, err
		}
		if cat[t] == nil {
			cat[t] = map[string]string{}
		}
		cat[t][c] = typ
	}
	return cat, true, rows.Err()
}

// Missing lists every table and column the plan needs that the catalog
// lacks, each saying what to change.
func (p Plan) Missing(c Config, cat Catalog) []string {
	var out []string
	reported := map[string]bool{}
	for _, n := range p.Needs {
		cols, ok := cat[n.Table]
		switch {
		case !ok && !reported[n.Table]:
			reported[n.Table] = true
			out = append(out, fmt.Sprintf("table %s.%s does not exist%s", c.Schema, n.Table, hint(n, true)))
		case ok:
			if _, has := cols[n.Column]; !has {
				out = append(out, fmt.Sprintf("column %s.%s.%s does not exist%s", c.Schema, n.Table, n.Column, hint(n, false)))
			}
		}
	}
	return out
}

func hint(n Need, table bool) string {
	switch {
	case n.Setting != "" && strings.HasSuffix(n.Setting, ".statuses"):
		k := strings.TrimSuffix(n.Setting, ".statuses")
		return fmt.Sprintf(" (source.pack.%s reads the status history in %s: sync it (Salesforce: with field history tracking on Lead.Status), or set source.pack.%s.column to a datetime column of the lead)", n.Setting, n.Table, k)
	case n.Setting != "":
		return fmt.Sprintf(" (set by source.pack.%s: name a column the sync has)", n.Setting)
	case table:
		return " (the sync must replicate this object; check source.pack.schema and source.pack.naming)"
	}
	return " (a standard field: add it to the sync's field selection, or check source.pack.naming)"
}

// Prepare reads the sync's schema and generates the plan, refusing a
// schema that does not exist or lacks a table or column the mapping needs.
// at is the configuration path of the pack.
func Prepare(ctx context.Context, d *db.DB, c Config, viewsSchema, at string) (Plan, Catalog, error) {
	cat, ok, err := ReadCatalog(ctx, d, c.Schema)
	if err != nil {
		return Plan{}, nil, err
	}
	if !ok {
		return Plan{}, nil, fmt.Errorf("%w: %s.schema: schema %q does not exist in the source database (where does the sync write?)", ErrMapping, at, c.Schema)
	}
	p := Generate(c, viewsSchema, cat)
	if miss := p.Missing(c, cat); len(miss) > 0 {
		return Plan{}, nil, fmt.Errorf("%w: %s:\n  %s", ErrMapping, at, strings.Join(miss, "\n  "))
	}
	return p, cat, nil
}

// Install creates (or replaces) the plan's views in one transaction: all of
// them or none. It never writes to the sync's tables.
func Install(ctx context.Context, d *db.DB, p Plan) error {
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("install the views: %w", err)
	}
	defer tx.Rollback()
	vs := quote(p.ViewsSchema)
	stmts := []string{"CREATE SCHEMA IF NOT EXISTS " + vs}
	for i := len(p.Views) - 1; i >= 0; i-- {
		stmts = append(stmts, fmt.Sprintf("DROP VIEW IF EXISTS %s.%s", vs, quote(p.Views[i].Relation)))
	}
	for _, v := range p.Views {
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW %s.%s AS\n%s", vs, quote(v.Relation), v.SQL))
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("install the views: %w\n%s", err, s)
		}
	}
	return tx.Commit()
}
