package workbook

import (
	"fmt"
	"strings"

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
	var rows [][]any
	for _, r := range b.s.ByRep {
		rows = append(rows, []any{
			b.text(r.RepID), b.text(r.Name), r.MQLsAssigned, r.SLAMet, r.SLABreached, r.SLAPending,
			rate(r.SLACompliance), rate(r.ResponseMinutesMedian), r.Accepted, r.Rejected,
			r.Activities, r.OpportunitiesCreated, r.PipelineCreated.Float(), r.WonDeals, r.WonRevenue.Float(),
		})
	}
	return b.table(b.w.sheetReps, cols, rows)
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
		{header: h[6], style: st.money, width: widthMoney},
		{header: h[7], style: st.money, width: widthMoney},
		{header: h[8], style: st.money, width: widthMoney},
		{header: h[9], style: st.count},
		{header: h[10], style: st.money, width: widthMoney},
		{header: h[11], style: st.percent},
	}
	var rows [][]any
	for _, c := range b.s.ByCampaign {
		rows = append(rows, []any{
			b.text(c.CampaignID), b.text(c.Name), b.text(c.Channel), c.LeadsCreated, c.MQLs,
			c.OpportunitiesCreated, c.PipelineCreated.Float(), c.WonRevenue.Float(), moneyPtr(c.Cost),
			c.LifetimeMQLs, c.LifetimeWonRevenue.Float(), rate(c.ROI),
		})
	}
	return b.table(b.w.sheetCampaigns, cols, rows)
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
		{header: h[4], style: st.decimal},
		{header: h[5], style: st.text, text: true},
	}
	// Names of owners: the reps' table knows every sales rep of the period.
	names := map[string]string{}
	for _, r := range b.s.ByRep {
		names[r.RepID] = r.Name
	}
	var rows [][]any
	for _, it := range b.s.FollowupBacklog {
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
		rows = append(rows, []any{b.text(it.LeadID), owner, name, b.when(it.MQLAt.Time()), it.AgeHours, breached})
	}
	return b.table(b.w.sheetBacklog, cols, rows)
}

func (b *builder) health() error {
	st, h := b.st, b.w.health
	cols := []column{
		{header: h[0], style: st.text, text: true},
		{header: h[1], style: st.count},
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
	type entry struct {
		label string
		v     any
		style int
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
		{w.currency, b.o.Currency, st.wrap},
		{w.generatedAt, b.when(b.o.GeneratedAt), st.dateTimeLeft},
	}
	defs := []string{
		"mql_cohort", "leads_created", "mqls", "mql_target", "unassigned_mqls", "response_time",
		"sla_compliance", "untouched_mqls", "decision", "sqls", "opportunities_created",
		"pipeline_created.total", "marketing_sourced_share", "marketing_influenced_pipeline",
		"won_deals", "won_revenue.total", "win_rate.total", "avg_deal_size",
		"sales_cycle_days_median", "activities.sales", "alignment_score", "roi",
		"rejection_reasons", "followup_backlog", "trend",
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
