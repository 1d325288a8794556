package seed

import (
	"math"

	"github.com/sameteam/sameteam/internal/metrics"
)

// Owner values besides a rep index.
const (
	ownerNull  = -1 // owner_id is NULL
	ownerEmpty = -2 // owner_id is the empty string
)

// Lead sources.
const (
	srcMarketing = iota
	srcSales
	srcPartner
)

// story is one lead's life: the lead row, its opportunity, and the facts the
// activities are drawn from. Times are unix seconds, 0 for none.
type story struct {
	created, mql, accepted, rejected, sql int64
	src                                   int
	source                                any // as written, with the CRM's odd spellings
	reason                                any
	reasonNull                            bool
	campaign                              int
	owner                                 int

	// resp is the first sales touch after the MQL (0: none); respByDecision
	// marks a response that is the accept or reject itself, with no touch.
	resp           int64
	respByDecision bool
	responder      int // rep index of the first touch

	opp                   bool
	oppCreated, oppClosed int64
	oppWon, oppNoLead     bool
	oppAmount             metrics.Money
	oppNullAmount         bool
	oppSource             any
	oppOwner              int
}

// lead draws lead i's story from its own stream, so every pass gets the same
// lead.
func (g *generator) lead(i int, s *story) {
	r := &g.lr
	r.mix(g.opts.Seed, i, 1)
	*s = story{campaign: -1, owner: ownerNull, oppOwner: ownerNull, responder: -1}
	s.created = g.cal.at(i, g.opts.Leads, r)

	switch u := r.float(); {
	case u < 0.7:
		s.src, s.source = srcMarketing, "marketing"
		if r.chance(0.03) {
			s.source = " Marketing"
		}
	case u < 0.89:
		s.src, s.source = srcSales, "sales"
		if r.chance(0.02) {
			s.source = "SALES"
		}
	default:
		s.src, s.source = srcPartner, "partner"
	}
	switch s.src {
	case srcMarketing:
		if r.chance(0.93) {
			s.campaign = g.campaignAt(r, s.created)
		}
	case srcPartner:
		if r.chance(0.35) {
			s.campaign = g.campaignAt(r, s.created)
		}
	default:
		if r.chance(0.06) {
			s.campaign = g.campaignAt(r, s.created)
		}
	}
	switch u := r.float(); {
	case u < 0.05:
		s.owner = ownerNull
	case u < 0.065:
		s.owner = ownerEmpty
	default:
		s.owner = g.ownerAt(r, s.created)
	}

	g.qualify(r, s)
	g.opportunity(r, s)
}

// qualify decides the MQL, the sales response, the accept or reject decision
// and the SQL.
func (g *generator) qualify(r *rng, s *story) {
	end := g.end
	pMQL := [...]float64{0.45, 0.34, 0.42}[s.src]
	if !r.chance(pMQL) {
		return
	}
	lagMedian := [...]float64{2.5 * day, 1 * day, 2 * day}[s.src]
	lag := int64(min(r.lognorm(lagMedian, 1.1), 60*day))
	s.mql = s.created + max(lag, 5*minute)
	if r.chance(0.8) {
		// Scores move with the lead's own activity, which keeps office
		// hours too.
		s.mql = workTime(s.mql, r)
	}
	if r.chance(0.003) {
		// Imported from another system with the two dates swapped round.
		s.mql = s.created - r.between(10*minute, 2*day)
	}
	if s.mql > end {
		s.mql = 0
		return
	}

	// Who answers: the owner, unless the lead has none or the owner has
	// left, in which case someone picks it up now and then.
	responder := -1
	if s.owner >= 0 {
		if m := &g.reps[s.owner]; m.left == 0 || s.mql < m.left {
			responder = s.owner
		}
	}
	untouched := r.chance(0.055)
	if responder < 0 {
		if r.chance(0.5) {
			untouched = true
		} else {
			responder = g.activeRep(r, s.mql)
		}
	}
	if untouched {
		return
	}
	s.responder = responder

	var delay float64
	if r.chance(0.9) {
		delay = min(r.lognorm(2.5*hour, 1.2), 20*hour)
	} else {
		delay = 25*hour + min(r.lognorm(40*hour, 0.9), 20*day)
	}
	resp := workTime(s.mql+max(int64(delay), 2*minute), r)
	if resp > end {
		return
	}
	s.resp = resp
	s.respByDecision = r.chance(0.15)

	// The decision: the response itself, or after a first conversation.
	decided := resp
	if !s.respByDecision {
		decided = workTime(resp+int64(min(r.lognorm(20*hour, 1.0), 15*day)), r)
	}
	u := r.float()
	switch {
	case u < 0.03:
		// Still thinking about it.
		if s.respByDecision {
			s.respByDecision = false
		}
		return
	case decided > end:
		if s.respByDecision {
			// The decision has not happened yet, so the response is the
			// touch that came before it.
			s.respByDecision = false
		}
		return
	case u < 0.03+0.64:
		s.accepted = decided
		if r.chance(0.012) {
			// Rejected first and reopened later; the later one decides.
			s.rejected = decided
			s.reason, s.reasonNull = "Bad fit", false
			s.accepted = decided + r.between(day, 10*day)
			if s.accepted > end {
				s.accepted = 0
			}
		}
	default:
		s.rejected = decided
		g.rejectionReason(r, s)
	}
	if s.accepted != 0 && r.chance(0.52) {
		sql := workTime(s.accepted+int64(min(r.lognorm(3*day, 0.9), 45*day)), r)
		if sql <= end {
			s.sql = sql
		}
	}
}

func (g *generator) rejectionReason(r *rng, s *story) {
	s.reason = g.v.reasons[r.pick(g.v.reasonCum)]
	// An empty reason is sometimes NULL, sometimes an empty string.
	s.reasonNull = s.reason == "" && r.chance(0.5)
}

// opportunity opens a deal for most SQLs and for a few sales-sourced leads
// that never went through marketing qualification, then closes it or leaves
// it open at the end of the data.
func (g *generator) opportunity(r *rng, s *story) {
	end := g.end
	switch {
	case s.sql != 0 && r.chance(0.86):
		s.oppCreated = workTime(s.sql+r.between(hour, 5*day), r)
	case s.src == srcSales && s.mql == 0 && r.chance(0.07):
		s.oppCreated = workTime(s.created+r.between(2*day, 30*day), r)
	default:
		return
	}
	if s.oppCreated > end {
		return
	}
	s.opp = true
	s.oppNoLead = r.chance(0.006)
	switch s.src {
	case srcMarketing:
		s.oppSource = "marketing"
	case srcSales:
		s.oppSource = "sales"
	default:
		s.oppSource = "partner"
	}
	if r.chance(0.01) {
		s.oppSource = " Marketing"
	}
	s.oppOwner = s.owner
	if s.responder >= 0 {
		s.oppOwner = s.responder
	}
	if s.oppOwner < 0 {
		s.oppOwner = g.activeRep(r, s.oppCreated)
	}

	size := [...]float64{22000, 18000, 30000}[s.src]
	amount := math.Round(min(max(r.lognorm(size, 0.75), 1000), 250000)/250) * 250
	s.oppAmount = metrics.Money(int64(amount) * 100)
	switch u := r.float(); {
	case u < 0.012:
		s.oppNullAmount = true
	case u < 0.018:
		s.oppAmount = -metrics.Money(r.between(1, 8) * 250 * 100)
	case u < 0.03:
		// Someone typed the amount by hand.
		s.oppAmount += metrics.Money(r.between(1, 99))
	}

	cycle := int64(min(max(r.lognorm(38*day, 0.65), 3*day), 300*day))
	closed := workTime(s.oppCreated+cycle, r)
	if closed <= end {
		s.oppClosed = closed
		s.oppWon = r.chance([...]float64{0.46, 0.5, 0.56}[s.src])
	}
}
