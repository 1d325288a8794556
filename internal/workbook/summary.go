package workbook

import (
	"fmt"
	"math"
	"slices"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/metrics"
)

// unit says how a metric is shown and how its change is computed.
type unit int

const (
	unitCount unit = iota
	unitRate
	unitMoney
	unitMinutes
	unitDays
	unitScore
)

// metricSpec is one line of the summary, keyed by its JSON path.
type metricSpec struct {
	key  string
	unit unit
}

// summaryGroups orders the headline for an audience: groups of metrics,
// each team's own first after the score.
// With a working calendar (working), the working response times follow
// the wall-clock ones.
func summaryGroups(audience string, working bool) [][]metricSpec {
	groupScore := []metricSpec{{"alignment_score", unitScore}}
	groupVolume := []metricSpec{
		{"mqls", unitCount}, {"mql_target", unitCount}, {"mql_target_attainment", unitRate},
		{"leads_created", unitCount}, {"leads_by_source.marketing", unitCount},
		{"leads_by_source.sales", unitCount}, {"leads_by_source.other", unitCount},
		{"unassigned_mqls", unitCount},
	}
	groupSLA := []metricSpec{
		{"sla_compliance", unitRate}, {"sla_met", unitCount}, {"sla_breached", unitCount},
		{"sla_pending", unitCount}, {"response_minutes_median", unitMinutes},
		{"response_minutes_p90", unitMinutes}, {"untouched_mqls", unitCount},
	}
	if working {
		groupSLA = slices.Insert(groupSLA, 6, metricSpec{"response_working_minutes_median", unitMinutes},
			metricSpec{"response_working_minutes_p90", unitMinutes})
	}
	groupDecision := []metricSpec{
		{"acceptance_rate", unitRate}, {"decision_rate", unitRate}, {"accepted", unitCount},
		{"rejected", unitCount}, {"decision_pending", unitCount}, {"sqls", unitCount},
		{"mql_to_sql_rate", unitRate},
	}
	groupPipeline := []metricSpec{
		{"opportunities_created", unitCount}, {"pipeline_created.total", unitMoney},
		{"pipeline_created.marketing", unitMoney}, {"pipeline_created.sales", unitMoney},
		{"pipeline_created.other", unitMoney}, {"marketing_sourced_share", unitRate},
		{"marketing_influenced_pipeline", unitMoney},
	}
	groupRevenue := []metricSpec{
		{"won_revenue.total", unitMoney}, {"won_revenue.marketing", unitMoney},
		{"won_revenue.sales", unitMoney}, {"won_revenue.other", unitMoney},
		{"won_deals", unitCount}, {"lost_deals", unitCount}, {"win_rate.total", unitRate},
		{"win_rate.marketing", unitRate}, {"win_rate.sales", unitRate}, {"win_rate.other", unitRate},
		{"avg_deal_size", unitMoney}, {"sales_cycle_days_median", unitDays},
	}
	groupActivity := []metricSpec{
		{"activities.sales", unitCount}, {"activities.marketing", unitCount}, {"activities.other", unitCount},
	}
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
	return []metricSpec{
		{"sla_compliance", unitRate}, {"acceptance_rate", unitRate},
		{"mql_target_attainment_capped", unitRate}, {"decision_rate", unitRate},
		{"alignment_score", unitScore},
	}
}

// headlineValue returns the value of key in h as a float64 or int for a
// cell, or nil for a null.
func headlineValue(h *metrics.Headline, key string) any {
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	switch key {
	case "alignment_score":
		return f(h.AlignmentScore)
	case "mqls":
		return h.MQLs
	case "mql_target":
		if h.MQLTarget == nil {
			return nil
		}
		return *h.MQLTarget
	case "mql_target_attainment":
		return f(h.MQLTargetAttainment)
	case "mql_target_attainment_capped":
		if h.MQLTargetAttainment == nil {
			return nil
		}
		return min(1, *h.MQLTargetAttainment)
	case "leads_created":
		return h.LeadsCreated
	case "leads_by_source.marketing":
		return h.LeadsBySource.Marketing
	case "leads_by_source.sales":
		return h.LeadsBySource.Sales
	case "leads_by_source.other":
		return h.LeadsBySource.Other
	case "unassigned_mqls":
		return h.UnassignedMQLs
	case "sla_compliance":
		return f(h.SLACompliance)
	case "sla_met":
		return h.SLAMet
	case "sla_breached":
		return h.SLABreached
	case "sla_pending":
		return h.SLAPending
	case "response_minutes_median":
		return f(h.ResponseMinutesMedian)
	case "response_minutes_p90":
		return f(h.ResponseMinutesP90)
	case "response_working_minutes_median":
		return f(h.ResponseWorkingMinutesMedian)
	case "response_working_minutes_p90":
		return f(h.ResponseWorkingMinutesP90)
	case "untouched_mqls":
		return h.UntouchedMQLs
	case "acceptance_rate":
		return f(h.AcceptanceRate)
	case "decision_rate":
		return f(h.DecisionRate)
	case "accepted":
		return h.Accepted
	case "rejected":
		return h.Rejected
	case "decision_pending":
		return h.DecisionPending
	case "sqls":
		return h.SQLs
	case "mql_to_sql_rate":
		return f(h.MQLToSQLRate)
	case "opportunities_created":
		return h.OpportunitiesCreated
	case "pipeline_created.total":
		return h.PipelineCreated.Total.Float()
	case "pipeline_created.marketing":
		return h.PipelineCreated.Marketing.Float()
	case "pipeline_created.sales":
		return h.PipelineCreated.Sales.Float()
	case "pipeline_created.other":
		return h.PipelineCreated.Other.Float()
	case "marketing_sourced_share":
		return f(h.MarketingSourcedShare)
	case "marketing_influenced_pipeline":
		return h.MarketingInfluencedPipeline.Float()
	case "won_revenue.total":
		return h.WonRevenue.Total.Float()
	case "won_revenue.marketing":
		return h.WonRevenue.Marketing.Float()
	case "won_revenue.sales":
		return h.WonRevenue.Sales.Float()
	case "won_revenue.other":
		return h.WonRevenue.Other.Float()
	case "won_deals":
		return h.WonDeals
	case "lost_deals":
		return h.LostDeals
	case "win_rate.total":
		return f(h.WinRate.Total)
	case "win_rate.marketing":
		return f(h.WinRate.Marketing)
	case "win_rate.sales":
		return f(h.WinRate.Sales)
	case "win_rate.other":
		return f(h.WinRate.Other)
	case "avg_deal_size":
		if h.AvgDealSize == nil {
			return nil
		}
		return h.AvgDealSize.Float()
	case "sales_cycle_days_median":
		return f(h.SalesCycleDaysMedian)
	case "activities.sales":
		return h.Activities.Sales
	case "activities.marketing":
		return h.Activities.Marketing
	case "activities.other":
		return h.Activities.Other
	}
	panic("workbook: no headline metric " + key) // a typo in the specs above
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
func change(u unit, cur, prev any) any {
	if cur == nil || prev == nil {
		return nil
	}
	d := number(cur) - number(prev)
	switch u {
	case unitCount:
		return int(d)
	case unitRate:
		return d * 100
	case unitMoney:
		// Amounts are whole cents; rounding drops float noise such as
		// 0.00999999 from a money cell.
		return math.Round(d*100) / 100
	}
	return d
}

func (b *builder) valueStyle(u unit) int {
	return [...]int{
		unitCount: b.st.count, unitRate: b.st.percent, unitMoney: b.st.money,
		unitMinutes: b.st.decimal, unitDays: b.st.decimal, unitScore: b.st.score,
	}[u]
}

func (b *builder) changeStyle(u unit) int {
	return [...]int{
		unitCount: b.st.changeCount, unitRate: b.st.changePoints, unitMoney: b.st.changeMoney,
		unitMinutes: b.st.changeDecimal, unitDays: b.st.changeDecimal, unitScore: b.st.changeScore,
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
