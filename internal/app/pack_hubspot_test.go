package app

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/goldentest"
)

// hubspotUncovered are the golden keys a HubSpot sync cannot express, with
// why; the test accepts a difference in these keys only.
var hubspotUncovered = map[string]string{
	"by_campaign[].channel": "HubSpot's synced campaigns are marketing emails (email_campaign): their channel is email",
	"by_campaign[].cost":    "email_campaign has no cost or budget column",
	"by_campaign[].roi":     "without a cost there is no ROI",
}

var hubspotUncoveredRE = regexp.MustCompile(`^\$\.by_campaign\[\d+\]\.(channel|cost|roi): `)

// convertToHubSpot writes the golden data set as a Fivetran HubSpot sync in
// schema, with deleted rows and decoys mixed in that must not count.
func convertToHubSpot(t *testing.T, d *db.DB, schema string) {
	t.Helper()
	tables := map[string]*sfTable{}
	var order []string
	table := func(name string, cols ...string) *sfTable {
		tb := &sfTable{name: name}
		for _, c := range cols {
			n, typ, _ := strings.Cut(c, " ")
			tb.cols = append(tb.cols, n)
			tb.types = append(tb.types, typ)
		}
		tables[name] = tb
		order = append(order, name)
		return tb
	}
	owner := table("owner", "owner_id text", "email text", "first_name text", "last_name text", "active_user_id text", "type text")
	team := table("team", "id text", "name text", "_fivetran_deleted boolean")
	ownerTeam := table("owner_team", "owner_id text", "team_id text", "is_team_primary boolean", "_fivetran_deleted boolean")
	team.add("t1", "Sales", false)
	team.add("t2", "Marketing", false)
	team.add("t3", "Partners", false)
	team.add("t9", "Sales", true)
	teamOf := map[string]string{"sales": "t1", "marketing": "t2", "partners": "t3"}
	for i, m := range readCSV(t, "team_members") {
		first, last, _ := strings.Cut(m["name"], " ")
		var active any
		if m["active"] == "true" {
			active = fmt.Sprint(1000 + i)
		}
		owner.add(m["id"], nullStr(m["email"]), first, last, active, "PERSON")
		ownerTeam.add(m["id"], teamOf[m["team"]], true, false)
		if m["team"] == "sales" {
			// A secondary team and a deleted primary one must not move a rep.
			ownerTeam.add(m["id"], "t2", false, false)
			ownerTeam.add(m["id"], "t2", true, true)
		}
	}

	campaign := table("email_campaign", "id text", "name text", "subject text", "type text")
	for _, c := range readCSV(t, "campaigns") {
		campaign.add(c["id"], c["name"], "Subject "+c["id"], "BATCH_EMAIL")
	}

	contact := table("contact", "id text", "_fivetran_deleted boolean", "property_email text", "property_createdate timestamptz", "property_hs_analytics_source text",
		"property_hubspot_owner_id text", "property_hs_lifecyclestage_marketingqualifiedlead_date timestamptz", "property_hs_lifecyclestage_salesqualifiedlead_date timestamptz",
		"property_hs_lead_status text", "property_primary_campaign text", "property_rejection_reason text")
	hist := table("contact_property_history", "contact_id text", "name text", "value text", "timestamp timestamptz", "source text", "source_id text")
	sources := map[string]string{"marketing": "PAID_SEARCH", "sales": "OFFLINE", "partner": "REFERRALS", "Marketing ": " email_marketing", " Marketing": "Organic_Search"}
	email := func(lead string) string { return strings.ToLower(lead) + "@example.com" }
	for i, l := range readCSV(t, "leads") {
		contact.add(l["id"], false, email(l["id"]), ts(t, l["created_at"]), sources[l["source"]], nullStr(l["owner_id"]),
			ts(t, l["mql_at"]), ts(t, l["sql_at"]), nil, nullStr(l["campaign_id"]), nullStr(l["rejection_reason"]))
		for _, h := range []struct{ at, value string }{{l["accepted_at"], "IN_PROGRESS"}, {l["rejected_at"], "UNQUALIFIED"}} {
			if h.at != "" {
				hist.add(l["id"], "hs_lead_status", h.value, ts(t, h.at), "CRM_UI", "u001")
			}
		}
		if l["mql_at"] != "" && i%3 == 0 {
			// Another property's change at the MQL moment decides nothing.
			hist.add(l["id"], "lifecyclestage", "IN_PROGRESS", ts(t, l["mql_at"]), "CRM_UI", "u001")
		}
	}
	contact.add("L99901", true, "gone@example.com", ts(t, "2026-11-16T09:00:00Z"), "PAID_SEARCH", "u001", ts(t, "2026-11-17T09:00:00Z"), nil, nil, "c01", nil)

	stage := table("deal_pipeline_stage", "stage_id text", "pipeline_id text", "label text", "is_closed boolean", "probability double precision", "_fivetran_deleted boolean")
	stage.add("appointmentscheduled", "default", "Appointment scheduled", false, 0.2, false)
	stage.add("closedwon", "default", "Closed won", true, 1.0, false)
	stage.add("closedlost", "default", "Closed lost", true, 0.0, false)
	deal := table("deal", "deal_id text", "owner_id text", "deal_pipeline_id text", "deal_pipeline_stage_id text", "property_dealname text", "property_amount numeric",
		"property_closedate timestamptz", "property_createdate timestamptz", "property_hs_analytics_source text", "is_deleted boolean", "_fivetran_deleted boolean")
	dealContact := table("deal_contact", "deal_id text", "contact_id text", "type_id integer", "category text")
	for _, o := range readCSV(t, "opportunities") {
		st, closeAt := "appointmentscheduled", ts(t, o["created_at"]).(time.Time).Add(30*24*time.Hour)
		if o["closed_at"] != "" {
			st, closeAt = "closedlost", ts(t, o["closed_at"]).(time.Time)
			if o["is_won"] == "true" {
				st = "closedwon"
			}
		}
		deal.add(o["id"], o["owner_id"], "default", st, "Deal "+o["id"], nullStr(o["amount"]), closeAt, ts(t, o["created_at"]), sources[o["source"]], false, false)
		if o["lead_id"] != "" {
			dealContact.add(o["id"], o["lead_id"], 3, "HUBSPOT_DEFINED")
		} else {
			// Linked to a deleted contact only: the deal has no lead.
			dealContact.add(o["id"], "L99901", 3, "HUBSPOT_DEFINED")
		}
	}
	deal.add("O99901", "u001", "default", "closedwon", "Deleted deal", "50000", ts(t, "2026-11-18T10:00:00Z"), ts(t, "2026-11-17T10:00:00Z"), "PAID_SEARCH", true, false)

	engagements := map[string]*sfTable{}
	for _, typ := range []string{"call", "email", "meeting", "note", "task"} {
		engagements[typ] = table("engagement_"+typ, "engagement_id text", "type text", "property_hs_timestamp timestamptz", "property_hs_createdate timestamptz",
			"property_hubspot_owner_id text", "property_hubspot_team_id text", "_fivetran_deleted boolean")
	}
	engContact := table("engagement_contact", "engagement_id text", "contact_id text", "category text")
	engDeal := table("engagement_deal", "engagement_id text", "deal_id text", "category text")
	event := table("email_event", "id text", "email_campaign_id text", "recipient text", "created timestamptz", "type text", "sent_by_id text")
	form := table("contact_form_submission", "contact_id text", "form_id text", "conversion_id text", "timestamp timestamptz", "page_url text")
	kinds := map[string]string{"call": "call", "email": "email", "meeting": "meeting", "demo": "meeting", "prospecting": "task"}
	sent := map[[2]string]bool{}
	for i, a := range readCSV(t, "activities") {
		at := ts(t, a["occurred_at"]).(time.Time)
		key := [2]string{a["lead_id"], a["campaign_id"]}
		switch {
		case a["lead_id"] != "" && a["campaign_id"] != "" && !sent[key]:
			sent[key] = true
			event.add("ev"+a["id"], a["campaign_id"], strings.ToUpper(email(a["lead_id"])), at, "SENT", "s1")
			event.add("ev"+a["id"]+"o", a["campaign_id"], email(a["lead_id"]), at.Add(-time.Minute), "OPEN", "s1")
		case a["lead_id"] != "" && a["kind"] == "content_download":
			form.add(a["lead_id"], "f1", "cv"+a["id"], at, "https://example.com/"+a["kind"])
		default:
			typ := kinds[a["kind"]]
			if typ == "" {
				typ = "note"
			}
			engagements[typ].add(a["id"], strings.ToUpper(typ), at, at.Add(-72*time.Hour), a["actor_id"], "t", false)
			if a["lead_id"] != "" {
				engContact.add(a["id"], a["lead_id"], "HUBSPOT_DEFINED")
				if i%5 == 0 {
					engContact.add(a["id"], "Z"+a["lead_id"], "USER_DEFINED") // a second contact: still one activity
				}
			}
			if a["opportunity_id"] != "" {
				engDeal.add(a["id"], a["opportunity_id"], "HUBSPOT_DEFINED")
			}
		}
		if a["lead_id"] != "" && i%4 == 0 {
			engagements["call"].add("del"+a["id"], "CALL", at.Add(-time.Hour), at, "u001", "t", true)
			engContact.add("del"+a["id"], a["lead_id"], "HUBSPOT_DEFINED")
		}
	}

	ctx := context.Background()
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, name := range order {
		tb := tables[name]
		cols, ph := make([]string, len(tb.cols)), make([]string, len(tb.cols))
		for i, c := range tb.cols {
			cols[i] = `"` + c + `" ` + tb.types[i]
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		qt := fmt.Sprintf(`"%s"."%s"`, schema, name)
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", qt, strings.Join(cols, ", "))); err != nil {
			t.Fatal(err)
		}
		ins := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", qt, strings.Join(tb.cols, ", "), strings.Join(ph, ", "))
		for _, r := range tb.rows {
			if _, err := tx.ExecContext(ctx, ins, r...); err != nil {
				t.Fatalf("%s %v: %v", name, r, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// The golden data set converted into a HubSpot sync gives every golden
// case's JSON through the pack's views, but for the keys HubSpot cannot
// express (hubspotUncovered).
func TestHubSpotPackGivesTheGoldenFiles(t *testing.T) {
	for k, why := range hubspotUncovered {
		t.Logf("not compared: %s (%s)", k, why)
	}
	url, sync, views, d := packEnv(t)
	convertToHubSpot(t, d, sync)
	cfg := packConfig(t, fmt.Sprintf(`source:
  views_schema: %s
  pack:
    name: hubspot
    schema: %s
    mapping:
      lead_sources: {marketing: [PAID_SEARCH, EMAIL_MARKETING, ORGANIC_SEARCH], sales: [OFFLINE]}
      lead_campaign: property_primary_campaign
      accepted: {statuses: [IN_PROGRESS]}
      rejected: {statuses: [UNQUALIFIED]}
      rejection_reason: property_rejection_reason
`, views, sync))
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	if out, stderr, err := run(t, vars, "init-db", "--config", cfg); err != nil {
		t.Fatalf("init-db: %v\n%s%s", err, out, stderr)
	}
	out, _, _ := run(t, vars, "check", "--config", cfg)
	for _, want := range []string{
		"ok    source.pack: hubspot sync in schema " + sync + " has the ",
		"ok    view " + views + ".leads sees 413 rows",
		"ok    view " + views + ".team_members sees 11 rows",
		`warn  index missing for the engagements of each contact: CREATE INDEX ON "` + sync + `"."engagement_contact" ("contact_id");`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check: no line %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "never occurs") {
		t.Errorf("check: a status of the mapping never occurs:\n%s", out)
	}
	for _, c := range goldentest.Cases(t, goldenDir) {
		t.Run(c.Name, func(t *testing.T) {
			packMetrics(t, vars, cfg, c, hubspotUncoveredRE.MatchString)
		})
	}
}
