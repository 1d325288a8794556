package workbook

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/metrics"
)

func rate(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func moneyPtr(m *metrics.Money) any {
	if m == nil {
		return nil
	}
	return m.Float()
}

// trend writes the 12 periods and three line charts under them: volume,
// rates and money each get their own axis scale.
func (b *builder) trend() error {
	w, st := b.w, b.st
	h := w.trendHeaders
	cols := []column{
		{header: h[0], style: st.text, width: 10, text: true},
		{header: h[1], style: st.count},
		{header: h[2], style: st.percent},
		{header: h[3], style: st.percent},
		{header: h[4], style: st.money, width: widthMoney},
		{header: h[5], style: st.money, width: widthMoney},
		{header: h[6], style: st.money, width: widthMoney},
	}
	var rows [][]any
	for _, p := range b.s.Trend {
		rows = append(rows, []any{
			p.Label, p.MQLs, rate(p.SLACompliance), rate(p.AcceptanceRate),
			p.PipelineCreatedTotal.Float(), p.PipelineCreatedMarketing.Float(), p.WonRevenueTotal.Float(),
		})
	}
	sheet := w.sheetTrend
	if err := b.table(sheet, cols, rows); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	ref := func(col string, from, to int) string {
		return fmt.Sprintf("'%s'!$%s$%d:$%s$%d", sheet, col, from, col, to)
	}
	last := len(rows) + 1
	series := func(cols ...string) []excelize.ChartSeries {
		var out []excelize.ChartSeries
		for _, c := range cols {
			out = append(out, excelize.ChartSeries{
				Name:       fmt.Sprintf("'%s'!$%s$1", sheet, c),
				Categories: ref("A", 2, last),
				Values:     ref(c, 2, last),
				Marker:     excelize.ChartMarker{Symbol: "circle", Size: 5},
			})
		}
		return out
	}
	zero, one := 0.0, 1.0
	charts := []struct {
		title    string
		series   []excelize.ChartSeries
		format   string
		min, max *float64
	}{
		{w.chartMQLs, series("B"), "#,##0", &zero, nil},
		{w.chartRates, series("C", "D"), "0%", &zero, &one}, // rates on a fixed 0–100 % scale
		{w.chartMoney, series("E", "F", "G"), "#,##0", &zero, nil},
	}
	// Axis labels default to a pale grey that is hard to read in print.
	axisFont := excelize.Font{Color: "404040", Size: 9, Family: fontFamily}
	at := last + 2
	for i, c := range charts {
		if i == 1 {
			// On paper the table and the first chart fill a page; the
			// other two charts go together on the next.
			if err := b.f.InsertPageBreak(sheet, fmt.Sprintf("A%d", at)); err != nil {
				return fmt.Errorf("page break: %w", err)
			}
		}
		err := b.f.AddChart(sheet, fmt.Sprintf("A%d", at), &excelize.Chart{
			Type:      excelize.Line,
			Series:    c.series,
			Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: c.title}}},
			Legend:    excelize.ChartLegend{Position: "bottom"},
			Dimension: excelize.ChartDimension{Width: 720, Height: 280},
			XAxis:     excelize.ChartAxis{Font: axisFont},
			YAxis: excelize.ChartAxis{
				MajorGridLines: true, Font: axisFont, Minimum: c.min, Maximum: c.max,
				NumFmt: excelize.ChartNumFmt{CustomNumFmt: c.format},
			},
			// A null rate is a gap in the line, not a drop to zero.
			ShowBlanksAs: "gap",
		})
		if err != nil {
			return fmt.Errorf("add chart: %w", err)
		}
		at += 18 // 280 px is 14 default rows; readers differ, so leave room
	}
	return nil
}

func (b *builder) reps() error {
	st, h := b.st, b.w.reps
	cols := []column{
		{header: h[0], style: st.text, text: true},
		{header: h[1], style: st.text, width: 14, text: true},
		{header: h[2], style: st.count},
		{header: h[3], style: st.count},
		{header: h[4], style: st.count},
		{header: h[5], style: st.count},
		{header: h[6], style: st.percent},
		{header: h[7], style: st.decimal},
		{header: h[8], style: st.count},
		{header: h[9], style: st.count},
		{header: h[10], style: st.count},
		{header: h[11], style: st.count},
		{header: h[12], style: st.money, width: widthMoney},
		{header: h[13], style: st.count},
		{header: h[14], style: st.money, width: widthMoney},
	}
	if b.working() {
		// Working minutes right beside the wall-clock median.
		cols = slices.Insert(cols, 8, column{header: b.w.repsWorking, style: st.decimal})
	}
	// One row per rep: a team of 100,000 members has as many rows, so
	// they are streamed, row by row, rather than held as cells.
	rows := func(yield func([]any) bool) {
		for _, r := range b.s.ByRep {
			row := []any{
				b.text(r.RepID), b.text(r.Name), r.MQLsAssigned, r.SLAMet, r.SLABreached, r.SLAPending,
				rate(r.SLACompliance), rate(r.ResponseMinutesMedian), r.Accepted, r.Rejected,
				r.Activities, r.OpportunitiesCreated, r.PipelineCreated.Float(), r.WonDeals, r.WonRevenue.Float(),
			}
			if b.working() {
				row = slices.Insert(row, 8, rate(r.ResponseWorkingMinutesMedian))
			}
			if !yield(row) {
				return
			}
		}
	}
	return b.streamTable(b.w.sheetReps, cols, len(b.s.ByRep), rows)
}

func (b *builder) campaigns() error {
	st, h := b.st, b.w.campaigns
	cols := []column{
		{header: h[0], style: st.text, text: true},
		{header: h[1], style: st.text, width: 20, text: true},
		{header: h[2], style: st.text, width: 10, text: true},
		{header: h[3], style: st.count},
		{header: h[4], style: st.count},
		{header: h[5], style: st.count},
		{header: h[6], style: st.count},
		{header: h[7], style: st.percent},
		{header: h[8], style: st.count},
		{header: h[9], style: st.money, width: widthMoney},
		{header: h[10], style: st.money, width: widthMoney},
		{header: h[11], style: st.money, width: widthMoney},
		{header: h[12], style: st.count},
		{header: h[13], style: st.money, width: widthMoney},
		{header: h[14], style: st.percent},
	}
	var rows [][]any
	var urls []string
	for _, c := range b.s.ByCampaign {
		urls = append(urls, b.o.Links.CampaignURL(c.CampaignID))
		rows = append(rows, []any{
			b.text(c.CampaignID), b.text(c.Name), b.text(c.Channel), c.LeadsCreated, c.MQLs,
			c.Accepted, c.Rejected, rate(c.AcceptanceRate()),
			c.OpportunitiesCreated, c.PipelineCreated.Float(), c.WonRevenue.Float(), moneyPtr(c.Cost),
			c.LifetimeMQLs, c.LifetimeWonRevenue.Float(), rate(c.ROI),
		})
	}
	if err := b.table(b.w.sheetCampaigns, cols, rows); err != nil {
		return err
	}
	if err := b.hyperlinks(b.w.sheetCampaigns, 0, urls); err != nil {
		return err
	}
	return b.campaignRejections(len(rows) + 1)
}

// campaignRejections writes, two rows under the campaigns table that ends
// at row last, each campaign's rejection reasons: campaign, reason,
// count. Its columns line up with the table's first four (id, name,
// channel, leads created), whose styles (text, text, text, count) fit.
// Excel allows one filter per sheet, so this table has none.
func (b *builder) campaignRejections(last int) error {
	f, w, st := b.f, b.w, b.st
	sheet := w.sheetCampaigns
	row := last + 2
	set := func(col, r int, v any, style int) error {
		cell, _ := excelize.CoordinatesToCellName(col, r)
		if v != nil {
			if err := f.SetCellValue(sheet, cell, v); err != nil {
				return fmt.Errorf("set %s: %w", cell, err)
			}
		}
		return f.SetCellStyle(sheet, cell, cell, style)
	}
	if err := set(1, row, w.campaignRejectionsTitle, st.subtitle); err != nil {
		return err
	}
	row++
	for i, h := range w.campaignRejections {
		style := st.header
		if i == 3 {
			style = st.headerRight
		}
		if err := set(i+1, row, h, style); err != nil {
			return err
		}
	}
	reasonWidth := textWidth(w.campaignRejections[2]) + 2
	n := 0
	for _, c := range b.s.ByCampaign {
		for _, r := range c.RejectionReasons {
			row++
			n++
			reason := b.text(r.Reason)
			if r.Reason == "unspecified" { // the engine's name for an empty reason
				reason = w.unspecified
			}
			reasonWidth = max(reasonWidth, textWidth(reason)+2)
			for i, v := range []any{b.text(c.CampaignID), b.text(c.Name), reason, r.Count} {
				style := st.text
				if i == 3 {
					style = st.count
				}
				if err := set(i+1, row, v, style); err != nil {
					return err
				}
			}
		}
	}
	if n == 0 {
		row++
		if err := set(1, row, w.noRejections, st.note); err != nil {
			return err
		}
	}
	// The channel column above is narrow; reasons need their own width.
	cur, err := f.GetColWidth(sheet, "C")
	if err != nil {
		return err
	}
	if reasonWidth > cur {
		if err := f.SetColWidth(sheet, "C", "C", min(reasonWidth, widthMax)); err != nil {
			return err
		}
	}
	end, _ := excelize.CoordinatesToCellName(15, row)
	return f.SetSheetDimension(sheet, "A1:"+end)
}

func (b *builder) rejections() error {
	st, h := b.st, b.w.rejections
	cols := []column{
		{header: h[0], style: st.text, width: 20, text: true},
		{header: h[1], style: st.count},
		{header: h[2], style: st.percent},
	}
	total := 0
	for _, r := range b.s.RejectionReasons {
		total += r.Count
	}
	var rows [][]any
	for _, r := range b.s.RejectionReasons {
		reason := b.text(r.Reason)
		if r.Reason == "unspecified" { // the engine's name for an empty reason
			reason = b.w.unspecified
		}
		rows = append(rows, []any{reason, r.Count, float64(r.Count) / float64(total)})
	}
	return b.table(b.w.sheetRejections, cols, rows)
}

func (b *builder) backlog() error {
	st, h := b.st, b.w.backlog
	cols := []column{
		{header: h[0], style: st.text, text: true},
		{header: h[1], style: st.text, text: true},
		{header: h[2], style: st.text, width: 14, text: true},
		{header: h[3], style: st.dateTime, width: widthDate},
		{header: h[4], style: st.dateTime, width: widthDate},
		{header: h[5], style: st.decimal},
		{header: h[6], style: st.text, text: true},
	}
	// Names of owners: the reps' table knows every sales rep of the period.
	names := map[string]string{}
	for _, r := range b.s.ByRep {
		names[r.RepID] = r.Name
	}
	var rows [][]any
	var urls []string
	for _, it := range b.s.FollowupBacklog {
		urls = append(urls, b.o.Links.LeadURL(it.LeadID))
		var owner, name any
		if it.OwnerID != nil && *it.OwnerID != "" {
			owner = b.text(*it.OwnerID)
			if n, ok := names[*it.OwnerID]; ok {
				name = b.text(n)
			}
		}
		breached := b.w.no
		if it.SLABreached {
			breached = b.w.yes
		}
		rows = append(rows, []any{b.text(it.LeadID), owner, name, b.when(it.MQLAt.Time()), b.when(it.DueAt.Time()), it.AgeHours, breached})
	}
	if err := b.table(b.w.sheetBacklog, cols, rows); err != nil {
		return err
	}
	return b.hyperlinks(b.w.sheetBacklog, 0, urls)
}

func (b *builder) health() error {
	st, h := b.st, b.w.health
	cols := []column{
		{header: h[0], style: st.text, text: true},
		// Wide enough for the freshness date-times below the counts.
		{header: h[1], style: st.count, width: widthDate},
		{header: h[2], style: st.text, text: true},
	}
	var rows [][]any
	for _, c := range b.s.DataHealth.Counts() {
		rows = append(rows, []any{b.w.labels[c.Key], c.Count, b.w.healthDefs[c.Key]})
	}
	// How fresh the source was, as date-times in the report's zone below
	// the counts: a digest from a stalled sync says so.
	fresh := b.s.DataHealth.Freshness()
	for _, t := range fresh {
		var at any
		if t.At != nil {
			at = b.when(t.At.Time())
		}
		rows = append(rows, []any{b.w.labels[t.Key], at, b.w.healthDefs[t.Key]})
	}
	if err := b.table(b.w.sheetHealth, cols, rows); err != nil {
		return err
	}
	first, _ := excelize.CoordinatesToCellName(2, len(rows)-len(fresh)+2)
	last, _ := excelize.CoordinatesToCellName(2, len(rows)+1)
	return b.f.SetCellStyle(b.w.sheetHealth, first, last, st.dateTime)
}

// definitions writes what this run is (period, zone, as of, generation
// time), then what each number means.
func (b *builder) definitions() error {
	f, w, st, s := b.f, b.w, b.st, b.s
	sheet := w.sheetDefinitions
	name := b.o.ReportName
	if name == "" {
		name = "sameteam"
	}
	run := []entry{
		{w.reportName, b.text(name), st.wrap},
		{w.generatedFor, w.audience[b.o.Audience], st.wrap},
		{w.periodW, s.Period.Label, st.wrap},
		{w.kind, w.kinds[string(s.Period.Kind)], st.wrap},
		{w.start, b.when(s.Span.Start), st.dateTimeLeft},
		{w.end, b.when(s.Span.End), st.dateTimeLeft},
		{w.zone, b.loc.String(), st.wrap},
		{w.asOfLabel, b.when(s.AsOf.Time()), st.dateTimeLeft},
		{w.slaHours, s.SLAHours, st.decimalLeft},
		{w.slaLabel, b.slaText(), st.wrap},
	}
	run = append(run, b.calendarEntries()...)
	run = append(run,
		entry{w.currency, b.o.Currency, st.wrap},
		entry{w.generatedAt, b.when(b.o.GeneratedAt), st.dateTimeLeft},
	)
	defs := []string{
		"mql_cohort", "leads_created", "mqls", "mql_target", "unassigned_mqls", "response_time",
		"sla_compliance", "untouched_mqls", "decision", "sqls", "opportunities_created",
		"pipeline_created.total", "marketing_sourced_share", "marketing_influenced_pipeline",
		"won_deals", "won_revenue.total", "win_rate.total", "avg_deal_size",
		"sales_cycle_days_median", "activities.sales", "alignment_score", "roi", "campaign_acceptance",
		"rejection_reasons", "followup_backlog", "trend",
	}
	if b.working() {
		defs = slices.Insert(defs, 7, "sla_working")
		defs = slices.Insert(defs, 6, "response_working_time")
	}
	row := 1
	put := func(e entry, labelStyle int) error {
		a, c := fmt.Sprintf("A%d", row), fmt.Sprintf("B%d", row)
		if err := f.SetCellValue(sheet, a, e.label); err != nil {
			return err
		}
		if err := f.SetCellStyle(sheet, a, a, labelStyle); err != nil {
			return err
		}
		if e.v != nil {
			if err := f.SetCellValue(sheet, c, e.v); err != nil {
				return err
			}
		}
		if err := f.SetCellStyle(sheet, c, c, e.style); err != nil {
			return err
		}
		// Readers do not all grow a row to fit wrapped text (LibreOffice
		// keeps the default height), so size it from the text.
		text, _ := e.v.(string)
		lines := max(lines(e.label, labelWidth), lines(text, defWidth))
		if lines > 1 {
			if err := f.SetRowHeight(sheet, row, float64(lines)*lineHeight); err != nil {
				return err
			}
		}
		row++
		return nil
	}
	if err := put(entry{w.run, "", st.header}, st.header); err != nil {
		return err
	}
	for _, e := range run {
		if err := put(e, st.label); err != nil {
			return err
		}
	}
	row++
	if err := put(entry{w.metric, w.definition, st.header}, st.header); err != nil {
		return err
	}
	for _, k := range defs {
		if err := put(entry{definitionLabel(w, k), w.defs[k], st.wrap}, st.labelWrap); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(sheet, "A", "A", labelWidth); err != nil {
		return err
	}
	if err := f.SetColWidth(sheet, "B", "B", defWidth); err != nil {
		return err
	}
	return b.pageSetup(sheet, true, 0)
}

// entry is one labelled value of the Definitions sheet.
type entry struct {
	label string
	v     any
	style int
}

// calendarEntries describe the working calendar the SLA counts: its name
// and zone, each weekday's hours, the hours of a week and the holidays
// that fall in the period. Without a calendar there is nothing to add;
// a snapshot that names one the workbook was not given shows its name.
func (b *builder) calendarEntries() []entry {
	w, st := b.w, b.st
	if !b.working() {
		return nil
	}
	name := b.text(*b.s.SLACalendar)
	cal := b.o.Calendar
	if cal == nil {
		return []entry{{w.calendar, name + " " + w.calendarUnknown, st.wrap}}
	}
	out := []entry{{w.calendar, name, st.wrap}, {w.calendarZone, cal.Location().String(), st.wrap}}
	for i := range 7 {
		d := time.Weekday((i + 1) % 7) // Monday first
		var total time.Duration
		var ranges []string
		for _, r := range cal.Hours(d) {
			ranges = append(ranges, strings.Replace(r.String(), "-", "–", 1))
			total += time.Duration(r.End-r.Start) * time.Minute
		}
		text := w.noHours
		if len(ranges) > 0 {
			text = fmt.Sprintf("%s (%s h)", strings.Join(ranges, ", "), b.decimal(total.Hours()))
		}
		out = append(out, entry{w.weekdays[d], text, st.wrap})
	}
	out = append(out, entry{w.weeklyHours, cal.WeeklyHours().Hours(), st.decimalLeft})
	var days []string
	for _, d := range cal.HolidaysIn(b.s.Span.Start, b.s.Span.End) {
		t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
		layout := "2006-01-02"
		if b.o.Locale == "es" {
			layout = "02/01/2006"
		}
		days = append(days, t.Format(layout))
	}
	holidays := w.noHolidays
	if len(days) > 0 {
		holidays = strings.Join(days, ", ")
	}
	return append(out, entry{w.holidays, holidays, st.wrap})
}

// decimal writes v with at most two decimals in the workbook's language,
// for numbers inside text.
func (b *builder) decimal(v float64) string {
	s := strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	if b.o.Locale == "es" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Layout of the Definitions sheet.
const (
	labelWidth = 38
	defWidth   = 100
	lineHeight = 15 // points per line of 11-point text
)

// lines estimates how many lines s wraps to in a column width characters
// wide, breaking at spaces as a reader does.
func lines(s string, width float64) int {
	if s == "" {
		return 1
	}
	n, cur := 1, 0.0
	for _, word := range strings.Fields(s) {
		wlen := textWidth(word)
		switch {
		case cur == 0:
			cur = wlen
		case cur+1+wlen <= width-2: // the indent and cell padding take about two
			cur += 1 + wlen
		default:
			n++
			cur = wlen
		}
	}
	return n
}

// definitionLabel names a definition; a few cover a family of metrics.
func definitionLabel(w *words, key string) string {
	switch key {
	case "won_deals":
		return w.labels["won_deals"] + " / " + w.labels["lost_deals"]
	case "activities.sales":
		return w.labels["activities.sales"] + ", " + w.labels["activities.marketing"] + ", " + w.labels["activities.other"]
	case "mql_target":
		return w.labels["mql_target"] + ", " + w.labels["mql_target_attainment"]
	case "sla_compliance":
		return w.labels["sla_compliance"]
	case "response_time":
		return w.labels["response_minutes_median"] + ", " + w.labels["response_minutes_p90"]
	case "decision":
		return w.labels["acceptance_rate"] + ", " + w.labels["decision_rate"]
	case "sqls":
		return w.labels["sqls"] + ", " + w.labels["mql_to_sql_rate"]
	}
	return w.labels[key]
}
