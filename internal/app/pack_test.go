package app

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/goldentest"
	"github.com/sameteam/sameteam/internal/testdb"
)

// uncovered lists the golden keys a Salesforce sync cannot express, with
// why. It is empty: every key of the contract has a Salesforce source.
var uncovered = map[string]string{}

// sfShape is one way a Salesforce sync lands in PostgreSQL.
type sfShape struct {
	naming  string
	custom  map[string]string // custom field (Fivetran name) → its name in this naming
	mapping string            // the mapping block of source.pack
}

func (s sfShape) name(snake string) string {
	if c, ok := s.custom[snake]; ok {
		return c
	}
	if s.naming != "airbyte" {
		return snake
	}
	var b strings.Builder
	for _, p := range strings.Split(snake, "_") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}

func readCSV(t *testing.T, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(goldenDir, "data", name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// sfTable collects the rows of one table of the sync.
type sfTable struct {
	name  string
	cols  []string // snake_case
	types []string
	rows  [][]any
}

func (t *sfTable) add(vals ...any) { t.rows = append(t.rows, vals) }

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ts(t *testing.T, s string) any {
	if s == "" {
		return nil
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// convertToSalesforce writes the golden data set as a Salesforce sync in
// schema: users, campaigns, leads with their status history, tasks,
// events, campaign memberships and opportunities, with deleted rows and
// (Fivetran) history-mode versions mixed in that must not count.
func convertToSalesforce(t *testing.T, d *db.DB, schema string, s sfShape) {
	t.Helper()
	fivetran := s.naming == "fivetran"
	del := []string{"is_deleted"}
	delT := []string{"boolean"}
	if fivetran {
		del = append(del, "_fivetran_active")
		delT = append(delT, "boolean")
	}
	// live and old are the flag values of a current row and of a row that
	// must not count (deleted, or an old history-mode version).
	live := func() []any {
		if fivetran {
			return []any{false, true}
		}
		return []any{false}
	}
	deleted := func() []any {
		if fivetran {
			return []any{true, true}
		}
		return []any{true}
	}
	old := func() []any {
		if fivetran {
			return []any{false, false}
		}
		return []any{true}
	}
	row := func(vals []any, flags []any) []any { return append(append([]any{}, vals...), flags...) }

	user := &sfTable{name: "user", cols: []string{"id", "name", "email", "department", "user_role_id", "is_active"}, types: []string{"text", "text", "text", "text", "text", "boolean"}}
	if fivetran {
		user.cols = append(user.cols, "_fivetran_deleted", "_fivetran_active")
		user.types = append(user.types, "boolean", "boolean")
	}
	userFlags := func(deleted, active bool) []any {
		if fivetran {
			return []any{deleted, active}
		}
		return nil
	}
	role := &sfTable{name: "user_role", cols: []string{"id", "name"}, types: []string{"text", "text"}}
	role.add("00E1", "Account Executive")
	role.add("00E2", "Marketing Manager")
	role.add("00E3", "Partner Manager")
	roles := map[string]string{"sales": "00E1", "marketing": "00E2", "partners": "00E3"}
	depts := map[string]string{"sales": "Sales", "marketing": " marketing", "partners": "Partners"}
	for _, m := range readCSV(t, "team_members") {
		user.add(row([]any{m["id"], m["name"], nullStr(m["email"]), depts[m["team"]], roles[m["team"]], m["active"] == "true"}, userFlags(false, true))...)
	}
	if fivetran {
		user.add(row([]any{"u001", "Carlos Pérez", "old@example.com", "Marketing", "00E2", true}, userFlags(false, false))...)
		user.add(row([]any{"u950", "Deleted Rep", "gone@example.com", "Sales", "00E1", true}, userFlags(true, true))...)
	}

	campaign := &sfTable{name: "campaign", cols: append([]string{"id", "name", "type", "actual_cost", "budgeted_cost"}, del...), types: append([]string{"text", "text", "text", "numeric", "numeric"}, delT...)}
	for i, c := range readCSV(t, "campaigns") {
		actual, budgeted := nullStr(c["cost"]), nullStr(c["cost"])
		if i%2 == 0 {
			budgeted = "1.00" // the actual cost wins over the budget
		} else {
			actual = nil
		}
		if c["cost"] == "" {
			actual, budgeted = nil, nil
		}
		campaign.add(row([]any{c["id"], c["name"], nullStr(c["channel"]), actual, budgeted}, live())...)
	}
	campaign.add(row([]any{"c99", "Deleted campaign", "email", "10", nil}, deleted())...)

	leadCols := []string{"id", "created_date", "lead_source", "status", "owner_id", "converted_opportunity_id", "converted_date", "primary_campaign_c", "mql_date_c", "sql_date_c", "reject_reason_c"}
	lead := &sfTable{name: "lead", cols: append(leadCols, del...), types: append([]string{"text", "timestamptz", "text", "text", "text", "text", "date", "text", "timestamptz", "timestamptz", "text"}, delT...)}
	history := &sfTable{name: "lead_history", cols: []string{"id", "lead_id", "created_date", "field", "old_value", "new_value", "is_deleted"}, types: []string{"text", "text", "timestamptz", "text", "text", "text", "boolean"}}
	sources := map[string]string{"marketing": "Web", "sales": "Cold Call", "partner": "Partner Referral", "Marketing ": " webinar", " Marketing": "WEB "}
	opps := readCSV(t, "opportunities")
	convertedTo := map[string]string{}
	for _, o := range opps {
		if o["lead_id"] != "" {
			convertedTo[o["lead_id"]] = o["id"]
		}
	}
	statuses := s.custom["statuses"]
	st := strings.Split(statuses, "|") // mql, accepted, rejected, sql
	hn := 0
	hist := func(lead, at, field, value string, isDeleted bool) {
		if at == "" {
			return
		}
		hn++
		history.add(fmt.Sprintf("017%06d", hn), lead, ts(t, at), field, "Open - Not Contacted", value, isDeleted)
	}
	for i, l := range readCSV(t, "leads") {
		owner := nullStr(l["owner_id"])
		if owner == nil && i%2 == 0 {
			owner = "00G5e000001QueueA" // waiting in a queue: unassigned
		}
		var convDate any
		if convertedTo[l["id"]] != "" {
			convDate = l["created_at"][:10]
		}
		lead.add(row([]any{l["id"], ts(t, l["created_at"]), sources[l["source"]], "Open - Not Contacted", owner, nullStr(convertedTo[l["id"]]), convDate,
			nullStr(l["campaign_id"]), ts(t, l["mql_at"]), ts(t, l["sql_at"]), nullStr(l["rejection_reason"])}, live())...)
		hist(l["id"], l["mql_at"], "Status", st[0], false)
		hist(l["id"], l["accepted_at"], "Status", st[1], false)
		hist(l["id"], l["rejected_at"], "Status", st[2], false)
		hist(l["id"], l["sql_at"], "Status", st[3], false)
		if l["mql_at"] != "" && i%3 == 0 {
			// Decoys: a deleted history row and another field's change,
			// both right at the MQL moment, must not decide the lead.
			hist(l["id"], l["mql_at"], "Status", st[1], true)
			hist(l["id"], l["mql_at"], "Rating", st[2], false)
		}
		if fivetran && l["mql_at"] != "" && i%5 == 0 {
			lead.add(row([]any{l["id"], ts(t, l["created_at"]), "Cold Call", "Open - Not Contacted", "u001", nil, nil, "c01", ts(t, "2026-11-17T10:00:00Z"), nil, nil}, old())...)
		}
	}
	// A deleted lead: an MQL of W47 with its conversion to a sales-sourced
	// deal, neither of which may count.
	lead.add(row([]any{"L99901", ts(t, "2026-11-16T09:00:00Z"), "Web", "Open - Not Contacted", "u001", "O00002", nil, "c01", ts(t, "2026-11-17T09:00:00Z"), nil, nil}, deleted())...)
	hist("L99901", "2026-11-17T09:00:00Z", "Status", st[0], false)

	opp := &sfTable{name: "opportunity", cols: append([]string{"id", "created_date", "lead_source", "owner_id", "amount", "is_closed", "is_won", "stage_name", "close_date", "last_stage_change_date"}, del...),
		types: append([]string{"text", "timestamptz", "text", "text", "numeric", "boolean", "boolean", "text", "date", "timestamptz"}, delT...)}
	for _, o := range opps {
		closed := o["closed_at"] != ""
		stage, lastChange, closeDate := "Prospecting", ts(t, o["created_at"]).(time.Time).Add(26*time.Hour), any("2027-03-31")
		if closed {
			stage, lastChange, closeDate = "Closed Lost", ts(t, o["closed_at"]).(time.Time), o["closed_at"][:10]
			if o["is_won"] == "true" {
				stage = "Closed Won"
			}
		}
		opp.add(row([]any{o["id"], ts(t, o["created_at"]), sources[o["source"]], o["owner_id"], nullStr(o["amount"]), closed, o["is_won"] == "true", stage, closeDate, lastChange}, live())...)
		if fivetran && closed {
			opp.add(row([]any{o["id"], ts(t, o["created_at"]), "Web", o["owner_id"], "999999", false, false, "Negotiation", "2026-11-01", ts(t, o["created_at"])}, old())...)
		}
	}
	opp.add(row([]any{"O99901", ts(t, "2026-11-17T10:00:00Z"), "Web", "u001", "50000", true, true, "Closed Won", "2026-11-18", ts(t, "2026-11-18T10:00:00Z")}, deleted())...)

	actCols := []string{"id", "who_id", "what_id", "owner_id", "type", "created_date"}
	actTypes := []string{"text", "text", "text", "text", "text", "timestamptz"}
	task := &sfTable{name: "task", cols: append(append(actCols, "task_subtype", "activity_date", "completed_date_time"), del...), types: append(append(actTypes, "text", "date", "timestamptz"), delT...)}
	event := &sfTable{name: "event", cols: append(append(actCols, "event_subtype", "activity_date_time"), del...), types: append(append(actTypes, "text", "timestamptz"), delT...)}
	member := &sfTable{name: "campaign_member", cols: append([]string{"id", "campaign_id", "lead_id", "contact_id", "status", "created_date", "first_responded_date"}, del...), types: append([]string{"text", "text", "text", "text", "text", "timestamptz", "date"}, delT...)}
	memberOf := map[[2]string]bool{}
	for i, a := range readCSV(t, "activities") {
		at := ts(t, a["occurred_at"]).(time.Time)
		what := nullStr(a["opportunity_id"])
		if what == nil {
			what = nullStr(a["campaign_id"])
		}
		key := [2]string{a["lead_id"], a["campaign_id"]}
		switch {
		case a["lead_id"] != "" && a["campaign_id"] != "" && !memberOf[key]:
			memberOf[key] = true
			member.add(row([]any{"00v" + a["id"], a["campaign_id"], a["lead_id"], nil, "Sent", at, at.Format("2006-01-02")}, live())...)
		case a["kind"] == "meeting" || a["kind"] == "demo":
			event.add(row([]any{"00U" + a["id"], nullStr(a["lead_id"]), what, a["actor_id"], "Meeting", at.Add(-48 * time.Hour), a["kind"], at}, live())...)
		default:
			task.add(row([]any{"00T" + a["id"], nullStr(a["lead_id"]), what, a["actor_id"], "Call", at, a["kind"], at.Format("2006-01-02"), at.Add(time.Hour)}, live())...)
		}
		if a["lead_id"] != "" && i%4 == 0 {
			// A deleted call an hour earlier than the real first touch.
			task.add(row([]any{"00Tdel" + a["id"], a["lead_id"], nil, "u001", "Call", at.Add(-time.Hour), "call", nil, nil}, deleted())...)
			member.add(row([]any{"00vdel" + a["id"], "c01", a["lead_id"], nil, "Sent", at.Add(-time.Hour), nil}, deleted())...)
		}
		if fivetran && a["lead_id"] != "" && i%7 == 0 {
			task.add(row([]any{"00T" + a["id"], a["lead_id"], nil, "u002", "Call", at.Add(-2 * time.Hour), "call", nil, nil}, old())...)
		}
	}

	ctx := context.Background()
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, tb := range []*sfTable{user, role, campaign, lead, history, opp, task, event, member} {
		cols := make([]string, len(tb.cols))
		ph := make([]string, len(tb.cols))
		for i, c := range tb.cols {
			cols[i] = `"` + s.name(c) + `" ` + tb.types[i]
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		qt := fmt.Sprintf(`"%s"."%s"`, schema, s.name(tb.name))
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", qt, strings.Join(cols, ", "))); err != nil {
			t.Fatal(err)
		}
		names := make([]string, len(tb.cols))
		for i, c := range tb.cols {
			names[i] = `"` + s.name(c) + `"`
		}
		ins := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", qt, strings.Join(names, ", "), strings.Join(ph, ", "))
		for _, r := range tb.rows {
			if _, err := tx.ExecContext(ctx, ins, r...); err != nil {
				t.Fatalf("%s %v: %v", tb.name, r, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// packEnv gives a test a PostgreSQL source with a fresh schema for the
// sync and a name for the views' schema, both dropped at the end.
func packEnv(t *testing.T) (url, syncSchema, viewsSchema string, d *db.DB) {
	url = testdb.PostgresURL(t)
	d = openTest(t, url)
	base := searchPath(t, url)
	syncSchema, viewsSchema = base+"_crm", base+"_views"
	if _, err := d.ExecContext(context.Background(), "CREATE SCHEMA "+syncSchema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+viewsSchema+" CASCADE")
		d.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+syncSchema+" CASCADE")
	})
	return
}

func openTest(t *testing.T, u string) *db.DB {
	d, err := db.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func searchPath(t *testing.T, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query().Get("search_path")
}

func writePackConfig(t *testing.T, body string) string {
	path := filepath.Join(t.TempDir(), "sameteam.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// packConfig writes a configuration with the golden working calendars and
// the pack settings body (YAML under the top level).
func packConfig(t *testing.T, body string) string {
	cal, err := os.ReadFile(calendarsConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return writePackConfig(t, string(cal)+body)
}

// packMetrics runs metrics --format json for a golden case and returns the
// differences from the case's file that skip does not accept.
func packMetrics(t *testing.T, vars map[string]string, cfg string, c goldentest.Case, skip func(diff string) bool) {
	t.Helper()
	args := []string{"metrics", "--config", cfg, "--format", "json", "--period", c.Period, "--time-zone", c.TimeZone,
		"--as-of", c.AsOf.Format(time.RFC3339), "--sla-hours", fmt.Sprint(c.SLAHours)}
	if c.MQLTarget != nil {
		args = append(args, "--mql-target", fmt.Sprint(*c.MQLTarget))
	}
	if c.Calendar != nil {
		args = append(args, "--sla-calendar", *c.Calendar)
	}
	out, stderr, err := run(t, vars, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want, err := os.ReadFile(filepath.Join(goldenDir, c.Name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, diff := range goldentest.Diff(want, []byte(out)) {
		if !skip(diff) {
			t.Error(diff)
		}
	}
}

var sfShapes = map[string]sfShape{
	// Fivetran naming, milestones from custom datetime fields and from the
	// status history, teams by department.
	"salesforce-fivetran": {naming: "fivetran", custom: map[string]string{"statuses": "Marketing Qualified|Working - Contacted|Closed - Not Converted|Qualified"},
		mapping: `
      teams: {by: department, sales: [Sales], marketing: [Marketing]}
      lead_sources: {marketing: [Web, Webinar], sales: [Cold Call]}
      lead_campaign: primary_campaign_c
      mql: {column: mql_date_c}
      accepted: {statuses: [Working - Contacted]}
      rejected: {statuses: [Closed - Not Converted]}
      rejection_reason: reject_reason_c
      sql: {column: sql_date_c}
`},
	// Airbyte naming (quoted API names), every milestone from the status
	// history, teams by role.
	"salesforce-airbyte": {naming: "airbyte", custom: map[string]string{
		"primary_campaign_c": "Primary_Campaign__c", "mql_date_c": "MQL_Date__c", "sql_date_c": "SQL_Date__c", "reject_reason_c": "Reject_Reason__c",
		"statuses": "MQL|Working|Unqualified|SQL"},
		mapping: `
      teams: {by: role, sales: [Account Executive], marketing: [Marketing Manager]}
      lead_sources: {marketing: [Web, Webinar], sales: [Cold Call]}
      lead_campaign: Primary_Campaign__c
      mql: {statuses: [MQL]}
      accepted: {statuses: [Working]}
      rejected: {statuses: [Unqualified]}
      rejection_reason: Reject_Reason__c
      sql: {statuses: [SQL, Qualified]}
`},
}

// The golden data set converted into a Salesforce sync gives every golden
// case's JSON (with its working calendar) through the pack's views: init-db creates them, metrics reads
// them.
func TestSalesforcePackGivesTheGoldenFiles(t *testing.T) {
	if len(uncovered) > 0 {
		t.Logf("keys a Salesforce sync cannot express: %v", uncovered)
	}
	cases := goldentest.Cases(t, goldenDir)
	for name, shape := range sfShapes {
		t.Run(name, func(t *testing.T) {
			url, sync, views, d := packEnv(t)
			convertToSalesforce(t, d, sync, shape)
			cfg := packConfig(t, fmt.Sprintf("source:\n  views_schema: %s\n  pack:\n    name: salesforce\n    schema: %s\n    naming: %s\n    mapping:%s", views, sync, shape.naming, shape.mapping))
			vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
			if out, stderr, err := run(t, vars, "init-db", "--config", cfg); err != nil {
				t.Fatalf("init-db: %v\n%s%s", err, out, stderr)
			}
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					packMetrics(t, vars, cfg, c, func(diff string) bool {
						return slices.ContainsFunc(keysOf(uncovered), func(k string) bool { return strings.Contains(diff, k) })
					})
				})
			}
		})
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func schemaExists(t *testing.T, d *db.DB, schema string) bool {
	var n int
	if err := d.QueryRowContext(context.Background(), "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// A pack configuration that does not fit is a configuration error naming
// its setting, and init-db creates nothing.
func TestPackBadInputChangesNothing(t *testing.T) {
	url, sync, views, d := packEnv(t)
	convertToSalesforce(t, d, sync, sfShapes["salesforce-fivetran"])
	if _, err := d.ExecContext(context.Background(), fmt.Sprintf(`DROP TABLE "%s"."lead_history"`, sync)); err != nil {
		t.Fatal(err)
	}
	pack := func(name, schema, naming, mapping string) string {
		return fmt.Sprintf("source:\n  views_schema: %s\n  pack:\n    name: %s\n    schema: %s\n    naming: %s\n    mapping:\n%s", views, name, schema, naming, mapping)
	}
	fit := "      mql: {column: mql_date_c}\n      accepted: {column: mql_date_c}\n      rejected: {column: mql_date_c}\n      sql: {column: sql_date_c}\n"
	tests := []struct {
		name, config, url, want string
	}{
		{"no such schema", pack("salesforce", "nosuch_crm", "fivetran", fit), url, `source.pack.schema: schema "nosuch_crm" does not exist`},
		{"missing column", pack("salesforce", sync, "fivetran", strings.Replace(fit, "sql_date_c", "sql_datum_c", 1)), url, "lead.sql_datum_c does not exist (set by source.pack.mapping.sql.column"},
		{"missing history", pack("salesforce", sync, "fivetran", "      mql: {column: mql_date_c}\n"), url, "lead_history does not exist (source.pack.mapping.accepted.statuses reads the status history in lead_history"},
		{"a value where a list goes", pack("salesforce", sync, "fivetran", fit+"      teams: {sales: Sales}\n"), url, "source.pack.mapping.teams.sales: want a list"},
		{"a list where a value goes", pack("salesforce", sync, "fivetran", "      mql: {column: [mql_date_c]}\n"), url, "source.pack.mapping.mql.column: want a single value"},
		{"not a boolean", pack("salesforce", sync, "fivetran", fit+"      activities: {campaign_members: sometimes}\n"), url, `source.pack.mapping.activities.campaign_members: "sometimes": want true or false`},
		{"column and statuses", pack("salesforce", sync, "fivetran", "      mql: {column: mql_date_c, statuses: [MQL]}\n"), url, "source.pack.mapping.mql: give either column"},
		{"not a column name", pack("salesforce", sync, "fivetran", fit+"      rejection_reason: \"reason; DROP TABLE lead\"\n"), url, "source.pack.mapping.rejection_reason"},
		{"airbyte hubspot", pack("hubspot", sync, "airbyte", ""), url, "source.pack.naming: airbyte naming is for salesforce only"},
		{"unknown crm", pack("pipedrive", sync, "fivetran", fit), url, `source.pack.name: "pipedrive"`},
		{"sqlite", pack("salesforce", sync, "fivetran", fit), testdb.SQLiteURL(t), "source.pack: source packs read a CRM sync in PostgreSQL"},
		{"pack and tables", pack("salesforce", sync, "fivetran", fit) + "  tables: {leads: crm.leads}\n", url, "source.tables: not with source.pack"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writePackConfig(t, tc.config)
			for _, cmd := range [][]string{{"init-db", "--config", cfg}, {"source", "sql", "--config", cfg}} {
				_, _, err := run(t, map[string]string{"SAMETEAM_DATABASE_URL": tc.url}, cmd...)
				var msg strings.Builder
				if code := ExitCode(err, &msg); code != ExitConfig || !strings.Contains(msg.String(), tc.want) {
					t.Errorf("%s: exit %d %q, want %d and %q", cmd[0], code, msg.String(), ExitConfig, tc.want)
				}
			}
			if schemaExists(t, d, views) {
				t.Errorf("a refused pack created the schema %s", views)
			}
		})
	}
}

// check reports on the sync: columns, date-only fields, status values that
// never occur, missing indexes, and the rows each view sees.
func TestPackCheck(t *testing.T) {
	url, sync, views, d := packEnv(t)
	convertToSalesforce(t, d, sync, sfShapes["salesforce-fivetran"])
	cfg := writePackConfig(t, fmt.Sprintf(`outbox: %s
source:
  views_schema: %s
  pack:
    name: salesforce
    schema: %s
    mapping:
      lead_campaign: primary_campaign_c
      mql: {column: mql_date_c}
      accepted: {statuses: [Working - Contacted, Working - Contactd]}
      sql: {column: converted_date}
`, t.TempDir(), views, sync))
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	out, _, _ := run(t, vars, "check", "--config", cfg)
	for _, want := range []string{
		"FAIL  view " + views + ".leads: ",
		"warn  source.pack.mapping.accepted.statuses[1]: \"Working - Contactd\" never occurs in " + sync + ".lead_history (field Status); the values there are: ",
		"warn  source.pack: lead.converted_date is a date without a time (source.pack.mapping.sql.column)",
		`warn  index missing for the first response to each MQL: CREATE INDEX ON "` + sync + `"."task" ("who_id", "created_date");`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check before init-db: no line %q in\n%s", want, out)
		}
	}
	if _, stderr, err := run(t, vars, "init-db", "--config", cfg); err != nil {
		t.Fatalf("init-db: %v\n%s", err, stderr)
	}
	if _, err := d.ExecContext(context.Background(), fmt.Sprintf(`CREATE INDEX ON "%s"."task" ("who_id", "created_date", "owner_id")`, sync)); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, vars, "check", "--config", cfg)
	if err != nil {
		t.Errorf("check: %v\n%s", err, out)
	}
	for _, want := range []string{
		"ok    source.pack: salesforce sync in schema " + sync + " has the ",
		"ok    view " + views + ".leads sees 413 rows",
		"ok    view " + views + ".team_members sees 11 rows",
		"ok    relation leads (\"" + views + "\".\"leads\") has the contract's columns",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no line %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, `("who_id", "created_date");`) {
		t.Errorf("check asks for an index that exists:\n%s", out)
	}
}

// Without marketing_tasks, marketing users' tasks leave the activities;
// the tasks of users on no team, or not in the sync, stay.
func TestPackWithoutMarketingTasks(t *testing.T) {
	url, sync, views, d := packEnv(t)
	convertToSalesforce(t, d, sync, sfShapes["salesforce-fivetran"])
	if _, err := d.ExecContext(context.Background(), fmt.Sprintf(`INSERT INTO %s.task (id, who_id, owner_id, type, created_date, is_deleted, _fivetran_active)
	  VALUES ('00Tintegration', 'L00004', '005IntegrationUser', 'Call', '2026-11-18T10:00:00Z', false, true)`, sync)); err != nil {
		t.Fatal(err)
	}
	cfg := writePackConfig(t, fmt.Sprintf("source:\n  views_schema: %s\n  pack:\n    name: salesforce\n    schema: %s\n    mapping:%s      activities: {marketing_tasks: false}\n",
		views, sync, sfShapes["salesforce-fivetran"].mapping))
	if _, stderr, err := run(t, map[string]string{"SAMETEAM_DATABASE_URL": url}, "init-db", "--config", cfg); err != nil {
		t.Fatalf("init-db: %v\n%s", err, stderr)
	}
	var marketingTasks, otherTasks, members int
	q := fmt.Sprintf(`SELECT count(*) FILTER (WHERE team = 'marketing' AND actor_id IS NOT NULL), count(*) FILTER (WHERE team = 'other'),
	  count(*) FILTER (WHERE kind = 'campaign_member') FROM %s.activities`, views)
	if err := d.QueryRowContext(context.Background(), q).Scan(&marketingTasks, &otherTasks, &members); err != nil {
		t.Fatal(err)
	}
	if marketingTasks != 0 || otherTasks != 2 || members == 0 {
		t.Errorf("marketing tasks %d (want 0), other users' tasks %d (want 2), campaign members %d (want some)", marketingTasks, otherTasks, members)
	}
}
