package metrics

import (
	"strings"
	"time"
)

// The facts are what the source's SQL returns: one row per lead, opportunity
// or touch that a snapshot needs, or small aggregates of the activity table.
// They carry raw values (teams and sources as the CRM spells them, nulls as
// zero values); every rule of METRICS.md is applied here in Go, so a
// definition never lives in two places.

// Team names after normalisation, and the source names (the same three).
const (
	Marketing = "marketing"
	Sales     = "sales"
	Other     = "other"
)

// Normalize maps a team or source value to marketing, sales or other,
// comparing after trimming and lower-casing.
func Normalize(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case Marketing:
		return Marketing
	case Sales:
		return Sales
	}
	return Other
}

// Member is a row of team_members.
type Member struct {
	ID     string
	Name   string
	Email  string // empty when null
	Team   string // raw
	Active bool
}

// Campaign is a row of campaigns plus its lifetime MQL count (leads of the
// campaign with mql_at <= as_of).
type Campaign struct {
	ID           string
	Name         string
	Channel      string // empty when null
	Cost         Money
	CostKnown    bool // false when cost is null
	LifetimeMQLs int
}

// Lead is a lead as the facts queries return it. Zero times are nulls.
type Lead struct {
	ID              string
	CreatedAt       time.Time
	Source          string // raw
	CampaignID      string
	OwnerID         string
	MQLAt           time.Time
	AcceptedAt      time.Time
	RejectedAt      time.Time
	RejectionReason string
	SQLAt           time.Time
}

// Opportunity is an opportunity as the facts queries return it, with the
// campaign of its lead (an opportunity belongs to its lead's campaign).
type Opportunity struct {
	ID         string
	CreatedAt  time.Time
	LeadID     string
	CampaignID string // of the lead; empty when no lead or no campaign
	Source     string // raw
	OwnerID    string
	Amount     Money // null is 0
	ClosedAt   time.Time
	IsWon      *bool // nil while open
}

// Touch is the earliest (for first responses) or latest (for influence)
// activity of one raw team value that refers to a lead or an opportunity.
type Touch struct {
	Ref  string // lead id (first responses) or opportunity id (influence)
	Team string // raw
	At   time.Time
}

// ActivityGroup counts the activities of one period, one raw team and one
// actor; UnknownLead counts those among them whose lead_id names no lead.
type ActivityGroup struct {
	Previous    bool // false: the report's period; true: the one before
	Team        string
	ActorID     string
	Count       int
	UnknownLead int
}

// Win is a deal won at or before as_of, for lifetime campaign revenue.
type Win struct {
	CampaignID string
	Amount     Money
}

// Facts is everything the source returns for one snapshot. Windows says
// which rows each field must hold.
type Facts struct {
	Members   []Member
	Campaigns []Campaign
	// MQLs: leads with mql_at <= as_of in the trend window or the follow-up
	// window (Windows.MQLs, Windows.Backlog), each once.
	MQLs []Lead
	// Created: leads with created_at <= as_of in Windows.Created.
	Created []Lead
	// SQLs: sql_at of leads with sql_at <= as_of in Windows.Created.
	SQLs []time.Time
	// Opportunities: created or closed (each <= as_of) in Windows.Opportunities.
	Opportunities []Opportunity
	// FirstTouches: per MQL and raw team, the earliest activity with that
	// lead_id stamped in [mql_at, as_of].
	FirstTouches []Touch
	// LastTouches: per opportunity created in Windows.Created and raw team,
	// the latest activity with opportunity_id = o.id, or lead_id = o.lead_id,
	// stamped at or before both o.created_at and as_of.
	LastTouches []Touch
	// Activities: activity counts in the period and the previous one.
	Activities []ActivityGroup
	// Wins: every deal closed won at or before as_of.
	Wins []Win

	LeadsMQLBeforeCreated int // mql_at < created_at, mql_at <= as_of
	FutureActivities      int // occurred_at > as_of
}

// Range is a half-open interval of instants [From, To).
type Range struct{ From, To time.Time }

// Windows says which time ranges the source must read for a snapshot.
type Windows struct {
	AsOf          time.Time
	Period        Range // the report's period
	Previous      Range // the period before it
	MQLs          Range // the trend window: mql_at for cohorts
	Backlog       Range // mql_at for the follow-up backlog; To is as_of, inclusive
	Created       Range // previous and current period: leads created, SQLs, influence
	Opportunities Range // the trend window: created or closed
}
