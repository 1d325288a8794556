package metrics

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/quantile"
	"github.com/sameteam/sameteam/internal/workhours"
)

// TrendLength is the number of periods in the trend, ending with the
// report's period.
const TrendLength = 12

// The fixed look-back windows of the definitions (README.md).
const (
	InfluenceWindow = 90 * 24 * time.Hour // marketing touch before an opportunity
	BacklogWindow   = 30 * 24 * time.Hour // MQLs in the follow-up backlog
)

// offsetLayout is RFC 3339 with a numeric offset even for UTC
// (2026-10-01T00:00:00+00:00), as the snapshot JSON writes period bounds.
const offsetLayout = "2006-01-02T15:04:05-07:00"

// Input says which snapshot to compute.
type Input struct {
	Period   period.Period
	AsOf     time.Time
	SLAHours float64
	// Calendar, when set, makes SLAHours working hours (README.md,
	// "Working-hours SLA"); nil counts wall-clock hours.
	Calendar  *workhours.Calendar
	MQLTarget *int // for this period kind; nil without a target
}

func (in Input) sla() time.Duration {
	return time.Duration(in.SLAHours * float64(time.Hour))
}

// due is the instant the SLA of an MQL at mqlAt runs out: sla_hours later,
// or with a calendar the earliest instant by which that much working time
// has passed.
func (in Input) due(mqlAt time.Time) time.Time {
	if in.Calendar == nil {
		return mqlAt.Add(in.sla())
	}
	return in.Calendar.Due(mqlAt, in.sla())
}

// Plan returns the time windows the source must read for in.
func Plan(in Input) Windows {
	p, prev := in.Period, in.Period.Previous()
	trend := in.Period.Shift(1 - TrendLength)
	return Windows{
		in:            in,
		AsOf:          in.AsOf,
		Period:        Range{p.Start, p.End},
		Previous:      Range{prev.Start, prev.End},
		MQLs:          Range{trend.Start, p.End},
		Backlog:       Range{in.AsOf.Add(-BacklogWindow), in.AsOf},
		Created:       Range{prev.Start, p.End},
		Opportunities: Range{trend.Start, p.End},
	}
}

// seen reports whether t exists at as_of: not null and not later.
func seen(t, asOf time.Time) bool { return !t.IsZero() && !t.After(asOf) }

// sameFacts reports whether facts reduced for a serve b: the reduction
// depends on the period, as_of and the SLA with its calendar, not on the
// MQL target.
func (a Input) sameFacts(b Input) bool {
	return a.Period.Kind == b.Period.Kind && a.Period.Start.Equal(b.Period.Start) &&
		a.Period.End.Equal(b.Period.End) && a.AsOf.Equal(b.AsOf) && a.SLAHours == b.SLAHours && a.Calendar == b.Calendar
}

// engine computes one snapshot from reduced facts.
type engine struct {
	in Input
	f  *Facts
	r  *reduced
}

// Compute returns the snapshot of in from f. Facts from a Builder must have
// been read for Plan(in) (the MQL target may differ); raw facts are reduced
// here first.
func Compute(in Input, f *Facts) *Snapshot {
	r := f.red
	if r == nil {
		r = reduce(in, f)
	} else if !r.in.sameFacts(in) {
		panic("metrics: Compute called with facts read for another period, as_of or SLA")
	}
	e := &engine{in: in, f: f, r: r}
	p := in.Period
	prev := p.Previous()
	s := &Snapshot{
		Period: PeriodInfo{
			Kind:     p.Kind,
			Label:    p.Label(),
			Start:    p.Start.Format(offsetLayout),
			End:      p.End.Format(offsetLayout),
			TimeZone: p.Location().String(),
		},
		AsOf:     Instant(in.AsOf),
		Partial:  p.End.After(in.AsOf),
		SLAHours: in.SLAHours,
		Span:     p,
	}
	if in.Calendar != nil {
		name := in.Calendar.Name()
		s.SLACalendar = &name
	}
	s.Headline = e.headline(current)
	s.Previous = Previous{Headline: e.headline(previous), Label: prev.Label()}
	s.RejectionReasons = e.rejectionReasons()
	s.ByRep = e.byRep()
	s.ByCampaign = e.byCampaign()
	s.FollowupBacklog = e.backlog()
	s.DataHealth = e.dataHealth()
	s.Trend = e.trend()
	n := e.names()
	if r.noDetail && f.Reread == nil && !r.skipDetail {
		panic("metrics: facts built without their detail have no Reread to read it again")
	}
	switch {
	case r.skipDetail:
		s.stream = &detailStream{count: s.Headline.MQLs} // no reader: MQLDetail says so
	case f.Reread != nil:
		s.stream = &detailStream{in: in, rng: Range{p.Start, p.End}, read: f.Reread, names: n, count: s.Headline.MQLs}
	default:
		s.Detail = e.detail(n)
	}
	return s
}

// cohortStats are the numbers README.md defines over a set of MQLs.
type cohortStats struct {
	n, met, breached, pending, untouched  int
	accepted, rejected, undecided, sqlNow int
	unassigned                            int
	minutes, working                      responses // response times, wall-clock and working
}

// responses are one cohort's response times of one kind, or its sales
// cycles. The Builder keeps the values in its quantile store, under
// series, and reads their percentiles when the facts are complete.
type responses struct {
	series      uint32
	median, p90 *float64
}

// settle reads the percentiles of r's values from st.
func (r *responses) settle(st *quantile.Store) error {
	n := st.Count(r.series)
	if n == 0 {
		return nil
	}
	mlo, mhi, mfrac := ranks(n, 0.5)
	plo, phi, pfrac := ranks(n, 0.9)
	v, err := st.Ranks(r.series, mlo, mhi, plo, phi)
	if err != nil {
		return err
	}
	r.median, r.p90 = between(v[0], v[1], mfrac), between(v[2], v[3], pfrac)
	return nil
}

func (s *cohortStats) add(m *mql, st *quantile.Store) {
	s.n++
	switch m.sla {
	case SLAMet:
		s.met++
	case SLABreached:
		s.breached++
	default:
		s.pending++
	}
	if m.responded {
		st.Add(s.minutes.series, m.response.Minutes())
		if m.worked >= 0 {
			st.Add(s.working.series, m.worked.Minutes())
		}
	} else {
		s.untouched++
	}
	switch m.decision {
	case DecisionAccepted:
		s.accepted++
	case DecisionRejected:
		s.rejected++
	default:
		s.undecided++
	}
	if !m.sqlAt.IsZero() {
		s.sqlNow++
	}
	if m.unassigned {
		s.unassigned++
	}
}

func (s cohortStats) compliance() *float64 { return ratio(s.met, s.met+s.breached) }
func (s cohortStats) acceptance() *float64 { return ratio(s.accepted, s.accepted+s.rejected) }

func (e *engine) headline(c int) Headline {
	var h Headline
	h.LeadsCreated = e.r.leads[c].n
	h.LeadsBySource = e.r.leads[c].bySource
	h.SQLs = e.r.sqls[c]

	st := e.r.cohorts[c] // percentiles read by Builder.Facts
	h.MQLs = st.n
	if e.in.MQLTarget != nil {
		target := *e.in.MQLTarget
		h.MQLTarget = &target
		h.MQLTargetAttainment = ratio(st.n, target)
	}
	h.UnassignedMQLs = st.unassigned
	h.SLAMet, h.SLABreached, h.SLAPending = st.met, st.breached, st.pending
	h.SLACompliance = st.compliance()
	h.ResponseMinutesMedian, h.ResponseMinutesP90 = copyOf(st.minutes.median), copyOf(st.minutes.p90)
	if e.in.Calendar != nil {
		h.ResponseWorkingMinutesMedian, h.ResponseWorkingMinutesP90 = copyOf(st.working.median), copyOf(st.working.p90)
	}
	h.UntouchedMQLs = st.untouched
	h.Accepted, h.Rejected, h.DecisionPending = st.accepted, st.rejected, st.undecided
	h.AcceptanceRate = st.acceptance()
	h.DecisionRate = ratio(st.accepted+st.rejected, st.n)
	h.MQLToSQLRate = ratio(st.sqlNow, st.n)

	oc := &e.r.opps[c]
	h.OpportunitiesCreated = oc.created
	h.PipelineCreated = oc.pipeline
	h.MarketingInfluencedPipeline = oc.influenced
	h.WonDeals, h.LostDeals = oc.wonDeals, oc.lostDeals
	h.WonRevenue = oc.revenue
	won, lost := oc.won, oc.lost
	h.MarketingSourcedShare = moneyRatio(h.PipelineCreated.Marketing, h.PipelineCreated.Total)
	h.WinRate = RateBySource{
		Marketing: ratio(won.Marketing, won.Marketing+lost.Marketing),
		Sales:     ratio(won.Sales, won.Sales+lost.Sales),
		Other:     ratio(won.Other, won.Other+lost.Other),
		Total:     ratio(h.WonDeals, h.WonDeals+h.LostDeals),
	}
	if h.WonDeals > 0 {
		avg := Money(math.Round(float64(h.WonRevenue.Total) / float64(h.WonDeals)))
		h.AvgDealSize = &avg
	}
	h.SalesCycleDaysMedian = copyOf(oc.cycles.median)

	for _, g := range e.r.activities {
		if g.Previous == (c == previous) {
			h.Activities.add(Normalize(g.Team), g.Count)
		}
	}

	var sum float64
	var parts int
	for _, v := range []*float64{h.SLACompliance, h.AcceptanceRate, capOne(h.MQLTargetAttainment), h.DecisionRate} {
		if v != nil {
			sum += *v
			parts++
		}
	}
	if parts > 0 {
		score := math.Round(100*sum/float64(parts)*10) / 10
		h.AlignmentScore = &score
	}
	return h
}

func (e *engine) rejectionReasons() []ReasonCount {
	return sortedReasons(e.r.reasons)
}

// UnspecifiedReason stands for a rejection without a reason.
const UnspecifiedReason = "unspecified"

// reasonOf is the rejection reason an MQL is counted under.
func reasonOf(m *mql) string {
	if reason := strings.TrimSpace(m.reason); reason != "" {
		return reason
	}
	return UnspecifiedReason
}

// sortedReasons lists reasons by count descending, then reason ascending.
func sortedReasons(counts map[string]int) []ReasonCount {
	out := make([]ReasonCount, 0, len(counts))
	for r, n := range counts {
		out = append(out, ReasonCount{Reason: r, Count: n})
	}
	slices.SortFunc(out, func(a, b ReasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Reason, b.Reason))
	})
	return out
}

func (e *engine) byRep() []RepRow {
	// One pass over the period's MQLs, opportunities and activities, keyed
	// by owner or actor, instead of one pass per rep.
	type repFacts struct {
		stats    cohortStats
		acts     int
		opps     int
		pipeline Money
		won      int
		revenue  Money
	}
	reps := map[string]*repFacts{}
	for _, mb := range e.f.Members {
		if Normalize(mb.Team) == Sales {
			reps[mb.ID] = &repFacts{}
		}
	}
	for owner, st := range e.r.owners {
		if r := reps[owner]; r != nil {
			r.stats = *st
		}
	}
	for _, g := range e.r.activities {
		if r := reps[g.ActorID]; r != nil && !g.Previous && Normalize(g.Team) == Sales {
			r.acts += g.Count
		}
	}
	for owner, o := range e.r.ownerOpps {
		if r := reps[owner]; r != nil {
			r.opps, r.pipeline, r.won, r.revenue = o.created, o.pipeline, o.won, o.revenue
		}
	}
	out := []RepRow{}
	for _, mb := range e.f.Members {
		rf := reps[mb.ID]
		if rf == nil || Normalize(mb.Team) != Sales {
			continue
		}
		c := rf.stats // percentiles read by Builder.Facts
		var working *float64
		if e.in.Calendar != nil {
			working = copyOf(c.working.median)
		}
		row := RepRow{
			ResponseWorkingMinutesMedian: working,
			RepID:                        mb.ID,
			Name:                         mb.Name,
			MQLsAssigned:                 c.n,
			SLAMet:                       c.met,
			SLABreached:                  c.breached,
			SLAPending:                   c.pending,
			SLACompliance:                c.compliance(),
			ResponseMinutesMedian:        copyOf(c.minutes.median),
			Accepted:                     c.accepted,
			Rejected:                     c.rejected,
			Activities:                   rf.acts,
			OpportunitiesCreated:         rf.opps,
			PipelineCreated:              rf.pipeline,
			WonDeals:                     rf.won,
			WonRevenue:                   rf.revenue,
		}
		active := row.MQLsAssigned > 0 || row.Activities > 0 || row.OpportunitiesCreated > 0 || row.WonDeals > 0
		if mb.Active || active {
			out = append(out, row)
		}
	}
	slices.SortFunc(out, func(a, b RepRow) int { return strings.Compare(a.RepID, b.RepID) })
	return out
}

func (e *engine) byCampaign() []CampaignRow {
	rows := make(map[string]*CampaignRow, len(e.f.Campaigns))
	present := map[string]bool{}
	for _, c := range e.f.Campaigns {
		row := &CampaignRow{CampaignID: c.ID, Name: c.Name, Channel: c.Channel, LifetimeMQLs: c.LifetimeMQLs, OwnerID: c.OwnerID}
		if strings.TrimSpace(row.Channel) == "" {
			row.Channel = "unknown"
		}
		if c.CostKnown {
			cost := c.Cost
			row.Cost = &cost
		}
		rows[c.ID] = row
	}
	for id, n := range e.r.campaignLeads {
		if row := rows[id]; row != nil {
			row.LeadsCreated += n
			present[id] = true
		}
	}
	reasons := map[string]map[string]int{}
	for id, c := range e.r.campaignMQLs {
		row := rows[id]
		if row == nil {
			continue
		}
		row.MQLs += c.mqls
		row.Accepted += c.accepted
		row.Rejected += c.rejected
		present[id] = true
		reasons[id] = c.reasons
	}
	for id, o := range e.r.campaignOpps {
		if row := rows[id]; row != nil {
			row.OpportunitiesCreated += o.created
			row.PipelineCreated += o.pipeline
			row.WonRevenue += o.revenue
			present[id] = true
		}
	}
	for id, amount := range e.r.wins {
		if row := rows[id]; row != nil {
			row.LifetimeWonRevenue += amount
		}
	}
	out := make([]CampaignRow, 0, len(present))
	for id := range present {
		row := rows[id]
		if row.Cost != nil && *row.Cost != 0 {
			roi := (row.LifetimeWonRevenue.Float() - row.Cost.Float()) / row.Cost.Float()
			row.ROI = &roi
		}
		row.RejectionReasons = sortedReasons(reasons[id])
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b CampaignRow) int { return strings.Compare(a.CampaignID, b.CampaignID) })
	return out
}

func (e *engine) backlog() []BacklogItem {
	asOf := e.in.AsOf
	out := make([]BacklogItem, 0, len(e.r.backlog))
	for _, m := range e.r.backlog { // sorted by mql_at, then lead id
		item := BacklogItem{
			LeadID:      m.id,
			MQLAt:       Instant(m.at),
			AgeHours:    asOf.Sub(m.at).Hours(),
			DueAt:       Instant(m.due),
			SLABreached: !m.due.After(asOf),
			Name:        m.name,
			Company:     m.company,
		}
		if m.owner != "" {
			owner := m.owner
			item.OwnerID = &owner
		}
		out = append(out, item)
	}
	return out
}

func (e *engine) dataHealth() DataHealth {
	d := DataHealth{
		LeadsMQLBeforeCreated:   e.f.LeadsMQLBeforeCreated,
		FutureActivitiesIgnored: e.f.FutureActivities,
		ActivitiesUnknownLead:   e.r.unknownLead,
		LatestLeadCreatedAt:     instantOrNil(e.f.LatestLeadCreatedAt),
		LatestActivityAt:        instantOrNil(e.f.LatestActivityAt),
	}
	for _, g := range e.r.activities {
		if !g.Previous && Normalize(g.Team) == Other {
			d.ActivitiesUnknownTeam += g.Count
		}
	}
	d.OpportunitiesNegativeAmount = e.r.opps[current].negative
	return d
}

func (e *engine) trend() []TrendPoint {
	out := make([]TrendPoint, 0, TrendLength)
	for i, p := range e.in.Period.Trend(TrendLength) {
		c := e.r.trend[i]
		out = append(out, TrendPoint{
			Label:                    p.Label(),
			MQLs:                     c.mqls,
			SLACompliance:            ratio(c.met, c.met+c.breached),
			AcceptanceRate:           ratio(c.accepted, c.accepted+c.rejected),
			PipelineCreatedTotal:     c.pipeline,
			PipelineCreatedMarketing: c.pipelineMarketing,
			WonRevenueTotal:          c.won,
		})
	}
	return out
}

// names are the names of team members and campaigns by id, for the
// detail's rows.
type names struct{ members, campaigns map[string]string }

func (e *engine) names() names {
	n := names{members: make(map[string]string, len(e.f.Members)), campaigns: make(map[string]string, len(e.f.Campaigns))}
	for _, mb := range e.f.Members {
		n.members[mb.ID] = mb.Name
	}
	for _, c := range e.f.Campaigns {
		n.campaigns[c.ID] = c.Name
	}
	return n
}

func (e *engine) detail(n names) []MQLRow {
	out := make([]MQLRow, 0, len(e.r.detail))
	for i := range e.r.detail {
		out = append(out, n.row(&e.r.detail[i]))
	}
	return out
}

// row is m as a row of the MQL detail.
func (n names) row(m *mql) MQLRow {
	row := MQLRow{
		LeadID:          m.id,
		MQLAt:           m.at,
		Source:          m.source,
		OwnerID:         m.owner,
		OwnerName:       n.members[m.owner],
		CampaignID:      m.campaign,
		CampaignName:    n.campaigns[m.campaign],
		Name:            m.name,
		Company:         m.company,
		DueAt:           m.due,
		SLA:             m.sla,
		Decision:        m.decision,
		RejectionReason: strings.TrimSpace(m.reason),
		SQLAt:           m.sqlAt,
	}
	if m.responded {
		minutes := m.response.Minutes()
		row.ResponseMinutes = &minutes
		if m.worked >= 0 {
			working := m.worked.Minutes()
			row.ResponseWorkingMinutes = &working
		}
	}
	return row
}

func (b *BySource) add(source string) {
	switch source {
	case Marketing:
		b.Marketing++
	case Sales:
		b.Sales++
	default:
		b.Other++
	}
}

func (b *MoneyBySource) add(source string, m Money) {
	switch source {
	case Marketing:
		b.Marketing += m
	case Sales:
		b.Sales += m
	default:
		b.Other += m
	}
	b.Total += m
}

func (b *ByTeam) add(team string, n int) {
	switch team {
	case Marketing:
		b.Marketing += n
	case Sales:
		b.Sales += n
	default:
		b.Other += n
	}
}

func instantOrNil(t time.Time) *Instant {
	if t.IsZero() {
		return nil
	}
	i := Instant(t)
	return &i
}

// ratio is a/b, or nil (null) when b is 0.
func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	r := float64(a) / float64(b)
	return &r
}

func moneyRatio(a, b Money) *float64 {
	if b == 0 {
		return nil
	}
	r := float64(a) / float64(b)
	return &r
}

func capOne(v *float64) *float64 {
	if v == nil {
		return nil
	}
	c := math.Min(1, *v)
	return &c
}

// percentile interpolates linearly between the closest ranks, like
// PostgreSQL's percentile_cont; nil for no values.
func percentile(values []float64, p float64) *float64 {
	v := slices.Clone(values)
	slices.Sort(v)
	return percentileSorted(v, p)
}

// percentileSorted is percentile over values already in ascending order.
func percentileSorted(v []float64, p float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	lo, hi, frac := ranks(len(v), p)
	return between(v[lo], v[hi], frac)
}

// ranks are the two closest 0-based ranks that percentile p of n values
// lies between, and how far from lo towards hi it lies.
func ranks(n int, p float64) (lo, hi int, frac float64) {
	pos := p * float64(n-1)
	lo, hi = int(math.Floor(pos)), int(math.Ceil(pos))
	return lo, hi, pos - float64(lo)
}

// between is the value frac of the way from the value at rank lo to the
// value at rank hi.
func between(lo, hi, frac float64) *float64 {
	r := lo + (hi-lo)*frac
	return &r
}

// copyOf is a pointer to a copy of *p, or nil: snapshots computed from
// the same facts share nothing.
func copyOf(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
