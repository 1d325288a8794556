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
	"github.com/sameteam/sameteam/internal/db"
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
	d, sf, views := seededForPack(t, "sf", "views")
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
	plans := weeklyPlans(t, d, src, packSeedEnd)
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

// hubspotFromContract writes the contract tables of the current schema as
// a Fivetran HubSpot sync in schema hs: owners with their primary teams,
// contacts with their lead-status history, deals, engagements of five
// types linked to contacts and deals, marketing email events (the
// recipient's address in another case than the contact's) and form
// submissions.
var hubspotFromContract = []string{
	`CREATE TABLE %[1]s.owner AS SELECT id AS owner_id, email, split_part(name, ' ', 1) AS first_name, split_part(name, ' ', 2) AS last_name,
	   CASE WHEN active THEN 'a' || id END AS active_user_id, 'PERSON'::text AS type FROM team_members`,
	`CREATE TABLE %[1]s.team AS SELECT * FROM (VALUES ('t1', 'Sales', false), ('t2', 'Marketing', false), ('t3', 'Partners', false)) v(id, name, _fivetran_deleted)`,
	`CREATE TABLE %[1]s.owner_team AS SELECT id AS owner_id, CASE lower(btrim(team)) WHEN 'sales' THEN 't1' WHEN 'marketing' THEN 't2' ELSE 't3' END AS team_id,
	   true AS is_team_primary, false AS _fivetran_deleted FROM team_members`,
	`CREATE TABLE %[1]s.email_campaign AS SELECT id, name, 'Subject ' || id AS subject, 'BATCH_EMAIL'::text AS type FROM campaigns`,
	`CREATE TABLE %[1]s.contact AS SELECT id, false AS _fivetran_deleted, lower(id) || '@example.com' AS property_email, created_at AS property_createdate,
	   CASE lower(btrim(source)) WHEN 'marketing' THEN 'PAID_SEARCH' WHEN 'sales' THEN 'OFFLINE' ELSE 'REFERRALS' END AS property_hs_analytics_source,
	   owner_id AS property_hubspot_owner_id, mql_at AS property_hs_lifecyclestage_marketingqualifiedlead_date,
	   sql_at AS property_hs_lifecyclestage_salesqualifiedlead_date, NULL::text AS property_hs_lead_status,
	   campaign_id AS property_primary_campaign, rejection_reason AS property_rejection_reason FROM leads`,
	`CREATE TABLE %[1]s.contact_property_history AS
	 SELECT id AS contact_id, 'hs_lead_status'::text AS name, 'IN_PROGRESS'::text AS value, accepted_at AS timestamp, 'CRM_UI'::text AS source, 'u'::text AS source_id FROM leads WHERE accepted_at IS NOT NULL
	 UNION ALL
	 SELECT id, 'hs_lead_status', 'UNQUALIFIED', rejected_at, 'CRM_UI', 'u' FROM leads WHERE rejected_at IS NOT NULL`,
	`CREATE TABLE %[1]s.deal_pipeline_stage AS SELECT * FROM (VALUES ('open', 'default', 'Open', false, 0.2::float8, false), ('closedwon', 'default', 'Closed won', true, 1.0, false),
	   ('closedlost', 'default', 'Closed lost', true, 0.0, false)) v(stage_id, pipeline_id, label, is_closed, probability, _fivetran_deleted)`,
	`CREATE TABLE %[1]s.deal AS SELECT id AS deal_id, owner_id, 'default'::text AS deal_pipeline_id,
	   CASE WHEN closed_at IS NULL THEN 'open' WHEN is_won THEN 'closedwon' ELSE 'closedlost' END AS deal_pipeline_stage_id, 'Deal ' || id AS property_dealname,
	   amount AS property_amount, coalesce(closed_at, created_at + interval '30 days') AS property_closedate, created_at AS property_createdate,
	   CASE lower(btrim(source)) WHEN 'marketing' THEN 'PAID_SEARCH' WHEN 'sales' THEN 'OFFLINE' ELSE 'REFERRALS' END AS property_hs_analytics_source,
	   false AS is_deleted, false AS _fivetran_deleted FROM opportunities`,
	`CREATE TABLE %[1]s.deal_contact AS SELECT id AS deal_id, lead_id AS contact_id, 3 AS type_id, 'HUBSPOT_DEFINED'::text AS category FROM opportunities WHERE lead_id IS NOT NULL`,
	`CREATE TABLE %[1]s.engagement_call AS SELECT id AS engagement_id, 'CALL'::text AS type, occurred_at AS property_hs_timestamp, occurred_at AS property_hs_createdate,
	   actor_id AS property_hubspot_owner_id, 't'::text AS property_hubspot_team_id, false AS _fivetran_deleted FROM activities WHERE kind = 'call'`,
	`CREATE TABLE %[1]s.engagement_email AS SELECT id AS engagement_id, 'EMAIL'::text AS type, occurred_at AS property_hs_timestamp, occurred_at AS property_hs_createdate,
	   actor_id AS property_hubspot_owner_id, 't'::text AS property_hubspot_team_id, false AS _fivetran_deleted FROM activities WHERE kind = 'email'`,
	`CREATE TABLE %[1]s.engagement_meeting AS SELECT id AS engagement_id, 'MEETING'::text AS type, occurred_at AS property_hs_timestamp, occurred_at AS property_hs_createdate,
	   actor_id AS property_hubspot_owner_id, 't'::text AS property_hubspot_team_id, false AS _fivetran_deleted FROM activities WHERE kind IN ('meeting', 'demo')`,
	`CREATE TABLE %[1]s.engagement_note AS SELECT id AS engagement_id, 'NOTE'::text AS type, occurred_at AS property_hs_timestamp, occurred_at AS property_hs_createdate,
	   actor_id AS property_hubspot_owner_id, 't'::text AS property_hubspot_team_id, false AS _fivetran_deleted
	 FROM activities WHERE kind NOT IN ('call', 'email', 'meeting', 'demo', 'content_download', 'prospecting')
	   AND NOT (kind IN ('campaign_send', 'email_open', 'email_click') AND campaign_id IS NOT NULL AND lead_id IS NOT NULL)`,
	`CREATE TABLE %[1]s.engagement_task AS SELECT id AS engagement_id, 'TASK'::text AS type, occurred_at AS property_hs_timestamp, occurred_at AS property_hs_createdate,
	   actor_id AS property_hubspot_owner_id, 't'::text AS property_hubspot_team_id, false AS _fivetran_deleted FROM activities WHERE kind = 'prospecting'`,
	`CREATE TABLE %[1]s.engagement_contact AS SELECT id AS engagement_id, lead_id AS contact_id, 'HUBSPOT_DEFINED'::text AS category FROM activities
	 WHERE lead_id IS NOT NULL AND kind <> 'content_download'
	   AND NOT (kind IN ('campaign_send', 'email_open', 'email_click') AND campaign_id IS NOT NULL)`,
	`CREATE TABLE %[1]s.engagement_deal AS SELECT id AS engagement_id, opportunity_id AS deal_id, 'HUBSPOT_DEFINED'::text AS category FROM activities WHERE opportunity_id IS NOT NULL`,
	`CREATE TABLE %[1]s.email_event AS SELECT 'ev' || id AS id, campaign_id AS email_campaign_id, upper(lead_id) || '@EXAMPLE.COM' AS recipient, occurred_at AS created,
	   CASE kind WHEN 'campaign_send' THEN 'SENT' WHEN 'email_open' THEN 'OPEN' ELSE 'CLICK' END AS type, 's1'::text AS sent_by_id
	 FROM activities WHERE kind IN ('campaign_send', 'email_open', 'email_click') AND campaign_id IS NOT NULL AND lead_id IS NOT NULL`,
	`CREATE TABLE %[1]s.contact_form_submission AS SELECT lead_id AS contact_id, 'f1'::text AS form_id, 'cv' || id AS conversion_id, occurred_at AS timestamp,
	   'https://example.com/'::text AS page_url FROM activities WHERE kind = 'content_download' AND lead_id IS NOT NULL`,
}

// The fact queries of a weekly snapshot over the HubSpot pack's views read
// the sync's activity tables (the engagements, their links to contacts,
// email events, form submissions) through the indexes the pack documents
// only, on a year of seeded data.
func TestFactQueriesNeverScanActivitiesThroughHubSpotPack(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 leads")
	}
	ctx := context.Background()
	d, hs, views := seededForPack(t, "hs", "hsviews")
	var tables []string
	for _, q := range hubspotFromContract {
		if _, err := d.ExecContext(ctx, fmt.Sprintf(q, hs)); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(q, "CREATE TABLE %[1]s."), " ")
		tables = append(tables, name)
	}
	pack := crmpack.Config{Name: crmpack.HubSpot, Schema: hs, Mapping: crmpack.Mapping{
		LeadCampaign: "property_primary_campaign", RejectionReason: "property_rejection_reason",
		LeadSources: crmpack.LeadSources{Marketing: []string{"PAID_SEARCH"}, Sales: []string{"OFFLINE"}},
		Accepted:    crmpack.Milestone{Statuses: []string{"IN_PROGRESS"}},
		Rejected:    crmpack.Milestone{Statuses: []string{"UNQUALIFIED"}},
	}}.WithDefaults()
	if probs := pack.Validate("source.pack"); len(probs) > 0 {
		t.Fatal(probs)
	}
	plan, _, err := crmpack.Prepare(ctx, d, pack, views, "source.pack")
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range plan.Indexes {
		if _, err := d.ExecContext(ctx, ix.SQL(hs)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tbl := range tables {
		if _, err := d.ExecContext(ctx, fmt.Sprintf(`VACUUM (ANALYZE) %s.%q`, hs, tbl)); err != nil {
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
	activityTables := []string{"engagement_call", "engagement_email", "engagement_meeting", "engagement_note", "engagement_task",
		"engagement_contact", "engagement_deal", "email_event", "contact_form_submission"}
	plans := weeklyPlans(t, d, src, packSeedEnd)
	for name, plan := range plans {
		for _, rel := range seqScans(plan) {
			rel = strings.Trim(rel, `"`)
			if rel == "engagement_contact" && hubspotLinkScans[name] {
				continue
			}
			if slices.Contains(activityTables, rel) {
				b, _ := json.MarshalIndent(plan, "", " ")
				t.Errorf("query %s scans %s sequentially:\n%s", name, rel, b)
			}
		}
	}
	for _, rel := range unboundedScans(plans["freshness"], false) {
		if rel = strings.Trim(rel, `"`); rel != "engagement_contact" && slices.Contains(activityTables, rel) {
			b, _ := json.MarshalIndent(plans["freshness"], "", " ")
			t.Errorf("freshness reads %s beyond one index step:\n%s", rel, b)
		}
	}
}

// hubspotLinkScans are the fact queries over a whole period (not one lead)
// that may still read engagement_contact, the sync's table of links from
// engagements to contacts, whole: an engagement's row is its first
// contact's, so the view joins each engagement to its links, and for the
// engagements of a period PostgreSQL prefers hashing every link to probing
// each engagement's. The look-ups by lead (first responses, touches) probe
// the links by contact, and every engagement, email event and form
// submission table is read through its indexes. The README says so.
var hubspotLinkScans = map[string]bool{"activities": true, "unknown-lead-activities": true, "freshness": true}

// packSeedEnd is where the seed of seededForPack ends.
var packSeedEnd = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// seededForPack is a PostgreSQL database seeded with 20,000 leads (a year
// up to 2026-11-27) in the contract tables, and two schemas named after
// the test's own, with the suffixes given: the sync's, created, and the
// views', for the pack to create; both dropped when the test ends.
func seededForPack(t *testing.T, syncSuffix, viewsSuffix string) (d *db.DB, sync, views string) {
	t.Helper()
	ctx := context.Background()
	d = testdb.Postgres(t)
	if err := CreateTables(ctx, d); err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Generate(seed.Options{Leads: 20000, Seed: 7, End: packSeedEnd, Span: 365 * 24 * time.Hour}, l); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	var cur string
	if err := d.QueryRowContext(ctx, "SELECT current_schema()").Scan(&cur); err != nil {
		t.Fatal(err)
	}
	sync, views = cur+"_"+syncSuffix, cur+"_"+viewsSuffix
	t.Cleanup(func() {
		d.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+views+" CASCADE")
		d.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+sync+" CASCADE")
	})
	if _, err := d.ExecContext(ctx, "CREATE SCHEMA "+sync); err != nil {
		t.Fatal(err)
	}
	return d, sync, views
}
