package gate

import (
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/metrics"
)

func snapshot(asOf time.Time, activity, lead *time.Time, cur, prev int) *metrics.Snapshot {
	s := &metrics.Snapshot{AsOf: metrics.Instant(asOf)}
	s.Period.Label, s.Previous.Label = "2026-W47", "2026-W46"
	s.Headline.Activities.Sales = cur
	s.Previous.Headline.Activities.Marketing = prev
	if activity != nil {
		a := metrics.Instant(*activity)
		s.DataHealth.LatestActivityAt = &a
	}
	if lead != nil {
		l := metrics.Instant(*lead)
		s.DataHealth.LatestLeadCreatedAt = &l
	}
	return s
}

func TestMaxSourceAge(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	stale := time.Date(2026, 11, 19, 16, 2, 0, 0, time.UTC)
	fresh := asOf.Add(-2 * time.Hour)
	r := Rules{MaxSourceAge: 36 * time.Hour}
	failed := Failed(Evaluate(r, snapshot(asOf, &stale, &fresh, 10, 10)))
	if len(failed) != 1 {
		t.Fatalf("failed %v, want the activity rule alone", failed)
	}
	if want := "newest activity 2026-11-19T16:02Z, 3 d 14 h before as_of; max_source_age is 36 h"; failed[0].Words != want {
		t.Errorf("words %q, want %q", failed[0].Words, want)
	}
	if f := Failed(Evaluate(r, snapshot(asOf, &fresh, &fresh, 10, 10))); len(f) != 0 {
		t.Errorf("fresh source held: %v", f)
	}
	// Exactly max_source_age old passes; a source with no rows at all does not.
	edge := asOf.Add(-36 * time.Hour)
	if f := Failed(Evaluate(r, snapshot(asOf, &edge, &edge, 1, 1))); len(f) != 0 {
		t.Errorf("36 h old held: %v", f)
	}
	if f := Failed(Evaluate(r, snapshot(asOf, nil, nil, 0, 0))); len(f) != 2 || !strings.Contains(f[0].Words, "no activity at all") {
		t.Errorf("empty source: %v", f)
	}
	if age, ok := SourceAge(snapshot(asOf, &stale, &fresh, 0, 0)); !ok || age != asOf.Sub(stale) {
		t.Errorf("SourceAge = %s %v", age, ok)
	}
}

func TestMinActivityRatio(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	r := Rules{MinActivityRatio: 0.3}
	f := Failed(Evaluate(r, snapshot(asOf, nil, nil, 12, 120)))
	if len(f) != 1 || f[0].Words != "12 activities against 120 in 2026-W46 (10 %); min_activity_ratio is 0.3" {
		t.Fatalf("10 %% of the previous period: %v", f)
	}
	// The first period ever has nothing to compare with: not held.
	if f := Failed(Evaluate(r, snapshot(asOf, nil, nil, 5, 0))); len(f) != 0 {
		t.Errorf("first period held: %v", f)
	}
	if f := Failed(Evaluate(r, snapshot(asOf, nil, nil, 36, 120))); len(f) != 0 {
		t.Errorf("30 %% held: %v", f)
	}
}

func TestRequire(t *testing.T) {
	t.Parallel()
	s := snapshot(time.Now(), nil, nil, 3, 0)
	s.Headline.LeadsCreated = 4
	f := Failed(Evaluate(Rules{Require: []string{"leads", "activities", "opportunities"}}, s))
	if len(f) != 1 || f[0].Words != "0 opportunities in 2026-W47; require lists opportunities" {
		t.Fatalf("failed %v", f)
	}
	if err := CheckRelation("campaigns"); err == nil {
		t.Error("campaigns accepted")
	}
}

func TestChecksAndWords(t *testing.T) {
	t.Parallel()
	for _, v := range []float64{0, -0.1, 1.01} {
		if CheckRatio(v) == nil {
			t.Errorf("ratio %v accepted", v)
		}
	}
	if CheckRatio(1) != nil || CheckAge(time.Minute) != nil || CheckAge(0) == nil || CheckAge(-time.Hour) == nil {
		t.Error("bounds")
	}
	for d, want := range map[time.Duration]string{45 * time.Minute: "45 min", 90 * time.Minute: "1 h 30 min", 36 * time.Hour: "36 h", 86*time.Hour + 2*time.Minute: "3 d 14 h", 72 * time.Hour: "3 d"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}
