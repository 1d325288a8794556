// Package workhours is the arithmetic of working calendars: which instants
// are working time (each weekday's wall-clock ranges in the calendar's zone,
// less holidays), how much working time lies between two instants, and when
// a number of working hours after an instant is used up. Sales teams promise
// to answer a lead "within 8 working hours"; the SLA of internal/metrics
// counts with a Calendar when the report names one.
//
// It is pure: no I/O, no clock. A Calendar is built once from a Spec (New
// validates it, every problem at once) and is safe for concurrent use.
package workhours

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Weekdays are the keys of Spec.Hours, Monday first.
var Weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// weekdayOf maps a key of Weekdays to time.Weekday.
var weekdayOf = map[string]time.Weekday{
	"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
	"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
}

// Spec is a calendar as it is configured.
type Spec struct {
	Name     string
	TimeZone string              // IANA zone of the wall-clock ranges and holidays
	Hours    map[string][]string // weekday (mon … sun) → sorted "HH:MM-HH:MM" ranges
	Holidays []string            // YYYY-MM-DD dates without working time
}

// Problem is one thing wrong with a Spec. Field is relative to the calendar
// ("hours.mon[1]", "holidays[0]", "time_zone", or "" for the whole).
type Problem struct {
	Field string
	Msg   string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Msg
	}
	return p.Field + ": " + p.Msg
}

// Range is one wall-clock range of a day, in minutes after midnight:
// [Start, End), End at most 24:00.
type Range struct{ Start, End int }

func (r Range) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", r.Start/60, r.Start%60, r.End/60, r.End%60)
}

// duration is the working time of the range.
func (r Range) duration() time.Duration { return time.Duration(r.End-r.Start) * time.Minute }

// Date is a civil date (a holiday).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Calendar is a validated working calendar.
type Calendar struct {
	name     string
	loc      *time.Location
	days     [7][]Range // by time.Weekday
	holidays map[Date]bool
	sorted   []Date

	mu    sync.Mutex
	years map[int]*year
}

// New validates s and returns its calendar, or every problem found.
func New(s Spec) (*Calendar, []Problem) {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	c := &Calendar{name: s.Name, holidays: map[Date]bool{}, years: map[int]*year{}}
	if s.TimeZone == "" || s.TimeZone == "Local" {
		add("time_zone", "required: an IANA time zone (like Europe/Madrid)")
	} else if loc, err := time.LoadLocation(s.TimeZone); err != nil {
		add("time_zone", "%q is not an IANA time zone (like Europe/Madrid)", s.TimeZone)
	} else {
		c.loc = loc
	}
	keys := make([]string, 0, len(s.Hours))
	for k := range s.Hours {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return weekdayRank(a) - weekdayRank(b) })
	working := false
	for _, k := range keys {
		wd, ok := weekdayOf[k]
		if !ok {
			add("hours."+k, "unknown weekday (want %s)", strings.Join(Weekdays, ", "))
			continue
		}
		var day []Range
		for i, text := range s.Hours[k] {
			field := fmt.Sprintf("hours.%s[%d]", k, i)
			r, err := parseRange(text)
			if err != nil {
				add(field, "%q: %v", text, err)
				continue
			}
			if n := len(day); n > 0 && r.Start < day[n-1].End {
				add(field, "%q overlaps or comes before %s: list a day's ranges in order, without overlaps", text, day[n-1])
				continue
			}
			day = append(day, r)
		}
		c.days[wd] = day
		working = working || len(day) > 0
	}
	for i, text := range s.Holidays {
		t, err := time.Parse(time.DateOnly, text)
		if err != nil {
			add(fmt.Sprintf("holidays[%d]", i), "%q is not a date (YYYY-MM-DD)", text)
			continue
		}
		d := Date{t.Year(), t.Month(), t.Day()}
		if !c.holidays[d] {
			c.holidays[d] = true
			c.sorted = append(c.sorted, d)
		}
	}
	slices.SortFunc(c.sorted, func(a, b Date) int { return a.compare(b) })
	if !working && len(probs) == 0 {
		add("hours", "no working time: give at least one weekday a range like \"09:00-17:00\"")
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}

func weekdayRank(k string) int {
	if i := slices.Index(Weekdays, k); i >= 0 {
		return i
	}
	return len(Weekdays)
}

func (d Date) compare(e Date) int {
	return (d.Year*10000 + int(d.Month)*100 + d.Day) - (e.Year*10000 + int(e.Month)*100 + e.Day)
}

// parseRange reads "HH:MM-HH:MM"; 24:00 is allowed as an end.
func parseRange(s string) (Range, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Range{}, fmt.Errorf("want a range like 09:00-14:00")
	}
	start, err := parseClock(from, false)
	if err != nil {
		return Range{}, err
	}
	end, err := parseClock(to, true)
	if err != nil {
		return Range{}, err
	}
	if start >= end {
		return Range{}, fmt.Errorf("the start is not before the end")
	}
	return Range{start, end}, nil
}

func parseClock(s string, end bool) (int, error) {
	s = strings.TrimSpace(s)
	var h, m int
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	fmt.Sscanf(s, "%d:%d", &h, &m)
	switch {
	case h == 24 && m == 0 && end:
	case h == 24 && m == 0:
		return 0, fmt.Errorf("24:00 can only end a range")
	case h > 23 || m > 59:
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	return h*60 + m, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Name is the calendar's name in the configuration.
func (c *Calendar) Name() string { return c.name }

// Location is the zone of the calendar's hours and holidays.
func (c *Calendar) Location() *time.Location { return c.loc }

// Hours returns the working ranges of a weekday.
func (c *Calendar) Hours(d time.Weekday) []Range { return slices.Clone(c.days[d]) }

// WeeklyHours is the working time of a week without holidays.
func (c *Calendar) WeeklyHours() time.Duration {
	var total time.Duration
	for _, day := range c.days {
		for _, r := range day {
			total += r.duration()
		}
	}
	return total
}

// HolidaysIn returns the holidays whose date, in the calendar's zone, falls
// in [from, to).
func (c *Calendar) HolidaysIn(from, to time.Time) []Date {
	var out []Date
	for _, d := range c.sorted {
		t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, c.loc)
		end := time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, c.loc)
		if t.Before(to) && end.After(from) {
			out = append(out, d)
		}
	}
	return out
}

// year is the working intervals of one calendar year (local dates in the
// calendar's zone), in order, as Unix seconds, with the working time before
// each: the prefix sums make Work and Due a binary search instead of a walk
// over the days in between.
type year struct {
	start, end []int64 // Unix seconds; every interval starts and ends on a whole second
	before     []int64 // nanoseconds of working time in the year before interval i
	total      int64   // nanoseconds of working time in the year
}

// Years outside what a timestamp of either engine can hold have no
// working time, so that a search for a due time always ends.
const (
	minYear = 1
	maxYear = 9999
)

func (c *Calendar) year(y int) *year {
	c.mu.Lock()
	defer c.mu.Unlock()
	if yr, ok := c.years[y]; ok {
		return yr
	}
	yr := &year{}
	if y >= minYear && y <= maxYear {
		var last int64 = -1 << 63
		for d := time.Date(y, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
			if c.holidays[Date{y, d.Month(), d.Day()}] {
				continue
			}
			for _, r := range c.days[d.Weekday()] {
				// Wall times become instants in the calendar's zone; a
				// range that a DST change squeezes to nothing is skipped,
				// and one the change pushes into the previous is trimmed,
				// so the intervals stay ordered and disjoint.
				s := time.Date(y, d.Month(), d.Day(), r.Start/60, r.Start%60, 0, 0, c.loc).Unix()
				e := time.Date(y, d.Month(), d.Day(), r.End/60, r.End%60, 0, 0, c.loc).Unix()
				s = max(s, last)
				if e <= s {
					continue
				}
				yr.start = append(yr.start, s)
				yr.end = append(yr.end, e)
				yr.before = append(yr.before, yr.total)
				yr.total += (e - s) * int64(time.Second)
				last = e
			}
		}
	}
	c.years[y] = yr
	return yr
}

// worked is the working time of the year before t, in nanoseconds.
func (yr *year) worked(t time.Time) int64 {
	sec := t.Unix()
	// i: the last interval that starts at or before t.
	i := sort.Search(len(yr.start), func(i int) bool { return yr.start[i] > sec }) - 1
	if i < 0 {
		return 0
	}
	if sec >= yr.end[i] {
		return yr.before[i] + (yr.end[i]-yr.start[i])*int64(time.Second)
	}
	return yr.before[i] + (sec-yr.start[i])*int64(time.Second) + int64(t.Nanosecond())
}

// yearOf is the calendar year of t's local date in the calendar's zone.
func (c *Calendar) yearOf(t time.Time) int { return t.In(c.loc).Year() }

// Work is the working time in [a, b]: 0 when b is not after a.
func (c *Calendar) Work(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	var total int64
	for y := c.yearOf(a); y <= c.yearOf(b); y++ {
		yr := c.year(y)
		total += yr.worked(b) - yr.worked(a)
	}
	return time.Duration(total)
}

// Due is the earliest instant t at or after from with Work(from, t) >= d.
func (c *Calendar) Due(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return from
	}
	rem := int64(d)
	for y := c.yearOf(from); y <= maxYear; y++ {
		yr := c.year(y)
		done := yr.worked(from)
		if avail := yr.total - done; avail < rem {
			rem -= avail
			continue
		}
		target := done + rem
		i := sort.Search(len(yr.start), func(i int) bool {
			return yr.before[i]+(yr.end[i]-yr.start[i])*int64(time.Second) >= target
		})
		return time.Unix(yr.start[i], target-yr.before[i]).In(from.Location())
	}
	// No working time left before the end of year 9999: never due.
	return time.Date(maxYear+1, 1, 1, 0, 0, 0, 0, time.UTC)
}

// Next returns the working interval that holds t, or else the first one
// after t; ok is false when there is none before the end of year 9999.
func (c *Calendar) Next(t time.Time) (start, end time.Time, ok bool) {
	sec := t.Unix()
	for y := c.yearOf(t); y <= maxYear; y++ {
		yr := c.year(y)
		i := sort.Search(len(yr.end), func(i int) bool { return yr.end[i] > sec })
		if i < len(yr.end) {
			return time.Unix(yr.start[i], 0).In(c.loc), time.Unix(yr.end[i], 0).In(c.loc), true
		}
	}
	return time.Time{}, time.Time{}, false
}
