package metrics

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/period"
)

// TrendLength is the number of periods in the trend, ending with the
// report's period.
const TrendLength = 12

// The fixed look-back windows of METRICS.md.
const (
	InfluenceWindow = 90 * 24 * time.Hour // marketing touch before an opportunity
	BacklogWindow   = 30 * 24 * time.Hour // MQLs in the follow-up backlog
)

// offsetLayout is RFC 3339 with a numeric offset even for UTC
// (2026-10-01T00:00:00+00:00), as the snapshot JSON writes period bounds.
const offsetLayout = "2006-01-02T15:04:05-07:00"

// Input says which snapshot to compute.
type Input struct {
	Period    period.Period
	AsOf      time.Time
	SLAHours  float64
	MQLTarget *int // for this period kind; nil without a target
}

func (in Input) sla() time.Duration {
	return time.Duration(in.SLAHours * float64(time.Hour))
}

// Plan returns the time windows the source must read for in.
func Plan(in Input) Windows {
	p, prev := in.Period, in.Period.Previous()
	trend := in.Period.Shift(1 - TrendLength)
	return Windows{
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

func in(r Range, t, asOf time.Time) bool {
	return seen(t, asOf) && !t.Before(r.From) && t.Before(r.To)
}

// mql is a lead of an MQL cohort with its derived response and decision.
type mql struct {
	*Lead
	responseAt time.Time // zero: no response
	sla        string
	decision   string
}

// engine holds the facts indexed for one computation.
type engine struct {
	in      Input
	f       *Facts
	mqls    []mql // every MQL fact, sorted by mql_at then id
	touched map[string]bool
}

// Compute returns the snapshot of in from f.
func Compute(in Input, f *Facts) *Snapshot {
	e := &engine{in: in, f: f}
	e.index()
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
		SLAHours: in.SLAHours,
		Span:     p,
	}
	s.Headline = e.headline(p, false)
	s.Previous = Previous{Headline: e.headline(prev, true), Label: prev.Label()}
	s.RejectionReasons = e.rejectionReasons(p)
	s.ByRep = e.byRep(p)
	s.ByCampaign = e.byCampaign(p)
	s.FollowupBacklog = e.backlog()
	s.DataHealth = e.dataHealth(p)
	for _, tp := range p.Trend(TrendLength) {
		s.Trend = append(s.Trend, e.trendPoint(tp))
	}
	s.Detail = e.detail(p)
	return s
}

// index derives each MQL's response and decision once.
func (e *engine) index() {
	asOf := e.in.AsOf
	first := map[string]time.Time{}
	for _, t := range e.f.FirstTouches {
		if Normalize(t.Team) != Sales {
			continue
		}
		if cur, ok := first[t.Ref]; !ok || t.At.Before(cur) {
			first[t.Ref] = t.At
		}
	}
	seenID := map[string]bool{}
	for i := range e.f.MQLs {
		l := &e.f.MQLs[i]
		if seenID[l.ID] || !seen(l.MQLAt, asOf) {
			continue
		}
		seenID[l.ID] = true
		m := mql{Lead: l}
		// response_at: the earliest sales touch, acceptance or rejection
		// stamped in [mql_at, as_of]. Touches before the MQL do not count.
		for _, t := range []time.Time{first[l.ID], l.AcceptedAt, l.RejectedAt} {
			if seen(t, asOf) && !t.Before(l.MQLAt) && (m.responseAt.IsZero() || t.Before(m.responseAt)) {
				m.responseAt = t
			}
		}
		due := l.MQLAt.Add(e.in.sla())
		switch {
		case !m.responseAt.IsZero() && !m.responseAt.After(due):
			m.sla = SLAMet
		case !m.responseAt.IsZero() || !due.After(asOf):
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
		e.mqls = append(e.mqls, m)
	}
	slices.SortFunc(e.mqls, func(a, b mql) int {
		return cmp.Or(a.MQLAt.Compare(b.MQLAt), strings.Compare(a.ID, b.ID))
	})
}

// cohort returns the MQLs whose mql_at is in p.
func (e *engine) cohort(p period.Period) []mql {
	lo, _ := slices.BinarySearchFunc(e.mqls, p.Start, func(m mql, t time.Time) int { return m.MQLAt.Compare(t) })
	hi, _ := slices.BinarySearchFunc(e.mqls, p.End, func(m mql, t time.Time) int { return m.MQLAt.Compare(t) })
	return e.mqls[lo:hi]
}

// cohortStats are the numbers METRICS.md defines over a set of MQLs.
type cohortStats struct {
	n, met, breached, pending, untouched  int
	accepted, rejected, undecided, sqlNow int
	unassigned                            int
	minutes                               []float64
}

func (e *engine) stats(c []mql) cohortStats {
	var s cohortStats
	s.n = len(c)
	for _, m := range c {
		switch m.sla {
		case SLAMet:
			s.met++
		case SLABreached:
			s.breached++
		default:
			s.pending++
		}
		if m.responseAt.IsZero() {
			s.untouched++
		} else {
			s.minutes = append(s.minutes, m.responseAt.Sub(m.MQLAt).Minutes())
		}
		switch m.decision {
		case DecisionAccepted:
			s.accepted++
		case DecisionRejected:
			s.rejected++
		default:
			s.undecided++
		}
		if seen(m.SQLAt, e.in.AsOf) {
			s.sqlNow++
		}
		if strings.TrimSpace(m.OwnerID) == "" {
			s.unassigned++
		}
	}
	return s
}

func (s cohortStats) compliance() *float64 { return ratio(s.met, s.met+s.breached) }
func (s cohortStats) acceptance() *float64 { return ratio(s.accepted, s.accepted+s.rejected) }

// opportunities returns the opportunities created (closed: false) or closed
// (closed: true) in p.
func (e *engine) opportunities(p period.Period, closed bool) []*Opportunity {
	var out []*Opportunity
	r := Range{p.Start, p.End}
	for i := range e.f.Opportunities {
		o := &e.f.Opportunities[i]
		if closed && o.IsWon != nil && in(r, o.ClosedAt, e.in.AsOf) ||
			!closed && in(r, o.CreatedAt, e.in.AsOf) {
			out = append(out, o)
		}
	}
	return out
}

func (e *engine) headline(p period.Period, previous bool) Headline {
	asOf := e.in.AsOf
	r := Range{p.Start, p.End}
	var h Headline

	for i := range e.f.Created {
		l := &e.f.Created[i]
		if in(r, l.CreatedAt, asOf) {
			h.LeadsCreated++
			h.LeadsBySource.add(Normalize(l.Source))
		}
	}
	for _, t := range e.f.SQLs {
		if in(r, t, asOf) {
			h.SQLs++
		}
	}

	c := e.stats(e.cohort(p))
	h.MQLs = c.n
	if e.in.MQLTarget != nil {
		target := *e.in.MQLTarget
		h.MQLTarget = &target
		h.MQLTargetAttainment = ratio(c.n, target)
	}
	h.UnassignedMQLs = c.unassigned
	h.SLAMet, h.SLABreached, h.SLAPending = c.met, c.breached, c.pending
	h.SLACompliance = c.compliance()
	h.ResponseMinutesMedian = percentile(c.minutes, 0.5)
	h.ResponseMinutesP90 = percentile(c.minutes, 0.9)
	h.UntouchedMQLs = c.untouched
	h.Accepted, h.Rejected, h.DecisionPending = c.accepted, c.rejected, c.undecided
	h.AcceptanceRate = c.acceptance()
	h.DecisionRate = ratio(c.accepted+c.rejected, c.n)
	h.MQLToSQLRate = ratio(c.sqlNow, c.n)

	influenced := e.influenced(asOf)
	for _, o := range e.opportunities(p, false) {
		h.OpportunitiesCreated++
		h.PipelineCreated.add(Normalize(o.Source), o.Amount.positive())
		if influenced[o.ID] {
			h.MarketingInfluencedPipeline += o.Amount.positive()
		}
	}
	h.MarketingSourcedShare = moneyRatio(h.PipelineCreated.Marketing, h.PipelineCreated.Total)

	var won, lost BySource
	var cycles []float64
	for _, o := range e.opportunities(p, true) {
		src := Normalize(o.Source)
		if *o.IsWon {
			h.WonDeals++
			won.add(src)
			h.WonRevenue.add(src, o.Amount.positive())
			cycles = append(cycles, o.ClosedAt.Sub(o.CreatedAt).Seconds()/86400)
		} else {
			h.LostDeals++
			lost.add(src)
		}
	}
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
	h.SalesCycleDaysMedian = percentile(cycles, 0.5)

	for _, g := range e.f.Activities {
		if g.Previous == previous {
			h.Activities.add(Normalize(g.Team), g.Count)
		}
	}

	var parts []float64
	for _, v := range []*float64{h.SLACompliance, h.AcceptanceRate, capOne(h.MQLTargetAttainment), h.DecisionRate} {
		if v != nil {
			parts = append(parts, *v)
		}
	}
	if len(parts) > 0 {
		var sum float64
		for _, v := range parts {
			sum += v
		}
		score := math.Round(100*sum/float64(len(parts))*10) / 10
		h.AlignmentScore = &score
	}
	return h
}

// influenced returns the opportunities that have a marketing touch in
// [created_at - 90 days, created_at], at or before as_of.
func (e *engine) influenced(asOf time.Time) map[string]bool {
	created := map[string]time.Time{}
	for _, o := range e.f.Opportunities {
		created[o.ID] = o.CreatedAt
	}
	out := map[string]bool{}
	for _, t := range e.f.LastTouches {
		c, ok := created[t.Ref]
		if !ok || Normalize(t.Team) != Marketing || !seen(t.At, asOf) {
			continue
		}
		if !t.At.After(c) && !t.At.Before(c.Add(-InfluenceWindow)) {
			out[t.Ref] = true
		}
	}
	return out
}

func (e *engine) rejectionReasons(p period.Period) []ReasonCount {
	counts := map[string]int{}
	for _, m := range e.cohort(p) {
		if m.decision != DecisionRejected {
			continue
		}
		reason := strings.TrimSpace(m.RejectionReason)
		if reason == "" {
			reason = "unspecified"
		}
		counts[reason]++
	}
	out := make([]ReasonCount, 0, len(counts))
	for r, n := range counts {
		out = append(out, ReasonCount{Reason: r, Count: n})
	}
	slices.SortFunc(out, func(a, b ReasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Reason, b.Reason))
	})
	return out
}

func (e *engine) byRep(p period.Period) []RepRow {
	cohort := e.cohort(p)
	created := e.opportunities(p, false)
	closed := e.opportunities(p, true)
	out := []RepRow{}
	for _, mb := range e.f.Members {
		if Normalize(mb.Team) != Sales {
			continue
		}
		row := RepRow{RepID: mb.ID, Name: mb.Name}
		var own []mql
		for _, m := range cohort {
			if m.OwnerID == mb.ID {
				own = append(own, m)
			}
		}
		c := e.stats(own)
		row.MQLsAssigned = c.n
		row.SLAMet, row.SLABreached, row.SLAPending = c.met, c.breached, c.pending
		row.SLACompliance = c.compliance()
		row.ResponseMinutesMedian = percentile(c.minutes, 0.5)
		row.Accepted, row.Rejected = c.accepted, c.rejected
		for _, g := range e.f.Activities {
			if !g.Previous && g.ActorID == mb.ID && Normalize(g.Team) == Sales {
				row.Activities += g.Count
			}
		}
		for _, o := range created {
			if o.OwnerID == mb.ID {
				row.OpportunitiesCreated++
				row.PipelineCreated += o.Amount.positive()
			}
		}
		for _, o := range closed {
			if o.OwnerID == mb.ID && *o.IsWon {
				row.WonDeals++
				row.WonRevenue += o.Amount.positive()
			}
		}
		active := row.MQLsAssigned > 0 || row.Activities > 0 || row.OpportunitiesCreated > 0 || row.WonDeals > 0
		if mb.Active || active {
			out = append(out, row)
		}
	}
	slices.SortFunc(out, func(a, b RepRow) int { return strings.Compare(a.RepID, b.RepID) })
	return out
}

func (e *engine) byCampaign(p period.Period) []CampaignRow {
	asOf := e.in.AsOf
	r := Range{p.Start, p.End}
	rows := map[string]*CampaignRow{}
	present := map[string]bool{}
	for _, c := range e.f.Campaigns {
		row := &CampaignRow{CampaignID: c.ID, Name: c.Name, Channel: c.Channel, LifetimeMQLs: c.LifetimeMQLs}
		if strings.TrimSpace(row.Channel) == "" {
			row.Channel = "unknown"
		}
		if c.CostKnown {
			cost := c.Cost
			row.Cost = &cost
		}
		rows[c.ID] = row
	}
	for i := range e.f.Created {
		l := &e.f.Created[i]
		if row := rows[l.CampaignID]; row != nil && in(r, l.CreatedAt, asOf) {
			row.LeadsCreated++
			present[l.CampaignID] = true
		}
	}
	for _, m := range e.cohort(p) {
		if row := rows[m.CampaignID]; row != nil {
			row.MQLs++
			present[m.CampaignID] = true
		}
	}
	for _, o := range e.opportunities(p, false) {
		if row := rows[o.CampaignID]; row != nil {
			row.OpportunitiesCreated++
			row.PipelineCreated += o.Amount.positive()
			present[o.CampaignID] = true
		}
	}
	for _, o := range e.opportunities(p, true) {
		if row := rows[o.CampaignID]; row != nil && *o.IsWon {
			row.WonRevenue += o.Amount.positive()
			present[o.CampaignID] = true
		}
	}
	for _, w := range e.f.Wins {
		if row := rows[w.CampaignID]; row != nil {
			row.LifetimeWonRevenue += w.Amount.positive()
		}
	}
	out := []CampaignRow{}
	for id := range present {
		row := rows[id]
		if row.Cost != nil && *row.Cost != 0 {
			roi := (row.LifetimeWonRevenue.Float() - row.Cost.Float()) / row.Cost.Float()
			row.ROI = &roi
		}
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b CampaignRow) int { return strings.Compare(a.CampaignID, b.CampaignID) })
	return out
}

func (e *engine) backlog() []BacklogItem {
	asOf := e.in.AsOf
	from := asOf.Add(-BacklogWindow)
	out := []BacklogItem{}
	for _, m := range e.mqls { // sorted by mql_at, then lead id
		if m.MQLAt.Before(from) || m.MQLAt.After(asOf) || !m.responseAt.IsZero() {
			continue
		}
		item := BacklogItem{
			LeadID:      m.ID,
			MQLAt:       Instant(m.MQLAt),
			AgeHours:    asOf.Sub(m.MQLAt).Hours(),
			SLABreached: !m.MQLAt.Add(e.in.sla()).After(asOf),
		}
		if m.OwnerID != "" {
			owner := m.OwnerID
			item.OwnerID = &owner
		}
		out = append(out, item)
	}
	return out
}

func (e *engine) dataHealth(p period.Period) DataHealth {
	d := DataHealth{
		LeadsMQLBeforeCreated:   e.f.LeadsMQLBeforeCreated,
		FutureActivitiesIgnored: e.f.FutureActivities,
	}
	for _, g := range e.f.Activities {
		if g.Previous {
			continue
		}
		if Normalize(g.Team) == Other {
			d.ActivitiesUnknownTeam += g.Count
		}
		d.ActivitiesUnknownLead += g.UnknownLead
	}
	for _, o := range e.opportunities(p, false) {
		if o.Amount < 0 {
			d.OpportunitiesNegativeAmount++
		}
	}
	return d
}

func (e *engine) trendPoint(p period.Period) TrendPoint {
	c := e.stats(e.cohort(p))
	tp := TrendPoint{
		Label:          p.Label(),
		MQLs:           c.n,
		SLACompliance:  c.compliance(),
		AcceptanceRate: c.acceptance(),
	}
	for _, o := range e.opportunities(p, false) {
		tp.PipelineCreatedTotal += o.Amount.positive()
		if Normalize(o.Source) == Marketing {
			tp.PipelineCreatedMarketing += o.Amount.positive()
		}
	}
	for _, o := range e.opportunities(p, true) {
		if *o.IsWon {
			tp.WonRevenueTotal += o.Amount.positive()
		}
	}
	return tp
}

func (e *engine) detail(p period.Period) []MQLRow {
	names := map[string]string{}
	for _, mb := range e.f.Members {
		names[mb.ID] = mb.Name
	}
	campaigns := map[string]string{}
	for _, c := range e.f.Campaigns {
		campaigns[c.ID] = c.Name
	}
	cohort := e.cohort(p)
	out := make([]MQLRow, 0, len(cohort))
	for _, m := range cohort {
		row := MQLRow{
			LeadID:          m.ID,
			MQLAt:           m.MQLAt,
			Source:          Normalize(m.Source),
			OwnerID:         m.OwnerID,
			OwnerName:       names[m.OwnerID],
			CampaignID:      m.CampaignID,
			CampaignName:    campaigns[m.CampaignID],
			SLA:             m.sla,
			Decision:        m.decision,
			RejectionReason: strings.TrimSpace(m.RejectionReason),
		}
		if !m.responseAt.IsZero() {
			minutes := m.responseAt.Sub(m.MQLAt).Minutes()
			row.ResponseMinutes = &minutes
		}
		if seen(m.SQLAt, e.in.AsOf) {
			row.SQLAt = m.SQLAt
		}
		out = append(out, row)
	}
	return out
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
	if len(values) == 0 {
		return nil
	}
	v := slices.Clone(values)
	slices.Sort(v)
	pos := p * float64(len(v)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	r := v[lo] + (v[hi]-v[lo])*(pos-float64(lo))
	return &r
}
