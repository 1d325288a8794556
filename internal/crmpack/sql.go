package crmpack

import (
	"fmt"
	"strings"
)

// Catalog is what the sync's schema holds: for each table, its columns and
// their PostgreSQL types (information_schema data_type).
type Catalog map[string]map[string]string

// Need is one column the views read.
type Need struct {
	Table, Column string
	// Setting is the configuration key that chose the column, empty for a
	// column every sync of this CRM has.
	Setting string
	// Time is true for a column read as an instant.
	Time bool
}

// View is one contract relation as a view over the sync's tables.
type View struct {
	Relation string // team_members, campaigns, leads, activities, opportunities
	SQL      string // SELECT … (the view's query)
}

// Plan is the generated SQL and what it needs.
type Plan struct {
	ViewsSchema string
	SyncSchema  string
	Views       []View // in creation order
	Needs       []Need
	// Statuses lists the status values the mapping names, per history
	// field, for check to see whether they ever occur.
	Statuses map[string][]string
	// Indexes are the indexes the fact queries need on the sync's tables.
	Indexes []Index
}

// gen builds the views, recording every column it reads.
type gen struct {
	c     Config
	cat   Catalog
	needs []Need
	seen  map[string]bool
}

// name is a table or column of the sync under the pack's naming: the
// Fivetran snake_case name, or the Salesforce API name with Airbyte.
func (g *gen) name(snake string) string {
	if g.c.Naming != Airbyte {
		return snake
	}
	var b strings.Builder
	for _, part := range strings.Split(snake, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func quote(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// table is the quoted, schema-qualified table of the snake_case name.
func (g *gen) table(snake string) string {
	return quote(g.c.Schema) + "." + quote(g.name(snake))
}

// need records a column read and returns it qualified by alias. std is a
// snake_case standard column (renamed by the naming); a setting's column is
// taken as written.
func (g *gen) need(alias, table, column, setting string, time bool) string {
	t := g.name(table)
	if setting == "" {
		column = g.name(column)
	}
	k := t + "." + column
	if !g.seen[k] {
		g.seen[k] = true
		g.needs = append(g.needs, Need{Table: t, Column: column, Setting: setting, Time: time})
	}
	return alias + "." + quote(column)
}

func (g *gen) std(alias, table, column string) string { return g.need(alias, table, column, "", false) }

// has says whether the sync's table has the column (optional columns such
// as the history-mode flags).
func (g *gen) has(table, column string) bool {
	_, ok := g.cat[g.name(table)][column]
	return ok
}

// alive is the condition that keeps a row: not deleted (is_deleted,
// _fivetran_deleted) and, with Fivetran's history mode, the current
// version (_fivetran_active).
func (g *gen) alive(alias, table string) string {
	var conds []string
	for _, flag := range []string{g.name("is_deleted"), "_fivetran_deleted"} {
		if g.has(table, flag) {
			conds = append(conds, fmt.Sprintf("NOT coalesce(%s.%s, false)", alias, quote(flag)))
		}
	}
	if g.has(table, "_fivetran_active") {
		conds = append(conds, fmt.Sprintf("coalesce(%s.%s, true)", alias, quote("_fivetran_active")))
	}
	if len(conds) == 0 {
		return "true"
	}
	return strings.Join(conds, " AND ")
}

// in is "lower(btrim(expr)) IN (…)" over the values, lower-cased and
// trimmed, or false for none.
func in(expr string, values []string) string {
	if len(values) == 0 {
		return "false"
	}
	lits := make([]string, len(values))
	for i, v := range values {
		lits[i] = literal(strings.ToLower(strings.TrimSpace(v)))
	}
	return fmt.Sprintf("lower(btrim(%s)) IN (%s)", expr, strings.Join(lits, ", "))
}

// exact is "expr IN (…)" over the values as written, or false for none.
func exact(expr string, values []string) string {
	if len(values) == 0 {
		return "false"
	}
	lits := make([]string, len(values))
	for i, v := range values {
		lits[i] = literal(v)
	}
	return fmt.Sprintf("%s IN (%s)", expr, strings.Join(lits, ", "))
}

// Generate builds the five views for the sync described by cat. The views
// read only the tables and columns of Plan.Needs and the delete and history
// flags the catalog has.
func Generate(c Config, viewsSchema string, cat Catalog) (p Plan) {
	g := &gen{c: c, cat: cat, seen: map[string]bool{}}
	vs := quote(viewsSchema)
	p = Plan{ViewsSchema: viewsSchema, SyncSchema: c.Schema, Statuses: map[string][]string{}}
	defer func() {
		for i := range p.Views {
			p.Views[i].SQL = tidy(p.Views[i].SQL)
		}
	}()
	if c.Name == HubSpot {
		p.Views = []View{
			{"team_members", g.hsTeamMembers()},
			{"campaigns", g.hsCampaigns()},
			{"leads", g.hsLeads(p.Statuses)},
			{"opportunities", g.hsOpportunities()},
			{"activities", g.hsActivities(vs)},
		}
		p.Needs = g.needs
		p.Indexes = g.hsIndexes()
		return p
	}
	p.Views = []View{
		{"team_members", g.teamMembers()},
		{"campaigns", g.campaigns()},
		{"leads", g.leads(p.Statuses)},
		{"opportunities", g.opportunities()},
		{"activities", g.activities(vs)},
	}
	p.Needs = g.needs
	p.Indexes = g.indexes()
	return p
}

func (g *gen) teamExpr(u, r string) string {
	t := g.c.Mapping.Teams
	var sales, mkt string
	switch t.By {
	case "ids":
		sales, mkt = exact(g.std(u, "user", "id"), t.Sales), exact(g.std(u, "user", "id"), t.Marketing)
	case "role":
		sales, mkt = in(g.std(r, "user_role", "name"), t.Sales), in(g.std(r, "user_role", "name"), t.Marketing)
	default:
		sales, mkt = in(g.std(u, "user", "department"), t.Sales), in(g.std(u, "user", "department"), t.Marketing)
	}
	return fmt.Sprintf("CASE WHEN %s THEN 'sales' WHEN %s THEN 'marketing' ELSE 'other' END", sales, mkt)
}

func (g *gen) teamMembers() string {
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s::text AS id,\n", g.std("u", "user", "id"))
	fmt.Fprintf(&b, "       %s::text AS name,\n", g.std("u", "user", "name"))
	fmt.Fprintf(&b, "       %s::text AS email,\n", g.std("u", "user", "email"))
	fmt.Fprintf(&b, "       %s AS team,\n", g.teamExpr("u", "r"))
	fmt.Fprintf(&b, "       coalesce(%s, false) AS active\n", g.std("u", "user", "is_active"))
	fmt.Fprintf(&b, "FROM %s u\n", g.table("user"))
	if g.c.Mapping.Teams.By == "role" {
		fmt.Fprintf(&b, "LEFT JOIN %s r ON %s = %s AND %s\n", g.table("user_role"), g.std("r", "user_role", "id"), g.std("u", "user", "user_role_id"), g.alive("r", "user_role"))
	}
	fmt.Fprintf(&b, "WHERE %s", g.alive("u", "user"))
	return b.String()
}

func (g *gen) campaigns() string {
	cost := make([]string, len(g.c.Mapping.CampaignCost))
	for i, col := range g.c.Mapping.CampaignCost {
		cost[i] = g.need("c", "campaign", col, fmt.Sprintf("mapping.campaign_cost[%d]", i), false) + "::numeric"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s::text AS id,\n", g.std("c", "campaign", "id"))
	fmt.Fprintf(&b, "       %s::text AS name,\n", g.std("c", "campaign", "name"))
	fmt.Fprintf(&b, "       nullif(btrim(%s), '')::text AS channel,\n", g.std("c", "campaign", "type"))
	fmt.Fprintf(&b, "       coalesce(%s) AS cost\n", strings.Join(cost, ", "))
	fmt.Fprintf(&b, "FROM %s c\nWHERE %s", g.table("campaign"), g.alive("c", "campaign"))
	return b.String()
}

// sourceExpr maps a lead source column to marketing, sales or other.
func (g *gen) sourceExpr(col string) string {
	s := g.c.Mapping.LeadSources
	return fmt.Sprintf("CASE WHEN %s THEN 'marketing' WHEN %s THEN 'sales' ELSE 'other' END", in(col, s.Marketing), in(col, s.Sales))
}

// ownerExpr is a record's owner, or null when a queue (Salesforce id
// prefix 00G) owns it: a lead waiting in a queue is unassigned.
func ownerExpr(col string) string {
	return fmt.Sprintf("CASE WHEN %s LIKE '00G%%' THEN NULL ELSE %s::text END", col, col)
}

// history is where a pack keeps field changes: the table, the record's
// key, the field's name, its new value and when it changed.
type history struct{ table, key, field, value, time string }

func (g *gen) history() history {
	if g.c.Name == HubSpot {
		return history{"contact_property_history", "contact_id", "name", "value", "timestamp"}
	}
	return history{"lead_history", "lead_id", "field", "new_value", "created_date"}
}

// milestones returns, for each funnel moment of the mapping, the
// expression of its instant over the lead alias l (a column) or over h (the
// aggregates of the history, joined by historyJoin), recording the status
// values the mapping names.
func (g *gen) milestones(lead string, statuses map[string][]string) (map[string]string, string) {
	m := g.c.Mapping
	hs := g.history()
	out := map[string]string{}
	var aggs []string
	for _, ms := range []struct {
		key string
		m   Milestone
	}{{"mql", m.MQL}, {"accepted", m.Accepted}, {"rejected", m.Rejected}, {"sql", m.SQL}} {
		if ms.m.Column != "" {
			out[ms.key] = g.need("l", lead, ms.m.Column, "mapping."+ms.key+".column", true) + "::timestamptz"
			continue
		}
		statuses[ms.m.Field] = append(statuses[ms.m.Field], ms.m.Statuses...)
		aggs = append(aggs, fmt.Sprintf("min(%s) FILTER (WHERE %s AND %s) AS %s",
			g.need("h", hs.table, g.name(hs.time), "mapping."+ms.key+".statuses", true),
			exact(g.std("h", hs.table, hs.field), []string{ms.m.Field}),
			exact(g.std("h", hs.table, hs.value), ms.m.Statuses), ms.key))
		out[ms.key] = "h." + ms.key + "::timestamptz"
	}
	if len(aggs) == 0 {
		return out, ""
	}
	id := "id"
	join := fmt.Sprintf("LEFT JOIN LATERAL (\n  SELECT %s\n  FROM %s h\n  WHERE %s = %s AND %s\n) h ON true\n",
		strings.Join(aggs, ",\n         "), g.table(hs.table),
		g.std("h", hs.table, hs.key), g.std("l", lead, id), g.alive("h", hs.table))
	return out, join
}

func (g *gen) leads(statuses map[string][]string) string {
	m := g.c.Mapping
	at, histJoin := g.milestones("lead", statuses)
	moment := func(key string, _ Milestone) string { return at[key] }
	hist := histJoin
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s::text AS id,\n", g.std("l", "lead", "id"))
	fmt.Fprintf(&b, "       %s::timestamptz AS created_at,\n", g.need("l", "lead", "created_date", "", true))
	fmt.Fprintf(&b, "       %s AS source,\n", g.sourceExpr(g.need("l", "lead", m.LeadSources.Column, "mapping.lead_sources.column", false)))
	if m.LeadCampaign != "" {
		fmt.Fprintf(&b, "       nullif(btrim(%s::text), '') AS campaign_id,\n", g.need("l", "lead", m.LeadCampaign, "mapping.lead_campaign", false))
	} else {
		fmt.Fprintf(&b, "       (SELECT %s::text FROM %s cm WHERE %s = %s AND %s ORDER BY %s, %s LIMIT 1) AS campaign_id,\n",
			g.std("cm", "campaign_member", "campaign_id"), g.table("campaign_member"),
			g.std("cm", "campaign_member", "lead_id"), g.std("l", "lead", "id"), g.alive("cm", "campaign_member"),
			g.std("cm", "campaign_member", "created_date"), g.std("cm", "campaign_member", "id"))
	}
	fmt.Fprintf(&b, "       %s AS owner_id,\n", ownerExpr(g.std("l", "lead", "owner_id")))
	fmt.Fprintf(&b, "       %s AS mql_at,\n", moment("mql", m.MQL))
	fmt.Fprintf(&b, "       %s AS accepted_at,\n", moment("accepted", m.Accepted))
	fmt.Fprintf(&b, "       %s AS rejected_at,\n", moment("rejected", m.Rejected))
	if m.RejectionReason != "" {
		fmt.Fprintf(&b, "       %s::text AS rejection_reason,\n", g.need("l", "lead", m.RejectionReason, "mapping.rejection_reason", false))
	} else {
		b.WriteString("       NULL::text AS rejection_reason,\n")
	}
	fmt.Fprintf(&b, "       %s AS sql_at\n", moment("sql", m.SQL))
	fmt.Fprintf(&b, "FROM %s l\n", g.table("lead"))
	b.WriteString(hist)
	fmt.Fprintf(&b, "WHERE %s", g.alive("l", "lead"))
	return b.String()
}

func (g *gen) opportunities() string {
	m := g.c.Mapping
	var b strings.Builder
	closed := g.std("o", "opportunity", "is_closed")
	fmt.Fprintf(&b, "SELECT %s::text AS id,\n", g.std("o", "opportunity", "id"))
	fmt.Fprintf(&b, "       %s::timestamptz AS created_at,\n", g.need("o", "opportunity", "created_date", "", true))
	// The lead converted into the deal: Salesforce links them from the
	// lead's side only.
	fmt.Fprintf(&b, "       (SELECT min(%s)::text FROM %s cl WHERE %s = %s AND %s) AS lead_id,\n",
		g.std("cl", "lead", "id"), g.table("lead"), g.std("cl", "lead", "converted_opportunity_id"), g.std("o", "opportunity", "id"), g.alive("cl", "lead"))
	fmt.Fprintf(&b, "       %s AS source,\n", g.sourceExpr(g.need("o", "opportunity", m.LeadSources.Column, "mapping.lead_sources.column", false)))
	fmt.Fprintf(&b, "       %s AS owner_id,\n", ownerExpr(g.std("o", "opportunity", "owner_id")))
	fmt.Fprintf(&b, "       %s::numeric AS amount,\n", g.std("o", "opportunity", "amount"))
	fmt.Fprintf(&b, "       CASE WHEN %s THEN %s::timestamptz END AS closed_at,\n", closed, g.need("o", "opportunity", m.Opportunities.ClosedAt, "mapping.opportunities.closed_at", true))
	fmt.Fprintf(&b, "       CASE WHEN %s THEN coalesce(%s, false) END AS is_won\n", closed, g.std("o", "opportunity", "is_won"))
	fmt.Fprintf(&b, "FROM %s o\nWHERE %s", g.table("opportunity"), g.alive("o", "opportunity"))
	return b.String()
}

// activities is the union of tasks and events (by their owner's team) and
// campaign memberships (marketing touches). A task on a contact (id prefix
// 003) has no lead: it is split into a branch of its own so that a look-up
// by lead_id stays a plain column comparison the planner can take to an
// index of the sync's table.
//
// The owner's team is a scalar subquery, not a join: for the first touches
// of each MQL (a probe of each table by lead) PostgreSQL otherwise hashed
// the few activities found and scanned every user once per probe, most of
// the time of a weekly snapshot; as a subquery it is one step of the
// user's id index per activity.
func (g *gen) activities(viewsSchema string) string {
	a := g.c.Mapping.Activities
	var branches []string
	for _, obj := range []struct{ table, time, timeKey, kind string }{
		{"task", a.TaskTime, "mapping.activities.task_time", "task_subtype"},
		{"event", a.EventTime, "mapping.activities.event_time", "event_subtype"},
	} {
		t := "t"
		actor := g.need(t, obj.table, a.Actor, "mapping.activities.actor", false)
		who := g.std(t, obj.table, "who_id")
		// LIMIT 1: a user the sync holds twice (which the join counted
		// twice) gives one team.
		team := fmt.Sprintf("(SELECT m.team FROM %s.\"team_members\" m WHERE m.id = %s LIMIT 1)", viewsSchema, actor)
		cond := g.alive(t, obj.table)
		if !*a.MarketingTasks {
			cond += " AND " + team + " IS DISTINCT FROM 'marketing'"
		}
		for _, contact := range []bool{false, true} {
			lead, where := who+"::text", fmt.Sprintf("(%s IS NULL OR %s NOT LIKE '003%%')", who, who)
			if contact {
				lead, where = "NULL::text", who+" LIKE '003%'"
			}
			branches = append(branches, fmt.Sprintf("SELECT %s::text AS id,\n       %s::timestamptz AS occurred_at,\n       coalesce(%s, 'other') AS team,\n       %s::text AS actor_id,\n       lower(coalesce(%s, %s))::text AS kind,\n       %s AS lead_id,\n       %s::text AS opportunity_id,\n       NULL::text AS campaign_id\nFROM %s %s\nWHERE %s AND %s",
				g.std(t, obj.table, "id"), g.need(t, obj.table, obj.time, obj.timeKey, true), team, actor,
				g.std(t, obj.table, obj.kind), g.std(t, obj.table, "type"), lead, g.std(t, obj.table, "what_id"),
				g.table(obj.table), t, cond, where))
		}
	}
	if *a.CampaignMembers {
		branches = append(branches, fmt.Sprintf("SELECT %s::text AS id,\n       %s::timestamptz AS occurred_at,\n       'marketing' AS team,\n       NULL::text AS actor_id,\n       'campaign_member' AS kind,\n       %s::text AS lead_id,\n       NULL::text AS opportunity_id,\n       %s::text AS campaign_id\nFROM %s cm\nWHERE %s",
			g.std("cm", "campaign_member", "id"), g.need("cm", "campaign_member", "created_date", "", true),
			g.std("cm", "campaign_member", "lead_id"), g.std("cm", "campaign_member", "campaign_id"),
			g.table("campaign_member"), g.alive("cm", "campaign_member")))
	}
	return strings.Join(branches, "\nUNION ALL\n")
}

// tidy drops the conditions alive gives as true for a table without
// delete or history flags, so that the SQL a DBA reviews says only what
// filters.
func tidy(sql string) string {
	sql = strings.NewReplacer("WHERE true AND ", "WHERE ", " AND true\n", "\n", " AND true ", " ").Replace(sql)
	sql = strings.ReplaceAll(sql, "\nWHERE true\n", "\n")
	return strings.TrimSuffix(sql, "\nWHERE true")
}

// Relations maps each contract relation to its view, for source.tables.
func Relations(viewsSchema string) map[string]string {
	out := map[string]string{}
	for _, r := range []string{"team_members", "campaigns", "leads", "activities", "opportunities"} {
		out[r] = viewsSchema + "." + r
	}
	return out
}

// Script is the SQL that installs the plan: the views schema, then each
// view dropped and created again (a view's columns cannot change in place),
// in one transaction. DROP VIEW refuses a table, so a relation of the same
// name that is not sameteam's view stops the script.
func (p Plan) Script() string {
	var b strings.Builder
	vs := quote(p.ViewsSchema)
	b.WriteString("BEGIN;\n")
	fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n", vs)
	for i := len(p.Views) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "DROP VIEW IF EXISTS %s.%s;\n", vs, quote(p.Views[i].Relation))
	}
	for _, v := range p.Views {
		fmt.Fprintf(&b, "\nCREATE VIEW %s.%s AS\n%s;\n", vs, quote(v.Relation), v.SQL)
	}
	b.WriteString("\nCOMMIT;\n")
	if len(p.Indexes) > 0 {
		b.WriteString("\n-- The indexes the views need on the sync's tables, so that a snapshot reads its\n-- period's rows only ('sameteam check' lists the missing ones):\n")
		for _, ix := range p.Indexes {
			fmt.Fprintf(&b, "-- %s;  -- %s\n", ix.SQL(p.SyncSchema), ix.Why)
		}
	}
	return b.String()
}
