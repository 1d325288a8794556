package metrics

import (
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/workhours"
)

// office is the example calendar of the definitions: Europe/Madrid,
// Monday to Thursday 09:00-14:00 and 15:00-18:30, Friday 08:00-15:00.
func office(t testing.TB, holidays ...string) *workhours.Calendar {
	t.Helper()
	long := []string{"09:00-14:00", "15:00-18:30"}
	c, probs := workhours.New(workhours.Spec{Name: "office", TimeZone: "Europe/Madrid",
		Hours:    map[string][]string{"mon": long, "tue": long, "wed": long, "thu": long, "fri": {"08:00-15:00"}},
		Holidays: holidays})
	if probs != nil {
		t.Fatal(probs)
	}
	return c
}

// With a calendar, sla_hours are working hours in every SLA figure: the
// states, compliance, the backlog's due times, and the working response
// minutes beside the wall-clock ones.
func TestWorkingHoursSLA(t *testing.T) {
	t.Parallel()
	mad, _ := time.LoadLocation("Europe/Madrid")
	local := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, mad)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	p, err := period.Parse("2026-W47", mad)
	if err != nil {
		t.Fatal(err)
	}
	friday := local("2026-11-20 14:00") // due Monday 17:00 with 8 working hours
	f := &Facts{
		MQLs: []Lead{
			{ID: "met", MQLAt: friday},
			{ID: "late", MQLAt: friday},
			{ID: "open", MQLAt: friday},
			// In the lunch break: the count starts at 15:00, due 17:00 the
			// next day (3.5 h on Wednesday, 4.5 h on Thursday).
			{ID: "lunch", MQLAt: local("2026-11-18 14:30"), AcceptedAt: local("2026-11-19 13:30")},
		},
		FirstTouches: []Touch{
			{Ref: "met", Team: "sales", At: local("2026-11-23 17:00")},
			{Ref: "late", Team: "sales", At: local("2026-11-23 17:01")},
		},
	}
	asOf := local("2026-11-23 16:00")
	in := Input{Period: p, AsOf: asOf, SLAHours: 8, Calendar: office(t)}
	s := Compute(in, f)
	h := s.Headline
	// "late" answered after its due time; "open" is unanswered but due at
	// 17:00, after as_of: pending. Answers after as_of do not exist yet.
	if h.SLAMet != 1 || h.SLABreached != 0 || h.SLAPending != 3 {
		t.Errorf("met %d breached %d pending %d, want 1 0 3", h.SLAMet, h.SLABreached, h.SLAPending)
	}
	if s.SLACalendar == nil || *s.SLACalendar != "office" {
		t.Errorf("sla_calendar %v", s.SLACalendar)
	}
	// The one response (lunch, accepted Thursday 13:30): 23 h wall-clock,
	// 3.5 + 4.5 working hours.
	if m := h.ResponseMinutesMedian; m == nil || *m != 23*60 {
		t.Errorf("response minutes %v, want 1380", m)
	}
	if m := h.ResponseWorkingMinutesMedian; m == nil || *m != 8*60 {
		t.Errorf("working response minutes %v, want 480", m)
	}
	due := map[string]time.Time{}
	for _, b := range s.FollowupBacklog {
		due[b.LeadID] = b.DueAt.Time()
		if b.SLABreached {
			t.Errorf("%s breached before its due time", b.LeadID)
		}
	}
	want := local("2026-11-23 17:00")
	for _, id := range []string{"met", "late", "open"} {
		if !due[id].Equal(want) {
			t.Errorf("%s due %s, want %s", id, due[id], want)
		}
	}

	// Later, "late" breached; on a holiday Monday everything moves a day.
	s = Compute(Input{Period: p, AsOf: local("2026-11-23 18:00"), SLAHours: 8, Calendar: office(t)}, f)
	if h := s.Headline; h.SLAMet != 2 || h.SLABreached != 2 || h.SLAPending != 0 {
		t.Errorf("at 18:00: met %d breached %d pending %d, want 2 2 0", h.SLAMet, h.SLABreached, h.SLAPending)
	}
	s = Compute(Input{Period: p, AsOf: local("2026-11-23 18:00"), SLAHours: 8, Calendar: office(t, "2026-11-23")}, f)
	if h := s.Headline; h.SLAMet != 3 || h.SLABreached != 0 || h.SLAPending != 1 {
		t.Errorf("holiday Monday: met %d breached %d pending %d, want 3 0 1", h.SLAMet, h.SLABreached, h.SLAPending)
	}

	// Without a calendar the same data counts wall-clock hours, and the
	// working figures are null.
	s = Compute(Input{Period: p, AsOf: asOf, SLAHours: 8}, f)
	if s.SLACalendar != nil || s.Headline.ResponseWorkingMinutesMedian != nil || len(s.ByRep) > 0 && s.ByRep[0].ResponseWorkingMinutesMedian != nil {
		t.Errorf("wall-clock snapshot has working figures")
	}
	if h := s.Headline; h.SLABreached != 4 {
		t.Errorf("wall-clock: breached %d, want 4", h.SLABreached)
	}
}

// Campaigns carry what sales said about their MQLs of the period.
func TestCampaignFeedback(t *testing.T) {
	t.Parallel()
	p := week(t)
	at := ts("2026-11-17T10:00:00Z")
	f := &Facts{
		Campaigns: []Campaign{{ID: "c1", Name: "Webinar"}, {ID: "c2", Name: "Fair"}},
		MQLs: []Lead{
			{ID: "a", CampaignID: "c1", MQLAt: at, AcceptedAt: at.Add(time.Hour)},
			{ID: "b", CampaignID: "c1", MQLAt: at, RejectedAt: at.Add(time.Hour), RejectionReason: " Student "},
			{ID: "c", CampaignID: "c1", MQLAt: at, RejectedAt: at.Add(time.Hour), RejectionReason: "No budget"},
			{ID: "d", CampaignID: "c1", MQLAt: at, RejectedAt: at.Add(time.Hour), RejectionReason: "Student"},
			{ID: "e", CampaignID: "c1", MQLAt: at, RejectedAt: at.Add(time.Hour)},
			{ID: "f", CampaignID: "c2", MQLAt: at},
		},
	}
	s := Compute(Input{Period: p, AsOf: ts("2026-11-23T07:00:00Z"), SLAHours: 24}, f)
	if len(s.ByCampaign) != 2 {
		t.Fatalf("%d campaign rows", len(s.ByCampaign))
	}
	c1, c2 := s.ByCampaign[0], s.ByCampaign[1]
	if c1.Accepted != 1 || c1.Rejected != 4 {
		t.Errorf("c1 accepted %d rejected %d, want 1 4", c1.Accepted, c1.Rejected)
	}
	want := []ReasonCount{{"Student", 2}, {"No budget", 1}, {"unspecified", 1}}
	if len(c1.RejectionReasons) != len(want) {
		t.Fatalf("c1 reasons %v, want %v", c1.RejectionReasons, want)
	}
	for i := range want {
		if c1.RejectionReasons[i] != want[i] {
			t.Errorf("c1 reason %d = %v, want %v", i, c1.RejectionReasons[i], want[i])
		}
	}
	if c2.RejectionReasons == nil || len(c2.RejectionReasons) != 0 {
		t.Errorf("c2 reasons %#v, want an empty list", c2.RejectionReasons)
	}
}
