package metrics

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/period"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func week(t *testing.T) period.Period {
	t.Helper()
	p, err := period.Parse("2026-W47", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"sales": Sales, " Sales": Sales, "SALES\t": Sales, "Marketing ": Marketing,
		"partners": Other, "": Other, "sales ops": Other, "marketing\n": Marketing,
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPercentileInterpolatesLikePercentileCont(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []float64
		p      float64
		want   float64
	}{
		{"one value", []float64{7}, 0.9, 7},
		{"median of even count", []float64{1, 4, 2, 3}, 0.5, 2.5},
		{"p90 between ranks", []float64{10, 20, 30, 40, 50}, 0.9, 46},
		{"p90 of two", []float64{0, 100}, 0.9, 90},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := percentile(tc.values, tc.p)
			if got == nil || math.Abs(*got-tc.want) > 1e-12 {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if percentile(nil, 0.5) != nil {
		t.Error("the percentile of nothing is null")
	}
}

// An MQL answered exactly at mql_at + sla_hours has met the SLA; a second
// later it has not.
func TestSLABoundary(t *testing.T) {
	t.Parallel()
	p := week(t)
	mql := ts("2026-11-17T10:00:00Z")
	f := &Facts{
		MQLs: []Lead{
			{ID: "exact", MQLAt: mql, Source: "marketing"},
			{ID: "late", MQLAt: mql, Source: "marketing"},
			{ID: "accepted-on-time", MQLAt: mql, AcceptedAt: mql.Add(24 * time.Hour)},
			{ID: "pending", MQLAt: ts("2026-11-22T20:00:00Z")},
			{ID: "breached-untouched", MQLAt: ts("2026-11-20T06:59:59Z")},
		},
		FirstTouches: []Touch{
			{Ref: "exact", Team: " Sales", At: mql.Add(24 * time.Hour)},
			{Ref: "late", Team: "sales", At: mql.Add(24*time.Hour + time.Second)},
		},
	}
	s := Compute(Input{Period: p, AsOf: ts("2026-11-23T07:00:00Z"), SLAHours: 24}, f)
	h := s.Headline
	if h.SLAMet != 2 || h.SLABreached != 2 || h.SLAPending != 1 {
		t.Errorf("met %d breached %d pending %d, want 2 2 1", h.SLAMet, h.SLABreached, h.SLAPending)
	}
	if h.UntouchedMQLs != 2 {
		t.Errorf("untouched %d, want 2", h.UntouchedMQLs)
	}
}

// Nothing stamped after as_of exists: not the MQL, not its response, not
// its decision, not a deal closed later.
func TestAsOfCutsOffLaterEvents(t *testing.T) {
	t.Parallel()
	p := week(t)
	asOf := ts("2026-11-19T12:00:00Z")
	won := true
	f := &Facts{
		MQLs: []Lead{
			{ID: "seen", MQLAt: ts("2026-11-18T09:00:00Z"), AcceptedAt: ts("2026-11-20T09:00:00Z"), SQLAt: ts("2026-11-21T09:00:00Z")},
			{ID: "future", MQLAt: ts("2026-11-20T09:00:00Z")},
		},
		FirstTouches: []Touch{{Ref: "seen", Team: "sales", At: ts("2026-11-19T12:00:01Z")}},
		Created:      []Lead{{ID: "a", CreatedAt: ts("2026-11-18T08:00:00Z")}, {ID: "b", CreatedAt: ts("2026-11-21T08:00:00Z")}},
		Opportunities: []Opportunity{
			{ID: "o1", CreatedAt: ts("2026-11-18T00:00:00Z"), ClosedAt: ts("2026-11-20T00:00:00Z"), IsWon: &won, Amount: 100000, Source: "sales"},
		},
	}
	h := Compute(Input{Period: p, AsOf: asOf, SLAHours: 48}, f).Headline
	if h.MQLs != 1 || h.LeadsCreated != 1 {
		t.Errorf("mqls %d leads %d, want 1 1", h.MQLs, h.LeadsCreated)
	}
	if h.UntouchedMQLs != 1 || h.SLAPending != 1 || h.DecisionPending != 1 {
		t.Errorf("untouched %d pending %d undecided %d, want 1 1 1", h.UntouchedMQLs, h.SLAPending, h.DecisionPending)
	}
	if h.MQLToSQLRate == nil || *h.MQLToSQLRate != 0 {
		t.Errorf("mql_to_sql_rate %v, want 0", h.MQLToSQLRate)
	}
	if h.OpportunitiesCreated != 1 || h.WonDeals != 0 || h.WonRevenue.Total != 0 {
		t.Errorf("opps %d won %d revenue %v", h.OpportunitiesCreated, h.WonDeals, h.WonRevenue.Total)
	}
}

// A touch before the MQL moment is not a response; the later decision
// decides, and at the same instant acceptance wins.
func TestResponseAndDecisionRules(t *testing.T) {
	t.Parallel()
	p := week(t)
	mql := ts("2026-11-17T10:00:00Z")
	f := &Facts{
		MQLs: []Lead{
			{ID: "touched-before", MQLAt: mql},
			{ID: "accepted-then-rejected", MQLAt: mql, AcceptedAt: mql.Add(time.Hour), RejectedAt: mql.Add(2 * time.Hour), RejectionReason: "  Bad fit "},
			{ID: "rejected-then-accepted", MQLAt: mql, AcceptedAt: mql.Add(3 * time.Hour), RejectedAt: mql.Add(2 * time.Hour)},
			{ID: "same-instant", MQLAt: mql, AcceptedAt: mql.Add(time.Hour), RejectedAt: mql.Add(time.Hour)},
			{ID: "rejected-no-reason", MQLAt: mql, RejectedAt: mql.Add(time.Hour), RejectionReason: "   "},
		},
		FirstTouches: []Touch{{Ref: "touched-before", Team: "sales", At: mql.Add(-time.Minute)}},
	}
	s := Compute(Input{Period: p, AsOf: ts("2026-11-23T07:00:00Z"), SLAHours: 24}, f)
	h := s.Headline
	if h.Accepted != 2 || h.Rejected != 2 || h.DecisionPending != 1 {
		t.Errorf("accepted %d rejected %d pending %d, want 2 2 1", h.Accepted, h.Rejected, h.DecisionPending)
	}
	if h.UntouchedMQLs != 1 {
		t.Errorf("untouched %d, want 1 (a touch before the MQL does not count)", h.UntouchedMQLs)
	}
	want := []ReasonCount{{"Bad fit", 1}, {"unspecified", 1}}
	if len(s.RejectionReasons) != 2 || s.RejectionReasons[0] != want[0] || s.RejectionReasons[1] != want[1] {
		t.Errorf("reasons %v, want %v", s.RejectionReasons, want)
	}
}

// Marketing influence counts a touch 90 days before creation, both ends
// included, and not one a second outside.
func TestInfluenceWindow(t *testing.T) {
	t.Parallel()
	p := week(t)
	created := ts("2026-11-18T12:00:00Z")
	opp := func(id string) Opportunity {
		return Opportunity{ID: id, CreatedAt: created, Amount: 1000, Source: "sales"}
	}
	f := &Facts{
		Opportunities: []Opportunity{opp("edge"), opp("outside"), opp("sales-touch"), opp("at-creation")},
		LastTouches: []Touch{
			{Ref: "edge", Team: "Marketing ", At: created.Add(-InfluenceWindow)},
			{Ref: "outside", Team: "marketing", At: created.Add(-InfluenceWindow - time.Second)},
			{Ref: "sales-touch", Team: "sales", At: created.Add(-time.Hour)},
			{Ref: "at-creation", Team: "marketing", At: created},
		},
	}
	h := Compute(Input{Period: p, AsOf: ts("2026-11-23T07:00:00Z"), SLAHours: 24}, f).Headline
	if h.MarketingInfluencedPipeline != 2000 {
		t.Errorf("influenced %v, want 20.00", h.MarketingInfluencedPipeline)
	}
}

// Empty periods give nulls, never zeros or NaN, and the score falls back to
// the components that exist.
func TestEmptyPeriodIsNullNotZero(t *testing.T) {
	t.Parallel()
	s := Compute(Input{Period: week(t), AsOf: ts("2026-11-23T07:00:00Z"), SLAHours: 24}, &Facts{})
	b, err := json.Marshal(s.Headline)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sla_compliance", "acceptance_rate", "decision_rate", "mql_to_sql_rate", "response_minutes_median", "avg_deal_size", "alignment_score", "mql_target", "marketing_sourced_share"} {
		if m[k] != nil {
			t.Errorf("%s = %v, want null", k, m[k])
		}
	}
	if len(s.Trend) != TrendLength {
		t.Errorf("trend has %d points", len(s.Trend))
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Money
	}{
		{"12345.67", 1234567}, {"-3", -300}, {"0.005", 1}, {"-0.005", -1}, {"1e3", 100000}, {"7.1", 710}, {".5", 50}, {"+2", 200},
	}
	for _, tc := range tests {
		got, err := ParseMoney(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMoney(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "abc", "1,5", "1.2.3", "NaN", "Inf", "--1", ".", "1e308", "10000000000000", "-99999999999999999.5"} {
		if _, err := ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q) accepted", bad)
		}
	}
	if _, err := ParseMoney("9999999999999.99"); err != nil {
		t.Errorf("the largest amount is refused: %v", err)
	}
	if _, err := MoneyFromFloat(math.NaN()); err == nil {
		t.Error("NaN accepted as an amount")
	}
	if s := Money(-5).String(); s != "-0.05" {
		t.Errorf("Money(-5) = %s", s)
	}
}
