package source

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sameteam/sameteam/internal/db"
)

// Column is one column of a contract relation.
type Column struct {
	Name string
	Type string // time, text, bool, money
	// Required columns are NOT NULL in the contract.
	Required bool
}

// Relation is one of the five source relations of internal/metrics/README.md ("Inputs").
type Relation struct {
	Name    string
	Columns []Column
	// Optional columns are read when the relation has them and never
	// required: a source without them gives the same snapshot, and the
	// personal digests leave out what they would have shown.
	Optional []Column
}

// Contract is the five relations sameteam reads, in load order.
var Contract = []Relation{
	{Name: "team_members", Columns: []Column{{"id", "text", true}, {"name", "text", true}, {"email", "text", false}, {"team", "text", true}, {"active", "bool", true}}},
	{Name: "campaigns", Columns: []Column{{"id", "text", true}, {"name", "text", true}, {"channel", "text", false}, {"cost", "money", false}},
		Optional: []Column{{"owner_id", "text", false}}},
	{Name: "leads", Columns: []Column{{"id", "text", true}, {"created_at", "time", true}, {"source", "text", true}, {"campaign_id", "text", false}, {"owner_id", "text", false},
		{"mql_at", "time", false}, {"accepted_at", "time", false}, {"rejected_at", "time", false}, {"rejection_reason", "text", false}, {"sql_at", "time", false}},
		Optional: []Column{{"name", "text", false}, {"company", "text", false}}},
	{Name: "activities", Columns: []Column{{"id", "text", true}, {"occurred_at", "time", true}, {"team", "text", false}, {"actor_id", "text", false}, {"kind", "text", false},
		{"lead_id", "text", false}, {"opportunity_id", "text", false}, {"campaign_id", "text", false}}},
	{Name: "opportunities", Columns: []Column{{"id", "text", true}, {"created_at", "time", true}, {"lead_id", "text", false}, {"source", "text", false}, {"owner_id", "text", false},
		{"amount", "money", false}, {"closed_at", "time", false}, {"is_won", "bool", false}}},
}

// RelationByName returns the contract relation called name.
func RelationByName(name string) (Relation, bool) {
	for _, r := range Contract {
		if r.Name == name {
			return r, true
		}
	}
	return Relation{}, false
}

// Column returns the relation's column called name, required or optional.
func (r Relation) Column(name string) (Column, bool) {
	for _, c := range r.Columns {
		if c.Name == name {
			return c, true
		}
	}
	for _, c := range r.Optional {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// ColumnNames lists the relation's columns in contract order.
func (r Relation) ColumnNames() []string {
	out := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		out[i] = c.Name
	}
	return out
}

// The indexes the fact queries need: range scans by period on every
// timestamp a metric filters on, and the per-lead and per-opportunity
// look-ups of first responses and influence, so that a run's cost grows with
// the period and not with the activity table. The activity indexes carry the
// columns their queries read (team, actor, lead), so that PostgreSQL answers
// from the index alone once the table is vacuumed: activities are rarely
// stored in time order, and an index on occurred_at alone still reads most
// of the table's pages for one week. No foreign keys: real CRM data has
// activities naming leads that do not exist, and data health counts them.
var indexes = []string{
	"CREATE INDEX IF NOT EXISTS activities_lead_time_team ON activities (lead_id, occurred_at, team)",
	"CREATE INDEX IF NOT EXISTS activities_opportunity_time ON activities (opportunity_id, occurred_at)",
	"CREATE INDEX IF NOT EXISTS activities_time_cover ON activities (occurred_at, team, actor_id, lead_id)",
	"CREATE INDEX IF NOT EXISTS leads_mql_campaign ON leads (mql_at, campaign_id)",
	"CREATE INDEX IF NOT EXISTS leads_created_at ON leads (created_at)",
	"CREATE INDEX IF NOT EXISTS leads_sql_at ON leads (sql_at)",
	"CREATE INDEX IF NOT EXISTS leads_mql_before_created ON leads (mql_at) WHERE mql_at < created_at",
	"CREATE INDEX IF NOT EXISTS opportunities_created_at ON opportunities (created_at)",
	"CREATE INDEX IF NOT EXISTS opportunities_closed_at ON opportunities (closed_at)",
	"CREATE INDEX IF NOT EXISTS opportunities_lead ON opportunities (lead_id)",
}

// sqlType is the column type per engine. SQLite keeps timestamps as
// fixed-width UTC text (see db.SQLiteTimeLayout) so that text order is time
// order and every comparison in the fact queries works unchanged.
func sqlType(e db.Engine, t string) string {
	switch t {
	case "time":
		if e == db.SQLite {
			return "TEXT"
		}
		return "timestamptz"
	case "bool":
		if e == db.SQLite {
			return "INTEGER"
		}
		return "boolean"
	case "money":
		return "numeric"
	}
	return "text"
}

// CreateContract creates the five contract relations and their indexes in
// sameteam's own schema, for teams that load data into it (import, seed,
// demo). It is idempotent.
func CreateContract(ctx context.Context, d *db.DB) error {
	if err := CreateTables(ctx, d); err != nil {
		return err
	}
	return CreateIndexes(ctx, d)
}

// CreateIndexes creates the indexes the fact queries need, then refreshes
// the planner's statistics and, on PostgreSQL, vacuums the tables so that
// index-only scans need not visit the table (autovacuum does the same on a
// live database, but only some time after a bulk load). A bulk load is
// faster with the indexes built after it.
func CreateIndexes(ctx context.Context, d *db.DB) error {
	for _, q := range indexes {
		if _, err := d.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create index: %w", err)
		}
	}
	for _, r := range Contract {
		q := "ANALYZE " + r.Name
		if d.Engine == db.Postgres {
			q = "VACUUM (ANALYZE) " + r.Name
		}
		if _, err := d.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("analyze %s: %w", r.Name, err)
		}
	}
	return nil
}

// CreateTables creates the five contract relations without their indexes.
func CreateTables(ctx context.Context, d *db.DB) error {
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create contract tables: %w", err)
	}
	defer tx.Rollback()
	for _, r := range Contract {
		cols := make([]string, 0, len(r.Columns)+len(r.Optional))
		for _, c := range r.Columns {
			col := c.Name + " " + sqlType(d.Engine, c.Type)
			if c.Name == "id" {
				col += " PRIMARY KEY"
			} else if c.Required {
				col += " NOT NULL"
			}
			cols = append(cols, col)
		}
		for _, c := range r.Optional {
			cols = append(cols, c.Name+" "+sqlType(d.Engine, c.Type))
		}
		q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n  %s\n)", r.Name, strings.Join(cols, ",\n  "))
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create table %s: %w", r.Name, err)
		}
		// A table created by an earlier release lacks the optional
		// columns: add them, so that import can load them (SQLite has no
		// ADD COLUMN IF NOT EXISTS, hence the look first).
		have, err := columnsOf(ctx, tx, `"`+r.Name+`"`)
		if err != nil {
			return fmt.Errorf("read the columns of %s: %w", r.Name, err)
		}
		for _, c := range r.Optional {
			if have[c.Name] {
				continue
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", r.Name, c.Name, sqlType(d.Engine, c.Type))); err != nil {
				return fmt.Errorf("add column %s.%s: %w", r.Name, c.Name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create contract tables: %w", err)
	}
	return nil
}

// columnsOf returns the lower-cased column names of a relation (quoted),
// whatever it is (table or view) and on either engine: the columns of an
// empty result.
func columnsOf(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, quoted string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT * FROM "+quoted+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[strings.ToLower(n)] = true
	}
	return out, rows.Err()
}
