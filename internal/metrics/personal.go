package metrics

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// The personal digests give each person their own slice of one snapshot:
// a sales rep their follow-up backlog, their MQLs and their numbers beside
// the team's; a campaign owner their campaigns. A slice holds only that
// person's rows (no other rep's leads), and every number in it is one of
// the snapshot's, so a personal digest ties out with the team's.

// Person names the reader of a personal digest.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PersonalHeader is what every personal slice says about its snapshot.
type PersonalHeader struct {
	Period      PeriodInfo `json:"period"`
	AsOf        Instant    `json:"as_of"`
	Partial     bool       `json:"partial"`
	SLAHours    float64    `json:"sla_hours"`
	SLACalendar *string    `json:"sla_calendar"`
}

// RepDigest is one sales rep's slice of a snapshot, in the order the rep's
// digest shows it.
type RepDigest struct {
	PersonalHeader
	Rep Person `json:"rep"`
	// Backlog is the rep's part of followup_backlog, oldest first.
	Backlog []PersonalLead `json:"followup_backlog"`
	// MQLs are the rep's MQLs of the period, oldest first.
	MQLs []RepMQL `json:"mqls"`
	// Numbers is the rep's by_rep row (zero when the rep has none).
	Numbers RepRow `json:"numbers"`
	// Compared puts the rep's numbers beside the team's.
	Compared []Comparison `json:"compared"`
	// ByCampaign is what marketing sent the rep: their MQLs of the period
	// by campaign, most first.
	ByCampaign []RepCampaign `json:"mqls_by_campaign"`
}

// PersonalLead is a backlog lead as its owner sees it.
type PersonalLead struct {
	LeadID      string  `json:"lead_id"`
	Name        string  `json:"name,omitempty"`
	Company     string  `json:"company,omitempty"`
	MQLAt       Instant `json:"mql_at"`
	DueAt       Instant `json:"due_at"`
	AgeHours    float64 `json:"age_hours"`
	SLABreached bool    `json:"sla_breached"`
}

// RepMQL is one of the rep's MQLs of the period.
type RepMQL struct {
	LeadID          string   `json:"lead_id"`
	Name            string   `json:"name,omitempty"`
	Company         string   `json:"company,omitempty"`
	MQLAt           Instant  `json:"mql_at"`
	DueAt           Instant  `json:"due_at"`
	CampaignID      string   `json:"campaign_id,omitempty"`
	CampaignName    string   `json:"campaign_name,omitempty"`
	SLA             string   `json:"sla"`
	ResponseMinutes *float64 `json:"response_minutes"`
	Decision        string   `json:"decision"`
	RejectionReason string   `json:"rejection_reason,omitempty"` // only of a rejected MQL
}

// Comparison is one of a rep's numbers beside the team's: the median of
// the active reps (those with anything in the period) that have a value,
// and the rep's rank among them, 1 the best (0 when the rep has no value
// or was not active). Better says which way is better: +1 up, -1 down.
type Comparison struct {
	Key        string   `json:"key"`
	Value      *float64 `json:"value"`
	TeamMedian *float64 `json:"team_median"`
	Rank       int      `json:"rank"`
	Of         int      `json:"of"`
	Better     int      `json:"better"`
}

// RepCampaign is the rep's MQLs of one campaign.
type RepCampaign struct {
	CampaignID string `json:"campaign_id"`
	Name       string `json:"name"`
	MQLs       int    `json:"mqls"`
	Accepted   int    `json:"accepted"`
	Rejected   int    `json:"rejected"`
}

// Empty reports whether the rep has nothing due and nothing in the
// period: no backlog, no MQL, no activity, no opportunity, no win.
func (d *RepDigest) Empty() bool {
	n := d.Numbers
	return len(d.Backlog) == 0 && len(d.MQLs) == 0 && n.MQLsAssigned == 0 && n.Activities == 0 &&
		n.OpportunitiesCreated == 0 && n.WonDeals == 0
}

// Overdue counts the rep's backlog leads past their SLA.
func (d *RepDigest) Overdue() int {
	n := 0
	for _, l := range d.Backlog {
		if l.SLABreached {
			n++
		}
	}
	return n
}

// OwnerDigest is one campaign owner's slice of a snapshot.
type OwnerDigest struct {
	PersonalHeader
	Owner Person `json:"owner"`
	// Campaigns are the owner's by_campaign rows, by campaign id.
	Campaigns []CampaignRow `json:"campaigns"`
	Totals    OwnerTotals   `json:"totals"`
	// RejectionReasons are the reasons over all the owner's campaigns.
	RejectionReasons []ReasonCount `json:"rejection_reasons"`
	// FollowUp is how fast sales followed each campaign's MQLs up.
	FollowUp []CampaignFollowUp `json:"follow_up"`
}

// OwnerTotals adds up the owner's campaigns.
type OwnerTotals struct {
	LeadsCreated         int      `json:"leads_created"`
	MQLs                 int      `json:"mqls"`
	Accepted             int      `json:"accepted"`
	Rejected             int      `json:"rejected"`
	AcceptanceRate       *float64 `json:"acceptance_rate"`
	OpportunitiesCreated int      `json:"opportunities_created"`
	PipelineCreated      Money    `json:"pipeline_created"`
	WonRevenue           Money    `json:"won_revenue"`
	SLACompliance        *float64 `json:"sla_compliance"`
}

// CampaignFollowUp is how sales answered one campaign's MQLs of the
// period, as sla_compliance and response_minutes_median define it.
type CampaignFollowUp struct {
	CampaignID            string   `json:"campaign_id"`
	Name                  string   `json:"name"`
	MQLs                  int      `json:"mqls"`
	SLAMet                int      `json:"sla_met"`
	SLABreached           int      `json:"sla_breached"`
	SLAPending            int      `json:"sla_pending"`
	SLACompliance         *float64 `json:"sla_compliance"`
	ResponseMinutesMedian *float64 `json:"response_minutes_median"`
}

// Empty reports whether none of the owner's campaigns had anything in the
// period.
func (d *OwnerDigest) Empty() bool { return len(d.Campaigns) == 0 }

// Personal indexes a snapshot by person once, so that the digests of a
// thousand reps read the snapshot once rather than once each.
type Personal struct {
	s        *Snapshot
	header   PersonalHeader
	backlog  map[string][]int // owner → indexes into FollowupBacklog
	mqls     map[string][]MQLRow
	campaign map[string][]MQLRow // campaign → its MQLs of the period
	owned    map[string][]int    // campaign owner → indexes into ByCampaign
	rep      map[string]int      // rep id → index into ByRep
	team     []teamValues
}

// teamValues are one compared number over the active reps.
type teamValues struct {
	key    string
	better int
	value  func(r *RepRow) *float64
	sorted []float64 // ascending
	median *float64
}

// comparedNumbers are the numbers a rep sees beside the team's, in order.
func comparedNumbers() []teamValues {
	f := func(n int) *float64 { v := float64(n); return &v }
	return []teamValues{
		{key: "mqls_assigned", better: 0, value: func(r *RepRow) *float64 { return f(r.MQLsAssigned) }},
		{key: "sla_compliance", better: 1, value: func(r *RepRow) *float64 { return r.SLACompliance }},
		{key: "response_minutes_median", better: -1, value: func(r *RepRow) *float64 { return r.ResponseMinutesMedian }},
		{key: "acceptance_rate", better: 1, value: func(r *RepRow) *float64 { return ratio(r.Accepted, r.Accepted+r.Rejected) }},
		{key: "activities", better: 1, value: func(r *RepRow) *float64 { return f(r.Activities) }},
		{key: "pipeline_created", better: 1, value: func(r *RepRow) *float64 { v := r.PipelineCreated.Float(); return &v }},
		{key: "won_revenue", better: 1, value: func(r *RepRow) *float64 { v := r.WonRevenue.Float(); return &v }},
	}
}

// activeRep reports whether a rep had anything in the period.
func activeRep(r *RepRow) bool {
	return r.MQLsAssigned > 0 || r.Activities > 0 || r.OpportunitiesCreated > 0 || r.WonDeals > 0
}

// NewPersonal indexes s for its personal digests. It reads the period's
// MQL detail once (Snapshot.MQLDetail: held, or read again from the
// source's snapshot), grouped by owner and campaign; ctx bounds that read.
func NewPersonal(ctx context.Context, s *Snapshot) (*Personal, error) {
	p := &Personal{
		s: s,
		header: PersonalHeader{Period: s.Period, AsOf: s.AsOf, Partial: s.Partial, SLAHours: s.SLAHours,
			SLACalendar: s.SLACalendar},
		backlog:  map[string][]int{},
		mqls:     map[string][]MQLRow{},
		campaign: map[string][]MQLRow{},
		owned:    map[string][]int{},
		rep:      map[string]int{},
	}
	for i, b := range s.FollowupBacklog {
		if b.OwnerID != nil {
			p.backlog[*b.OwnerID] = append(p.backlog[*b.OwnerID], i)
		}
	}
	for r, err := range s.MQLDetail(ctx) {
		if err != nil {
			return nil, err
		}
		if r.OwnerID != "" {
			p.mqls[r.OwnerID] = append(p.mqls[r.OwnerID], r)
		}
		if r.CampaignID != "" {
			p.campaign[r.CampaignID] = append(p.campaign[r.CampaignID], r)
		}
	}
	for i, c := range s.ByCampaign {
		if c.OwnerID != "" {
			p.owned[c.OwnerID] = append(p.owned[c.OwnerID], i)
		}
	}
	for i := range s.ByRep {
		p.rep[s.ByRep[i].RepID] = i
	}
	p.team = comparedNumbers()
	for k := range p.team {
		t := &p.team[k]
		for i := range s.ByRep {
			r := &s.ByRep[i]
			if v := t.value(r); v != nil && activeRep(r) {
				t.sorted = append(t.sorted, *v)
			}
		}
		slices.Sort(t.sorted)
		t.median = percentileSorted(t.sorted, 0.5)
	}
	return p, nil
}

// Rep is the digest of the sales rep id (name as team_members has it).
func (p *Personal) Rep(id, name string) *RepDigest {
	d := &RepDigest{PersonalHeader: p.header, Rep: Person{ID: id, Name: name},
		Backlog: []PersonalLead{}, MQLs: []RepMQL{}, Compared: []Comparison{}, ByCampaign: []RepCampaign{}}
	for _, i := range p.backlog[id] {
		b := p.s.FollowupBacklog[i]
		d.Backlog = append(d.Backlog, PersonalLead{LeadID: b.LeadID, Name: b.Name, Company: b.Company,
			MQLAt: b.MQLAt, DueAt: b.DueAt, AgeHours: b.AgeHours, SLABreached: b.SLABreached})
	}
	byCampaign := map[string]*RepCampaign{}
	for _, r := range p.mqls[id] {
		d.MQLs = append(d.MQLs, RepMQL{LeadID: r.LeadID, Name: r.Name, Company: r.Company, MQLAt: Instant(r.MQLAt),
			DueAt: Instant(r.DueAt), CampaignID: r.CampaignID, CampaignName: r.CampaignName, SLA: r.SLA,
			ResponseMinutes: r.ResponseMinutes, Decision: r.Decision})
		if r.Decision == DecisionRejected {
			d.MQLs[len(d.MQLs)-1].RejectionReason = cmp.Or(r.RejectionReason, UnspecifiedReason)
		}
		c := byCampaign[r.CampaignID]
		if c == nil {
			c = &RepCampaign{CampaignID: r.CampaignID, Name: r.CampaignName}
			byCampaign[r.CampaignID] = c
		}
		c.MQLs++
		switch r.Decision {
		case DecisionAccepted:
			c.Accepted++
		case DecisionRejected:
			c.Rejected++
		}
	}
	for _, c := range byCampaign {
		d.ByCampaign = append(d.ByCampaign, *c)
	}
	slices.SortFunc(d.ByCampaign, func(a, b RepCampaign) int {
		return cmp.Or(cmp.Compare(b.MQLs, a.MQLs), strings.Compare(a.CampaignID, b.CampaignID))
	})
	i, ok := p.rep[id]
	if ok {
		d.Numbers = p.s.ByRep[i]
	} else {
		d.Numbers = RepRow{RepID: id, Name: name}
	}
	active := ok && activeRep(&d.Numbers)
	for _, t := range p.team {
		c := Comparison{Key: t.key, Value: t.value(&d.Numbers), TeamMedian: t.median, Better: t.better, Of: len(t.sorted)}
		if c.Value != nil && active {
			c.Rank = rank(t.sorted, *c.Value, t.better)
		}
		d.Compared = append(d.Compared, c)
	}
	return d
}

// rank is 1 plus the number of values strictly better than v; for a number
// with no better direction, more ranks first.
func rank(sorted []float64, v float64, better int) int {
	lo, _ := slices.BinarySearch(sorted, v) // values below v: sorted[:lo]
	hi := lo
	for hi < len(sorted) && sorted[hi] == v {
		hi++
	}
	if better < 0 {
		return lo + 1
	}
	return len(sorted) - hi + 1
}

// CampaignOwner is the digest of the owner id of campaigns.
func (p *Personal) CampaignOwner(id, name string) *OwnerDigest {
	d := &OwnerDigest{PersonalHeader: p.header, Owner: Person{ID: id, Name: name},
		Campaigns: []CampaignRow{}, FollowUp: []CampaignFollowUp{}}
	reasons := map[string]int{}
	var met, breached int
	for _, i := range p.owned[id] {
		c := p.s.ByCampaign[i]
		d.Campaigns = append(d.Campaigns, c)
		t := &d.Totals
		t.LeadsCreated += c.LeadsCreated
		t.MQLs += c.MQLs
		t.Accepted += c.Accepted
		t.Rejected += c.Rejected
		t.OpportunitiesCreated += c.OpportunitiesCreated
		t.PipelineCreated += c.PipelineCreated
		t.WonRevenue += c.WonRevenue
		for _, r := range c.RejectionReasons {
			reasons[r.Reason] += r.Count
		}
		f := CampaignFollowUp{CampaignID: c.CampaignID, Name: c.Name}
		var minutes []float64
		for _, m := range p.campaign[c.CampaignID] {
			f.MQLs++
			switch m.SLA {
			case SLAMet:
				f.SLAMet++
			case SLABreached:
				f.SLABreached++
			default:
				f.SLAPending++
			}
			if m.ResponseMinutes != nil {
				minutes = append(minutes, *m.ResponseMinutes)
			}
		}
		met, breached = met+f.SLAMet, breached+f.SLABreached
		f.SLACompliance = ratio(f.SLAMet, f.SLAMet+f.SLABreached)
		f.ResponseMinutesMedian = percentile(minutes, 0.5)
		d.FollowUp = append(d.FollowUp, f)
	}
	d.Totals.AcceptanceRate = ratio(d.Totals.Accepted, d.Totals.Accepted+d.Totals.Rejected)
	d.Totals.SLACompliance = ratio(met, met+breached)
	d.RejectionReasons = sortedReasons(reasons)
	return d
}
