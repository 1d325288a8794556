package workbook

import (
	"fmt"
	"strings"

	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
)

// words is the workbook's vocabulary in one language: sheet names, column
// headers, metric labels and definitions, and the words used inside cells,
// read from package locale (the workbook's own under wb.) into the fields
// the sheets use. It is built per call so nothing in the package is shared
// mutable state.
type words struct {
	// Sheet names (at most 31 characters, none of : \ / ? * [ ]).
	sheetSummary, sheetTrend, sheetReps, sheetCampaigns, sheetRejections string
	sheetBacklog, sheetDetail, sheetHealth, sheetDefinitions             string

	// Summary.
	metric, change, components, componentsNote, generatedFor, asOf string
	points                                                         string // unit of a rate change: percentage points
	audience                                                       map[string]string

	// Trend.
	trendHeaders                               []string
	chartMQLs, chartRates, chartMoney, periodW string

	reps, campaigns, rejections, backlog, detail, health []string
	// Columns that only a working calendar fills, and the Campaigns
	// sheet's table of rejection reasons per campaign.
	repsWorking, detailWorking            string
	campaignRejections                    []string
	campaignRejectionsTitle, noRejections string

	// Values inside cells.
	source, sla, decision map[string]string
	yes, no, unspecified  string
	truncated             string

	// Definitions sheet.
	run, definition, runFields                    string
	reportName, kind, start, end, zone, asOfLabel string
	slaHours, currency, generatedAt               string
	// The SLA named in words ("24 hours", "8 working hours"), and the
	// working calendar's block of the Definitions sheet.
	slaLabel, slaWall, slaWorking                 string
	calendar, calendarZone, weeklyHours, holidays string
	noHours, noHolidays, calendarUnknown          string
	weekdays                                      [7]string // Sunday first, as time.Weekday
	kinds                                         map[string]string
	healthDefs                                    map[string]string

	// labels and defs are keyed by the metric's JSON path in the snapshot.
	labels map[string]string
	defs   map[string]string

	// Number-format fragments that differ by language.
	dateTime, date string
	subject        string // document subject, with %s for the period label
}

// vocabulary returns the words for locale ("en" or "es"), all of them
// from package locale.
func vocabulary(tag string) (*words, error) {
	if tag != "en" && tag != "es" {
		return nil, fmt.Errorf("%w: %q", ErrLocale, tag)
	}
	loc := mustLocale(tag)
	w := fill(loc)
	w.labels = labels(loc)
	// The Definitions sheet explains the Trend and Follow-up backlog sheets
	// under their sheet names.
	w.labels["trend"], w.labels["followup_backlog"] = w.sheetTrend, w.sheetBacklog
	return w, nil
}

// mustLocale is package locale's words for a tag this package names itself.
func mustLocale(tag string) *locale.Locale {
	l, err := locale.Get(tag)
	if err != nil {
		panic(err) // "en" and "es" are locale's own
	}
	return l
}

// labels are the workbook's names keyed by JSON path, from package locale:
// a headline metric's is its catalog heading (with the unit of a bare
// number), a data-health count's the name the digest gives it too
// (health.<key>), the workbook's other terms are under wb.label.<key>.
func labels(loc *locale.Locale) map[string]string {
	out := map[string]string{}
	for _, m := range metrics.Catalog() {
		out[m.Key] = loc.MetricHeading(m)
	}
	for _, k := range loc.Keys() {
		for _, prefix := range []string{"wb.label.", "health."} {
			if rest, ok := strings.CutPrefix(k, prefix); ok {
				out[rest] = loc.T(k)
			}
		}
	}
	return out
}

// fill builds the workbook's words from loc. The sheet-specific words are
// under wb.; words the digest uses too (metric names, audiences, column
// names) are read under their shared keys, a headline metric's as its
// heading.
func fill(loc *locale.Locale) *words {
	t := func(k string) string {
		if rest, ok := strings.CutPrefix(k, "metric."); ok {
			if m, ok := metrics.Lookup(rest); ok {
				return loc.MetricHeading(m)
			}
		}
		return loc.T(k)
	}
	// list reads keys in order; a key without a dot is the sheet's own,
	// under prefix, a dotted one is a shared key read as it is.
	list := func(prefix string, keys ...string) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			if !strings.Contains(k, ".") {
				k = prefix + k
			}
			out[i] = t(k)
		}
		return out
	}
	byKey := func(prefix string, keys ...string) map[string]string {
		out := make(map[string]string, len(keys))
		for _, k := range keys {
			out[k] = t(prefix + k)
		}
		return out
	}
	w := &words{
		sheetSummary: t("wb.sheet.summary"), sheetTrend: t("wb.sheet.trend"), sheetReps: t("wb.sheet.reps"),
		sheetCampaigns: t("wb.sheet.campaigns"), sheetRejections: t("wb.sheet.rejections"),
		sheetBacklog: t("wb.sheet.backlog"), sheetDetail: t("wb.sheet.detail"),
		sheetHealth: t("h_health"), sheetDefinitions: t("wb.sheet.definitions"),

		metric: t("wb.metric"), change: t("wb.change"), components: t("wb.components"),
		componentsNote: t("wb.components_note"),
		generatedFor:   t("wb.generated_for"), asOf: t("wb.col.as_of"), points: t("wb.points"),
		audience: byKey("audience.", "leadership", "sales", "marketing"),

		trendHeaders: list("wb.trend.", "period", "col.mqls", "metric.sla_compliance", "metric.acceptance_rate",
			"metric.pipeline_created.total", "metric.pipeline_created.marketing", "metric.won_revenue.total"),
		chartMQLs: t("wb.chart.mqls"), chartRates: t("wb.chart.rates"),
		chartMoney: t("wb.chart.money"), periodW: t("wb.trend.period"),

		reps: list("wb.reps.", "rep_id", "wb.col.name", "mqls_assigned", "metric.sla_met", "metric.sla_breached",
			"metric.sla_pending", "metric.sla_compliance", "metric.response_minutes_median", "wb.col.accepted", "wb.col.rejected",
			"metric.activities.sales", "metric.opportunities_created", "metric.pipeline_created.total",
			"metric.won_deals", "metric.won_revenue.total"),
		campaigns: list("wb.campaigns.", "wb.col.campaign_id", "wb.col.name", "channel", "metric.leads_created", "col.mqls",
			"wb.col.accepted", "wb.col.rejected", "metric.acceptance_rate", "metric.opportunities_created",
			"metric.pipeline_created.total", "metric.won_revenue.total", "cost",
			"lifetime_mqls", "lifetime_won_revenue", "col.roi"),
		rejections:  list("wb.rejections.", "reason", "wb.col.mqls_rejected", "share"),
		backlog:     list("wb.backlog.", "wb.col.lead_id", "wb.col.owner_id", "wb.col.owner", "wb.col.mql_at", "wb.col.sla_due", "age_hours", "metric.sla_breached"),
		repsWorking: t("metric.response_working_minutes_median"), detailWorking: t("wb.detail.response_working"),
		campaignRejections:      list("wb.campaign_rejections.", "wb.col.campaign_id", "wb.col.campaign", "col.reason", "wb.col.mqls_rejected"),
		campaignRejectionsTitle: t("wb.campaign_rejections.title"),
		noRejections:            t("reasons_empty"),
		detail: list("wb.detail.", "wb.col.lead_id", "wb.col.mql_at", "source", "wb.col.owner_id", "wb.col.owner", "wb.col.campaign_id",
			"wb.col.campaign", "response", "wb.col.sla_due", "col.sla", "wb.label.decision", "col.reason", "sql_at"),
		health: list("wb.health.", "col.check", "value", "meaning"),

		source:      byKey("wb.source.", "marketing", "sales", "other"),
		sla:         byKey("wb.sla.", "met", "breached", "pending"),
		decision:    byKey("wb.decision.", "accepted", "rejected", "pending"),
		yes:         t("wb.yes"),
		no:          t("wb.no"),
		unspecified: t("wb.unspecified"),
		truncated:   t("wb.truncated"),

		run: t("wb.def.run"), definition: t("wb.def.definition"), runFields: t("wb.def.field"),
		reportName: t("report"), kind: t("wb.def.kind"), start: t("wb.def.start"),
		end: t("wb.def.end"), zone: t("wb.def.zone"), asOfLabel: t("wb.col.as_of"),
		slaHours: t("wb.def.sla_hours"), currency: t("wb.def.currency"), generatedAt: t("wb.def.generated_at"),
		slaLabel: t("col.sla"), slaWall: t("wb.def.sla_wall"), slaWorking: t("wb.def.sla_working"),
		calendar: t("wb.def.calendar"), calendarZone: t("wb.def.calendar_zone"), weeklyHours: t("wb.def.weekly_hours"),
		holidays: t("wb.def.holidays"), noHours: t("wb.def.no_hours"), noHolidays: t("wb.def.no_holidays"),
		calendarUnknown: t("wb.def.calendar_unknown"),
		kinds:           byKey("wb.kind.", "day", "week", "month", "quarter"),
		healthDefs: byKey("wb.health_def.", "leads_mql_before_created", "activities_unknown_team",
			"activities_unknown_lead", "opportunities_negative_amount", "future_activities_ignored",
			"latest_lead_created_at", "latest_activity_at"),

		defs: byKey("wb.def_text.", "mql_cohort", "leads_created", "mqls", "mql_target", "unassigned_mqls",
			"response_time", "sla_compliance", "untouched_mqls", "decision", "sqls", "opportunities_created",
			"pipeline_created.total", "marketing_sourced_share", "marketing_influenced_pipeline", "won_deals",
			"won_revenue.total", "win_rate.total", "avg_deal_size", "sales_cycle_days_median", "activities.sales",
			"alignment_score", "roi", "rejection_reasons", "followup_backlog", "response_working_time",
			"sla_working", "campaign_acceptance", "trend"),

		dateTime: t("wb.format.date_time"),
		date:     t("wb.format.date"),
		subject:  t("wb.subject"),
	}
	for i, d := range []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"} {
		w.weekdays[i] = t("wb.weekday." + d)
	}
	return w
}
