package seed

// activity is one activities row before it gets its id. Text fields hold
// values boxed once (constants, or ids boxed when the team and campaigns were
// built), so that handing ten million of them to a sink allocates nothing.
type activity struct {
	at       int64
	team     any
	actor    any // nil is NULL
	kind     any
	lead     int8 // leadSelf, leadNone or leadUnknown
	opp      bool
	campaign int // -1: NULL
}

const (
	leadSelf    = iota // lead_id is the lead's id
	leadNone           // lead_id is NULL
	leadUnknown        // lead_id names a lead that does not exist
)

func (g *generator) add(a activity) {
	if a.at <= g.end {
		g.acts = append(g.acts, a)
	}
}

// sales is a sales touch; a few carry the team spelled the way a CRM export
// sometimes does (still sales once normalised).
func (g *generator) sales(r *rng, at int64, rep int, kind any, lead int8, opp bool) {
	var team any = "sales"
	if u := r.float(); u < 0.006 {
		team = " Sales"
		if u < 0.002 {
			team = "SALES"
		}
	}
	g.add(activity{at: at, team: team, actor: g.reps[rep].idv, kind: kind, lead: lead, opp: opp, campaign: -1})
}

// activities draws lead i's touches from a stream of its own (separate from
// the lead's, so the leads and opportunities passes never pay for them) and
// leaves them in g.acts in time order.
func (g *generator) activities(i int, s *story) {
	g.acts = g.acts[:0]
	r := &g.ar
	r.mix(g.opts.Seed, i, 2)
	end := g.end

	// Marketing: the touch that created the lead, nurture until the MQL, and
	// the touch that qualified it.
	if s.campaign >= 0 || s.src == srcMarketing || r.chance(0.3) {
		kinds := g.v.nurtureKinds
		actor := g.marketers[r.intn(len(g.marketers))].idv
		if s.campaign >= 0 {
			c := &g.campaigns[s.campaign]
			kinds = g.channels[c.channel].touches
			actor = g.marketers[c.owner].idv
		}
		horizon := s.created + 45*day
		if s.mql > s.created {
			horizon = s.mql
		}
		camp := func() int {
			if s.campaign >= 0 && r.chance(0.85) {
				return s.campaign
			}
			return -1
		}
		g.add(activity{at: s.created, team: "marketing", actor: actor, kind: kinds[r.intn(len(kinds))], campaign: camp()})
		n := 3 + r.intn(6)
		if s.mql != 0 {
			n += 2
		}
		for range n {
			at := workTime(s.created+r.between(minute, horizon-s.created), r)
			g.add(activity{at: at, team: "marketing", actor: actor, kind: kinds[r.intn(len(kinds))], campaign: camp()})
		}
		if s.mql != 0 {
			g.add(activity{at: s.mql, team: "marketing", actor: actor, kind: kinds[r.intn(len(kinds))], campaign: camp()})
			for range r.intn(4) {
				at := workTime(s.mql+r.between(hour, 40*day), r)
				g.add(activity{at: at, team: "marketing", actor: actor, kind: g.v.nurtureKinds[r.intn(len(g.v.nurtureKinds))], campaign: camp()})
			}
		}
	}

	// Sales-sourced leads are prospected before they qualify; those touches
	// come before the MQL and do not count as a response.
	rep := s.owner
	if rep < 0 {
		rep = g.activeRep(r, s.created)
	}
	if s.src == srcSales {
		horizon := s.created + 14*day
		if s.mql != 0 {
			horizon = s.mql - minute
		}
		for range 1 + r.intn(4) {
			at := workTime(s.created+r.between(0, max(horizon-s.created, 0)), r)
			if s.mql != 0 && at >= s.mql {
				continue
			}
			g.sales(r, at, rep, "prospecting", leadSelf, false)
		}
	}

	// The sales response and the conversation after it.
	if s.resp != 0 {
		rep := s.responder
		at := s.resp
		if s.respByDecision {
			at = workTime(s.resp+r.between(hour, 3*day), r)
		}
		if !(s.respByDecision && s.rejected != 0 && s.accepted == 0) {
			g.sales(r, at, rep, g.v.salesKinds[r.intn(len(g.v.salesKinds))], leadSelf, false)
		}
		n := 0
		switch {
		case s.accepted != 0:
			n = 4 + r.intn(7)
		case s.rejected != 0:
			n = r.intn(2)
		default:
			n = 1 + r.intn(3)
		}
		for range n {
			at = workTime(at+int64(min(r.lognorm(3*day, 0.8), 30*day)), r)
			g.sales(r, at, rep, g.v.followKinds[r.intn(len(g.v.followKinds))], leadSelf, false)
		}
	}

	// Work on the deal: sales meetings until it closes, and now and then a
	// case study from marketing that influences it.
	if s.opp {
		lead := int8(leadSelf)
		if s.oppNoLead {
			lead = leadNone
		}
		stop := s.oppClosed
		if stop == 0 {
			stop = end
		}
		at := s.oppCreated
		for range 3 + r.intn(8) {
			at = workTime(at+r.between(hour, max((stop-s.oppCreated)/4, 2*hour)), r)
			if at > stop {
				break
			}
			g.sales(r, at, s.oppOwner, g.v.oppKinds[r.intn(len(g.v.oppKinds))], lead, true)
		}
		if r.chance(0.35) {
			at := s.oppCreated - r.between(0, 60*day)
			g.add(activity{at: at, team: "marketing", actor: g.marketers[r.intn(len(g.marketers))].idv,
				kind: "case_study_shared", lead: leadNone, opp: true, campaign: -1})
		}
	}

	// Campaign-wide work that belongs to no lead: sends, webinars, posts.
	for range r.intn(3) {
		c := s.campaign
		if c < 0 {
			c = g.campaignAt(r, s.created)
		}
		if c < 0 {
			break
		}
		at := max(workTime(s.created-r.between(0, 7*day), r), g.campaigns[c].launch)
		g.add(activity{at: at, team: "marketing", actor: g.marketers[g.campaigns[c].owner].idv,
			kind: g.v.broadcastKinds[r.intn(len(g.v.broadcastKinds))], lead: leadNone, campaign: c})
	}

	// What real data also holds: a touch from a team that is neither sales
	// nor marketing, one on a lead that was deleted, and meetings booked
	// in the future.
	if r.chance(0.004) {
		var kind, team, actor any = "co_selling", "partners", g.partner.idv
		if r.chance(0.5) {
			kind, team, actor = "support_ticket", "support", nil
		}
		g.add(activity{at: workTime(s.created+r.between(hour, 20*day), r), team: team, actor: actor, kind: kind, campaign: -1})
	}
	if r.chance(0.003) {
		g.add(activity{at: s.created + r.between(minute, 10*day), team: "marketing",
			actor: g.marketers[r.intn(len(g.marketers))].idv, kind: "email_open", lead: leadUnknown, campaign: -1})
	}
	if s.created >= end-30*day && r.chance(0.006) {
		g.acts = append(g.acts, activity{at: end + r.between(hour, 14*day), team: "sales", actor: g.reps[rep].idv,
			kind: "meeting", opp: s.opp, campaign: -1})
	}

	// Insertion sort: a lead has a few dozen touches at most.
	a := g.acts
	for j := 1; j < len(a); j++ {
		for k := j; k > 0 && a[k].at < a[k-1].at; k-- {
			a[k], a[k-1] = a[k-1], a[k]
		}
	}
}
