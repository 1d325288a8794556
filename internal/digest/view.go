package digest

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sameteam/sameteam/internal/links"
	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
)

// view is everything a template prints, already formatted. Templates only
// lay it out, so the HTML and the text alternative cannot disagree on a
// number and the formatting rules live in Go, where they are tested.
type view struct {
	Lang     string
	Audience Audience

	Subject   string
	Preheader string
	Product   string // "Marketing y ventas"
	Title     string // "Resumen semanal para ventas"
	Period    string // "semana 47"
	Heading   string // "Semana 47"
	Dates     string // "16–22 nov 2026"
	Previous  string // "semana 46"
	AsOf      string
	Zone      string
	Generated string
	Report    string
	Partial   string // set when as_of falls before the period's end

	Tiles     []tile
	Callouts  []string
	Commit    commitments
	Trend     trend
	Backlog   backlog
	Reps      table
	Campaigns table
	Verdicts  verdicts
	Reasons   table
	Feedback  []line
	Follow    []line
	Sources   table
	Influence []line
	Funnel    []bar
	Deals     []line
	Health    table
	HealthOK  bool
	Fresh     []part // how fresh the source was, for the footer
	Calendar  string // how the SLA counts working hours; empty without a calendar

	DefinitionsURL string
	WorkbookURL    string

	// Personal is the person's own part of a personal digest (audiences
	// rep and campaign_owner); nil in a team digest.
	Personal *personalView

	// T is the locale's vocabulary, for headings and fixed sentences.
	T map[string]string
}

// tile is one headline number with its change.
type tile struct {
	Key, Fmt string // where the number comes from, for the tie-out test
	Label    string
	Value    string
	Suffix   string
	Note     string
	Also     *part // a second number under the value: working minutes beside wall-clock ones
	Delta    delta
}

// part is a number inside words ("vence lun 17:00", "1 h 18 min
// laborables"): only the number carries its key, so the tie-out reads it
// alone.
type part struct {
	Key, Fmt  string
	Text      string
	Pre, Post string
}

// Plain is the part as one string, for the plain-text digest.
func (p part) Plain() string { return p.Pre + p.Text + p.Post }

// delta is a change against the previous period: an arrow and words
// ("▲ +5,2 pts vs semana 46") and a tone for colour, which only repeats
// what the words say.
type delta struct {
	Text string
	Tone string // good, bad or flat
}

// line is one labelled number in a list (commitments, feedback).
type line struct {
	Key, Fmt string
	Label    string
	Value    string
	Suffix   string
	Note     string
	Also     *part // a second number under the value
	Delta    delta
	Star     bool // a component of the alignment score
}

// commitments puts both teams' promises side by side.
type commitments struct {
	Marketing []line
	Sales     []line
	Shared    []line
}

// cell is one table cell. Key and Fmt name the snapshot value it shows.
type cell struct {
	Key, Fmt  string
	Text      string
	Num       bool // right-aligned
	Tone      string
	Pre, Post string // words around the value ("vence …"), outside its key
	Also      *part  // a second number under the first
	// Href links the value into the CRM (links: in the configuration);
	// empty for none.
	Href string
	// Sub is a line of words under the value that may wrap (a lead's name
	// and company), unlike Also, a number that must not.
	Sub string
	// Break lets long CRM text without spaces (a campaign's name) wrap
	// anywhere rather than widen the table past a phone's screen.
	Break bool
}

// Bare reports whether the cell holds its value alone, so that the
// value's key can sit on the cell itself.
func (c cell) Bare() bool { return c.Pre == "" && c.Post == "" && c.Also == nil && c.Sub == "" }

// Plain is the cell as one string, for the plain-text digest.
func (c cell) Plain() string {
	s := c.Pre + c.Text + c.Post
	if c.Also != nil {
		s += " (" + c.Also.Plain() + ")"
	}
	if c.Sub != "" {
		s += " · " + c.Sub
	}
	return s
}

// table is a titled grid of cells.
type table struct {
	Headers []string
	Num     []bool
	Rows    [][]cell
	Foot    []cell
	More    string // "…and 4 more in the workbook"
}

// bar is one labelled horizontal bar.
type bar struct {
	Key, Fmt string
	Label    string
	Value    string
	Width    int // percent of the track
}

// trend is the 12-period chart: one row per period, a bar made of one or
// two segments.
type trend struct {
	Title  string
	Legend []legend
	Rows   []trendRow
}

type legend struct {
	Tone  string // a or b
	Label string
}

type trendRow struct {
	Label   string
	Value   string
	Current bool
	Segs    []seg
	Rest    int
}

type seg struct {
	Tone  string
	Width int
}

// backlog is the sales team's to-do list: who must call whom.
type backlog struct {
	Total   int
	Overdue int
	Summary string
	Table   table
}

// maxBacklogRows keeps the email short; the workbook has every row.
const maxBacklogRows = 15

// verdicts is what sales said about each campaign's MQLs: marketing's
// feedback, campaign by campaign.
type verdicts struct {
	Rows []verdict
	More string // "…and 4 more campaigns in the workbook"
}

// verdict is one campaign's acceptance and its top rejection reasons.
type verdict struct {
	Name     cell
	Rate     cell // acceptance: accepted / (accepted + rejected)
	Accepted part
	Rejected part
	Pending  *part // MQLs not decided yet; nil when none
	Decided  bool  // sales accepted or rejected at least one MQL
	Reasons  []part
	// ReasonsText is the reasons line in plain text, with its label.
	ReasonsText string
	ReasonsWord string // "Motivos:", or the sentence for none
}

// maxVerdicts keeps the section to the campaigns marketing must look at
// first; the workbook's Campaigns sheet has every one.
const maxVerdicts = 10

// maxReasons is how many rejection reasons a campaign's line names.
const maxReasons = 3

// maxText is the longest CRM text printed in a digest, in characters.
const maxText = 80

// clean makes CRM text safe to lay out: valid UTF-8 (html/template passes
// invalid bytes through), no control characters that would break the
// plain-text layout, and a bounded length. Escaping is html/template's job.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		if r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			// Bidirectional overrides make text read in another order
			// than it is stored ("Trojan Source").
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxText {
		s = string([]rune(s)[:maxText-1]) + "…"
	}
	return s
}

// builder carries what every formatting helper needs.
type builder struct {
	s    *metrics.Snapshot
	span period.Period
	l    *locale.Locale
	cur  string
	aud  Audience
	prev string
	// links makes CRM links of ids; empty templates make none.
	links links.Templates
}

func build(s *metrics.Snapshot, span period.Period, l *locale.Locale, opts Options) (*view, error) {
	b := &builder{s: s, span: span, l: l, cur: opts.Currency, aud: opts.Audience,
		prev: l.PeriodName(span.Previous())}
	v := &view{
		Lang:           l.Tag(),
		Audience:       opts.Audience,
		Product:        l.T("product"),
		Title:          l.Tf("title."+string(opts.Audience), l.T("cadence."+string(span.Kind))),
		Period:         l.PeriodName(span),
		Heading:        capitalize(l.PeriodName(span)),
		Dates:          l.DateRange(span),
		Previous:       b.prev,
		AsOf:           l.DateTime(s.AsOf.Time().In(span.Location())),
		Zone:           s.Period.TimeZone,
		Report:         clean(opts.ReportName),
		DefinitionsURL: opts.DefinitionsURL,
		WorkbookURL:    opts.WorkbookURL,
		T:              words(l),
	}
	if s.AsOf.Time().Before(span.End) {
		v.Partial = l.T("partial")
	}
	if !opts.GeneratedAt.IsZero() {
		v.Generated = l.DateTime(opts.GeneratedAt.In(span.Location()))
	}
	b.links = opts.Links
	if opts.Audience.Personal() {
		// A personal digest shows the person's slice and nothing of the
		// team's tables, which name other reps' leads.
		v.Title = l.Tf("title."+string(opts.Audience), l.T("cadence."+string(span.Kind)))
		v.Fresh = b.freshness()
		if c := b.s.SLACalendar; c != nil {
			v.Calendar = l.Tf("calendar.note", clean(*c))
		}
		return v, b.personal(v, opts)
	}
	v.Subject = b.subject(v)
	v.Preheader = b.preheader()
	v.Tiles = b.tiles()
	v.Callouts = b.callouts()
	v.Commit = b.commitments()
	v.Trend = b.trend()
	v.Backlog = b.backlog()
	v.Reps = b.reps()
	v.Campaigns = b.campaigns()
	v.Verdicts = b.verdicts()
	v.Reasons = b.reasons()
	v.Feedback = b.feedback()
	v.Follow = b.follow()
	v.Sources = b.sources()
	v.Influence = b.influence()
	v.Funnel = b.funnel()
	v.Deals = b.deals()
	v.Health, v.HealthOK = b.health()
	v.Fresh = b.freshness()
	if c := b.s.SLACalendar; c != nil {
		v.Calendar = l.Tf("calendar.note", clean(*c))
	}
	return v, nil
}

// part fills the phrase for word, which holds one %s, with a keyed value.
func (b *builder) part(word, key, format, text string) part {
	pre, post, _ := strings.Cut(b.l.T(word), "%s")
	return part{Key: key, Fmt: format, Text: text, Pre: pre, Post: post}
}

// slaHours names the SLA's hours: "24 h", or with a working calendar
// "8 h laborables", so that nobody reads a working-hours SLA as
// wall-clock time.
func (b *builder) slaHours() string {
	if b.s.SLACalendar != nil {
		return b.l.WorkingHours(b.s.SLAHours)
	}
	return b.l.HoursMinutes(b.s.SLAHours)
}

// working is the working-time figure to show beside a wall-clock one, or
// nil without a calendar or without a value (the wall-clock "—" already
// says there was no response). word is working.long or working.short.
func (b *builder) working(word, key string, minutes *float64) *part {
	if b.s.SLACalendar == nil || minutes == nil {
		return nil
	}
	p := b.part(word, key, "minutes", b.l.Minutes(minutes))
	return &p
}

// freshFlag is the lag after which the older of the two freshness instants
// is named as well. Leads arrive less often than activities, so a lag of
// hours is normal; a day or more can be a sync whose leads stopped while
// its activities still flow, and the reader should see it.
const freshFlag = 24 * time.Hour

// freshness says how fresh the source was, in the report's zone: "data up
// to" the later of the newest lead and the newest activity (either shows
// the sync ran until then), plus the other when it lags by freshFlag or
// more. A source with neither says so.
func (b *builder) freshness() []part {
	d, loc := &b.s.DataHealth, b.span.Location()
	lead, act := d.LatestLeadCreatedAt, d.LatestActivityAt
	if lead == nil && act == nil {
		return []part{{Text: b.l.T("fresh.none")}}
	}
	latest, latestKey, other, otherKey, otherWord := act, "data_health.latest_activity_at", lead, "data_health.latest_lead_created_at", "fresh.lead"
	if act == nil || (lead != nil && lead.Time().After(act.Time())) {
		latest, latestKey, other, otherKey, otherWord = lead, "data_health.latest_lead_created_at", act, "data_health.latest_activity_at", "fresh.activity"
	}
	out := []part{b.part("fresh.data", latestKey, "when", b.l.DayTime(latest.Time().In(loc)))}
	if other != nil && latest.Time().Sub(other.Time()) >= freshFlag {
		out = append(out, b.part(otherWord, otherKey, "when", b.l.DayTime(other.Time().In(loc))))
	}
	return out
}

// words exposes the vocabulary to templates as a map, so a template reads
// {{.T.key}}; a missing key prints the ⟦key⟧ marker tests look for.
func words(l *locale.Locale) map[string]string {
	m := make(map[string]string)
	for _, k := range l.Keys() {
		m[k] = l.T(k)
	}
	return m
}

func (b *builder) subject(v *view) string {
	l, h := b.l, &b.s.Headline
	var key string
	switch b.aud {
	case Sales:
		key = l.Tf("subject.sales", l.Percent(h.SLACompliance), l.Int(b.overdue()))
		if b.s.SLACalendar != nil {
			// A working-hours SLA says so wherever it is named.
			key = l.Tf("subject.sales.working", b.slaHours(), l.Percent(h.SLACompliance), l.Int(b.overdue()))
		}
	case Marketing:
		if h.MQLTarget != nil {
			key = l.Tf("subject.marketing.target", l.Int(h.MQLs), l.Int(*h.MQLTarget), l.Percent(h.AcceptanceRate))
		} else {
			key = l.Tf("subject.marketing", l.Int(h.MQLs), l.Percent(h.AcceptanceRate))
		}
	default:
		key = l.Tf("subject.leadership", l.Score(h.AlignmentScore))
	}
	return fmt.Sprintf("%s · %s · %s (%s) · %s", v.Product, l.T("audience."+string(b.aud)), v.Period, v.Dates, key)
}

// preheader is the line mail clients show after the subject in the inbox.
func (b *builder) preheader() string {
	l, h := b.l, &b.s.Headline
	// The SLA's hours are named here too ("8 h laborables"): the preview
	// is read without the digest, and a working-hours SLA is not 8 hours
	// of the clock.
	return l.Tf("preheader", l.Score(h.AlignmentScore), b.slaHours(), l.Percent(h.SLACompliance), l.Int(h.MQLs),
		l.Money(h.PipelineCreated.Total, b.cur))
}

// overdue counts backlog leads already past the SLA.
func (b *builder) overdue() int {
	n := 0
	for _, it := range b.s.FollowupBacklog {
		if it.SLABreached {
			n++
		}
	}
	return n
}

// Deltas. better is +1 when up is good, -1 when down is good, 0 neutral.

func (b *builder) vs(text string, diff float64, better int) delta {
	arrow, tone := "=", "flat"
	switch {
	case diff > 0:
		arrow = "▲"
	case diff < 0:
		arrow = "▼"
	}
	if diff != 0 && better != 0 {
		if (diff > 0) == (better > 0) {
			tone = "good"
		} else {
			tone = "bad"
		}
	}
	if diff == 0 {
		return delta{Text: b.l.Tf("delta.same", b.prev), Tone: tone}
	}
	return delta{Text: arrow + " " + text + " " + b.l.Tf("delta.vs", b.prev), Tone: tone}
}

func (b *builder) none() delta {
	return delta{Text: b.l.Tf("delta.none", b.prev), Tone: "flat"}
}

func (b *builder) rateDelta(cur, prev float64, better int) delta {
	pts := (cur - prev) * 100
	if math.Round(math.Abs(pts)*10) == 0 {
		return b.vs("", 0, better)
	}
	return b.vs(b.l.Points(pts), pts, better)
}

func (b *builder) scoreDelta(cur, prev float64, better int) delta {
	d := cur - prev
	if math.Round(math.Abs(d)*10) == 0 {
		return b.vs("", 0, better)
	}
	return b.vs(b.l.Points(d), d, better)
}

func (b *builder) countDelta(cur, prev int, better int) delta {
	d := cur - prev
	if d == 0 {
		return b.vs("", 0, better)
	}
	text := b.l.SignedInt(d)
	if prev > 0 {
		text += " (" + b.l.SignedPercent(float64(d)/float64(prev)) + ")"
	}
	return b.vs(text, float64(d), better)
}

func (b *builder) moneyDelta(cur, prev metrics.Money, better int) delta {
	d := cur - prev
	if d == 0 {
		return b.vs("", 0, better)
	}
	text := b.l.SignedMoney(d, b.cur)
	if prev > 0 {
		text += " (" + b.l.SignedPercent(float64(d)/float64(prev)) + ")"
	}
	return b.vs(text, float64(d), better)
}

func (b *builder) minutesDelta(cur, prev float64, better int) delta {
	d := cur - prev
	if math.Round(math.Abs(d)) == 0 {
		return b.vs("", 0, better)
	}
	text := b.l.Hours(math.Abs(d) / 60)
	if d > 0 {
		text = "+" + text
	} else {
		text = "-" + text
	}
	return b.vs(text, d, better)
}

// Formatted values and their keys.

func (b *builder) targetNote() string {
	h := &b.s.Headline
	if h.MQLTarget == nil {
		return b.l.T("note.no_target")
	}
	return b.l.Tf("note.target", b.l.Int(*h.MQLTarget), b.l.Percent(h.MQLTargetAttainment))
}

// metric is a catalog metric as the digest shows it, read from the
// catalog: its key for the tie-out, its name, its value written with its
// unit, and its change against the period before, judged by the direction
// the catalog gives it. Callers add the note that goes under it.
func (b *builder) metric(key string) tile {
	m := metrics.MustLookup(key)
	cur, prev := m.Read(&b.s.Headline), m.Read(&b.s.Previous.Headline)
	t := tile{Key: "headline." + m.Key, Fmt: unitFmt[m.Unit], Label: b.l.MetricName(m),
		Value: b.l.MetricText(m, cur, b.cur), Delta: b.change(m, cur, prev)}
	if m.Unit == metrics.UnitScore {
		t.Suffix = "/100"
	}
	return t
}

// unitFmt is how the tie-out test reads a number of each unit back.
var unitFmt = map[metrics.Unit]string{
	metrics.UnitCount: "int", metrics.UnitRate: "pct", metrics.UnitMoney: "money",
	metrics.UnitMinutes: "minutes", metrics.UnitHours: "hours", metrics.UnitDays: "days",
	metrics.UnitScore: "score",
}

// change is a metric's change from prev to cur, in the words of its unit.
// A duration in days or hours (the median sales cycle) carries no change:
// the digest compares it with nothing.
func (b *builder) change(m metrics.Metric, cur, prev metrics.Value) delta {
	if !cur.Valid || !prev.Valid {
		return b.none()
	}
	switch m.Unit {
	case metrics.UnitCount:
		return b.countDelta(cur.Int(), prev.Int(), m.Better)
	case metrics.UnitRate:
		return b.rateDelta(cur.Number, prev.Number, m.Better)
	case metrics.UnitMoney:
		return b.moneyDelta(cur.Money, prev.Money, m.Better)
	case metrics.UnitMinutes:
		return b.minutesDelta(cur.Number, prev.Number, m.Better)
	case metrics.UnitScore:
		return b.scoreDelta(cur.Number, prev.Number, m.Better)
	}
	return b.none()
}

// line is a catalog metric as a labelled line of a section.
func (b *builder) line(key string) line {
	t := b.metric(key)
	return line{Key: t.Key, Fmt: t.Fmt, Label: t.Label, Value: t.Value, Suffix: t.Suffix, Delta: t.Delta}
}

func (b *builder) tiles() []tile {
	l, h := b.l, &b.s.Headline
	mqls := b.metric("mqls")
	mqls.Label, mqls.Note = l.T("m.mqls.delivered"), b.targetNote()
	sla := b.metric("sla_compliance")
	sla.Label = l.Tf("m.sla_compliance.hours", b.slaHours())
	sla.Note = l.Tf("note.sla", l.Int(h.SLAMet), l.Int(h.SLABreached), l.Int(h.SLAPending))
	resp := b.metric("response_minutes_median")
	resp.Note = l.Tf("note.p90", l.Minutes(h.ResponseMinutesP90))
	resp.Also = b.working("working.long", "headline.response_working_minutes_median", h.ResponseWorkingMinutesMedian)
	switch b.aud {
	case Sales:
		acc := b.metric("accepted")
		acc.Note = l.Tf("note.decisions", l.Int(h.Rejected), l.Int(h.DecisionPending))
		return []tile{mqls, acc, sla, resp}
	case Marketing:
		acc := b.metric("acceptance_rate")
		acc.Note = l.Tf("note.accepted_of", l.Int(h.Accepted), l.Int(h.Rejected))
		src := b.metric("pipeline_created.marketing")
		src.Note = l.Tf("note.share_of", l.Percent(h.MarketingSourcedShare), l.Money(h.PipelineCreated.Total, b.cur))
		return []tile{mqls, acc, src, resp}
	}
	score := b.metric("alignment_score")
	score.Note = l.T("note.score")
	pipe := b.metric("pipeline_created.total")
	pipe.Note = l.Tf("note.sourced", l.Percent(h.MarketingSourcedShare), l.Int(h.OpportunitiesCreated))
	won := b.metric("won_revenue.total")
	won.Note = l.Tf("note.won", l.Int(h.WonDeals), l.MoneyPtr(h.AvgDealSize, b.cur))
	win := b.metric("win_rate.total")
	win.Note = l.Tf("note.win", l.Int(h.WonDeals), l.Int(h.LostDeals))
	return []tile{score, pipe, won, win}
}

func (b *builder) commitments() commitments {
	l, h := b.l, &b.s.Headline
	var c commitments
	mqls := b.line("mqls")
	mqls.Note, mqls.Star = b.targetNote(), h.MQLTarget != nil
	acc := b.line("acceptance_rate")
	acc.Note, acc.Star = l.Tf("note.accepted_of", l.Int(h.Accepted), l.Int(h.Rejected)), true
	c.Marketing = []line{mqls, acc}
	sla := b.line("sla_compliance")
	sla.Label = l.Tf("m.sla_compliance.hours", b.slaHours())
	sla.Note, sla.Star = l.Tf("note.sla", l.Int(h.SLAMet), l.Int(h.SLABreached), l.Int(h.SLAPending)), true
	dec := b.line("decision_rate")
	dec.Note, dec.Star = l.Tf("note.decided", l.Int(h.Accepted+h.Rejected), l.Int(h.MQLs)), true
	untouched := b.line("untouched_mqls")
	untouched.Note = l.T("note.untouched")
	c.Sales = []line{sla, dec, untouched}
	c.Shared = []line{b.line("alignment_score"), b.line("pipeline_created.total"), b.line("won_revenue.total")}
	return c
}

// trend draws the audience's 12-period series: SLA compliance for sales,
// MQLs for marketing, pipeline created (marketing-sourced part first) for
// leadership.
func (b *builder) trend() trend {
	l := b.l
	n := len(b.s.Trend)
	t := trend{}
	unit := l.T("periods." + string(b.span.Kind))
	label := func(i int) string {
		if p, err := period.Parse(b.s.Trend[i].Label, b.span.Location()); err == nil {
			return l.PeriodShort(p)
		}
		return clean(b.s.Trend[i].Label)
	}
	switch b.aud {
	case Sales:
		t.Title = l.Tf("trend.sla", b.slaHours(), n, unit)
		t.Legend = []legend{{"a", l.MetricName(metrics.MustLookup("sla_compliance"))}}
		for i, p := range b.s.Trend {
			r := trendRow{Label: label(i), Value: l.Percent(p.SLACompliance), Current: i == n-1}
			if p.SLACompliance != nil {
				r.Segs = segs([]float64{*p.SLACompliance}, 1)
			}
			t.Rows = append(t.Rows, r)
		}
	case Marketing:
		t.Title = l.Tf("trend.mqls", n, unit)
		t.Legend = []legend{{"a", l.MetricName(metrics.MustLookup("mqls"))}}
		top := 0.0
		for _, p := range b.s.Trend {
			top = max(top, float64(p.MQLs))
		}
		if h := b.s.Headline.MQLTarget; h != nil {
			top = max(top, float64(*h))
			t.Title = l.Tf("trend.mqls.target", n, unit, l.Int(*h))
		}
		for i, p := range b.s.Trend {
			r := trendRow{Label: label(i), Value: l.Int(p.MQLs), Current: i == n-1,
				Segs: segs([]float64{float64(p.MQLs)}, top)}
			t.Rows = append(t.Rows, r)
		}
	default:
		t.Title = l.Tf("trend.pipeline", n, unit)
		t.Legend = []legend{{"a", l.T("source.marketing")}, {"b", l.T("source.rest")}}
		top := 0.0
		for _, p := range b.s.Trend {
			top = max(top, p.PipelineCreatedTotal.Float())
		}
		for i, p := range b.s.Trend {
			mk := p.PipelineCreatedMarketing.Float()
			rest := max(p.PipelineCreatedTotal.Float()-mk, 0)
			r := trendRow{Label: label(i), Value: l.Money(p.PipelineCreatedTotal, b.cur), Current: i == n-1,
				Segs: segs([]float64{mk, rest}, top)}
			t.Rows = append(t.Rows, r)
		}
	}
	for i := range t.Rows {
		used := 0
		for _, s := range t.Rows[i].Segs {
			used += s.Width
		}
		t.Rows[i].Rest = 100 - used
	}
	return t
}

// segs turns values into bar segments in whole percent of top. A value
// that is not zero gets at least 1 % so that it stays visible; the widths
// never add up to more than 100.
func segs(vals []float64, top float64) []seg {
	if top <= 0 {
		return nil
	}
	tones := []string{"a", "b"}
	var out []seg
	used := 0
	for i, v := range vals {
		if v <= 0 {
			continue
		}
		w := int(math.Round(v / top * 100))
		w = max(w, 1)
		w = min(w, 100-used)
		if w <= 0 {
			continue
		}
		used += w
		out = append(out, seg{Tone: tones[i%2], Width: w})
	}
	return out
}

// owners maps sales reps' ids to their names.
func (b *builder) owners() map[string]string {
	m := make(map[string]string, len(b.s.ByRep))
	for _, r := range b.s.ByRep {
		if name := clean(r.Name); name != "" {
			m[r.RepID] = name
		}
	}
	return m
}

func (b *builder) backlog() backlog {
	l := b.l
	names := b.owners()
	bl := backlog{Total: len(b.s.FollowupBacklog), Overdue: b.overdue()}
	bl.Summary = l.Tf("backlog.summary", l.Int(bl.Total), l.Int(bl.Overdue))
	bl.Table.Headers = []string{l.T("col.owner"), l.T("col.lead"), l.T("col.mql_at"), l.T("col.waiting"), l.T("col.sla")}
	bl.Table.Num = []bool{false, false, false, true, false}
	for i, it := range b.s.FollowupBacklog {
		if i == maxBacklogRows {
			bl.Table.More = l.Tf("more.backlog", l.Int(bl.Total-maxBacklogRows))
			break
		}
		owner := l.T("backlog.unassigned")
		if it.OwnerID != nil && strings.TrimSpace(*it.OwnerID) != "" {
			owner = clean(*it.OwnerID)
			if n, ok := names[*it.OwnerID]; ok {
				owner = n
			}
		}
		// When the lead falls due, by weekday within the coming week, with
		// its date once it is past: "vence lun 17:00", "fuera de plazo
		// desde el lun 26 oct, 17:00".
		word, tone := "backlog.due", "flat"
		if it.SLABreached {
			word, tone = "backlog.overdue_since", "bad"
		}
		loc := b.span.Location()
		due := b.part(word, fmt.Sprintf("followup_backlog.%d.due_at", i), "due",
			l.Upcoming(it.DueAt.Time().In(loc), b.s.AsOf.Time().In(loc)))
		bl.Table.Rows = append(bl.Table.Rows, []cell{
			{Text: owner},
			{Key: fmt.Sprintf("followup_backlog.%d.lead_id", i), Fmt: "text", Text: clean(it.LeadID), Href: b.links.LeadURL(it.LeadID)},
			{Text: l.DateTime(it.MQLAt.Time().In(b.span.Location()))},
			{Key: fmt.Sprintf("followup_backlog.%d.age_hours", i), Fmt: "hours", Text: l.Hours(it.AgeHours), Num: true},
			{Key: due.Key, Fmt: due.Fmt, Text: due.Text, Pre: due.Pre, Post: due.Post, Tone: tone},
		})
	}
	return bl
}

// maxRepRows and maxCampaignRows keep the per-rep and per-campaign tables
// to what a reader scans in an email, and the HTML under Gmail's clipping
// limit (about 102 KB; a 200-rep table alone was 317 KB): the workbook's
// Reps and Campaigns sheets have every row, and the email says how many
// more there are. maxReasonRows does the same for the rejection reasons,
// which are free text and as many as sales types.
const (
	maxRepRows      = 25
	maxCampaignRows = 20
	maxReasonRows   = 10
)

// repsShown is which of the snapshot's reps the per-rep table shows, as
// indexes into ByRep. A team that fits keeps the snapshot's order (by rep
// id, the order the workbook uses). A larger team shows the reps who need
// attention first: most SLA breaches (the leads marketing handed over that
// nobody answered in time), then lowest SLA compliance, then most MQLs
// assigned (where a slip costs most), then rep id; the rest are in the
// workbook.
func repsShown(rows []metrics.RepRow) []int {
	return shown(len(rows), maxRepRows, func(x, y int) bool {
		a, c := rows[x], rows[y]
		switch {
		case a.SLABreached != c.SLABreached:
			return a.SLABreached > c.SLABreached
		case (a.SLACompliance == nil) != (c.SLACompliance == nil):
			return c.SLACompliance == nil
		case a.SLACompliance != nil && *a.SLACompliance != *c.SLACompliance:
			return *a.SLACompliance < *c.SLACompliance
		case a.MQLsAssigned != c.MQLsAssigned:
			return a.MQLsAssigned > c.MQLsAssigned
		}
		return a.RepID < c.RepID
	})
}

// campaignsShown is which campaigns the campaign table shows: all of them
// in the snapshot's order when they fit, otherwise the campaigns with the
// most MQLs in the period (what marketing's week was made of), then most
// pipeline created, then campaign id. The verdicts section already lists
// the campaigns sales turned down most.
func campaignsShown(rows []metrics.CampaignRow) []int {
	return shown(len(rows), maxCampaignRows, func(x, y int) bool {
		a, c := rows[x], rows[y]
		switch {
		case a.MQLs != c.MQLs:
			return a.MQLs > c.MQLs
		case a.PipelineCreated != c.PipelineCreated:
			return a.PipelineCreated > c.PipelineCreated
		}
		return a.CampaignID < c.CampaignID
	})
}

// more is what a capped table says under its rows when it shows only
// shown of total, in the words of word ("these are the 25 …; the other 175
// are in the workbook"); nothing when every row is shown.
func (b *builder) more(word string, shown, total int) string {
	if total <= shown {
		return ""
	}
	return b.l.Tf(word, b.l.Int(shown), b.l.Int(total-shown))
}

// shown is which of n rows a capped table shows, as indexes: all of them
// in their order when they fit, otherwise the first limit by first, which
// says whether row x goes before row y.
func shown(n, limit int, first func(x, y int) bool) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if n <= limit {
		return idx
	}
	sort.SliceStable(idx, func(x, y int) bool { return first(idx[x], idx[y]) })
	return idx[:limit]
}

func (b *builder) reps() table {
	l := b.l
	t := table{
		Headers: []string{l.T("col.rep"), l.T("col.mqls"), l.T("col.sla"), l.T("col.response"), l.T("col.decisions"),
			l.T("col.activities"), l.T("col.pipeline"), l.T("col.won")},
		Num: []bool{false, true, true, true, true, true, true, true},
	}
	shown := repsShown(b.s.ByRep)
	t.More = b.more("more.reps", len(shown), len(b.s.ByRep))
	for _, i := range shown {
		r := b.s.ByRep[i]
		k := func(f string) string { return fmt.Sprintf("by_rep.%d.%s", i, f) }
		name := clean(r.Name)
		if name == "" {
			name = clean(r.RepID)
		}
		t.Rows = append(t.Rows, []cell{
			{Text: name},
			{Key: k("mqls_assigned"), Fmt: "int", Text: l.Int(r.MQLsAssigned), Num: true},
			{Key: k("sla_compliance"), Fmt: "pct", Text: l.Percent(r.SLACompliance), Num: true},
			{Key: k("response_minutes_median"), Fmt: "minutes", Text: l.Minutes(r.ResponseMinutesMedian), Num: true,
				Also: b.working("working.short", k("response_working_minutes_median"), r.ResponseWorkingMinutesMedian)},
			{Text: l.Int(r.Accepted) + " / " + l.Int(r.Rejected), Num: true},
			{Key: k("activities"), Fmt: "int", Text: l.Int(r.Activities), Num: true},
			{Key: k("pipeline_created"), Fmt: "money", Text: l.Money(r.PipelineCreated, b.cur), Num: true},
			{Key: k("won_revenue"), Fmt: "money", Text: l.Money(r.WonRevenue, b.cur), Num: true},
		})
	}
	return t
}

func (b *builder) campaigns() table {
	l := b.l
	t := table{
		Headers: []string{l.T("col.campaign"), l.T("col.mqls"), l.T("col.pipeline"), l.T("col.won"), l.T("col.cost"), l.T("col.roi")},
		Num:     []bool{false, true, true, true, true, true},
	}
	shown := campaignsShown(b.s.ByCampaign)
	t.More = b.more("more.campaign_rows", len(shown), len(b.s.ByCampaign))
	for _, i := range shown {
		c := b.s.ByCampaign[i]
		k := func(f string) string { return fmt.Sprintf("by_campaign.%d.%s", i, f) }
		roiTone := "flat"
		if c.ROI != nil {
			roiTone = map[bool]string{true: "good", false: "bad"}[*c.ROI >= 0]
		}
		t.Rows = append(t.Rows, []cell{
			{Key: k("name"), Fmt: "text", Text: b.campaignName(c), Href: b.links.CampaignURL(c.CampaignID)},
			{Key: k("mqls"), Fmt: "int", Text: l.Int(c.MQLs), Num: true},
			{Key: k("pipeline_created"), Fmt: "money", Text: l.Money(c.PipelineCreated, b.cur), Num: true},
			{Key: k("won_revenue"), Fmt: "money", Text: l.Money(c.WonRevenue, b.cur), Num: true},
			{Key: k("cost"), Fmt: "money", Text: l.MoneyPtr(c.Cost, b.cur), Num: true},
			{Key: k("roi"), Fmt: "pct", Text: l.Percent(c.ROI), Num: true, Tone: roiTone},
		})
	}
	return t
}

// verdicts lists what sales decided on each campaign's MQLs of the
// period, the worst first: the campaigns with decisions by acceptance,
// lowest first (what marketing must fix), equal acceptance by more
// rejections (more of sales' time spent on leads it turned down), then by
// campaign id; after them the campaigns whose MQLs sales has not decided
// on yet, most MQLs first, since there is no verdict to act on. Campaigns
// without MQLs in the period have nothing to report and are left out.
func (b *builder) verdicts() verdicts {
	l := b.l
	idx := make([]int, 0, len(b.s.ByCampaign))
	for i, c := range b.s.ByCampaign {
		if c.MQLs > 0 || c.Accepted+c.Rejected > 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(x, y int) bool {
		a, c := b.s.ByCampaign[idx[x]], b.s.ByCampaign[idx[y]]
		ra, rc := a.AcceptanceRate(), c.AcceptanceRate()
		switch {
		case (ra == nil) != (rc == nil):
			return rc == nil
		case ra != nil && *ra != *rc:
			return *ra < *rc
		case ra != nil && a.Rejected != c.Rejected:
			return a.Rejected > c.Rejected
		case ra == nil && a.MQLs != c.MQLs:
			return a.MQLs > c.MQLs
		}
		return a.CampaignID < c.CampaignID
	})
	var v verdicts
	for n, i := range idx {
		if n == maxVerdicts {
			v.More = l.Tf("more.campaigns", l.Int(len(idx)-maxVerdicts))
			break
		}
		c := b.s.ByCampaign[i]
		k := func(f string) string { return fmt.Sprintf("by_campaign.%d.%s", i, f) }
		r := verdict{
			Name:     cell{Key: k("name"), Fmt: "text", Text: b.campaignName(c)},
			Rate:     cell{Key: fmt.Sprintf("by_campaign.%d", i), Fmt: "acceptance", Text: l.Percent(c.AcceptanceRate()), Num: true},
			Accepted: b.part(number("verdict.accepted", c.Accepted), k("accepted"), "int", l.Int(c.Accepted)),
			Rejected: b.part(number("verdict.rejected", c.Rejected), k("rejected"), "int", l.Int(c.Rejected)),
			Decided:  c.Accepted+c.Rejected > 0,
		}
		if pending := c.MQLs - c.Accepted - c.Rejected; pending > 0 {
			p := b.part("verdict.pending", fmt.Sprintf("by_campaign.%d", i), "pending", l.Int(pending))
			r.Pending = &p
		}
		var texts []string
		for j, reason := range c.RejectionReasons {
			if j == maxReasons {
				more := l.Tf("verdict.more_reasons", l.Int(len(c.RejectionReasons)-maxReasons))
				r.Reasons = append(r.Reasons, part{Text: more})
				texts = append(texts, more)
				break
			}
			p := part{Key: fmt.Sprintf("by_campaign.%d.rejection_reasons.%d.count", i, j), Fmt: "int",
				Pre: b.reason(reason.Reason) + " (", Text: l.Int(reason.Count), Post: ")"}
			r.Reasons = append(r.Reasons, p)
			texts = append(texts, p.Plain())
		}
		switch {
		case !r.Decided:
			r.ReasonsWord = l.T("verdict.undecided")
		case len(texts) == 0:
			r.ReasonsWord = l.T("verdict.no_rejections")
		default:
			r.ReasonsWord = l.T("verdict.reasons")
		}
		r.ReasonsText = strings.TrimSpace(r.ReasonsWord + " " + strings.Join(texts, " · "))
		v.Rows = append(v.Rows, r)
	}
	return v
}

// number picks the singular or plural phrase of word for n.
func number(word string, n int) string {
	if n == 1 {
		return word + ".sg"
	}
	return word + ".pl"
}

// campaignName is a campaign as the digest names it: "name · channel".
func (b *builder) campaignName(c metrics.CampaignRow) string {
	name := clean(c.Name)
	if name == "" {
		name = clean(c.CampaignID)
	}
	channel := clean(c.Channel)
	if w := "channel." + channel; b.l.Has(w) {
		channel = b.l.T(w)
	}
	return name + " · " + channel
}

// reason is a rejection reason as the digest prints it.
func (b *builder) reason(r string) string {
	if r == "unspecified" { // the engine's name for an empty reason
		return b.l.T("reason.unspecified")
	}
	return clean(r)
}

func (b *builder) reasons() table {
	l := b.l
	t := table{Headers: []string{l.T("col.reason"), l.T("col.count")}, Num: []bool{false, true}}
	// The reasons come most frequent first: the cap keeps the ones that
	// matter.
	for i, r := range b.s.RejectionReasons {
		if i == maxReasonRows {
			t.More = l.Tf("more.reasons", l.Int(len(b.s.RejectionReasons)-maxReasonRows))
			break
		}
		t.Rows = append(t.Rows, []cell{
			{Text: b.reason(r.Reason)},
			{Key: fmt.Sprintf("rejection_reasons.%d.count", i), Fmt: "int", Text: l.Int(r.Count), Num: true},
		})
	}
	return t
}

// feedback is sales' verdict on marketing's MQLs.
func (b *builder) feedback() []line {
	return []line{b.line("accepted"), b.line("rejected"), b.line("decision_pending"), b.line("mql_to_sql_rate")}
}

// follow is how quickly sales followed up marketing's MQLs.
func (b *builder) follow() []line {
	l, h := b.l, &b.s.Headline
	sla := b.line("sla_compliance")
	sla.Label = l.Tf("m.sla_compliance.hours", b.slaHours())
	sla.Note = l.Tf("note.sla", l.Int(h.SLAMet), l.Int(h.SLABreached), l.Int(h.SLAPending))
	median := b.line("response_minutes_median")
	median.Also = b.working("working.long", "headline.response_working_minutes_median", h.ResponseWorkingMinutesMedian)
	p90 := b.line("response_minutes_p90")
	p90.Also = b.working("working.long", "headline.response_working_minutes_p90", h.ResponseWorkingMinutesP90)
	untouched := b.line("untouched_mqls")
	untouched.Note = l.T("note.untouched")
	return []line{sla, median, p90, untouched}
}

// sources is pipeline, revenue and win rate by source.
func (b *builder) sources() table {
	l, h := b.l, &b.s.Headline
	t := table{
		Headers: []string{l.T("col.source"), l.T("col.leads"), l.T("col.pipeline"), l.T("col.won"), l.T("col.win_rate")},
		Num:     []bool{false, true, true, true, true},
	}
	row := func(name, key string, leads int, pipe, won metrics.Money, rate *float64) []cell {
		return []cell{
			{Text: l.T("source." + name)},
			{Key: "headline.leads_by_source." + key, Fmt: "int", Text: l.Int(leads), Num: true},
			{Key: "headline.pipeline_created." + key, Fmt: "money", Text: l.Money(pipe, b.cur), Num: true},
			{Key: "headline.won_revenue." + key, Fmt: "money", Text: l.Money(won, b.cur), Num: true},
			{Key: "headline.win_rate." + key, Fmt: "pct", Text: l.Percent(rate), Num: true},
		}
	}
	t.Rows = [][]cell{
		row("marketing", "marketing", h.LeadsBySource.Marketing, h.PipelineCreated.Marketing, h.WonRevenue.Marketing, h.WinRate.Marketing),
		row("sales", "sales", h.LeadsBySource.Sales, h.PipelineCreated.Sales, h.WonRevenue.Sales, h.WinRate.Sales),
		row("other", "other", h.LeadsBySource.Other, h.PipelineCreated.Other, h.WonRevenue.Other, h.WinRate.Other),
	}
	t.Foot = []cell{
		{Text: l.T("source.total")},
		{Key: "headline.leads_created", Fmt: "int", Text: l.Int(h.LeadsCreated), Num: true},
		{Key: "headline.pipeline_created.total", Fmt: "money", Text: l.Money(h.PipelineCreated.Total, b.cur), Num: true},
		{Key: "headline.won_revenue.total", Fmt: "money", Text: l.Money(h.WonRevenue.Total, b.cur), Num: true},
		{Key: "headline.win_rate.total", Fmt: "pct", Text: l.Percent(h.WinRate.Total), Num: true},
	}
	return t
}

// influence is marketing-sourced against marketing-influenced pipeline.
func (b *builder) influence() []line {
	l, h := b.l, &b.s.Headline
	sourced := b.line("pipeline_created.marketing")
	sourced.Note = l.Tf("note.share", l.Percent(h.MarketingSourcedShare))
	influenced := b.line("marketing_influenced_pipeline")
	influenced.Note = l.T("note.influenced")
	total := b.line("pipeline_created.total")
	total.Note = l.Tf("note.opps", l.Int(h.OpportunitiesCreated))
	return []line{sourced, influenced, total}
}

// funnel is the period's stage counts. They count events of the period,
// not one cohort moving down, so no stage-to-stage rate is implied.
func (b *builder) funnel() []bar {
	steps := []string{"leads_created", "mqls", "accepted", "sqls", "opportunities_created", "won_deals"}
	counts := make([]int, len(steps))
	top := 0
	for i, key := range steps {
		counts[i] = metrics.MustLookup(key).Read(&b.s.Headline).Int()
		top = max(top, counts[i])
	}
	out := make([]bar, 0, len(steps))
	for i, key := range steps {
		n, w := counts[i], 0
		if top > 0 && n > 0 {
			w = max(1, int(math.Round(float64(n)/float64(top)*100)))
		}
		t := b.metric(key)
		out = append(out, bar{Key: t.Key, Fmt: t.Fmt, Label: t.Label, Value: t.Value, Width: w})
	}
	return out
}

// deals is the rest of the sales outcome for leadership.
func (b *builder) deals() []line {
	return []line{b.line("avg_deal_size"), b.line("sales_cycle_days_median"), b.line("marketing_influenced_pipeline")}
}

func (b *builder) health() (table, bool) {
	l, d := b.l, &b.s.DataHealth
	t := table{Headers: []string{l.T("col.check"), l.T("col.count")}, Num: []bool{false, true}}
	ok := true
	for _, c := range d.Counts() {
		tone := "flat"
		if c.Count > 0 {
			ok, tone = false, "bad"
		}
		t.Rows = append(t.Rows, []cell{
			{Text: l.T("health." + c.Key)},
			{Key: "data_health." + c.Key, Fmt: "int", Text: l.Int(c.Count), Num: true, Tone: tone},
		})
	}
	return t, ok
}

// capitalize upper-cases the first letter, for a period name that starts
// a line ("semana 47" → "Semana 47").
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
