// Package period is the calendar arithmetic of sameteam's reports: days, ISO
// weeks, months and quarters as half-open intervals of wall time in an IANA
// zone, their labels (2026-11-23, 2026-W47, 2026-11, 2026-Q4), and the
// periods around them (previous, trend window, last complete).
//
// Every boundary is computed from the wall-clock date in the report's zone and
// then turned into an instant, never by adding a fixed number of hours, so a
// week that contains a DST change is 167 or 169 hours long, as it should be.
package period

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Kind is the length of a period.
type Kind string

// The period kinds a report can have.
const (
	Day     Kind = "day"
	Week    Kind = "week"
	Month   Kind = "month"
	Quarter Kind = "quarter"
)

// Kinds lists every period kind, shortest first.
var Kinds = []Kind{Day, Week, Month, Quarter}

// ErrLabel is returned for a period label that names no period.
var ErrLabel = errors.New("period: bad label")

// ParseKind turns "day", "week", "month" or "quarter" into a Kind.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("period: unknown kind %q (want day, week, month or quarter)", s)
}

// Period is one half-open interval [Start, End) of wall time in a zone.
type Period struct {
	Kind  Kind
	Start time.Time // in the period's zone
	End   time.Time // in the period's zone; exclusive
}

// Location is the zone the period is defined in.
func (p Period) Location() *time.Location { return p.Start.Location() }

// Label is the period's name: 2026-11-23, 2026-W47, 2026-11 or 2026-Q4.
func (p Period) Label() string {
	s := p.Start
	switch p.Kind {
	case Day:
		return s.Format("2006-01-02")
	case Week:
		y, w := s.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case Month:
		return s.Format("2006-01")
	case Quarter:
		return fmt.Sprintf("%04d-Q%d", s.Year(), (int(s.Month())-1)/3+1)
	}
	return ""
}

// String is the label.
func (p Period) String() string { return p.Label() }

// Contains reports whether t falls in [Start, End).
func (p Period) Contains(t time.Time) bool {
	return !t.Before(p.Start) && t.Before(p.End)
}

// Duration is the period's length in absolute time (167 h for a week that
// springs forward).
func (p Period) Duration() time.Duration { return p.End.Sub(p.Start) }

// Shift returns the period n steps later (n < 0: earlier). A date the zone
// skipped (Pacific/Apia's 2011-12-30) is no day: the step goes over it.
func (p Period) Shift(n int) Period {
	y, m, d := p.Start.Date()
	if p.Kind != Day {
		switch p.Kind {
		case Week:
			d += 7 * n
		case Month:
			m += time.Month(n)
		case Quarter:
			m += time.Month(3 * n)
		}
		return build(p.Kind, y, m, d, p.Location())
	}
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for ; n > 0; n-- {
		for {
			d += step
			if q := build(Day, y, m, d, p.Location()); q.End.After(q.Start) {
				p = q
				break
			}
		}
	}
	return p
}

// Previous is the period just before p.
func (p Period) Previous() Period { return p.Shift(-1) }

// Next is the period just after p.
func (p Period) Next() Period { return p.Shift(1) }

// Trend returns the n periods ending with p, oldest first.
func (p Period) Trend(n int) []Period {
	out := make([]Period, n)
	for i := range n {
		out[i] = p.Shift(i - n + 1)
	}
	return out
}

// build makes the period of kind k that starts on the (already aligned) wall
// date y-m-d in loc. time.Date normalises an overflowing month or day.
func build(k Kind, y int, m time.Month, d int, loc *time.Location) Period {
	start := DateStart(y, m, d, loc)
	switch k {
	case Week:
		d += 7
	case Month:
		m, d = m+1, 1
	case Quarter:
		m, d = m+3, 1
	default:
		d++
	}
	return Period{Kind: k, Start: start, End: DateStart(y, m, d, loc)}
}

// DateStart is the first instant of the local date y-m-d in loc: its
// midnight, or, where the clocks jump over midnight (America/Santiago on
// 2026-09-06 goes from 23:59:59 to 01:00), the first instant the clocks
// show that date. time.Date cannot be trusted there: for a wall time in a
// gap it may return an instant of the day before. Where a zone skipped the
// date altogether (Pacific/Apia went from 2011-12-29 to 2011-12-31), it is
// the first instant of the next date that exists, so that consecutive
// dates still tile time. Where the clocks fall back across midnight (from
// 00:00 to 23:00 of the day before), the date starts at its first 00:00.
func DateStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	y, m, d = time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Date() // 2026-02-30 is 2026-03-02
	// Most days: time.Date's midnight, when the clocks show it and have
	// not changed offset for 40 hours before (so no earlier instant can
	// show this date: offsets stay within ±16 hours).
	if c := time.Date(y, m, d, 0, 0, 0, 0, loc); c.Hour() == 0 && c.Minute() == 0 && c.Second() == 0 && c.Day() == d {
		if start, _ := c.ZoneBounds(); start.IsZero() || c.Sub(start) > 40*time.Hour {
			return c
		}
	}
	midnight := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // the wall time, read as UTC
	// Within a span of one offset, the instant the wall clock shows
	// midnight is midnight - offset, and the wall clock only moves
	// forward. The earliest instant that shows this date or a later one
	// is the first span's own start, or its midnight, whichever is
	// later, if it falls in the span. Offsets stay within ±16 hours.
	from, until := midnight.Add(-26*time.Hour), midnight.Add(40*time.Hour)
	for t := from.In(loc); t.Before(until); {
		start, end := t.ZoneBounds()
		_, off := t.Zone()
		c := midnight.Add(-time.Duration(off) * time.Second)
		if !start.IsZero() && c.Before(start) {
			c = start
		}
		if end.IsZero() || c.Before(end) {
			return c.In(loc)
		}
		t = end.In(loc)
	}
	// Not reached for a zone of the tz database; the plain answer then.
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// Containing returns the period of kind k that contains the instant t, in loc.
func Containing(k Kind, t time.Time, loc *time.Location) Period {
	t = t.In(loc)
	y, m, d := t.Date()
	var p Period
	switch k {
	case Week:
		// ISO weeks start on Monday; Go's Sunday is 0.
		back := (int(t.Weekday()) + 6) % 7
		p = build(k, y, m, d-back, loc)
	case Month:
		p = build(k, y, m, 1, loc)
	case Quarter:
		p = build(k, y, m-(m-1)%3, 1, loc)
	default:
		p = build(Day, y, m, d, loc)
	}
	// Where the clocks fell back across midnight, the hour that shows the
	// previous date again belongs to the period that had already begun.
	for !t.Before(p.End) {
		p = p.Next()
	}
	return p
}

// LastComplete returns the latest period of kind k that has ended at now in
// loc: the default period of a run.
func LastComplete(k Kind, now time.Time, loc *time.Location) Period {
	return Containing(k, now, loc).Previous()
}

var (
	dayRE     = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
	weekRE    = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)
	monthRE   = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	quarterRE = regexp.MustCompile(`^(\d{4})-Q([1-4])$`)
)

// Parse reads a period label in the zone loc; the label's form decides the
// kind. It refuses labels that name no period (2026-W54, 2026-13, 2026-02-30).
func Parse(label string, loc *time.Location) (Period, error) {
	bad := func(why string) (Period, error) {
		return Period{}, fmt.Errorf("%w %q: %s", ErrLabel, label, why)
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	switch {
	case dayRE.MatchString(label):
		g := dayRE.FindStringSubmatch(label)
		y, m, d := atoi(g[1]), atoi(g[2]), atoi(g[3])
		p := build(Day, y, time.Month(m), d, loc)
		if !p.End.After(p.Start) {
			// The date is in the calendar but not on the zone's clocks.
			return bad(fmt.Sprintf("no such date in %s: its clocks skipped it, from %s to %s",
				loc, p.Start.Add(-time.Second).Format("2006-01-02 15:04:05"), p.Start.Format("2006-01-02 15:04:05")))
		}
		if py, pm, pd := p.Start.Date(); py != y || int(pm) != m || pd != d {
			return bad("no such date")
		}
		return p, nil
	case weekRE.MatchString(label):
		g := weekRE.FindStringSubmatch(label)
		y, w := atoi(g[1]), atoi(g[2])
		// ISO week 1 is the week that contains 4 January.
		jan4 := time.Date(y, time.January, 4, 12, 0, 0, 0, time.UTC)
		first := Containing(Week, jan4, time.UTC).Start
		mon := first.AddDate(0, 0, 7*(w-1))
		if gy, gw := mon.ISOWeek(); w < 1 || gy != y || gw != w {
			return bad(fmt.Sprintf("ISO year %d has no week %d", y, w))
		}
		return build(Week, mon.Year(), mon.Month(), mon.Day(), loc), nil
	case monthRE.MatchString(label):
		g := monthRE.FindStringSubmatch(label)
		y, m := atoi(g[1]), atoi(g[2])
		if m < 1 || m > 12 {
			return bad("month must be 01 to 12")
		}
		return build(Month, y, time.Month(m), 1, loc), nil
	case quarterRE.MatchString(label):
		g := quarterRE.FindStringSubmatch(label)
		y, q := atoi(g[1]), atoi(g[2])
		return build(Quarter, y, time.Month(3*q-2), 1, loc), nil
	}
	return bad("want YYYY-MM-DD, YYYY-Www, YYYY-MM or YYYY-Qn")
}
