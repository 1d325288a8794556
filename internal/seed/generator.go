package seed

import (
	"fmt"
	"strconv"
	"time"
)

// vocab holds the fixed word lists of the data set. They live on the
// generator rather than in package variables so that nothing at package level
// can be changed.
type vocab struct {
	salesKinds, followKinds, oppKinds, nurtureKinds, broadcastKinds []any
	reasons                                                         []any
	reasonCum                                                       []float64
}

func newVocab() vocab {
	v := vocab{
		salesKinds:     []any{"call", "email", "call", "meeting", "demo", "email"},
		followKinds:    []any{"call", "email", "meeting", "demo", "email", "call", "meeting"},
		oppKinds:       []any{"meeting", "demo", "proposal_sent", "call", "email", "negotiation", "meeting"},
		nurtureKinds:   []any{"email_open", "email_click", "content_download", "blog_visit"},
		broadcastKinds: []any{"campaign_send", "webinar", "blog_post", "campaign_send"},
	}
	// Rejection reasons as reps type them: mostly the picklist, sometimes
	// blank or with stray spaces and case.
	reasons := []struct {
		text   string
		weight float64
	}{
		{"No budget", 0.2}, {"Bad fit", 0.2}, {"Competitor customer", 0.16},
		{"Student / job seeker", 0.1}, {"Duplicate", 0.1}, {"Wrong contact", 0.08},
		{"", 0.08}, {"   ", 0.02}, {"  no budget ", 0.02}, {"Bad fit ", 0.02},
		{"  student / job seeker ", 0.02},
	}
	sum := 0.0
	for _, rr := range reasons {
		sum += rr.weight
		v.reasons = append(v.reasons, rr.text)
		v.reasonCum = append(v.reasonCum, sum)
	}
	return v
}

// generator holds what every lead draws on (people, campaigns, the calendar)
// and the buffers reused from one lead to the next.
type generator struct {
	opts       Options
	start, end int64
	cal        calendar
	v          vocab
	channels   []channelInfo
	reps       []member
	repCum     []float64
	marketers  []member
	partner    member
	campaigns  []campaign
	launches   []int64

	leadWidth, actWidth int
	actSeq              int

	lr, ar rng
	st     story
	acts   []activity
	row    []any
	buf    []byte

	progressDone, progressTotal, sinceReport int
}

// Weights of the three per-lead passes in progress units, roughly their
// share of the time when a database takes the rows: the activities pass
// writes ten rows a lead, the others one or fewer.
const (
	leadsWork      = 1
	activitiesWork = 8
	oppsWork       = 1
	// reportEvery is how many leads go by between two progress reports.
	reportEvery = 4096
)

func newGenerator(opts Options) *generator {
	g := &generator{
		opts:     opts,
		end:      opts.End.Unix(),
		start:    opts.End.Add(-opts.Span).Unix(),
		v:        newVocab(),
		channels: channels(),
		row:      make([]any, 0, 10),
		acts:     make([]activity, 0, 64),
	}
	g.cal = newCalendar(g.start, g.end)
	setup := rng{}
	setup.mix(opts.Seed, -1, 0)
	g.team(&setup)
	g.campaignSet(&setup)
	g.leadWidth = max(5, len(strconv.Itoa(opts.Leads)))
	g.actWidth = max(6, len(strconv.Itoa(opts.Leads*30)))
	g.progressTotal = opts.Leads * (leadsWork + activitiesWork + oppsWork)
	return g
}

func (g *generator) run(sink Sink) error {
	tables := Tables()
	passes := []func(Sink) error{g.writeTeam, g.writeCampaigns, g.writeLeads, g.writeActivities, g.writeOpportunities}
	for i, t := range tables {
		if err := sink.Begin(t.Name, t.ColumnNames()); err != nil {
			return fmt.Errorf("begin %s: %w", t.Name, err)
		}
		if err := passes[i](sink); err != nil {
			return fmt.Errorf("write %s: %w", t.Name, err)
		}
		if err := sink.End(); err != nil {
			return fmt.Errorf("end %s: %w", t.Name, err)
		}
	}
	g.progress(0, true)
	return nil
}

// progress adds one lead's work in a pass and reports every few thousand
// leads, and at the very end (flush).
func (g *generator) progress(work int, flush bool) {
	g.progressDone += work
	g.sinceReport++
	if g.opts.Progress != nil && (flush || g.sinceReport >= reportEvery) {
		g.sinceReport = 0
		g.opts.Progress(g.progressDone, g.progressTotal)
	}
}

// emit hands a row to the sink. Callers build it with
// append(g.row[:0], ...), so the same backing array serves every row.
func (g *generator) emit(sink Sink, row []any) error {
	g.row = row
	return sink.Row(row...)
}

// ts is a timestamp value: NULL for 0.
func ts(t int64) any {
	if t == 0 {
		return nil
	}
	return time.Unix(t, 0).UTC()
}

func text(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// id formats prefix + zero-padded n without fmt, into the reused buffer.
func (g *generator) id(prefix byte, n, width int) string {
	b := append(g.buf[:0], prefix)
	digits := 1
	for x := n; x >= 10; x /= 10 {
		digits++
	}
	for ; digits < width; digits++ {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(n), 10)
	g.buf = b
	return string(b)
}

func (g *generator) writeTeam(sink Sink) error {
	all := append(append(append([]member{}, g.reps...), g.marketers...), g.partner)
	for _, m := range all {
		if err := g.emit(sink, append(g.row[:0], m.id, m.name, text(m.email), m.team, m.active)); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) writeCampaigns(sink Sink) error {
	for _, c := range g.campaigns {
		var channel, cost any
		if !c.noChan {
			channel = g.channels[c.channel].name
		}
		if c.hasCost {
			cost = c.cost
		}
		if err := g.emit(sink, append(g.row[:0], c.id, c.name, channel, cost)); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) campaignID(c int) any {
	if c < 0 {
		return nil
	}
	return g.campaigns[c].idv
}

func (g *generator) ownerID(o int) any {
	switch o {
	case ownerNull:
		return nil
	case ownerEmpty:
		return ""
	}
	return g.reps[o].idv
}

func (g *generator) writeLeads(sink Sink) error {
	s := &g.st
	for i := range g.opts.Leads {
		g.lead(i, s)
		var reason any
		if s.rejected != 0 && !s.reasonNull {
			reason = s.reason
		}
		err := g.emit(sink, append(g.row[:0], g.id('L', i+1, g.leadWidth), ts(s.created), s.source, g.campaignID(s.campaign),
			g.ownerID(s.owner), ts(s.mql), ts(s.accepted), ts(s.rejected), reason, ts(s.sql)))
		if err != nil {
			return err
		}
		g.progress(leadsWork, false)
	}
	return nil
}

func (g *generator) writeActivities(sink Sink) error {
	s := &g.st
	for i := range g.opts.Leads {
		g.lead(i, s)
		g.activities(i, s)
		if len(g.acts) == 0 {
			g.progress(activitiesWork, false)
			continue
		}
		leadID := g.id('L', i+1, g.leadWidth)
		var leadV any = leadID
		var oppID any
		if s.opp {
			oppID = g.id('O', i+1, g.leadWidth)
		}
		var unknown any
		for k := range g.acts {
			a := &g.acts[k]
			var lead, opp any
			switch a.lead {
			case leadSelf:
				lead = leadV
			case leadUnknown:
				if unknown == nil {
					unknown = leadID + "-old"
				}
				lead = unknown
			}
			if a.opp {
				opp = oppID
			}
			g.actSeq++
			err := g.emit(sink, append(g.row[:0], g.id('a', g.actSeq, g.actWidth), time.Unix(a.at, 0).UTC(), a.team,
				a.actor, a.kind, lead, opp, g.campaignID(a.campaign)))
			if err != nil {
				return err
			}
		}
		g.progress(activitiesWork, false)
	}
	return nil
}

func (g *generator) writeOpportunities(sink Sink) error {
	s := &g.st
	for i := range g.opts.Leads {
		g.lead(i, s)
		if s.opp {
			var lead, amount, won any
			if !s.oppNoLead {
				lead = g.id('L', i+1, g.leadWidth)
			}
			if !s.oppNullAmount {
				amount = s.oppAmount
			}
			if s.oppClosed != 0 {
				won = s.oppWon
			}
			err := g.emit(sink, append(g.row[:0], g.id('O', i+1, g.leadWidth), ts(s.oppCreated), lead, s.oppSource,
				g.ownerID(s.oppOwner), amount, ts(s.oppClosed), won))
			if err != nil {
				return err
			}
		}
		g.progress(oppsWork, false)
	}
	return nil
}
