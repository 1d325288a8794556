package crmpack

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sameteam/sameteam/internal/db"
)

// Index is an index the fact queries need on a table of the sync, so that
// a snapshot reads its period's rows and never a whole activity table.
type Index struct {
	Table string
	// Columns are column names, or expressions in parentheses such as
	// "(lower(recipient))" for a join on a case-insensitive address.
	Columns []string
	Why     string
}

// SQL is the statement that creates the index.
func (ix Index) SQL(schema string) string {
	cols := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		if strings.HasPrefix(c, "(") {
			cols[i] = c
			continue
		}
		cols[i] = quote(c)
	}
	return fmt.Sprintf("CREATE INDEX ON %s.%s (%s)", quote(schema), quote(ix.Table), strings.Join(cols, ", "))
}

func (g *gen) indexes() []Index {
	m := g.c.Mapping
	n := g.name
	var out []Index
	add := func(table, why string, cols ...string) {
		out = append(out, Index{Table: n(table), Columns: cols, Why: why})
	}
	add("lead", "the lead of each opportunity and activity", n("id"))
	add("lead", "leads created in a period", n("created_date"))
	add("lead", "the lead converted into each opportunity", n("converted_opportunity_id"))
	for _, ms := range []struct {
		key string
		m   Milestone
	}{{"MQLs", m.MQL}, {"SQLs", m.SQL}} {
		if ms.m.Column != "" {
			add("lead", ms.key+" of a period", ms.m.Column)
		}
	}
	if slices.ContainsFunc([]Milestone{m.MQL, m.Accepted, m.Rejected, m.SQL}, func(ms Milestone) bool { return ms.Column == "" }) {
		add("lead_history", "the status changes of each lead", n("lead_id"))
	}
	a := m.Activities
	for _, obj := range []struct{ table, time string }{{"task", a.TaskTime}, {"event", a.EventTime}} {
		add(obj.table, "the first response to each MQL", n("who_id"), obj.time)
		add(obj.table, "the touches before each opportunity", n("what_id"), obj.time)
		add(obj.table, "the activities of a period", obj.time)
	}
	if *a.CampaignMembers || m.LeadCampaign == "" {
		add("campaign_member", "the campaign touches of each lead", n("lead_id"), n("created_date"))
	}
	if *a.CampaignMembers {
		add("campaign_member", "the campaign touches of a period", n("created_date"))
	}
	add("opportunity", "opportunities created in a period", n("created_date"))
	add("opportunity", "deals closed in a period", m.Opportunities.ClosedAt)
	add("user", "the team of each activity's user", n("id"))
	return out
}

// Finding is one line of check's report on the pack.
type Finding struct {
	Level string // ok, warn, fail
	Msg   string
}

// Check inspects the sync and the installed views: the tables and columns
// the mapping needs (each missing one named, with what to change), time
// columns that hold a date only or no zone, status values that never
// occur, indexes the fact queries need, and the rows each view sees.
func Check(ctx context.Context, d *db.DB, c Config, viewsSchema string) []Finding {
	var out []Finding
	add := func(level, format string, args ...any) {
		out = append(out, Finding{level, fmt.Sprintf(format, args...)})
	}
	cat, ok, err := ReadCatalog(ctx, d, c.Schema)
	if err != nil {
		add("fail", "source.pack: %v", err)
		return out
	}
	if !ok {
		add("fail", "source.pack.schema: schema %q does not exist in the source database (where does the sync write?)", c.Schema)
		return out
	}
	p := Generate(c, viewsSchema, cat)
	miss := p.Missing(c, cat)
	for _, m := range miss {
		add("fail", "source.pack: %s", m)
	}
	if len(miss) == 0 {
		add("ok", "source.pack: %s sync in schema %s has the %d columns the mapping reads", c.Name, c.Schema, len(p.Needs))
	}
	for _, n := range p.Needs {
		typ := cat[n.Table][n.Column]
		where := "a standard field"
		if n.Setting != "" {
			where = "source.pack." + n.Setting
		}
		switch {
		case !n.Time || typ == "":
		case typ == "date":
			add("warn", "source.pack: %s.%s is a date without a time (%s): its events count at midnight in the database's time zone; name a datetime column if there is one", n.Table, n.Column, where)
		case typ == "timestamp without time zone":
			add("warn", "source.pack: %s.%s has no time zone (%s): it is read in the database session's time zone; the sync should write timestamptz", n.Table, n.Column, where)
		case typ != "timestamp with time zone":
			add("fail", "source.pack: %s.%s is %s, not a timestamp (%s)", n.Table, n.Column, typ, where)
		}
	}
	if len(miss) > 0 {
		return out
	}
	out = append(out, checkStatuses(ctx, d, c, p, cat)...)
	out = append(out, checkIndexes(ctx, d, c, p)...)
	for _, v := range p.Views {
		var n int64
		q := fmt.Sprintf("SELECT count(*) FROM %s.%s", quote(viewsSchema), quote(v.Relation))
		if err := d.QueryRowContext(ctx, q).Scan(&n); err != nil {
			add("fail", "view %s.%s: %v (run 'sameteam init-db' to create the views)", viewsSchema, v.Relation, firstLine(err))
			continue
		}
		level := "ok"
		if n == 0 {
			level = "warn"
		}
		add(level, "view %s.%s sees %d rows", viewsSchema, v.Relation, n)
	}
	return out
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// checkStatuses warns about status values of the mapping that the history
// never holds (a typo, or another org's picklist), naming those it does.
func checkStatuses(ctx context.Context, d *db.DB, c Config, p Plan, cat Catalog) []Finding {
	var out []Finding
	if len(p.Statuses) == 0 {
		return out
	}
	g := &gen{c: c, cat: cat, seen: map[string]bool{}}
	hs := g.history()
	fields := make([]string, 0, len(p.Statuses))
	for f := range p.Statuses {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, field := range fields {
		q := fmt.Sprintf("SELECT %s, count(*) FROM %s h WHERE %s = $1 AND %s GROUP BY 1 ORDER BY 2 DESC",
			g.std("h", hs.table, hs.value), g.table(hs.table), g.std("h", hs.table, hs.field), g.alive("h", hs.table))
		rows, err := d.QueryContext(ctx, q, field)
		if err != nil {
			out = append(out, Finding{"fail", fmt.Sprintf("source.pack: read the %s history: %v", field, firstLine(err))})
			continue
		}
		seen := map[string]int64{}
		var order []string
		for rows.Next() {
			var v *string
			var n int64
			if err := rows.Scan(&v, &n); err == nil && v != nil {
				seen[*v] = n
				order = append(order, *v)
			}
		}
		rows.Close()
		if len(order) > 12 {
			order = order[:12]
		}
		for _, key := range []struct {
			name string
			m    Milestone
		}{{"mql", c.Mapping.MQL}, {"accepted", c.Mapping.Accepted}, {"rejected", c.Mapping.Rejected}, {"sql", c.Mapping.SQL}} {
			if key.m.Column != "" || key.m.Field != field {
				continue
			}
			for i, s := range key.m.Statuses {
				if seen[s] == 0 {
					out = append(out, Finding{"warn", fmt.Sprintf("source.pack.mapping.%s.statuses[%d]: %q never occurs in %s.%s (field %s); the values there are: %s",
						key.name, i, s, c.Schema, g.name(hs.table), field, quoteList(order))})
				}
			}
		}
	}
	return out
}

func quoteList(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// checkIndexes says which of the indexes the fact queries need are missing:
// an index serves when the needed columns lead its own.
func checkIndexes(ctx context.Context, d *db.DB, c Config, p Plan) []Finding {
	rows, err := d.QueryContext(ctx, `
SELECT t.relname, array_to_string(array_agg(coalesce(a.attname::text, '(' || pg_get_indexdef(i.indexrelid, k.n::int, true) || ')') ORDER BY k.n), ',')
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace ns ON ns.oid = t.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE ns.nspname = $1
GROUP BY i.indexrelid, t.relname`, c.Schema)
	if err != nil {
		return []Finding{{"warn", fmt.Sprintf("source.pack: cannot list the sync's indexes: %v", firstLine(err))}}
	}
	defer rows.Close()
	have := map[string][][]string{}
	for rows.Next() {
		var t, cols string
		if err := rows.Scan(&t, &cols); err != nil {
			return nil
		}
		have[t] = append(have[t], strings.Split(cols, ","))
	}
	var out []Finding
	missing := 0
	for _, ix := range p.Indexes {
		if slices.ContainsFunc(have[ix.Table], func(cols []string) bool {
			return len(cols) >= len(ix.Columns) && slices.Equal(cols[:len(ix.Columns)], ix.Columns)
		}) {
			continue
		}
		missing++
		out = append(out, Finding{"warn", fmt.Sprintf("index missing for %s: %s;", ix.Why, ix.SQL(c.Schema))})
	}
	if missing == 0 {
		out = append(out, Finding{"ok", fmt.Sprintf("source.pack: the sync's tables have the %d indexes the views need", len(p.Indexes))})
	}
	return out
}
