// Package metrics turns the facts that the source returns into the alignment
// metrics of this package's README.md: the one place where every number sameteam prints,
// mails or writes is defined. It is pure: no I/O, no clock, no environment.
package metrics

import (
	"time"

	"github.com/sameteam/sameteam/internal/period"
)

// Snapshot is every number of one report for one period at one as_of. Its
// JSON form is the object of README.md ("The snapshot JSON"). Every
// artifact of a run (digest, workbook, JSON) is rendered from one Snapshot.
type Snapshot struct {
	Period PeriodInfo `json:"period"`
	AsOf   Instant    `json:"as_of"`
	// Partial is true when the period had not ended at as_of: its numbers
	// are a preview, and readers are told so.
	Partial          bool          `json:"partial"`
	SLAHours         float64       `json:"sla_hours"`
	SLACalendar      *string       `json:"sla_calendar"` // the working calendar's name; null for wall-clock hours
	Headline         Headline      `json:"headline"`
	Previous         Previous      `json:"previous"`
	RejectionReasons []ReasonCount `json:"rejection_reasons"`
	ByRep            []RepRow      `json:"by_rep"`
	ByCampaign       []CampaignRow `json:"by_campaign"`
	FollowupBacklog  []BacklogItem `json:"followup_backlog"`
	DataHealth       DataHealth    `json:"data_health"`
	Trend            []TrendPoint  `json:"trend"`

	// Detail is one row per MQL of the period, oldest first, for the
	// workbook's MQL detail sheet, when the snapshot holds it: facts
	// without Reread (raw facts, SQLite). Otherwise it is nil and
	// MQLDetail reads the rows again from the source. It is not part of
	// the JSON snapshot.
	Detail []MQLRow `json:"-"`
	stream *detailStream
	// Span is the period itself, for renderers that need its dates.
	Span period.Period `json:"-"`
}

// PeriodInfo names the snapshot's period.
type PeriodInfo struct {
	Kind     period.Kind `json:"kind"`
	Label    string      `json:"label"`
	Start    string      `json:"start"` // RFC 3339 with the zone's offset
	End      string      `json:"end"`
	TimeZone string      `json:"time_zone"`
}

// Instant is a time that marshals as RFC 3339 in UTC ("2026-11-23T07:00:00Z").
type Instant time.Time

// Time is the instant as a time.Time.
func (i Instant) Time() time.Time { return time.Time(i) }

// MarshalJSON writes the instant in UTC.
func (i Instant) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(i).UTC().Format(time.RFC3339Nano) + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 instant.
func (i *Instant) UnmarshalJSON(b []byte) error {
	var t time.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	*i = Instant(t)
	return nil
}

// BySource splits a count by normalised source.
type BySource struct {
	Marketing int `json:"marketing"`
	Sales     int `json:"sales"`
	Other     int `json:"other"`
}

// MoneyBySource splits an amount by normalised source, with the total.
type MoneyBySource struct {
	Marketing Money `json:"marketing"`
	Sales     Money `json:"sales"`
	Other     Money `json:"other"`
	Total     Money `json:"total"`
}

// RateBySource is a rate per normalised source and in total; nil is null.
type RateBySource struct {
	Marketing *float64 `json:"marketing"`
	Sales     *float64 `json:"sales"`
	Other     *float64 `json:"other"`
	Total     *float64 `json:"total"`
}

// ByTeam splits a count by normalised team.
type ByTeam struct {
	Sales     int `json:"sales"`
	Marketing int `json:"marketing"`
	Other     int `json:"other"`
}

// Headline holds the headline metrics of one period. Pointers are the
// values that can be null.
type Headline struct {
	LeadsCreated                 int           `json:"leads_created"`
	LeadsBySource                BySource      `json:"leads_by_source"`
	MQLs                         int           `json:"mqls"`
	MQLTarget                    *int          `json:"mql_target"`
	MQLTargetAttainment          *float64      `json:"mql_target_attainment"`
	UnassignedMQLs               int           `json:"unassigned_mqls"`
	SLAMet                       int           `json:"sla_met"`
	SLABreached                  int           `json:"sla_breached"`
	SLAPending                   int           `json:"sla_pending"`
	SLACompliance                *float64      `json:"sla_compliance"`
	ResponseMinutesMedian        *float64      `json:"response_minutes_median"`
	ResponseMinutesP90           *float64      `json:"response_minutes_p90"`
	ResponseWorkingMinutesMedian *float64      `json:"response_working_minutes_median"`
	ResponseWorkingMinutesP90    *float64      `json:"response_working_minutes_p90"`
	UntouchedMQLs                int           `json:"untouched_mqls"`
	Accepted                     int           `json:"accepted"`
	Rejected                     int           `json:"rejected"`
	DecisionPending              int           `json:"decision_pending"`
	AcceptanceRate               *float64      `json:"acceptance_rate"`
	DecisionRate                 *float64      `json:"decision_rate"`
	SQLs                         int           `json:"sqls"`
	MQLToSQLRate                 *float64      `json:"mql_to_sql_rate"`
	OpportunitiesCreated         int           `json:"opportunities_created"`
	PipelineCreated              MoneyBySource `json:"pipeline_created"`
	MarketingSourcedShare        *float64      `json:"marketing_sourced_share"`
	MarketingInfluencedPipeline  Money         `json:"marketing_influenced_pipeline"`
	WonDeals                     int           `json:"won_deals"`
	LostDeals                    int           `json:"lost_deals"`
	WonRevenue                   MoneyBySource `json:"won_revenue"`
	WinRate                      RateBySource  `json:"win_rate"`
	AvgDealSize                  *Money        `json:"avg_deal_size"`
	SalesCycleDaysMedian         *float64      `json:"sales_cycle_days_median"`
	Activities                   ByTeam        `json:"activities"`
	AlignmentScore               *float64      `json:"alignment_score"`
}

// Previous is the headline of the period before, with its label.
type Previous struct {
	Headline
	Label string `json:"label"`
}

// ReasonCount is one rejection reason and how many MQLs of the period it
// rejected.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// RepRow is one sales rep's line.
type RepRow struct {
	RepID                        string   `json:"rep_id"`
	Name                         string   `json:"name"`
	MQLsAssigned                 int      `json:"mqls_assigned"`
	SLAMet                       int      `json:"sla_met"`
	SLABreached                  int      `json:"sla_breached"`
	SLAPending                   int      `json:"sla_pending"`
	SLACompliance                *float64 `json:"sla_compliance"`
	ResponseMinutesMedian        *float64 `json:"response_minutes_median"`
	ResponseWorkingMinutesMedian *float64 `json:"response_working_minutes_median"`
	Accepted                     int      `json:"accepted"`
	Rejected                     int      `json:"rejected"`
	Activities                   int      `json:"activities"`
	OpportunitiesCreated         int      `json:"opportunities_created"`
	PipelineCreated              Money    `json:"pipeline_created"`
	WonDeals                     int      `json:"won_deals"`
	WonRevenue                   Money    `json:"won_revenue"`
}

// CampaignRow is one campaign's line.
type CampaignRow struct {
	CampaignID           string   `json:"campaign_id"`
	Name                 string   `json:"name"`
	Channel              string   `json:"channel"`
	LeadsCreated         int      `json:"leads_created"`
	MQLs                 int      `json:"mqls"`
	OpportunitiesCreated int      `json:"opportunities_created"`
	PipelineCreated      Money    `json:"pipeline_created"`
	WonRevenue           Money    `json:"won_revenue"`
	Cost                 *Money   `json:"cost"`
	LifetimeMQLs         int      `json:"lifetime_mqls"`
	LifetimeWonRevenue   Money    `json:"lifetime_won_revenue"`
	ROI                  *float64 `json:"roi"`
	// What sales said about the campaign's MQLs of the period: marketing's
	// feedback, campaign by campaign.
	Accepted         int           `json:"accepted"`
	Rejected         int           `json:"rejected"`
	RejectionReasons []ReasonCount `json:"rejection_reasons"`
	// OwnerID is the campaign's owner (campaigns.owner_id), for the
	// campaign owners' digests; not part of the team snapshot's JSON.
	OwnerID string `json:"-"`
}

// AcceptanceRate is the campaign's accepted / (accepted + rejected), as
// the headline's acceptance_rate; nil when sales decided on none.
func (c CampaignRow) AcceptanceRate() *float64 { return ratio(c.Accepted, c.Accepted+c.Rejected) }

// BacklogItem is an MQL of the last 30 days that nobody in sales has
// answered yet.
type BacklogItem struct {
	LeadID      string  `json:"lead_id"`
	OwnerID     *string `json:"owner_id"`
	MQLAt       Instant `json:"mql_at"`
	AgeHours    float64 `json:"age_hours"`
	DueAt       Instant `json:"due_at"` // the SLA's due instant, in working time with a calendar
	SLABreached bool    `json:"sla_breached"`
	// Name and Company are the lead's (leads.name, leads.company) when
	// the source has them; only the personal digests show them.
	Name    string `json:"-"`
	Company string `json:"-"`
}

// DataHealth counts what is wrong in the source data.
type DataHealth struct {
	LeadsMQLBeforeCreated       int `json:"leads_mql_before_created"`
	ActivitiesUnknownTeam       int `json:"activities_unknown_team"`
	ActivitiesUnknownLead       int `json:"activities_unknown_lead"`
	OpportunitiesNegativeAmount int `json:"opportunities_negative_amount"`
	FutureActivitiesIgnored     int `json:"future_activities_ignored"`
	// How fresh the source is: the latest created_at of a lead and
	// occurred_at of an activity at or before as_of, any time; nil when none.
	LatestLeadCreatedAt *Instant `json:"latest_lead_created_at"`
	LatestActivityAt    *Instant `json:"latest_activity_at"`
}

// HealthCount is one data-health count with its JSON key.
type HealthCount struct {
	Key   string
	Count int
}

// Counts lists the data-health counts in the order they are shown, each
// with its key in the snapshot JSON.
func (d DataHealth) Counts() []HealthCount {
	return []HealthCount{
		{"leads_mql_before_created", d.LeadsMQLBeforeCreated},
		{"activities_unknown_team", d.ActivitiesUnknownTeam},
		{"activities_unknown_lead", d.ActivitiesUnknownLead},
		{"opportunities_negative_amount", d.OpportunitiesNegativeAmount},
		{"future_activities_ignored", d.FutureActivitiesIgnored},
	}
}

// HealthTime is one freshness instant of the data health with its JSON
// key; At is nil when the source holds no such row.
type HealthTime struct {
	Key string
	At  *Instant
}

// Freshness lists how fresh the source is, in the order shown, each with
// its key in the snapshot JSON.
func (d DataHealth) Freshness() []HealthTime {
	return []HealthTime{
		{"latest_lead_created_at", d.LatestLeadCreatedAt},
		{"latest_activity_at", d.LatestActivityAt},
	}
}

// TrendPoint is one period of the 12-period trend.
type TrendPoint struct {
	Label                    string   `json:"label"`
	MQLs                     int      `json:"mqls"`
	SLACompliance            *float64 `json:"sla_compliance"`
	AcceptanceRate           *float64 `json:"acceptance_rate"`
	PipelineCreatedTotal     Money    `json:"pipeline_created_total"`
	PipelineCreatedMarketing Money    `json:"pipeline_created_marketing"`
	WonRevenueTotal          Money    `json:"won_revenue_total"`
}

// SLA states of an MQL.
const (
	SLAMet      = "met"
	SLABreached = "breached"
	SLAPending  = "pending"
)

// Decisions on an MQL.
const (
	DecisionAccepted = "accepted"
	DecisionRejected = "rejected"
	DecisionPending  = "pending"
)

// MQLRow is one MQL of the period, as the workbook's detail sheet lists it.
type MQLRow struct {
	LeadID          string
	MQLAt           time.Time
	Source          string // normalised
	OwnerID         string
	OwnerName       string
	CampaignID      string
	CampaignName    string
	ResponseMinutes *float64
	// ResponseWorkingMinutes is the response in working minutes; nil
	// without a calendar or without a response.
	ResponseWorkingMinutes *float64
	DueAt                  time.Time // the SLA's due instant
	SLA                    string    // met, breached or pending
	Decision               string    // accepted, rejected or pending
	RejectionReason        string
	SQLAt                  time.Time // zero when not an SQL by as_of
	Name, Company          string    // the lead's, when the source has them
}
