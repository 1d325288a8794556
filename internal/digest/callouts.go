package digest

import (
	"math"
	"sort"

	"github.com/sameteam/sameteam/internal/metrics"
)

// Thresholds for a move worth a callout: the snapshot's rates are fractions,
// so 0.05 is five percentage points.
const (
	rateMove  = 0.05
	countMove = 0.20
	scoreMove = 5.0
	// maxCallouts keeps the digest's summary to what a reader takes in.
	maxCallouts = 3
)

// candidate is one possible callout with how much it matters.
type candidate struct {
	score float64
	text  string
}

// callouts picks the two or three largest moves among the metrics the
// audience owns or depends on, plus SLA breaches and the overdue backlog,
// and writes them as sentences. Each move is scored against its threshold
// (a 10-point rate move scores 2), so rates and counts compete fairly;
// sales sees its own breaches and backlog first because they are its
// to-do list.
func (b *builder) callouts() []string {
	h, p := &b.s.Headline, &b.s.Previous.Headline
	var cs []candidate
	add := func(c candidate, ok bool) {
		if ok {
			cs = append(cs, c)
		}
	}
	// move is a catalog metric's move, judged by its unit: a rate by
	// points, the score by points of 100, anything else by its relative
	// change, written as the digest writes the metric.
	move := func(key string) {
		m := metrics.MustLookup(key)
		cur, prev := m.Read(h), m.Read(p)
		if !cur.Valid || !prev.Valid {
			return
		}
		switch m.Unit {
		case metrics.UnitRate:
			add(b.rateMove(key, cur.Number, prev.Number))
		case metrics.UnitScore:
			add(b.scoreMove(key, cur.Number, prev.Number))
		default:
			add(b.countMove(key, cur.Number, prev.Number, b.l.MetricText(m, cur, b.cur), b.l.MetricText(m, prev, b.cur)))
		}
	}
	urgent := 1.0
	if b.aud == Sales {
		urgent = 3
	}
	breaches := func() { add(b.breaches(urgent)) }
	overdue := func() { add(b.overdueCallout(urgent)) }

	switch b.aud {
	case Sales:
		overdue()
		breaches()
		for _, k := range []string{"sla_compliance", "response_minutes_median", "decision_rate", "mqls", "acceptance_rate", "untouched_mqls"} {
			move(k)
		}
	case Marketing:
		for _, k := range []string{"mqls", "acceptance_rate", "pipeline_created.total", "marketing_sourced_share",
			"marketing_influenced_pipeline", "mql_to_sql_rate", "sla_compliance"} {
			move(k)
		}
		breaches()
	default:
		for _, k := range []string{"alignment_score", "pipeline_created.total", "won_revenue.total", "win_rate.total",
			"mqls", "sla_compliance", "acceptance_rate", "decision_rate"} {
			move(k)
		}
		overdue()
	}
	// Stable: equal scores keep the audience's order of importance.
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
	if len(cs) > maxCallouts {
		cs = cs[:maxCallouts]
	}
	if len(cs) == 0 {
		return []string{b.l.Tf("callout.calm", b.prev)}
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.text
	}
	return out
}

// phrase picks the sentence for a subject's direction and grammatical
// number: callout.<kind>.<up|down>.<sg|pl>.
func (b *builder) phrase(kind, key string, up bool, args ...any) string {
	s := b.l.Subject(key)
	dir, num := "down", "sg"
	if up {
		dir = "up"
	}
	if s.Plural {
		num = "pl"
	}
	return b.l.Tf("callout."+kind+"."+dir+"."+num, append([]any{s.Text}, args...)...)
}

func (b *builder) rateMove(key string, cur, prev float64) (candidate, bool) {
	d := cur - prev
	if math.Abs(d) < rateMove {
		return candidate{}, false
	}
	text := b.phrase("rate", key, d > 0, b.l.Points(math.Abs(d) * 100)[1:], b.l.PercentOf(prev), b.l.PercentOf(cur))
	return candidate{score: math.Abs(d) / rateMove, text: text}, true
}

func (b *builder) scoreMove(key string, cur, prev float64) (candidate, bool) {
	d := cur - prev
	if math.Abs(d) < scoreMove {
		return candidate{}, false
	}
	text := b.phrase("rate", key, d > 0, b.l.Points(math.Abs(d))[1:], b.l.Score(&prev), b.l.Score(&cur))
	return candidate{score: math.Abs(d) / scoreMove, text: text}, true
}

// countMove scores a relative change; changes beyond 200 % score as 200 %
// so that a jump from 1 to 5 does not drown every other move.
func (b *builder) countMove(key string, cur, prev float64, curText, prevText string) (candidate, bool) {
	switch {
	case cur == prev:
		return candidate{}, false
	case prev <= 0:
		if cur <= 0 {
			return candidate{}, false
		}
		return candidate{score: 1.5, text: b.phrase("from", key, true, prevText, curText)}, true
	}
	rel := (cur - prev) / prev
	if math.Abs(rel) < countMove {
		return candidate{}, false
	}
	text := b.phrase("count", key, rel > 0, b.l.PercentOf(math.Abs(rel)), prevText, curText)
	if rel > 2 {
		// Past tripling, a percentage from a small base ("+12.884.467 %")
		// says less than the two figures themselves.
		text = b.phrase("from", key, true, prevText, curText)
	}
	return candidate{score: min(math.Abs(rel), 2) / countMove, text: text}, true
}

// breaches reports the period's MQLs that nobody answered within the SLA.
func (b *builder) breaches(weight float64) (candidate, bool) {
	h := &b.s.Headline
	if h.SLABreached == 0 {
		return candidate{}, false
	}
	key := "callout.breached.pl"
	if h.SLABreached == 1 {
		key = "callout.breached.sg"
	}
	share := float64(h.SLABreached) / float64(h.SLABreached+h.SLAMet)
	return candidate{
		score: weight * (1 + 4*share),
		text:  b.l.Tf(key, b.l.Int(h.SLABreached), b.slaHours()),
	}, true
}

// overdueCallout reports the backlog past the SLA and its oldest lead.
func (b *builder) overdueCallout(weight float64) (candidate, bool) {
	n := b.overdue()
	if n == 0 {
		return candidate{}, false
	}
	oldest := b.s.FollowupBacklog[0]
	owner := b.l.T("backlog.unassigned")
	if oldest.OwnerID != nil && *oldest.OwnerID != "" {
		owner = clean(*oldest.OwnerID)
		if name, ok := b.owners()[*oldest.OwnerID]; ok {
			owner = name
		}
	}
	key := "callout.overdue.pl"
	if n == 1 {
		key = "callout.overdue.sg"
	}
	return candidate{
		score: weight * (1 + min(float64(n), 20)/5),
		text:  b.l.Tf(key, b.l.Int(n), b.l.Hours(oldest.AgeHours), clean(oldest.LeadID), owner),
	}, true
}
