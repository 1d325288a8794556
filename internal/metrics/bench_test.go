package metrics

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/workhours"
)

// syntheticRows is a trend window of facts shaped like a seeded company:
// mqls MQLs spread over the 12 weeks, two or three first touches each, one
// opportunity per five MQLs, 200 reps and 60 campaigns.
type syntheticRows struct {
	in            Input
	members       []Member
	campaigns     []Campaign
	mqls          []Lead
	touches       [][]Touch
	created       []Lead
	opportunities []Opportunity
	lastTouches   []OpportunityTouch
	activities    []ActivityGroup
}

func synthetic(mqls int) *syntheticRows {
	p, err := period.Parse("2026-W47", time.UTC)
	if err != nil {
		panic(err)
	}
	in := Input{Period: p, AsOf: p.End.Add(7 * time.Hour), SLAHours: 24}
	return syntheticIn(in, p.Shift(1-TrendLength).Start, mqls)
}

// syntheticIn spreads the MQLs of the rows from from to in.AsOf.
func syntheticIn(in Input, from time.Time, mqls int) *syntheticRows {
	rng := rand.New(rand.NewPCG(7, uint64(mqls)))
	span := in.AsOf.Sub(from)
	at := func() time.Time { return from.Add(time.Duration(rng.Int64N(int64(span)))) }
	s := &syntheticRows{in: in}
	for i := range 200 {
		s.members = append(s.members, Member{ID: fmt.Sprintf("rep-%03d", i), Name: fmt.Sprintf("Rep %d", i), Team: "sales", Active: true})
	}
	for i := range 60 {
		s.campaigns = append(s.campaigns, Campaign{ID: fmt.Sprintf("cmp-%02d", i), Name: fmt.Sprintf("Campaign %d", i), Cost: 100000, CostKnown: true})
	}
	sources := []string{"marketing", "Sales", "partner"}
	teams := []string{"sales", "marketing", " Sales"}
	won := true
	for i := range mqls {
		mql := at()
		l := Lead{
			ID: fmt.Sprintf("L%07d", i), CreatedAt: mql.Add(-48 * time.Hour), Source: sources[i%3],
			CampaignID: s.campaigns[i%60].ID, OwnerID: s.members[i%200].ID, MQLAt: mql,
		}
		switch i % 4 {
		case 0:
			l.AcceptedAt = mql.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
		case 1:
			l.RejectedAt = mql.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
			l.RejectionReason = "no budget"
		}
		var ts []Touch
		for k := range 1 + i%3 {
			ts = append(ts, Touch{Ref: l.ID, Team: teams[k], At: mql.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))})
		}
		s.mqls = append(s.mqls, l)
		s.touches = append(s.touches, ts)
		s.created = append(s.created, l)
		if i%5 == 0 {
			o := Opportunity{
				ID: "O" + l.ID, CreatedAt: mql.Add(24 * time.Hour), LeadID: l.ID, CampaignID: l.CampaignID,
				Source: l.Source, OwnerID: l.OwnerID, Amount: Money(rng.Int64N(5000000)),
			}
			if i%10 == 0 {
				o.ClosedAt, o.IsWon = o.CreatedAt.Add(10*24*time.Hour), &won
			}
			s.opportunities = append(s.opportunities, o)
			s.lastTouches = append(s.lastTouches, OpportunityTouch{Touch{Ref: o.ID, Team: "marketing", At: mql}, o.CreatedAt, o.Amount})
		}
	}
	for i, m := range s.members {
		s.activities = append(s.activities, ActivityGroup{Team: "sales", ActorID: m.ID, Count: 100 + i}, ActivityGroup{Previous: true, Team: "sales", ActorID: m.ID, Count: 90 + i})
	}
	return s
}

// facts feeds the rows through a Builder the way the source does.
func (s *syntheticRows) facts() *Facts {
	return s.factsWithin(responseBudget)
}

// factsWithin is facts from a Builder that keeps at most budget response
// times in memory.
func (s *syntheticRows) factsWithin(budget int) *Facts {
	f, err := s.builder(budget).Facts()
	if err != nil {
		panic(err)
	}
	return f
}

// builder is a Builder, keeping at most budget response times in memory,
// that has had every row.
func (s *syntheticRows) builder(budget int) *Builder {
	b := newBuilder(Plan(s.in), budget)
	for _, m := range s.members {
		b.Member(m)
	}
	for _, c := range s.campaigns {
		b.Campaign(c)
	}
	for i, l := range s.mqls {
		b.MQL(l, s.touches[i])
	}
	for _, l := range s.created {
		b.Created(l)
	}
	for _, o := range s.opportunities {
		b.Opportunity(o)
	}
	for _, t := range s.lastTouches {
		b.LastTouch(t)
	}
	for _, g := range s.activities {
		b.Activity(g)
	}
	return b
}

// BenchmarkCompute measures the engine's share of a snapshot: reducing the
// rows of a trend window as they arrive, then computing every section.
// 150k MQLs is the 12-week window of a company with a million leads a
// year. Run with -benchtime=1x for a quick check.
func BenchmarkCompute(b *testing.B) {
	for _, n := range []int{10_000, 150_000} {
		s := synthetic(n)
		b.Run(fmt.Sprintf("mqls=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				snap := Compute(s.in, s.facts())
				if snap.Trend[TrendLength-1].MQLs == 0 {
					b.Fatal("no MQLs in the period")
				}
			}
		})
	}
}

// BenchmarkComputeWorkingHours is a quarter with 100,000 MQLs, all in the
// quarter itself, with the SLA in wall-clock hours and in the working hours
// of an office calendar with holidays: the calendar's share is one due
// time and one working span per MQL, each a binary search.
func BenchmarkComputeWorkingHours(b *testing.B) {
	mad, _ := time.LoadLocation("Europe/Madrid")
	p, err := period.Parse("2026-Q4", mad)
	if err != nil {
		b.Fatal(err)
	}
	long := []string{"09:00-14:00", "15:00-18:30"}
	cal, probs := workhours.New(workhours.Spec{Name: "office", TimeZone: "Europe/Madrid",
		Hours:    map[string][]string{"mon": long, "tue": long, "wed": long, "thu": long, "fri": {"08:00-15:00"}},
		Holidays: []string{"2026-10-12", "2026-11-02", "2026-11-09", "2026-12-08", "2026-12-25"}})
	if probs != nil {
		b.Fatal(probs)
	}
	for _, c := range []struct {
		name string
		cal  *workhours.Calendar
	}{{"wall-clock", nil}, {"calendar", cal}} {
		in := Input{Period: p, AsOf: p.End.Add(7 * time.Hour), SLAHours: 8, Calendar: c.cal}
		s := syntheticIn(in, p.Start, 100_000)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				snap := Compute(s.in, s.facts())
				if snap.Headline.MQLs == 0 {
					b.Fatal("no MQLs in the period")
				}
			}
		})
	}
}
