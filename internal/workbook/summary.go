package workbook

import (
	"fmt"
	"math"
	"slices"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/metrics"
)

// metricSpec is one line of the summary, keyed by its JSON path; its unit
// (how it is shown and how its change is computed) is the catalog's.
type metricSpec struct {
	key  string
	unit metrics.Unit
}

// specs looks the keys up in the metric catalog. The score's capped
// attainment, a component only, is the one rate the catalog does not hold.
func specs(keys ...string) []metricSpec {
	out := make([]metricSpec, len(keys))
	for i, k := range keys {
		if k == "mql_target_attainment_capped" {
			out[i] = metricSpec{k, metrics.UnitRate}
			continue
		}
		out[i] = metricSpec{k, metrics.MustLookup(k).Unit}
	}
	return out
}

// summaryGroups orders the headline for an audience: groups of metrics,
// each team's own first after the score.
// With a working calendar (working), the working response times follow
// the wall-clock ones.
func summaryGroups(audience string, working bool) [][]metricSpec {
	groupScore := specs("alignment_score")
	groupVolume := specs("mqls", "mql_target", "mql_target_attainment", "leads_created",
		"leads_by_source.marketing", "leads_by_source.sales", "leads_by_source.other", "unassigned_mqls")
	groupSLA := specs("sla_compliance", "sla_met", "sla_breached", "sla_pending",
		"response_minutes_median", "response_minutes_p90", "untouched_mqls")
	if working {
		groupSLA = slices.Insert(groupSLA, 6, specs("response_working_minutes_median", "response_working_minutes_p90")...)
	}
	groupDecision := specs("acceptance_rate", "decision_rate", "accepted", "rejected", "decision_pending",
		"sqls", "mql_to_sql_rate")
	groupPipeline := specs("opportunities_created", "pipeline_created.total", "pipeline_created.marketing",
		"pipeline_created.sales", "pipeline_created.other", "marketing_sourced_share", "marketing_influenced_pipeline")
	groupRevenue := specs("won_revenue.total", "won_revenue.marketing", "won_revenue.sales", "won_revenue.other",
		"won_deals", "lost_deals", "win_rate.total", "win_rate.marketing", "win_rate.sales", "win_rate.other",
		"avg_deal_size", "sales_cycle_days_median")
	groupActivity := specs("activities.sales", "activities.marketing", "activities.other")
	switch audience {
	case AudienceSales:
		return [][]metricSpec{groupScore, groupSLA, groupDecision, groupVolume, groupPipeline, groupRevenue, groupActivity}
	case AudienceMarketing:
		return [][]metricSpec{groupScore, groupVolume, groupPipeline, groupDecision, groupSLA, groupRevenue, groupActivity}
	}
	return [][]metricSpec{groupScore, groupVolume, groupSLA, groupDecision, groupPipeline, groupRevenue, groupActivity}
}

// slaText names the SLA in words: "24 hours (wall-clock time)" or "8
// working hours, calendar madrid-office".
func (b *builder) slaText() string {
	hours := b.decimal(b.s.SLAHours)
	if c := b.s.SLACalendar; c != nil {
		return fmt.Sprintf(b.w.slaWorking, hours, b.text(*c))
	}
	return fmt.Sprintf(b.w.slaWall, hours)
}

// componentSpecs are the parts of the alignment score, then the score.
func componentSpecs() []metricSpec {
	return specs("sla_compliance", "acceptance_rate", "mql_target_attainment_capped", "decision_rate", "alignment_score")
}

// headlineValue returns the value of key in h as a float64 or int for a
// cell, or nil for a null, read through the metric catalog. The one number
// the catalog does not hold is the score's capped attainment, which exists
// only as a component of the alignment score.
func headlineValue(h *metrics.Headline, key string) any {
	if key == "mql_target_attainment_capped" {
		if h.MQLTargetAttainment == nil {
			return nil
		}
		return min(1, *h.MQLTargetAttainment)
	}
	m := metrics.MustLookup(key) // the keys are the specs' above, checked by TestSummaryKeysAreInTheCatalog
	v := m.Read(h)
	switch {
	case !v.Valid:
		return nil
	case m.Unit == metrics.UnitCount:
		return v.Int()
	}
	return v.Number
}

func number(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// change is cur − prev for a cell, nil when either is null. Rates change in
// percentage points, so the value is scaled by 100.
func change(u metrics.Unit, cur, prev any) any {
	if cur == nil || prev == nil {
		return nil
	}
	d := number(cur) - number(prev)
	switch u {
	case metrics.UnitCount:
		return int(d)
	case metrics.UnitRate:
		return d * 100
	case metrics.UnitMoney:
		// Amounts are whole cents; rounding drops float noise such as
		// 0.00999999 from a money cell.
		return math.Round(d*100) / 100
	}
	return d
}

func (b *builder) valueStyle(u metrics.Unit) int {
	return map[metrics.Unit]int{
		metrics.UnitCount: b.st.count, metrics.UnitRate: b.st.percent, metrics.UnitMoney: b.st.money,
		metrics.UnitMinutes: b.st.decimal, metrics.UnitHours: b.st.decimal, metrics.UnitDays: b.st.decimal,
		metrics.UnitScore: b.st.score,
	}[u]
}

func (b *builder) changeStyle(u metrics.Unit) int {
	return map[metrics.Unit]int{
		metrics.UnitCount: b.st.changeCount, metrics.UnitRate: b.st.changePoints, metrics.UnitMoney: b.st.changeMoney,
		metrics.UnitMinutes: b.st.changeDecimal, metrics.UnitHours: b.st.changeDecimal,
		metrics.UnitDays: b.st.changeDecimal, metrics.UnitScore: b.st.changeScore,
	}[u]
}

// summary writes the Summary sheet: a title block, the headline against the
// previous period, and the alignment score's components.
func (b *builder) summary() error {
	f, w, s := b.f, b.w, b.s
	sheet := w.sheetSummary
	title := b.o.ReportName
	if title == "" {
		title = "sameteam"
	}
	set := func(cell string, v any, style int) error {
		if v != nil {
			if err := f.SetCellValue(sheet, cell, v); err != nil {
				return fmt.Errorf("set %s: %w", cell, err)
			}
		}
		return f.SetCellStyle(sheet, cell, cell, style)
	}
	head := []struct {
		cell  string
		v     any
		style int
	}{
		{"A1", b.text(title), b.st.title},
		{"A2", w.generatedFor, b.st.label}, {"B2", w.audience[b.o.Audience], b.st.text},
		{"A3", w.periodW, b.st.label}, {"B3", s.Period.Label, b.st.text},
		{"A4", w.asOf, b.st.label}, {"B4", b.when(s.AsOf.Time()), b.st.dateTimeLeft},
		{"A5", w.slaLabel, b.st.label}, {"B5", b.slaText(), b.st.text},
	}
	for _, c := range head {
		if err := set(c.cell, c.v, c.style); err != nil {
			return err
		}
	}
	const headerRow = 7
	row := headerRow
	header := func(first string) error {
		for i, v := range []string{first, s.Period.Label, s.Previous.Label, w.change} {
			cell, _ := excelize.CoordinatesToCellName(i+1, row)
			style := b.st.headerRight
			if i == 0 {
				style = b.st.header
			}
			if err := set(cell, v, style); err != nil {
				return err
			}
		}
		row++
		return nil
	}
	line := func(m metricSpec) error {
		cur := headlineValue(&s.Headline, m.key)
		prev := headlineValue(&s.Previous.Headline, m.key)
		cells := []struct {
			v     any
			style int
		}{
			{w.labels[m.key], b.st.text},
			{cur, b.valueStyle(m.unit)},
			{prev, b.valueStyle(m.unit)},
			{change(m.unit, cur, prev), b.changeStyle(m.unit)},
		}
		for i, c := range cells {
			cell, _ := excelize.CoordinatesToCellName(i+1, row)
			if err := set(cell, c.v, c.style); err != nil {
				return err
			}
		}
		row++
		return nil
	}
	if err := header(w.metric); err != nil {
		return err
	}
	for _, g := range summaryGroups(b.o.Audience, b.working()) {
		for _, m := range g {
			if err := line(m); err != nil {
				return err
			}
		}
	}
	row++
	if err := set(fmt.Sprintf("A%d", row), w.components, b.st.subtitle); err != nil {
		return err
	}
	row++
	if err := header(w.metric); err != nil {
		return err
	}
	for _, m := range componentSpecs() {
		if err := line(m); err != nil {
			return err
		}
	}
	if err := set(fmt.Sprintf("A%d", row), w.componentsNote, b.st.note); err != nil {
		return err
	}
	widest := textWidth(w.components)
	for _, g := range append(summaryGroups(b.o.Audience, b.working()), componentSpecs()) {
		for _, m := range g {
			widest = max(widest, textWidth(w.labels[m.key]))
		}
	}
	if err := f.SetColWidth(sheet, "A", "A", min(widest+2, widthMax)); err != nil {
		return err
	}
	if err := f.SetColWidth(sheet, "B", "D", widthMoney+1); err != nil {
		return err
	}
	if err := freezeTop(f, sheet, headerRow); err != nil {
		return err
	}
	return b.pageSetup(sheet, false, headerRow)
}
