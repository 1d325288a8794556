package crmpack

import (
	"fmt"
	"strings"
)

// The HubSpot pack reads a Fivetran HubSpot sync: owners and their primary
// teams, contacts (the leads) with their property history, engagements
// linked to contacts and deals, marketing email events and form
// submissions, deals with their pipeline stage.

func (g *gen) hsTeamMembers() string {
	t := g.c.Mapping.Teams
	id := g.std("o", "owner", "owner_id") + "::text"
	var sales, mkt, join string
	if t.By == "ids" {
		sales, mkt = exact(id, t.Sales), exact(id, t.Marketing)
	} else {
		sales, mkt = in("tm.name", t.Sales), in("tm.name", t.Marketing)
		join = fmt.Sprintf("LEFT JOIN LATERAL (\n  SELECT %s AS name FROM %s ot JOIN %s t ON %s = %s AND %s\n  WHERE %s = %s AND %s\n  ORDER BY coalesce(%s, false) DESC, %s LIMIT 1\n) tm ON true\n",
			g.std("t", "team", "name"), g.table("owner_team"), g.table("team"), g.std("t", "team", "id"), g.std("ot", "owner_team", "team_id"), g.alive("t", "team"),
			g.std("ot", "owner_team", "owner_id"), g.std("o", "owner", "owner_id"), g.alive("ot", "owner_team"),
			g.std("ot", "owner_team", "is_team_primary"), g.std("ot", "owner_team", "team_id"))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s AS id,\n", id)
	fmt.Fprintf(&b, "       concat_ws(' ', nullif(btrim(%s), ''), nullif(btrim(%s), ''))::text AS name,\n", g.std("o", "owner", "first_name"), g.std("o", "owner", "last_name"))
	fmt.Fprintf(&b, "       %s::text AS email,\n", g.std("o", "owner", "email"))
	fmt.Fprintf(&b, "       CASE WHEN %s THEN 'sales' WHEN %s THEN 'marketing' ELSE 'other' END AS team,\n", sales, mkt)
	fmt.Fprintf(&b, "       %s IS NOT NULL AS active\n", g.std("o", "owner", "active_user_id"))
	fmt.Fprintf(&b, "FROM %s o\n%sWHERE %s", g.table("owner"), join, g.alive("o", "owner"))
	return b.String()
}

// hsCampaigns are the marketing email campaigns: HubSpot keeps no cost for
// them, and their channel is email.
func (g *gen) hsCampaigns() string {
	return fmt.Sprintf("SELECT %s::text AS id,\n       %s::text AS name,\n       '%s'::text AS channel,\n       NULL::numeric AS cost\nFROM %s c\nWHERE %s",
		g.std("c", "email_campaign", "id"), g.std("c", "email_campaign", "name"), ChannelEmail, g.table("email_campaign"), g.alive("c", "email_campaign"))
}

func (g *gen) hsLeads(statuses map[string][]string) string {
	m := g.c.Mapping
	at, histJoin := g.milestones("contact", statuses)
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s::text AS id,\n", g.std("l", "contact", "id"))
	fmt.Fprintf(&b, "       %s::timestamptz AS created_at,\n", g.need("l", "contact", "property_createdate", "", true))
	fmt.Fprintf(&b, "       %s AS source,\n", g.sourceExpr(g.need("l", "contact", m.LeadSources.Column, "mapping.lead_sources.column", false)))
	if m.LeadCampaign != "" {
		fmt.Fprintf(&b, "       nullif(btrim(%s::text), '')::text AS campaign_id,\n", g.need("l", "contact", m.LeadCampaign, "mapping.lead_campaign", false))
	} else {
		// The campaign of the first marketing email the contact received.
		fmt.Fprintf(&b, "       (SELECT %s::text FROM %s e WHERE lower(%s) = lower(%s) AND %s ORDER BY %s, %s LIMIT 1) AS campaign_id,\n",
			g.std("e", "email_event", "email_campaign_id"), g.table("email_event"), g.std("e", "email_event", "recipient"), g.std("l", "contact", "property_email"),
			g.alive("e", "email_event"), g.std("e", "email_event", "created"), g.std("e", "email_event", "id"))
	}
	fmt.Fprintf(&b, "       nullif(btrim(%s::text), '') AS owner_id,\n", g.std("l", "contact", "property_hubspot_owner_id"))
	fmt.Fprintf(&b, "       %s AS mql_at,\n       %s AS accepted_at,\n       %s AS rejected_at,\n", at["mql"], at["accepted"], at["rejected"])
	if m.RejectionReason != "" {
		fmt.Fprintf(&b, "       %s::text AS rejection_reason,\n", g.need("l", "contact", m.RejectionReason, "mapping.rejection_reason", false))
	} else {
		b.WriteString("       NULL::text AS rejection_reason,\n")
	}
	fmt.Fprintf(&b, "       %s AS sql_at\n", at["sql"])
	fmt.Fprintf(&b, "FROM %s l\n%sWHERE %s", g.table("contact"), histJoin, g.alive("l", "contact"))
	return b.String()
}

func (g *gen) hsOpportunities() string {
	m := g.c.Mapping
	var b strings.Builder
	closed := fmt.Sprintf("coalesce(%s, false)", g.std("s", "deal_pipeline_stage", "is_closed"))
	fmt.Fprintf(&b, "SELECT %s::text AS id,\n", g.std("d", "deal", "deal_id"))
	fmt.Fprintf(&b, "       %s::timestamptz AS created_at,\n", g.need("d", "deal", "property_createdate", "", true))
	// The deal's first associated contact that still exists.
	fmt.Fprintf(&b, "       (SELECT min(%s::text) FROM %s dc JOIN %s c ON %s = %s AND %s WHERE %s = %s) AS lead_id,\n",
		g.std("dc", "deal_contact", "contact_id"), g.table("deal_contact"), g.table("contact"), g.std("c", "contact", "id"), g.std("dc", "deal_contact", "contact_id"), g.alive("c", "contact"),
		g.std("dc", "deal_contact", "deal_id"), g.std("d", "deal", "deal_id"))
	fmt.Fprintf(&b, "       %s AS source,\n", g.sourceExpr(g.need("d", "deal", m.LeadSources.Column, "mapping.lead_sources.column", false)))
	fmt.Fprintf(&b, "       nullif(btrim(%s::text), '') AS owner_id,\n", g.std("d", "deal", "owner_id"))
	fmt.Fprintf(&b, "       %s::numeric AS amount,\n", g.std("d", "deal", "property_amount"))
	fmt.Fprintf(&b, "       CASE WHEN %s THEN %s::timestamptz END AS closed_at,\n", closed, g.need("d", "deal", m.Opportunities.ClosedAt, "mapping.opportunities.closed_at", true))
	// A closed stage with probability 1 is won (HubSpot's Closed Won).
	fmt.Fprintf(&b, "       CASE WHEN %s THEN coalesce(%s >= 1, false) END AS is_won\n", closed, g.std("s", "deal_pipeline_stage", "probability"))
	fmt.Fprintf(&b, "FROM %s d\nLEFT JOIN %s s ON %s = %s AND %s\nWHERE %s",
		g.table("deal"), g.table("deal_pipeline_stage"), g.std("s", "deal_pipeline_stage", "stage_id"), g.std("d", "deal", "deal_pipeline_stage_id"), g.alive("s", "deal_pipeline_stage"),
		g.alive("d", "deal"))
	return b.String()
}

// hsActivities: engagements by their owner's team (one row each, with its
// first contact as the lead: the rows are driven from engagement_contact so
// that a look-up by lead stays a plain column comparison), marketing email
// events of contacts, and form submissions.
func (g *gen) hsActivities(viewsSchema string) string {
	a := g.c.Mapping.Activities
	var branches []string
	for _, typ := range a.EngagementTypes {
		tbl := "engagement_" + typ
		cols := func(lead string) string {
			return fmt.Sprintf("SELECT %s::text AS id,\n       %s::timestamptz AS occurred_at,\n       coalesce(m.team, 'other') AS team,\n       nullif(btrim(%s::text), '') AS actor_id,\n       '%s'::text AS kind,\n       %s AS lead_id,\n       (SELECT min(%s::text) FROM %s ed WHERE %s = e.%s) AS opportunity_id,\n       NULL::text AS campaign_id\n",
				g.std("e", tbl, "engagement_id"), g.need("e", tbl, "property_hs_timestamp", "", true), g.std("e", tbl, "property_hubspot_owner_id"), typ, lead,
				g.std("ed", "engagement_deal", "deal_id"), g.table("engagement_deal"), g.std("ed", "engagement_deal", "engagement_id"), quote("engagement_id"))
		}
		team := fmt.Sprintf("LEFT JOIN %s.\"team_members\" m ON m.id = %s::text", viewsSchema, g.std("e", tbl, "property_hubspot_owner_id"))
		cond := g.alive("e", tbl)
		if !*a.MarketingTasks {
			cond += " AND m.team IS DISTINCT FROM 'marketing'"
		}
		// The engagement's first contact: no other link of it sorts before.
		branches = append(branches, cols(g.std("ec", "engagement_contact", "contact_id")+"::text")+fmt.Sprintf(
			"FROM %s ec\nJOIN %s e ON %s = %s\n%s\nWHERE %s AND NOT EXISTS (SELECT 1 FROM %s x WHERE %s = %s AND %s < %s)",
			g.table("engagement_contact"), g.table(tbl), g.std("e", tbl, "engagement_id"), g.std("ec", "engagement_contact", "engagement_id"), team,
			cond, g.table("engagement_contact"), g.std("x", "engagement_contact", "engagement_id"), g.std("ec", "engagement_contact", "engagement_id"),
			g.std("x", "engagement_contact", "contact_id"), g.std("ec", "engagement_contact", "contact_id")))
		branches = append(branches, cols("NULL::text")+fmt.Sprintf(
			"FROM %s e\n%s\nWHERE %s AND NOT EXISTS (SELECT 1 FROM %s x WHERE %s = %s)",
			g.table(tbl), team, cond, g.table("engagement_contact"), g.std("x", "engagement_contact", "engagement_id"), g.std("e", tbl, "engagement_id")))
	}
	if len(a.EmailEvents) > 0 {
		branches = append(branches, fmt.Sprintf("SELECT %s::text AS id,\n       %s::timestamptz AS occurred_at,\n       'marketing' AS team,\n       NULL::text AS actor_id,\n       'email_' || lower(%s) AS kind,\n       %s::text AS lead_id,\n       NULL::text AS opportunity_id,\n       %s::text AS campaign_id\nFROM %s ev\nJOIN %s c ON lower(%s) = lower(%s) AND %s\nWHERE %s AND %s",
			g.std("ev", "email_event", "id"), g.need("ev", "email_event", "created", "", true), g.std("ev", "email_event", "type"), g.std("c", "contact", "id"),
			g.std("ev", "email_event", "email_campaign_id"), g.table("email_event"), g.table("contact"), g.std("c", "contact", "property_email"), g.std("ev", "email_event", "recipient"),
			g.alive("c", "contact"), g.alive("ev", "email_event"), exact(g.std("ev", "email_event", "type"), a.EmailEvents)))
	}
	if *a.FormSubmissions {
		branches = append(branches, fmt.Sprintf("SELECT 'form:' || %s::text || ':' || %s::text AS id,\n       %s::timestamptz AS occurred_at,\n       'marketing' AS team,\n       NULL::text AS actor_id,\n       'form_submission' AS kind,\n       %s::text AS lead_id,\n       NULL::text AS opportunity_id,\n       NULL::text AS campaign_id\nFROM %s f\nWHERE %s",
			g.std("f", "contact_form_submission", "conversion_id"), g.std("f", "contact_form_submission", "contact_id"), g.need("f", "contact_form_submission", "timestamp", "", true),
			g.std("f", "contact_form_submission", "contact_id"), g.table("contact_form_submission"), g.alive("f", "contact_form_submission")))
	}
	return strings.Join(branches, "\nUNION ALL\n")
}

func (g *gen) hsIndexes() []Index {
	m := g.c.Mapping
	var out []Index
	add := func(table, why string, cols ...string) {
		out = append(out, Index{Table: table, Columns: cols, Why: why})
	}
	add("contact", "the lead of each opportunity and activity", "id")
	add("contact", "leads created in a period", "property_createdate")
	if m.MQL.Column != "" {
		add("contact", "MQLs of a period", m.MQL.Column)
	}
	if m.SQL.Column != "" {
		add("contact", "SQLs of a period", m.SQL.Column)
	}
	add("contact_property_history", "the status changes of each contact", "contact_id")
	add("engagement_contact", "the engagements of each contact", "contact_id")
	add("engagement_contact", "the contacts of each engagement", "engagement_id")
	add("engagement_deal", "the deal of each engagement", "engagement_id")
	for _, typ := range m.Activities.EngagementTypes {
		add("engagement_"+typ, "each engagement by id", "engagement_id")
		add("engagement_"+typ, "the activities of a period", "property_hs_timestamp")
	}
	if len(m.Activities.EmailEvents) > 0 || m.LeadCampaign == "" {
		// Email events name their contact by address, in any case.
		add("email_event", "the marketing emails of each contact", "(lower(recipient))")
		add("contact", "the contact of each marketing email", "(lower(property_email))")
	}
	if len(m.Activities.EmailEvents) > 0 {
		add("email_event", "the marketing emails of a period", "created")
	}
	if *m.Activities.FormSubmissions {
		add("contact_form_submission", "the form submissions of each contact", "contact_id")
		add("contact_form_submission", "the form submissions of a period", "timestamp")
	}
	add("deal", "opportunities created in a period", "property_createdate")
	add("deal_contact", "the contact of each deal", "deal_id")
	add("owner", "the team of each activity's owner", "owner_id")
	return out
}
