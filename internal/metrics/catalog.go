package metrics

import (
	"fmt"
	"slices"
)

// Unit is what a metric's number counts, and so how it is written.
type Unit string

// The units. A rate is a fraction (0.703 is 70.3 %); money is in the
// report's currency; a score is 0 to 100.
const (
	UnitCount   Unit = "count"
	UnitRate    Unit = "rate"
	UnitMoney   Unit = "money"
	UnitMinutes Unit = "minutes"
	UnitHours   Unit = "hours"
	UnitDays    Unit = "days"
	UnitScore   Unit = "score"
)

// Metric is one headline number of a snapshot: where it is in the JSON,
// how to read it, what it counts, which way is good, and the locale key of
// its name. The definitions are in README.md, under the same key.
type Metric struct {
	// Key is the metric's path under "headline" in the snapshot JSON, and
	// under "previous" for the period before: "pipeline_created.total".
	Key  string
	Unit Unit
	// Better is +1 when a higher number is better, -1 when a lower one is,
	// 0 when neither (a count of what happened, a target).
	Better int
	read   func(*Headline) Value
}

// Label is the locale key of the metric's name ("metric.mqls"): package
// locale holds it in every language.
func (m Metric) Label() string { return "metric." + m.Key }

// Read is the metric's value in h: the headline (Snapshot.Headline) or the
// period before (&Snapshot.Previous.Headline).
func (m Metric) Read(h *Headline) Value { return m.read(h) }

// Value is a metric's reading. A metric without a value (no MQLs to take a
// rate of, no target set) is not Valid, and is null in the JSON.
type Value struct {
	Valid bool
	// Number is the value as the snapshot JSON writes it: money in
	// currency units, rates as fractions.
	Number float64
	// Money is the exact amount, in cents, of a money metric.
	Money Money
}

// Int is a count's value.
func (v Value) Int() int { return int(v.Number) }

// Catalog lists the headline metrics in the order reports show them. To
// add a metric: its field in Headline, its definition in README.md, its
// entry here, and its name under Label() in package locale's words.
func Catalog() []Metric { return slices.Clone(catalog) }

// Lookup finds the metric with key.
func Lookup(key string) (Metric, bool) {
	i := slices.IndexFunc(catalog, func(m Metric) bool { return m.Key == key })
	if i < 0 {
		return Metric{}, false
	}
	return catalog[i], true
}

// MustLookup is Lookup for keys written in the program: an unknown key is
// a programming error.
func MustLookup(key string) Metric {
	m, ok := Lookup(key)
	if !ok {
		panic(fmt.Sprintf("metrics: no metric %q in the catalog", key))
	}
	return m
}

func count(key string, better int, f func(*Headline) int) Metric {
	return Metric{Key: key, Unit: UnitCount, Better: better, read: func(h *Headline) Value {
		return Value{Valid: true, Number: float64(f(h))}
	}}
}

func optional(key string, unit Unit, better int, f func(*Headline) *float64) Metric {
	return Metric{Key: key, Unit: unit, Better: better, read: func(h *Headline) Value {
		if p := f(h); p != nil {
			return Value{Valid: true, Number: *p}
		}
		return Value{}
	}}
}

func money(key string, better int, f func(*Headline) *Money) Metric {
	return Metric{Key: key, Unit: UnitMoney, Better: better, read: func(h *Headline) Value {
		if p := f(h); p != nil {
			return Value{Valid: true, Number: p.Float(), Money: *p}
		}
		return Value{}
	}}
}

var catalog = []Metric{
	optional("alignment_score", UnitScore, 1, func(h *Headline) *float64 { return h.AlignmentScore }),
	count("leads_created", 1, func(h *Headline) int { return h.LeadsCreated }),
	count("leads_by_source.marketing", 1, func(h *Headline) int { return h.LeadsBySource.Marketing }),
	count("leads_by_source.sales", 1, func(h *Headline) int { return h.LeadsBySource.Sales }),
	count("leads_by_source.other", 0, func(h *Headline) int { return h.LeadsBySource.Other }),
	count("mqls", 1, func(h *Headline) int { return h.MQLs }),
	{Key: "mql_target", Unit: UnitCount, read: func(h *Headline) Value {
		if h.MQLTarget == nil {
			return Value{}
		}
		return Value{Valid: true, Number: float64(*h.MQLTarget)}
	}},
	optional("mql_target_attainment", UnitRate, 1, func(h *Headline) *float64 { return h.MQLTargetAttainment }),
	count("unassigned_mqls", -1, func(h *Headline) int { return h.UnassignedMQLs }),
	count("sla_met", 1, func(h *Headline) int { return h.SLAMet }),
	count("sla_breached", -1, func(h *Headline) int { return h.SLABreached }),
	count("sla_pending", 0, func(h *Headline) int { return h.SLAPending }),
	optional("sla_compliance", UnitRate, 1, func(h *Headline) *float64 { return h.SLACompliance }),
	optional("response_minutes_median", UnitMinutes, -1, func(h *Headline) *float64 { return h.ResponseMinutesMedian }),
	optional("response_minutes_p90", UnitMinutes, -1, func(h *Headline) *float64 { return h.ResponseMinutesP90 }),
	optional("response_working_minutes_median", UnitMinutes, -1, func(h *Headline) *float64 { return h.ResponseWorkingMinutesMedian }),
	optional("response_working_minutes_p90", UnitMinutes, -1, func(h *Headline) *float64 { return h.ResponseWorkingMinutesP90 }),
	count("untouched_mqls", -1, func(h *Headline) int { return h.UntouchedMQLs }),
	count("accepted", 1, func(h *Headline) int { return h.Accepted }),
	count("rejected", -1, func(h *Headline) int { return h.Rejected }),
	// Undecided MQLs are neither good nor bad, like SLA pending: an MQL that
	// arrived late in the period is rightly not decided yet.
	count("decision_pending", 0, func(h *Headline) int { return h.DecisionPending }),
	optional("acceptance_rate", UnitRate, 1, func(h *Headline) *float64 { return h.AcceptanceRate }),
	optional("decision_rate", UnitRate, 1, func(h *Headline) *float64 { return h.DecisionRate }),
	count("sqls", 1, func(h *Headline) int { return h.SQLs }),
	optional("mql_to_sql_rate", UnitRate, 1, func(h *Headline) *float64 { return h.MQLToSQLRate }),
	count("opportunities_created", 1, func(h *Headline) int { return h.OpportunitiesCreated }),
	money("pipeline_created.total", 1, func(h *Headline) *Money { return &h.PipelineCreated.Total }),
	money("pipeline_created.marketing", 1, func(h *Headline) *Money { return &h.PipelineCreated.Marketing }),
	money("pipeline_created.sales", 1, func(h *Headline) *Money { return &h.PipelineCreated.Sales }),
	money("pipeline_created.other", 0, func(h *Headline) *Money { return &h.PipelineCreated.Other }),
	optional("marketing_sourced_share", UnitRate, 1, func(h *Headline) *float64 { return h.MarketingSourcedShare }),
	money("marketing_influenced_pipeline", 1, func(h *Headline) *Money { return &h.MarketingInfluencedPipeline }),
	money("won_revenue.total", 1, func(h *Headline) *Money { return &h.WonRevenue.Total }),
	money("won_revenue.marketing", 1, func(h *Headline) *Money { return &h.WonRevenue.Marketing }),
	money("won_revenue.sales", 1, func(h *Headline) *Money { return &h.WonRevenue.Sales }),
	money("won_revenue.other", 0, func(h *Headline) *Money { return &h.WonRevenue.Other }),
	count("won_deals", 1, func(h *Headline) int { return h.WonDeals }),
	count("lost_deals", -1, func(h *Headline) int { return h.LostDeals }),
	optional("win_rate.total", UnitRate, 1, func(h *Headline) *float64 { return h.WinRate.Total }),
	optional("win_rate.marketing", UnitRate, 1, func(h *Headline) *float64 { return h.WinRate.Marketing }),
	optional("win_rate.sales", UnitRate, 1, func(h *Headline) *float64 { return h.WinRate.Sales }),
	optional("win_rate.other", UnitRate, 0, func(h *Headline) *float64 { return h.WinRate.Other }),
	money("avg_deal_size", 1, func(h *Headline) *Money { return h.AvgDealSize }),
	optional("sales_cycle_days_median", UnitDays, -1, func(h *Headline) *float64 { return h.SalesCycleDaysMedian }),
	count("activities.sales", 1, func(h *Headline) int { return h.Activities.Sales }),
	count("activities.marketing", 1, func(h *Headline) int { return h.Activities.Marketing }),
	count("activities.other", 0, func(h *Headline) int { return h.Activities.Other }),
}
