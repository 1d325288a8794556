package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/period"
)

// The source reads MQLs once each: the ranges cover the trend window and
// the follow-up window (as_of included) and nothing else, without overlap.
func TestMQLRangesCoverEachInstantOnce(t *testing.T) {
	t.Parallel()
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(label string) period.Period {
		p, err := period.Parse(label, madrid)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		p    period.Period
		asOf time.Time
	}{
		{"week, run the next morning", parse("2026-W47"), ts("2026-11-23T07:00:00Z")},
		{"day: the backlog reaches before the trend", parse("2026-11-20"), ts("2026-11-21T07:00:00Z")},
		{"week in progress", parse("2026-W47"), ts("2026-11-19T12:00:00Z")},
		{"quarter, long after", parse("2025-Q1"), ts("2026-11-23T07:00:00Z")},
		{"as_of before the trend window", parse("2026-W47"), ts("2026-01-01T00:00:00Z")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := Plan(Input{Period: tc.p, AsOf: tc.asOf, SLAHours: 24})
			ranges := w.MQLRanges()
			want := func(x time.Time) bool {
				inTrend := !x.Before(w.MQLs.From) && x.Before(w.MQLs.To)
				inBacklog := !x.Before(w.Backlog.From) && !x.After(w.Backlog.To)
				return inTrend || inBacklog
			}
			probes := []time.Time{w.MQLs.From, w.MQLs.To, w.Backlog.From, w.Backlog.To}
			for _, x := range append([]time.Time(nil), probes...) {
				probes = append(probes, x.Add(-time.Nanosecond), x.Add(time.Nanosecond))
			}
			for x := w.MQLs.From.Add(-40 * 24 * time.Hour); x.Before(tc.asOf.Add(40 * 24 * time.Hour)); x = x.Add(7 * time.Hour) {
				probes = append(probes, x)
			}
			for _, x := range probes {
				n := 0
				for _, r := range ranges {
					if !x.Before(r.From) && x.Before(r.To) {
						n++
					}
				}
				if n > 1 {
					t.Errorf("%s is read %d times (ranges %v)", x, n, ranges)
				}
				if (n == 1) != want(x) {
					t.Errorf("%s: read %v, want %v (ranges %v)", x, n == 1, want(x), ranges)
				}
			}
		})
	}
}

// The reduced facts keep detail only for the period's MQLs and the
// unanswered ones of the follow-up window; the rest of the trend window is
// counters.
func TestBuilderKeepsDetailOnlyWhereReported(t *testing.T) {
	t.Parallel()
	s := synthetic(20_000)
	f := s.facts()
	r := f.red
	var window, inPeriod int
	for i := range r.trend {
		window += r.trend[i].mqls
	}
	inPeriod = r.trend[TrendLength-1].mqls
	if window < 15_000 || inPeriod == 0 {
		t.Fatalf("window %d, period %d: the synthetic data moved", window, inPeriod)
	}
	if len(r.detail) != inPeriod || r.cohorts[current].n != inPeriod {
		t.Errorf("%d detailed MQLs and %d counted, want the period's %d", len(r.detail), r.cohorts[current].n, inPeriod)
	}
	if r.cohorts[previous].n != r.trend[TrendLength-2].mqls {
		t.Errorf("%d MQLs of the previous period, want %d", r.cohorts[previous].n, r.trend[TrendLength-2].mqls)
	}
	for _, m := range r.backlog {
		if m.responded || m.at.Before(s.in.AsOf.Add(-BacklogWindow)) {
			t.Fatalf("backlog holds %+v", m)
		}
	}
	// Told that the source reads the detail again, the Builder keeps
	// none of it, and the numbers are the same.
	b := NewBuilder(Plan(s.in))
	b.WithoutDetail()
	for i, l := range s.mqls {
		b.MQL(l, s.touches[i])
	}
	leanFacts, err := b.Facts()
	if err != nil {
		t.Fatal(err)
	}
	lean := leanFacts.red
	if len(lean.detail) != 0 || lean.cohorts[current].n != inPeriod || lean.cohorts[current].met != r.cohorts[current].met {
		t.Errorf("without detail: %d rows kept, %d counted (want 0 and %d)", len(lean.detail), lean.cohorts[current].n, inPeriod)
	}
	// Opportunities are counts too: of the period and the one before,
	// whatever the trend window holds.
	var created int
	for _, o := range s.opportunities {
		if !o.CreatedAt.Before(s.in.Period.Previous().Start) && o.CreatedAt.Before(s.in.Period.End) && !o.CreatedAt.After(s.in.AsOf) {
			created++
		}
	}
	if got := r.opps[current].created + r.opps[previous].created; got != created || created == 0 {
		t.Errorf("%d opportunities counted as created in the two periods, want %d", got, created)
	}
}

// The order in which the source sends rows does not change the snapshot.
func TestBuilderIgnoresRowOrder(t *testing.T) {
	t.Parallel()
	s := synthetic(5_000)
	want := Compute(s.in, s.facts())
	rng := rand.New(rand.NewPCG(1, 2))
	shuffle := func(n int, swap func(i, j int)) { rng.Shuffle(n, swap) }
	shuffle(len(s.mqls), func(i, j int) {
		s.mqls[i], s.mqls[j] = s.mqls[j], s.mqls[i]
		s.touches[i], s.touches[j] = s.touches[j], s.touches[i]
	})
	shuffle(len(s.opportunities), func(i, j int) { s.opportunities[i], s.opportunities[j] = s.opportunities[j], s.opportunities[i] })
	shuffle(len(s.created), func(i, j int) { s.created[i], s.created[j] = s.created[j], s.created[i] })
	got := Compute(s.in, s.facts())
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Error("the snapshot depends on the order of the rows")
	}
	if !reflect.DeepEqual(want.Detail, got.Detail) {
		t.Error("the MQL detail depends on the order of the rows")
	}
	if want.Headline.MQLs == 0 || len(want.FollowupBacklog) == 0 {
		t.Errorf("the synthetic data has %d MQLs in the period and %d in the backlog", want.Headline.MQLs, len(want.FollowupBacklog))
	}
}

// Facts read for one input cannot silently serve another.
func TestComputeRefusesFactsOfAnotherInput(t *testing.T) {
	t.Parallel()
	s := synthetic(100)
	f := s.facts()
	other := s.in
	other.SLAHours = 48
	defer func() {
		if recover() == nil {
			t.Error("Compute accepted facts reduced for another SLA")
		}
	}()
	Compute(other, f)
}

// Response times and sales cycles beyond the Builder's budget go to a
// temporary file; the snapshot is the same to the last bit, for the
// headline and the previous period (median and p90, wall-clock and
// working) and for every rep.
func TestResponseTimesBeyondTheBudgetGiveTheSameSnapshot(t *testing.T) {
	t.Parallel()
	mad, _ := time.LoadLocation("Europe/Madrid")
	p, err := period.Parse("2026-Q3", mad)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Period: p, AsOf: p.End.Add(7 * time.Hour), SLAHours: 8, Calendar: office(t, "2026-08-15")}
	s := syntheticIn(in, p.Previous().Start, 20_000)

	b := s.builder(97)
	if b.responses.Spilled() == 0 {
		t.Fatal("20,000 MQLs and a budget of 97 response times: nothing went to a file")
	}
	f, err := b.Facts()
	if err != nil {
		t.Fatal(err)
	}
	spilled, _ := json.Marshal(Compute(in, f))
	held, _ := json.Marshal(Compute(in, s.factsWithin(math.MaxInt)))
	if string(spilled) != string(held) {
		t.Errorf("the snapshots differ:\nspilled %.600s\nheld    %.600s", spilled, held)
	}
	// The test means something only if the percentiles are there.
	snap := Compute(in, f)
	h := snap.Headline
	if h.ResponseMinutesMedian == nil || h.ResponseMinutesP90 == nil || h.ResponseWorkingMinutesMedian == nil || h.SalesCycleDaysMedian == nil ||
		snap.Previous.Headline.ResponseWorkingMinutesP90 == nil || len(snap.ByRep) != 200 || snap.ByRep[7].ResponseWorkingMinutesMedian == nil {
		t.Fatalf("percentiles missing: %+v", h)
	}
}
