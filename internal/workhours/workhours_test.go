package workhours

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// madrid is the example calendar of the metric definitions: Monday to
// Thursday 09:00-14:00 and 15:00-18:30, Friday 08:00-15:00.
func madrid(t testing.TB, holidays ...string) *Calendar {
	t.Helper()
	long := []string{"09:00-14:00", "15:00-18:30"}
	c, probs := New(Spec{
		Name: "madrid-office", TimeZone: "Europe/Madrid",
		Hours:    map[string][]string{"mon": long, "tue": long, "wed": long, "thu": long, "fri": {"08:00-15:00"}},
		Holidays: holidays,
	})
	if len(probs) > 0 {
		t.Fatalf("New: %v", probs)
	}
	return c
}

func at(t testing.TB, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDue(t *testing.T) {
	const mad = "Europe/Madrid"
	cases := []struct {
		name     string
		cal      *Calendar
		from     time.Time
		hours    float64
		want     time.Time
		workedTo time.Duration
	}{
		// 1 h on Friday, then 5 h and 2 h on Monday.
		{"friday afternoon", madrid(t), at(t, mad, "2026-11-20 14:00"), 8, at(t, mad, "2026-11-23 17:00"), 0},
		{"holiday monday", madrid(t, "2026-11-23"), at(t, mad, "2026-11-20 14:00"), 8, at(t, mad, "2026-11-24 17:00"), 0},
		// Inside the lunch break nothing counts until 15:00.
		{"lunch break", madrid(t), at(t, mad, "2026-11-18 14:20"), 2, at(t, mad, "2026-11-18 17:00"), 0},
		// Exactly at the end of a range: the next range starts the count.
		{"end of a range", madrid(t), at(t, mad, "2026-11-18 14:00"), 1, at(t, mad, "2026-11-18 16:00"), 0},
		// 23:59 on the year's last working day: the count starts on the
		// first working day of the next year (1 Jan is a holiday).
		{"end of year", madrid(t, "2027-01-01"), at(t, mad, "2026-12-31 23:59"), 3, at(t, mad, "2027-01-04 12:00"), 0},
		// A due time that ends exactly where a range ends.
		{"fills a range", madrid(t), at(t, mad, "2026-11-18 09:00"), 5, at(t, mad, "2026-11-18 14:00"), 0},
		// Across the end of DST (25 October 2026): wall-clock hours, not
		// elapsed ones, make a working day.
		{"dst week", madrid(t), at(t, mad, "2026-10-23 14:00"), 8, at(t, mad, "2026-10-26 17:00"), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := time.Duration(tc.hours * float64(time.Hour))
			got := tc.cal.Due(tc.from, d)
			if !got.Equal(tc.want) {
				t.Fatalf("Due(%s, %s) = %s, want %s", tc.from, d, got.In(tc.want.Location()), tc.want)
			}
			if w := tc.cal.Work(tc.from, got); w != d {
				t.Fatalf("Work(from, due) = %s, want %s", w, d)
			}
			if w := tc.cal.Work(tc.from, got.Add(-time.Second)); w >= d {
				t.Fatalf("a second before due the work is already %s", w)
			}
		})
	}
}

// A calendar in another zone than the report counts its own wall-clock
// hours: 09:00-17:00 in New York are 15:00-23:00 in Madrid.
func TestCalendarInAnotherZone(t *testing.T) {
	c, probs := New(Spec{TimeZone: "America/New_York", Hours: map[string][]string{
		"mon": {"09:00-17:00"}, "tue": {"09:00-17:00"}, "wed": {"09:00-17:00"}, "thu": {"09:00-17:00"}, "fri": {"09:00-17:00"},
	}})
	if probs != nil {
		t.Fatal(probs)
	}
	from := at(t, "Europe/Madrid", "2026-11-18 10:00") // 04:00 in New York
	due := c.Due(from, 4*time.Hour)
	if want := at(t, "America/New_York", "2026-11-18 13:00"); !due.Equal(want) {
		t.Fatalf("due %s, want %s", due, want)
	}
	s, e, ok := c.Next(from)
	if !ok || !s.Equal(at(t, "America/New_York", "2026-11-18 09:00")) || !e.Equal(at(t, "America/New_York", "2026-11-18 17:00")) {
		t.Fatalf("Next = %s %s %v", s, e, ok)
	}
}

// Work agrees with a minute-by-minute count over random spans, across
// years, DST changes and holidays, in zones with odd offsets.
func TestWorkAgreesWithACountByMinute(t *testing.T) {
	for _, zone := range []string{"Europe/Madrid", "America/Santiago", "Asia/Kolkata", "Australia/Lord_Howe"} {
		c, probs := New(Spec{TimeZone: zone, Hours: map[string][]string{
			"mon": {"00:00-01:30", "08:00-12:00", "13:00-24:00"}, "wed": {"09:00-17:00"}, "sat": {"10:00-10:07"},
		}, Holidays: []string{"2026-12-30", "2027-01-04"}})
		if probs != nil {
			t.Fatal(probs)
		}
		loc := c.Location()
		working := func(m time.Time) bool {
			l := m.In(loc)
			if c.holidays[Date{l.Year(), l.Month(), l.Day()}] {
				return false
			}
			min := l.Hour()*60 + l.Minute()
			for _, r := range c.days[l.Weekday()] {
				if min >= r.Start && min < r.End {
					return true
				}
			}
			return false
		}
		rng := rand.New(rand.NewPCG(1, 2))
		base := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 40; i++ {
			a := base.Add(time.Duration(rng.IntN(20*24*60)) * time.Minute)
			b := a.Add(time.Duration(rng.IntN(6*24*60)) * time.Minute)
			var want time.Duration
			for m := a; m.Before(b); m = m.Add(time.Minute) {
				if working(m) {
					want += time.Minute
				}
			}
			if got := c.Work(a, b); got != want {
				t.Fatalf("%s: Work(%s, %s) = %s, counted %s", zone, a, b, got, want)
			}
			if want > 0 {
				due := c.Due(a, want)
				if c.Work(a, due) != want || due.After(b) {
					t.Fatalf("%s: Due(%s, %s) = %s", zone, a, want, due)
				}
			}
		}
	}
}

func TestHolidaysIn(t *testing.T) {
	c := madrid(t, "2026-11-09", "2026-11-02", "2026-12-08")
	got := c.HolidaysIn(at(t, "Europe/Madrid", "2026-11-01 00:00"), at(t, "Europe/Madrid", "2026-12-01 00:00"))
	if len(got) != 2 || got[0].String() != "2026-11-02" || got[1].String() != "2026-11-09" {
		t.Fatalf("HolidaysIn = %v", got)
	}
}

func TestNewRefusesBadSpecs(t *testing.T) {
	cases := []struct {
		spec Spec
		want []string
	}{
		{Spec{TimeZone: "Europe/Madird", Hours: map[string][]string{"mon": {"09:00-17:00"}}}, []string{`time_zone: "Europe/Madird" is not an IANA time zone`}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {"9-17"}}}, []string{`hours.mon[0]: "9-17"`}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {"17:00-09:00"}}}, []string{`hours.mon[0]: "17:00-09:00": the start is not before the end`}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {"09:00-09:00"}}}, []string{"the start is not before the end"}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {"09:00-14:00", "13:00-18:00"}}}, []string{`hours.mon[1]: "13:00-18:00" overlaps`}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {"15:00-18:00", "09:00-14:00"}}}, []string{`hours.mon[1]: "09:00-14:00" overlaps or comes before`}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"monday": {"09:00-17:00"}}}, []string{"hours.monday: unknown weekday"}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {"09:00-17:00"}}, Holidays: []string{"2026-13-01"}}, []string{`holidays[0]: "2026-13-01" is not a date`}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {}}}, []string{"hours: no working time"}},
		{Spec{TimeZone: "UTC"}, []string{"hours: no working time"}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {"24:00-24:00"}}}, []string{"24:00 can only end a range"}},
		{Spec{TimeZone: "UTC", Hours: map[string][]string{"mon": {"08:60-09:00"}}}, []string{`"08:60" is not a time of day`}},
	}
	for _, tc := range cases {
		c, probs := New(tc.spec)
		if c != nil {
			t.Errorf("%+v: accepted", tc.spec)
			continue
		}
		var all []string
		for _, p := range probs {
			all = append(all, p.String())
		}
		text := strings.Join(all, "\n")
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%+v: problems %q, want one containing %q", tc.spec, text, w)
			}
		}
	}
	// A whole day is allowed.
	if _, probs := New(Spec{TimeZone: "UTC", Hours: map[string][]string{"sat": {"00:00-24:00"}}}); probs != nil {
		t.Errorf("00:00-24:00 refused: %v", probs)
	}
}

// BenchmarkDue is one due time and one working span per MQL of a quarter
// with 100,000 MQLs: a binary search each, whatever the span.
func BenchmarkDue(b *testing.B) {
	c := madrid(b, "2026-10-12", "2026-11-02", "2026-11-09", "2026-12-08", "2026-12-25")
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	step := 92 * 24 * time.Hour / 100000
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < 100000; i++ {
			mql := start.Add(time.Duration(i) * step)
			due := c.Due(mql, 8*time.Hour)
			_ = c.Work(mql, due.Add(time.Hour))
		}
	}
}
