package source

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/crmpack"
	"github.com/sameteam/sameteam/internal/seed"
	"github.com/sameteam/sameteam/internal/testdb"
)

// salesforceFromContract writes the contract tables of the current schema
// as a Fivetran Salesforce sync in schema sf.
var salesforceFromContract = []string{
	`CREATE TABLE %[1]s."user" AS SELECT id, name, email, initcap(btrim(team)) AS department, NULL::text AS user_role_id, active AS is_active,
	   false AS _fivetran_deleted, true AS _fivetran_active FROM team_members`,
	`CREATE TABLE %[1]s.campaign AS SELECT id, name, channel AS type, cost AS actual_cost, NULL::numeric AS budgeted_cost,
	   false AS is_deleted, true AS _fivetran_active FROM campaigns`,
	`CREATE TABLE %[1]s.lead AS SELECT l.id, l.created_at AS created_date,
	   CASE lower(btrim(l.source)) WHEN 'marketing' THEN 'Web' WHEN 'sales' THEN 'Cold Call' ELSE 'Partner' END AS lead_source,
	   coalesce(l.owner_id, '00G000000000001') AS owner_id, o.id AS converted_opportunity_id, l.campaign_id AS primary_campaign_c,
	   l.mql_at AS mql_date_c, l.sql_at AS sql_date_c, l.rejection_reason AS reject_reason_c, false AS is_deleted, true AS _fivetran_active
	 FROM leads l LEFT JOIN opportunities o ON o.lead_id = l.id`,
	`CREATE TABLE %[1]s.lead_history AS
	 SELECT 'h1' || id AS id, id AS lead_id, accepted_at AS created_date, 'Status'::text AS field, 'Working - Contacted'::text AS new_value, false AS is_deleted FROM leads WHERE accepted_at IS NOT NULL
	 UNION ALL
	 SELECT 'h2' || id, id, rejected_at, 'Status', 'Closed - Not Converted', false FROM leads WHERE rejected_at IS NOT NULL`,
	`CREATE TABLE %[1]s.opportunity AS SELECT id, created_at AS created_date,
	   CASE lower(btrim(source)) WHEN 'marketing' THEN 'Web' WHEN 'sales' THEN 'Cold Call' ELSE 'Partner' END AS lead_source,
	   owner_id, amount, closed_at IS NOT NULL AS is_closed, coalesce(is_won, false) AS is_won, closed_at AS last_stage_change_date,
	   false AS is_deleted, true AS _fivetran_active FROM opportunities`,
	`CREATE TABLE %[1]s.task AS SELECT id, lead_id AS who_id, opportunity_id AS what_id, actor_id AS owner_id, kind AS type, kind AS task_subtype,
	   occurred_at AS created_date, false AS is_deleted, true AS _fivetran_active
	 FROM activities WHERE NOT (lower(btrim(team)) = 'marketing' AND lead_id IS NOT NULL AND campaign_id IS NOT NULL) AND kind NOT IN ('meeting', 'demo')`,
	`CREATE TABLE %[1]s.event AS SELECT id, lead_id AS who_id, opportunity_id AS what_id, actor_id AS owner_id, kind AS type, kind AS event_subtype,
	   occurred_at - interval '2 days' AS created_date, occurred_at AS activity_date_time, false AS is_deleted, true AS _fivetran_active
	 FROM activities WHERE NOT (lower(btrim(team)) = 'marketing' AND lead_id IS NOT NULL AND campaign_id IS NOT NULL) AND kind IN ('meeting', 'demo')`,
	`CREATE TABLE %[1]s.campaign_member AS SELECT id, campaign_id, lead_id, occurred_at AS created_date, false AS is_deleted, true AS _fivetran_active
	 FROM activities WHERE lower(btrim(team)) = 'marketing' AND lead_id IS NOT NULL AND campaign_id IS NOT NULL`,
}

// The fact queries of a weekly snapshot over the Salesforce pack's views
// read the sync's activity tables (task, event, campaign_member) through
// the indexes the pack documents only, on a year of seeded data.
func TestFactQueriesNeverScanActivitiesThroughPack(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 leads")
	}
	ctx := context.Background()
	d := testdb.Postgres(t)
	if err := CreateTables(ctx, d); err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	l, err := NewLoader(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Generate(seed.Options{Leads: 20000, Seed: 7, End: end, Span: 365 * 24 * time.Hour}, l); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	var cur string
	if err := d.QueryRowContext(ctx, "SELECT current_schema()").Scan(&cur); err != nil {
		t.Fatal(err)
	}
	sf, views := cur+"_sf", cur+"_views"
	t.Cleanup(func() {
		d.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+views+" CASCADE")
		d.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+sf+" CASCADE")
	})
	if _, err := d.ExecContext(ctx, "CREATE SCHEMA "+sf); err != nil {
		t.Fatal(err)
	}
	for _, q := range salesforceFromContract {
		if _, err := d.ExecContext(ctx, fmt.Sprintf(q, sf)); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	pack := crmpack.Config{Name: crmpack.Salesforce, Schema: sf, Mapping: crmpack.Mapping{
		LeadCampaign: "primary_campaign_c", RejectionReason: "reject_reason_c",
		MQL: crmpack.Milestone{Column: "mql_date_c"}, SQL: crmpack.Milestone{Column: "sql_date_c"},
	}}.WithDefaults()
	if probs := pack.Validate("source.pack"); len(probs) > 0 {
		t.Fatal(probs)
	}
	plan, _, err := crmpack.Prepare(ctx, d, pack, views, "source.pack")
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range plan.Indexes {
		if _, err := d.ExecContext(ctx, ix.SQL(sf)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tbl := range []string{"user", "campaign", "lead", "lead_history", "opportunity", "task", "event", "campaign_member"} {
		if _, err := d.ExecContext(ctx, fmt.Sprintf(`VACUUM (ANALYZE) %s.%q`, sf, tbl)); err != nil {
			t.Fatal(err)
		}
	}
	if err := crmpack.Install(ctx, d, plan); err != nil {
		t.Fatal(err)
	}
	src, err := New(d, Options{Tables: crmpack.Relations(views)})
	if err != nil {
		t.Fatal(err)
	}
	activityTables := []string{"task", "event", "campaign_member"}
	plans := weeklyPlans(t, d, src, end)
	for name, plan := range plans {
		for _, rel := range seqScans(plan) {
			if slices.Contains(activityTables, strings.Trim(rel, `"`)) {
				b, _ := json.MarshalIndent(plan, "", " ")
				t.Errorf("query %s scans %s sequentially:\n%s", name, rel, b)
			}
		}
	}
	// The freshness is one step down each activity table's time index.
	for _, rel := range unboundedScans(plans["freshness"], false) {
		if slices.Contains(activityTables, strings.Trim(rel, `"`)) {
			b, _ := json.MarshalIndent(plans["freshness"], "", " ")
			t.Errorf("freshness reads %s beyond one index step:\n%s", rel, b)
		}
	}
}
