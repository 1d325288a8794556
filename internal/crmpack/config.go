// Package crmpack turns a CRM sync (Salesforce replicated by Fivetran or
// Airbyte) into the five contract relations of internal/metrics/README.md
// ("Inputs"): a mapping with defaults a typical org keeps, its validation,
// the SQL of the views that init-db creates, and the checks of the sync's
// tables that check prints.
package crmpack

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Config is source.pack in the configuration.
type Config struct {
	// Name is the CRM: salesforce.
	Name string `yaml:"name"`
	// Schema is where the sync writes its tables.
	Schema string `yaml:"schema"`
	// Naming is how the sync names tables and columns: fivetran
	// (lead.created_date) or airbyte (the API names, "Lead"."CreatedDate").
	Naming  string  `yaml:"naming"`
	Mapping Mapping `yaml:"mapping"`
}

// Mapping says how the org's data means the contract's words. Column names
// are written as they appear in the sync's tables (mql_date_c with Fivetran,
// MQL_Date__c with Airbyte).
type Mapping struct {
	// Teams says which users are sales and which marketing.
	Teams Teams `yaml:"teams"`
	// LeadSources maps lead source values (compared trimmed and
	// case-insensitively) to marketing or sales; any other value is other.
	LeadSources LeadSources `yaml:"lead_sources"`
	// LeadCampaign is a lead column holding its campaign id; empty means
	// the campaign of the lead's first campaign membership.
	LeadCampaign string `yaml:"lead_campaign"`
	// The funnel moments of a lead.
	MQL      Milestone `yaml:"mql"`
	Accepted Milestone `yaml:"accepted"`
	Rejected Milestone `yaml:"rejected"`
	SQL      Milestone `yaml:"sql"`
	// RejectionReason is a lead column with the reason of a rejection;
	// empty: no reason (reported as unspecified).
	RejectionReason string `yaml:"rejection_reason"`
	// Activities says which records are sales responses and marketing
	// touches.
	Activities Activities `yaml:"activities"`
	// Opportunities says when a deal closed.
	Opportunities Opportunities `yaml:"opportunities"`
	// CampaignCost lists campaign columns, the first non-null one is the
	// cost.
	CampaignCost []string `yaml:"campaign_cost"`
}

// Teams classifies users.
type Teams struct {
	// By is department, role (the user role's name) or ids.
	By        string   `yaml:"by"`
	Sales     []string `yaml:"sales"`
	Marketing []string `yaml:"marketing"`
}

// LeadSources lists the lead source values of each team.
type LeadSources struct {
	// Column is the lead's (and the deal's) source column: lead_source in
	// Salesforce, property_hs_analytics_source in HubSpot.
	Column    string   `yaml:"column"`
	Marketing []string `yaml:"marketing"`
	Sales     []string `yaml:"sales"`
}

// Milestone is when a lead reached a funnel stage: a datetime column of the
// lead, or the first change of a field (Status) into one of some values in
// the lead's field history.
type Milestone struct {
	Column   string   `yaml:"column"`
	Field    string   `yaml:"field"`
	Statuses []string `yaml:"statuses"`
}

// Activities configures the activity relation.
type Activities struct {
	// TaskTime and EventTime are the columns that say when a task or an
	// event happened.
	TaskTime  string `yaml:"task_time"`
	EventTime string `yaml:"event_time"`
	// Actor is the task and event column naming the user who acted.
	Actor string `yaml:"actor"`
	// CampaignMembers counts each campaign membership as a marketing touch
	// at its created date.
	CampaignMembers *bool `yaml:"campaign_members"`
	// MarketingTasks counts tasks and events of marketing users as
	// marketing touches.
	MarketingTasks *bool `yaml:"marketing_tasks"`
	// HubSpot: the engagement types read (call, email, meeting, note,
	// task), the marketing email event types that count as touches (SENT,
	// OPEN, CLICK…; none: []), and whether form submissions count.
	EngagementTypes []string `yaml:"engagement_types"`
	EmailEvents     []string `yaml:"email_events"`
	FormSubmissions *bool    `yaml:"form_submissions"`
}

// Opportunities configures the opportunity relation.
type Opportunities struct {
	// ClosedAt is the datetime column that says when a closed deal closed
	// (close_date is a date, and the expected one while open).
	ClosedAt string `yaml:"closed_at"`
}

// ChannelEmail is the channel of a HubSpot marketing email campaign.
const ChannelEmail = "email"

// The names this package speaks.
const (
	Salesforce = "salesforce"
	HubSpot    = "hubspot"
	Fivetran   = "fivetran"
	Airbyte    = "airbyte"
)

// Problem is one thing wrong with the pack's configuration, at a path under
// source.pack.
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) Error() string { return p.Path + ": " + p.Msg }

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// WithDefaults returns c with every unset setting at its default for the
// pack and naming.
func (c Config) WithDefaults() Config {
	if c.Naming == "" {
		c.Naming = Fivetran
	}
	if c.Schema == "" {
		c.Schema = c.Name
	}
	m := &c.Mapping
	n := func(fivetran, airbyte string) string {
		if c.Naming == Airbyte {
			return airbyte
		}
		return fivetran
	}
	if c.Name == HubSpot {
		c.hubspotDefaults()
		return c
	}
	m.Teams.defaults("department")
	if m.LeadSources.Column == "" {
		m.LeadSources.Column = n("lead_source", "LeadSource")
	}
	if m.LeadSources.Marketing == nil && m.LeadSources.Sales == nil {
		m.LeadSources.Marketing = []string{"Web", "Webinar", "Advertisement", "Email", "Trade Show", "Seminar - Internal", "Seminar - Partner", "Purchased List"}
		m.LeadSources.Sales = []string{"Phone Inquiry", "Cold Call", "Outbound", "Employee Referral", "External Referral"}
	}
	defaults := []struct {
		m        *Milestone
		statuses []string
	}{
		{&m.MQL, []string{"Marketing Qualified", "MQL"}},
		{&m.Accepted, []string{"Working - Contacted", "Working", "Sales Accepted"}},
		{&m.Rejected, []string{"Closed - Not Converted", "Unqualified", "Disqualified"}},
		{&m.SQL, []string{"Qualified", "Closed - Converted"}},
	}
	for _, d := range defaults {
		if d.m.Column == "" && d.m.Statuses == nil {
			d.m.Statuses = d.statuses
		}
		if d.m.Column == "" && d.m.Field == "" {
			d.m.Field = "Status"
		}
	}
	a := &m.Activities
	if a.TaskTime == "" {
		a.TaskTime = n("created_date", "CreatedDate")
	}
	if a.EventTime == "" {
		a.EventTime = n("activity_date_time", "ActivityDateTime")
	}
	if a.Actor == "" {
		a.Actor = n("owner_id", "OwnerId")
	}
	yes := true
	if a.CampaignMembers == nil {
		a.CampaignMembers = &yes
	}
	if a.MarketingTasks == nil {
		a.MarketingTasks = &yes
	}
	if m.Opportunities.ClosedAt == "" {
		m.Opportunities.ClosedAt = n("last_stage_change_date", "LastStageChangeDate")
	}
	if m.CampaignCost == nil {
		m.CampaignCost = []string{n("actual_cost", "ActualCost"), n("budgeted_cost", "BudgetedCost")}
	}
	return c
}

// defaults classifies users by the field by (the pack's own unless the
// configuration names one), and, unless users are listed by id, takes the
// teams named Sales and Marketing for sales and marketing.
func (t *Teams) defaults(by string) {
	if t.By == "" {
		t.By = by
	}
	if t.By != "ids" {
		if t.Sales == nil {
			t.Sales = []string{"Sales"}
		}
		if t.Marketing == nil {
			t.Marketing = []string{"Marketing"}
		}
	}
}

// hubspotDefaults fills the defaults of a HubSpot sync by Fivetran: teams
// by the owner's primary team, the original source, the lifecycle stage
// dates for MQL and SQL, the lead status history for accepted and
// rejected, engagements, marketing emails sent and form submissions.
func (c *Config) hubspotDefaults() {
	m := &c.Mapping
	m.Teams.defaults("team")
	if m.LeadSources.Column == "" {
		m.LeadSources.Column = "property_hs_analytics_source"
	}
	if m.LeadSources.Marketing == nil && m.LeadSources.Sales == nil {
		m.LeadSources.Marketing = []string{"ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "PAID_SOCIAL", "OTHER_CAMPAIGNS"}
		m.LeadSources.Sales = []string{"OFFLINE"}
	}
	defaults := []struct {
		m        *Milestone
		column   string
		statuses []string
	}{
		{&m.MQL, "property_hs_lifecyclestage_marketingqualifiedlead_date", nil},
		{&m.Accepted, "", []string{"IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED", "OPEN_DEAL"}},
		{&m.Rejected, "", []string{"UNQUALIFIED", "BAD_TIMING"}},
		{&m.SQL, "property_hs_lifecyclestage_salesqualifiedlead_date", nil},
	}
	for _, d := range defaults {
		if d.m.Column == "" && d.m.Statuses == nil {
			d.m.Column, d.m.Statuses = d.column, d.statuses
		}
		if d.m.Column == "" && d.m.Field == "" {
			d.m.Field = "hs_lead_status"
		}
	}
	a := &m.Activities
	if a.EngagementTypes == nil {
		a.EngagementTypes = []string{"call", "email", "meeting", "note", "task"}
	}
	if a.EmailEvents == nil {
		a.EmailEvents = []string{"SENT"}
	}
	yes := true
	if a.FormSubmissions == nil {
		a.FormSubmissions = &yes
	}
	if a.MarketingTasks == nil {
		a.MarketingTasks = &yes
	}
	if m.Opportunities.ClosedAt == "" {
		m.Opportunities.ClosedAt = "property_closedate"
	}
}

// Validate returns every problem of c (after WithDefaults), each with its
// path; at is the path of the pack in the configuration (source.pack).
func (c Config) Validate(at string) []Problem {
	var out []Problem
	add := func(path, format string, args ...any) {
		out = append(out, Problem{Path: at + "." + path, Msg: fmt.Sprintf(format, args...)})
	}
	switch c.Name {
	case Salesforce:
	case HubSpot:
	case "":
		add("name", "required: salesforce or hubspot")
	default:
		add("name", "%q: want salesforce or hubspot", c.Name)
	}
	switch c.Naming {
	case Fivetran:
	case Airbyte:
		if c.Name == HubSpot {
			add("naming", "airbyte naming is for salesforce only; a HubSpot sync by Fivetran uses naming: fivetran")
		}
	default:
		add("naming", "%q: want fivetran or airbyte", c.Naming)
	}
	if !identRE.MatchString(c.Schema) || len(c.Schema) > 63 {
		add("schema", "%q: want the schema the sync writes to, a plain identifier (letters, digits and _)", c.Schema)
	}
	m := c.Mapping
	column := func(path, v string) {
		if v != "" && (!identRE.MatchString(v) || len(v) > 63) {
			add(path, "%q is not a column name (letters, digits and _, at most 63)", v)
		}
	}
	switch {
	case c.Name == HubSpot && (m.Teams.By == "team" || m.Teams.By == "ids"):
	case c.Name == HubSpot:
		add("mapping.teams.by", "%q: want team (the owner's primary team name) or ids (owner ids)", m.Teams.By)
	case m.Teams.By == "department" || m.Teams.By == "role" || m.Teams.By == "ids":
	default:
		add("mapping.teams.by", "%q: want department, role or ids", m.Teams.By)
	}
	column("mapping.lead_sources.column", m.LeadSources.Column)
	if c.Name == HubSpot {
		if m.Activities.TaskTime != "" || m.Activities.EventTime != "" || m.Activities.Actor != "" || m.Activities.CampaignMembers != nil {
			add("mapping.activities", "task_time, event_time, actor and campaign_members are Salesforce settings; HubSpot reads engagement_types, email_events and form_submissions")
		}
		if len(m.CampaignCost) > 0 {
			add("mapping.campaign_cost", "HubSpot's email campaigns have no cost column")
		}
		for i, e := range m.Activities.EngagementTypes {
			if !slices.Contains([]string{"call", "email", "meeting", "note", "task"}, e) {
				add(fmt.Sprintf("mapping.activities.engagement_types[%d]", i), "%q: want call, email, meeting, note or task", e)
			}
		}
		for i, e := range m.Activities.EmailEvents {
			if !identRE.MatchString(e) {
				add(fmt.Sprintf("mapping.activities.email_events[%d]", i), "%q: want an email event type like SENT, OPEN or CLICK", e)
			}
		}
	} else if len(m.Activities.EngagementTypes) > 0 || len(m.Activities.EmailEvents) > 0 || m.Activities.FormSubmissions != nil {
		add("mapping.activities", "engagement_types, email_events and form_submissions are HubSpot settings")
	}
	if len(m.Teams.Sales) == 0 {
		add("mapping.teams.sales", "lists no %s: sales would have no members", teamWord(m.Teams.By))
	}
	for _, v := range m.Teams.Sales {
		if slices.ContainsFunc(m.Teams.Marketing, func(w string) bool { return strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(w)) }) {
			add("mapping.teams.marketing", "%q is also in mapping.teams.sales: a user is on one team", v)
		}
	}
	for _, v := range m.LeadSources.Sales {
		if slices.ContainsFunc(m.LeadSources.Marketing, func(w string) bool { return strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(w)) }) {
			add("mapping.lead_sources.sales", "%q is also in mapping.lead_sources.marketing", v)
		}
	}
	column("mapping.lead_campaign", m.LeadCampaign)
	column("mapping.rejection_reason", m.RejectionReason)
	for _, ms := range []struct {
		path string
		m    Milestone
	}{{"mapping.mql", m.MQL}, {"mapping.accepted", m.Accepted}, {"mapping.rejected", m.Rejected}, {"mapping.sql", m.SQL}} {
		switch {
		case ms.m.Column != "" && len(ms.m.Statuses) > 0:
			add(ms.path, "give either column (a datetime column of the lead) or statuses (values of the status history), not both")
		case ms.m.Column != "":
			column(ms.path+".column", ms.m.Column)
			if ms.m.Field != "" {
				add(ms.path+".field", "only with statuses: the history field whose changes are read")
			}
		case len(ms.m.Statuses) == 0:
			add(ms.path, "give column (a datetime column of the lead) or statuses (values of the status history)")
		default:
			if ms.m.Field == "" {
				add(ms.path+".field", "required with statuses (Status is the lead status)")
			}
			for i, s := range ms.m.Statuses {
				if strings.TrimSpace(s) == "" {
					add(fmt.Sprintf("%s.statuses[%d]", ms.path, i), "empty status value")
				}
			}
		}
	}
	column("mapping.activities.task_time", m.Activities.TaskTime)
	column("mapping.activities.event_time", m.Activities.EventTime)
	column("mapping.activities.actor", m.Activities.Actor)
	column("mapping.opportunities.closed_at", m.Opportunities.ClosedAt)
	if len(m.CampaignCost) == 0 && c.Name != HubSpot {
		add("mapping.campaign_cost", "lists no column (actual_cost, budgeted_cost by default)")
	}
	for i, v := range m.CampaignCost {
		column(fmt.Sprintf("mapping.campaign_cost[%d]", i), v)
	}
	return out
}

func teamWord(by string) string {
	switch by {
	case "role":
		return "role name"
	case "team":
		return "team name"
	case "ids":
		return "user id"
	}
	return "department"
}
