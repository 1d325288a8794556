package metrics

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/quantile"
)

// The facts are what the source's SQL returns: one row per lead, opportunity
// or touch that a snapshot needs, or small aggregates of the activity table.
// They carry raw values (teams and sources as the CRM spells them, nulls as
// zero values); every rule of this package's README.md is applied here in Go, so a
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
	// OwnerID is the team member who owns the campaign (the optional
	// column campaigns.owner_id); empty when null or absent.
	OwnerID string
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
	// Name and Company are the optional columns leads.name and
	// leads.company: who the rep is to call. Empty when null or absent.
	Name, Company string
}

// Opportunity is an opportunity as the facts queries return it, with the
// campaign of its lead (an opportunity belongs to its lead's campaign).
type Opportunity struct {
	ID         string
	CreatedAt  time.Time
	LeadID     string
	CampaignID string // of the lead; empty when no lead or no campaign, and may be empty unless created or closed in the period
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

// OpportunityTouch is a last touch of an opportunity (Facts.LastTouches)
// with what influence needs of the opportunity itself.
type OpportunityTouch struct {
	Touch
	CreatedAt time.Time
	Amount    Money
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

// Facts is everything a snapshot is computed from. The source fills it
// through a Builder, which reduces rows as they arrive: every MQL's
// response, SLA state and decision are derived on the spot, full detail is
// kept only for the MQLs of the period and the follow-up backlog, and the
// rest of the trend window shrinks to a few counters per period. Memory
// then follows the size of one period, not of the tables or the window.
//
// Facts can also be given as raw rows in the exported slices (tests, small
// sources); Compute reduces those itself with the same Builder.
type Facts struct {
	Members   []Member
	Campaigns []Campaign
	// MQLs: leads with mql_at <= as_of in the trend window or the follow-up
	// window (Windows.MQLs, Windows.Backlog).
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
	// The freshness of the source: the latest created_at of a lead and
	// occurred_at of an activity at or before as_of (zero when none).
	LatestLeadCreatedAt time.Time
	LatestActivityAt    time.Time

	// Reread, when set, reads the MQLs of a range again from the
	// snapshot these facts came from; Compute then streams the period's
	// MQL detail from it (Snapshot.MQLDetail) instead of holding it. The
	// Builder must have been told so (Builder.WithoutDetail).
	Reread MQLReader
	// Release ends what Reread reads from (Close calls it).
	Release func()
	// OptionalColumns are the optional source columns the relations have
	// ("leads.name", "leads.company", "campaigns.owner_id").
	OptionalColumns []string

	red *reduced // set by Builder.Facts; nil for raw facts
}

// Range is a half-open interval of instants [From, To).
type Range struct{ From, To time.Time }

// Windows says which time ranges the source must read for a snapshot.
// Only Plan makes valid Windows: they also carry the input the Builder
// reduces rows for.
type Windows struct {
	AsOf          time.Time
	Period        Range // the report's period
	Previous      Range // the period before it
	MQLs          Range // the trend window: mql_at for cohorts
	Backlog       Range // mql_at for the follow-up backlog; To is as_of, inclusive
	Created       Range // previous and current period: leads created, SQLs, influence
	Opportunities Range // the trend window: created or closed

	// StreamDetail asks the source to keep the snapshot readable after
	// the facts are read, so that the period's MQL detail is read again
	// from it row by row (Facts.Reread) instead of held in memory. The
	// caller must then Close the facts. A source that cannot keep a
	// snapshot open ignores it, and the detail is held.
	StreamDetail bool
	// SkipDetail says the caller never lists the period's MQLs (the JSON
	// snapshot, check's gate): the source keeps no detail and reads none
	// again, and the snapshot's MQLDetail yields an error.
	SkipDetail bool

	in Input
}

// MQLRanges returns the half-open mql_at ranges that together cover the
// trend window and the follow-up window (whose end, as_of, is included)
// without overlap, so that the source reads each MQL once.
func (w Windows) MQLRanges() []Range {
	trend := w.MQLs
	// [as_of - 30 days, as_of] as a half-open range.
	backlog := Range{w.Backlog.From, w.Backlog.To.Add(time.Nanosecond)}
	if !trend.From.Before(trend.To) {
		return []Range{backlog}
	}
	out := []Range{trend}
	if backlog.From.Before(trend.From) {
		out = append(out, Range{backlog.From, minTime(backlog.To, trend.From)})
	}
	if backlog.To.After(trend.To) {
		out = append(out, Range{maxTime(backlog.From, trend.To), backlog.To})
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Cohort slots: the report's period and the one before it.
const (
	current  = 0
	previous = 1
)

// mql is an MQL with its derived response, SLA state and decision. It is
// kept only where a section lists MQLs one by one: the follow-up backlog,
// and the period's detail when it is not read again.
type mql struct {
	id, owner, campaign, reason string
	name, company               string // the lead's, when the source has them
	source                      string // normalised
	at                          time.Time
	due                         time.Time // when the SLA runs out
	sqlAt                       time.Time // zero unless an SQL by as_of
	response                    time.Duration
	worked                      time.Duration // the response in working time; -1 without a calendar
	responded                   bool
	unassigned                  bool
	sla, decision               string
}

// trendCounts are the numbers of one trend period.
type trendCounts struct {
	mqls, met, breached, accepted, rejected int
	pipeline, pipelineMarketing, won        Money
}

// leadCounts are the leads created in one period.
type leadCounts struct {
	n        int
	bySource BySource
}

// oppCounts are the opportunities created or closed in one cohort period,
// reduced as they arrive.
type oppCounts struct {
	created             int
	pipeline            MoneyBySource
	influenced          Money // pipeline of those with a marketing touch before them
	negative            int   // created with a negative amount
	wonDeals, lostDeals int
	won, lost           BySource
	revenue             MoneyBySource
	cycles              responses // days from creation to a won close
}

// ownerOpps are the period's opportunities of one owner, campaignOpps of
// one campaign (created in the period, or won in it).
type ownerOpps struct {
	created, won      int
	pipeline, revenue Money
}

type campaignOpps struct {
	created           int
	pipeline, revenue Money
}

// reduced is what a Builder keeps of the rows.
type reduced struct {
	in Input
	// The MQLs of the period and of the one before, reduced as they
	// arrive: counts and response times, which is all the headline needs.
	cohorts [2]cohortStats
	// The period's MQLs by owner, rejections by reason and MQLs by
	// campaign: the breakdowns, reduced as they arrive too.
	owners        map[string]*cohortStats
	reasons       map[string]int
	campaignMQLs  map[string]*campaignMQLs
	detail        []mql // the period's MQLs in full (sorted by mql_at, id), unless read again (Builder.WithoutDetail)
	noDetail      bool
	skipDetail    bool  // nor will the detail be read again (Windows.SkipDetail)
	backlog       []mql // unanswered MQLs of the follow-up window, sorted
	trend         [TrendLength]trendCounts
	leads         [2]leadCounts
	campaignLeads map[string]int // leads created in the period, per campaign
	sqls          [2]int
	opps          [2]oppCounts
	ownerOpps     map[string]*ownerOpps    // the period's, by owner
	campaignOpps  map[string]*campaignOpps // the period's, by the lead's campaign
	wins          map[string]Money
	activities    []ActivityGroup
	unknownLead   int
}

// Builder reduces fact rows into Facts as the source reads them. Rows may
// come in any order, except that the last touches of one opportunity come
// one after the other.
type Builder struct {
	in          Input
	trend       []period.Period // oldest first; the last is the report's period
	backlogFrom time.Time
	touched     touchedOpp // the opportunity whose last touches are coming in
	f           *Facts
	r           *reduced
	// noDetail: the period's MQL detail is read again from the source
	// (Facts.Reread) rather than kept; skip: nor read at all.
	noDetail, skip bool
	// responses holds the response times of every cohort, and the sales
	// cycles, until Facts reads their percentiles; series is the next
	// series free in it.
	responses *quantile.Store
	series    uint32
}

// responseBudget is how many response times and sales cycles a Builder
// keeps in memory. Beyond it they go to a temporary file (package
// quantile): the medians stay exact, and a quarter with a million MQLs
// takes no more memory than one with a hundred thousand (two values per
// MQL, its cohort's and its owner's, or four with a calendar).
var responseBudget = 1 << 19

// SkipDetail tells the Builder that nobody will list the period's MQLs:
// it keeps none, and snapshots computed from its facts have no detail.
func (b *Builder) SkipDetail() { b.noDetail, b.skip = true, true }

// WithoutDetail tells the Builder not to keep the period's MQLs in full:
// the source will read them again, from the same snapshot, when the detail
// is written (Facts.Reread). Memory then stays the same whatever the
// number of MQLs in the period.
func (b *Builder) WithoutDetail() { b.noDetail = true }

// campaignMQLs are the period's MQLs of one campaign.
type campaignMQLs struct {
	mqls, accepted, rejected int
	reasons                  map[string]int
}

// NewBuilder starts the facts of the snapshot that w was planned for.
func NewBuilder(w Windows) *Builder {
	return newBuilder(w, responseBudget)
}

// newBuilder is NewBuilder keeping at most budget response times in
// memory.
func newBuilder(w Windows, budget int) *Builder {
	in := w.in
	b := &Builder{
		in:          in,
		trend:       in.Period.Trend(TrendLength),
		backlogFrom: in.AsOf.Add(-BacklogWindow),
		f:           &Facts{},
		r: &reduced{
			in:            in,
			campaignLeads: map[string]int{},
			owners:        map[string]*cohortStats{},
			reasons:       map[string]int{},
			campaignMQLs:  map[string]*campaignMQLs{},
			ownerOpps:     map[string]*ownerOpps{},
			campaignOpps:  map[string]*campaignOpps{},
			wins:          map[string]Money{},
		},
		responses: quantile.New(budget),
	}
	b.r.cohorts = [2]cohortStats{b.cohort(), b.cohort()}
	for c := range b.r.opps {
		b.r.opps[c].cycles = b.newResponses()
	}
	return b
}

// newResponses are values of a series of their own in the Builder's store.
func (b *Builder) newResponses() responses {
	b.series++
	return responses{series: b.series - 1}
}

// cohort is a new, empty cohortStats with series of its own in the
// Builder's store.
func (b *Builder) cohort() cohortStats {
	return cohortStats{minutes: b.newResponses(), working: b.newResponses()}
}

// slot returns the index of the trend period that t is in, or -1 when t is
// null, after as_of or outside the trend window.
func (b *Builder) slot(t time.Time) int {
	n := len(b.trend)
	if !seen(t, b.in.AsOf) || t.Before(b.trend[0].Start) || !t.Before(b.trend[n-1].End) {
		return -1
	}
	lo, hi := 0, n-1
	for lo < hi {
		mid := (lo + hi) / 2
		if t.Before(b.trend[mid].End) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// cohort maps a trend slot to current, previous or -1.
func cohort(slot int) int {
	switch slot {
	case TrendLength - 1:
		return current
	case TrendLength - 2:
		return previous
	}
	return -1
}

// Member adds a team member.
func (b *Builder) Member(m Member) { b.f.Members = append(b.f.Members, m) }

// Campaign adds a campaign.
func (b *Builder) Campaign(c Campaign) { b.f.Campaigns = append(b.f.Campaigns, c) }

// Win adds a deal won at or before as_of, for lifetime campaign revenue.
func (b *Builder) Win(w Win) { b.r.wins[w.CampaignID] += w.Amount.positive() }

// MQL adds a lead with mql_at <= as_of in Windows.MQLRanges, each lead once,
// with its first touches: per raw team, the earliest activity with its
// lead_id stamped in [mql_at, as_of].
func (b *Builder) MQL(l Lead, touches []Touch) {
	if !seen(l.MQLAt, b.in.AsOf) {
		return
	}
	m := b.in.derive(l, touches)
	slot := b.slot(l.MQLAt)
	if slot >= 0 {
		c := &b.r.trend[slot]
		c.mqls++
		switch m.sla {
		case SLAMet:
			c.met++
		case SLABreached:
			c.breached++
		}
		switch m.decision {
		case DecisionAccepted:
			c.accepted++
		case DecisionRejected:
			c.rejected++
		}
	}
	if !m.responded && !l.MQLAt.Before(b.backlogFrom) {
		b.r.backlog = append(b.r.backlog, mql{id: m.id, owner: m.owner, at: m.at, due: m.due, name: m.name, company: m.company})
	}
	switch cohort(slot) {
	case current:
		b.period(&m)
	case previous:
		b.r.cohorts[previous].add(&m, b.responses)
	}
}

// period adds an MQL of the report's period to the headline and the
// breakdowns, and to the detail when it is kept.
func (b *Builder) period(m *mql) {
	r := b.r
	r.cohorts[current].add(m, b.responses)
	o := r.owners[m.owner]
	if o == nil {
		c := b.cohort()
		o = &c
		r.owners[m.owner] = o
	}
	o.add(m, b.responses)
	c := r.campaignMQLs[m.campaign]
	if c == nil {
		c = &campaignMQLs{}
		r.campaignMQLs[m.campaign] = c
	}
	c.mqls++
	switch m.decision {
	case DecisionAccepted:
		c.accepted++
	case DecisionRejected:
		c.rejected++
		reason := reasonOf(m)
		r.reasons[reason]++
		if c.reasons == nil {
			c.reasons = map[string]int{}
		}
		c.reasons[reason]++
	}
	if !b.noDetail {
		r.detail = append(r.detail, *m)
	}
}

// derive is an MQL with its response, SLA state and decision as of
// in.AsOf: the one place these are derived, whether the MQL is counted or
// written to the detail.
func (in Input) derive(l Lead, touches []Touch) mql {
	asOf := in.AsOf
	m := mql{
		id: l.ID, owner: l.OwnerID, campaign: l.CampaignID, reason: l.RejectionReason,
		source: Normalize(l.Source), at: l.MQLAt, unassigned: strings.TrimSpace(l.OwnerID) == "",
		name: l.Name, company: l.Company,
	}
	if seen(l.SQLAt, asOf) {
		m.sqlAt = l.SQLAt
	}
	// response_at: the earliest sales touch, acceptance or rejection
	// stamped in [mql_at, as_of]. Touches before the MQL do not count.
	var response time.Time
	consider := func(t time.Time) {
		if seen(t, asOf) && !t.Before(l.MQLAt) && (response.IsZero() || t.Before(response)) {
			response = t
		}
	}
	for _, t := range touches {
		if Normalize(t.Team) == Sales {
			consider(t.At)
		}
	}
	consider(l.AcceptedAt)
	consider(l.RejectedAt)
	due := in.due(l.MQLAt)
	m.due, m.worked = due, -1
	if !response.IsZero() {
		m.responded, m.response = true, response.Sub(l.MQLAt)
		if in.Calendar != nil {
			m.worked = in.Calendar.Work(l.MQLAt, response)
		}
	}
	switch {
	case m.responded && !response.After(due):
		m.sla = SLAMet
	case m.responded || !due.After(asOf):
		m.sla = SLABreached
	default:
		m.sla = SLAPending
	}
	// The later of the two decisions decides; at the same instant,
	// accepted wins.
	acc, rej := seen(l.AcceptedAt, asOf), seen(l.RejectedAt, asOf)
	switch {
	case acc && (!rej || !l.AcceptedAt.Before(l.RejectedAt)):
		m.decision = DecisionAccepted
	case rej:
		m.decision = DecisionRejected
	default:
		m.decision = DecisionPending
	}
	return m
}

// Created adds a lead created in Windows.Created.
func (b *Builder) Created(l Lead) {
	c := cohort(b.slot(l.CreatedAt))
	if c < 0 {
		return
	}
	b.r.leads[c].n++
	b.r.leads[c].bySource.add(Normalize(l.Source))
	if c == current {
		b.r.campaignLeads[l.CampaignID]++
	}
}

// SQL adds the sql_at of a lead, in Windows.Created.
func (b *Builder) SQL(t time.Time) {
	if c := cohort(b.slot(t)); c >= 0 {
		b.r.sqls[c]++
	}
}

// Opportunity adds an opportunity created or closed in
// Windows.Opportunities.
func (b *Builder) Opportunity(o Opportunity) {
	created, closed := b.slot(o.CreatedAt), -1
	if o.IsWon != nil {
		closed = b.slot(o.ClosedAt)
	}
	amount := o.Amount.positive()
	if created >= 0 {
		b.r.trend[created].pipeline += amount
		if Normalize(o.Source) == Marketing {
			b.r.trend[created].pipelineMarketing += amount
		}
	}
	if closed >= 0 && *o.IsWon {
		b.r.trend[closed].won += amount
	}
	src := Normalize(o.Source)
	if c := cohort(created); c >= 0 {
		oc := &b.r.opps[c]
		oc.created++
		oc.pipeline.add(src, amount)
		if c == current {
			if o.Amount < 0 {
				oc.negative++
			}
			b.owner(o.OwnerID).created++
			b.owner(o.OwnerID).pipeline += amount
			b.campaign(o.CampaignID).created++
			b.campaign(o.CampaignID).pipeline += amount
		}
	}
	if c := cohort(closed); c >= 0 {
		oc := &b.r.opps[c]
		if *o.IsWon {
			oc.wonDeals++
			oc.won.add(src)
			oc.revenue.add(src, amount)
			b.responses.Add(oc.cycles.series, o.ClosedAt.Sub(o.CreatedAt).Seconds()/86400)
			if c == current {
				b.owner(o.OwnerID).won++
				b.owner(o.OwnerID).revenue += amount
				b.campaign(o.CampaignID).revenue += amount
			}
		} else {
			oc.lostDeals++
			oc.lost.add(src)
		}
	}
}

func (b *Builder) owner(id string) *ownerOpps {
	o := b.r.ownerOpps[id]
	if o == nil {
		o = &ownerOpps{}
		b.r.ownerOpps[id] = o
	}
	return o
}

func (b *Builder) campaign(id string) *campaignOpps {
	c := b.r.campaignOpps[id]
	if c == nil {
		c = &campaignOpps{}
		b.r.campaignOpps[id] = c
	}
	return c
}

// touchedOpp is the opportunity whose last touches the Builder is
// reading, and whether one of them has counted it as influenced.
type touchedOpp struct {
	ref        string
	influenced bool
}

// LastTouch adds the latest activity of one raw team linked to an
// opportunity created in Windows.Created (see Facts.LastTouches). The
// touches of one opportunity come one after the other, so the Builder
// keeps only the opportunity at hand, however many the period has.
func (b *Builder) LastTouch(t OpportunityTouch) {
	if t.Ref != b.touched.ref {
		b.touched = touchedOpp{ref: t.Ref}
	}
	c := cohort(b.slot(t.CreatedAt))
	if c < 0 || b.touched.influenced || Normalize(t.Team) != Marketing || !seen(t.At, b.in.AsOf) {
		return
	}
	if !t.At.After(t.CreatedAt) && !t.At.Before(t.CreatedAt.Add(-InfluenceWindow)) {
		b.touched.influenced = true
		b.r.opps[c].influenced += t.Amount.positive()
	}
}

// Activity adds the activity counts of one team and actor in the period or
// the one before.
func (b *Builder) Activity(g ActivityGroup) {
	b.r.activities = append(b.r.activities, g)
	if !g.Previous {
		b.r.unknownLead += g.UnknownLead
	}
}

// UnknownLeadActivities adds n activities of the period whose lead_id names
// no lead.
func (b *Builder) UnknownLeadActivities(n int) { b.r.unknownLead += n }

// MQLBeforeCreated sets the number of leads with mql_at < created_at and
// mql_at <= as_of.
func (b *Builder) MQLBeforeCreated(n int) { b.f.LeadsMQLBeforeCreated = n }

// FutureActivities sets the number of activities stamped after as_of.
func (b *Builder) FutureActivities(n int) { b.f.FutureActivities = n }

// Freshness sets the latest created_at of a lead and occurred_at of an
// activity at or before as_of (zero when there is none).
func (b *Builder) Freshness(lead, activity time.Time) {
	b.f.LatestLeadCreatedAt, b.f.LatestActivityAt = lead, activity
}

// Facts returns the reduced facts. The Builder must not be used after.
// It fails only when the response times written to a temporary file
// cannot be read back.
func (b *Builder) Facts() (*Facts, error) {
	byTimeThenID := func(a, b mql) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.id, b.id))
	}
	slices.SortFunc(b.r.detail, byTimeThenID)
	slices.SortFunc(b.r.backlog, byTimeThenID)
	// The response times' percentiles once: Compute may run more than
	// once on the same facts.
	defer b.responses.Close()
	series := []*responses{&b.r.opps[current].cycles, &b.r.opps[previous].cycles}
	for _, c := range append([]*cohortStats{&b.r.cohorts[current], &b.r.cohorts[previous]}, slices.Collect(maps.Values(b.r.owners))...) {
		series = append(series, &c.minutes, &c.working)
	}
	for _, r := range series {
		if err := r.settle(b.responses); err != nil {
			return nil, fmt.Errorf("the period's response times: %w", err)
		}
	}
	b.r.noDetail, b.r.skipDetail = b.noDetail, b.skip
	b.f.red = b.r
	return b.f, nil
}

// reduce runs raw facts through a Builder for in.
func reduce(in Input, f *Facts) *reduced {
	// Raw facts are in memory already: so are their response times, and
	// Facts cannot fail.
	b := newBuilder(Plan(in), math.MaxInt)
	for _, w := range f.Wins {
		b.Win(w)
	}
	touches := map[string][]Touch{}
	for _, t := range f.FirstTouches {
		touches[t.Ref] = append(touches[t.Ref], t)
	}
	seenID := map[string]bool{}
	for _, l := range f.MQLs {
		if seenID[l.ID] || !seen(l.MQLAt, in.AsOf) {
			continue
		}
		seenID[l.ID] = true
		b.MQL(l, touches[l.ID])
	}
	for _, l := range f.Created {
		b.Created(l)
	}
	for _, t := range f.SQLs {
		b.SQL(t)
	}
	for _, o := range f.Opportunities {
		b.Opportunity(o)
	}
	// The source gives each opportunity's touches with the opportunity's
	// creation and amount, and one opportunity's together.
	opps := map[string]Opportunity{}
	for _, o := range f.Opportunities {
		opps[o.ID] = o
	}
	last := slices.Clone(f.LastTouches)
	slices.SortStableFunc(last, func(a, b Touch) int { return strings.Compare(a.Ref, b.Ref) })
	for _, t := range last {
		if o, ok := opps[t.Ref]; ok {
			b.LastTouch(OpportunityTouch{Touch: t, CreatedAt: o.CreatedAt, Amount: o.Amount})
		}
	}
	for _, g := range f.Activities {
		b.Activity(g)
	}
	facts, err := b.Facts()
	if err != nil {
		panic(err)
	}
	return facts.red
}
