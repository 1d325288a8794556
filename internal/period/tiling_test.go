package period

import (
	"archive/zip"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// zones lists every zone of the tz database Go carries (the one embedded by
// time/tzdata, which sameteam's binary uses).
func zones(t *testing.T) []string {
	t.Helper()
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	r, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(root)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for _, f := range r.File {
		if !strings.HasSuffix(f.Name, "/") {
			out = append(out, f.Name)
		}
	}
	if len(out) < 300 {
		t.Fatalf("only %d zones in the tz database", len(out))
	}
	return out
}

// Days where the clocks jump over midnight: the day starts at the first
// instant of its date (01:00 in Santiago and Havana), the day before keeps
// its last hour, and the day after starts at its midnight. Apia skipped a
// whole date: the label is refused, and the 29th ends where the 31st
// begins. Before, the Santiago date was refused ("no such date"), the day
// before lost its last hour, and the morning after picked the wrong day.
func TestReliability_Scheduling_DaysWhereMidnightIsSkipped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zone, label, start, end string
		hours                   float64
	}{
		{"America/Santiago", "2026-09-06", "2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00", 23},
		{"America/Santiago", "2026-09-05", "2026-09-05T00:00:00-04:00", "2026-09-06T01:00:00-03:00", 24},
		{"America/Havana", "2026-03-08", "2026-03-08T01:00:00-04:00", "2026-03-09T00:00:00-04:00", 23},
		{"America/Havana", "2026-03-07", "2026-03-07T00:00:00-05:00", "2026-03-08T01:00:00-04:00", 24},
		{"Pacific/Apia", "2011-12-29", "2011-12-29T00:00:00-10:00", "2011-12-31T00:00:00+14:00", 24},
		{"Pacific/Apia", "2011-12-31", "2011-12-31T00:00:00+14:00", "2012-01-01T00:00:00+14:00", 24},
		// Fall back at midnight (24:00 of Saturday becomes 23:00): the
		// clocks never show Sunday 00:00 -02; Saturday has 25 hours.
		{"America/Sao_Paulo", "2018-02-17", "2018-02-17T00:00:00-02:00", "2018-02-18T00:00:00-03:00", 25},
		{"America/Sao_Paulo", "2018-02-18", "2018-02-18T00:00:00-03:00", "2018-02-19T00:00:00-03:00", 24},
	}
	for _, tc := range tests {
		t.Run(tc.zone+" "+tc.label, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(tc.label, loc)
			if err != nil {
				t.Fatal(err)
			}
			if p.Start.Format(time.RFC3339) != tc.start || p.End.Format(time.RFC3339) != tc.end || p.Duration().Hours() != tc.hours {
				t.Errorf("%s = [%s, %s) %v h, want [%s, %s) %v h", tc.label, p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339), p.Duration().Hours(), tc.start, tc.end, tc.hours)
			}
			if p.Label() != tc.label {
				t.Errorf("label %s, want %s", p.Label(), tc.label)
			}
			// The morning after, the default period is that day.
			if got := LastComplete(Day, p.End.Add(6*time.Hour), loc); got.Label() != tc.label {
				t.Errorf("the morning after %s the last complete day is %s", tc.label, got)
			}
		})
	}
	t.Run("Pacific/Apia 2011-12-30 does not exist", func(t *testing.T) {
		t.Parallel()
		apia, err := time.LoadLocation("Pacific/Apia")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse("2011-12-30", apia)
		if err == nil || !strings.Contains(err.Error(), "no such date in Pacific/Apia") || !strings.Contains(err.Error(), "2011-12-29 23:59:59 to 2011-12-31 00:00:00") {
			t.Errorf("Parse(2011-12-30) = %v, want a refusal naming the skip", err)
		}
		p, _ := Parse("2011-12-29", apia)
		if n := p.Next(); n.Label() != "2011-12-31" || n.Previous().Label() != "2011-12-29" || p.Shift(3).Label() != "2012-01-02" {
			t.Errorf("the day after 2011-12-29 is %s (and back %s)", n, n.Previous())
		}
	})
}

// In every zone of the tz database, from 2000 to 2037, consecutive days,
// weeks, months and quarters tile time: each starts where the previous
// ended, is not empty, starts on the first instant its label's date is on
// the zone's clocks, contains the instants it spans, and its label parses
// back to it.
func TestReliability_Scheduling_PeriodsTileTimeInEveryZone(t *testing.T) {
	t.Parallel()
	first := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range zones(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range Kinds {
				if err := tiles(k, loc, first, last); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
		})
	}
}

func tiles(k Kind, loc *time.Location, first, last time.Time) error {
	p := Containing(k, first, loc)
	for p.Start.Before(last) {
		if !p.End.After(p.Start) {
			return fmt.Errorf("%s is empty: [%s, %s)", p, p.Start, p.End)
		}
		q := p.Next()
		if !q.Start.Equal(p.End) {
			return fmt.Errorf("%s ends at %s, %s starts at %s", p, p.End, q, q.Start)
		}
		// The first instant: the clocks show the label's date (or, for a
		// week or month, its first day) and did not a moment before.
		y, m, d := p.Start.Date()
		if by, bm, bd := p.Start.Add(-time.Nanosecond).Date(); !before(by, bm, bd, y, m, d) {
			return fmt.Errorf("%s starts at %s, but %04d-%02d-%02d was already on the clocks before", p, p.Start, y, m, d)
		}
		// The rest is the same arithmetic for every period in a span of
		// one offset: checked where the offset changes within or at the
		// edges of the period.
		if _, end := p.Start.Add(-time.Nanosecond).ZoneBounds(); !end.IsZero() && end.Before(p.End.Add(time.Nanosecond)) {
			if err := around(k, p, loc); err != nil {
				return err
			}
		}
		p = q
	}
	return nil
}

// around checks that the period contains its first and last instant and
// that its label parses back to it.
func around(k Kind, p Period, loc *time.Location) error {
	for _, t := range []time.Time{p.Start, p.End.Add(-time.Nanosecond)} {
		if c := Containing(k, t, loc); c != p {
			return fmt.Errorf("the %s containing %s is %s [%s, %s), want %s [%s, %s)", k, t, c, c.Start, c.End, p, p.Start, p.End)
		}
	}
	if r, err := Parse(p.Label(), loc); err != nil || r != p {
		return fmt.Errorf("Parse(%s) = %v [%s, %s), %v", p.Label(), r, r.Start, r.End, err)
	}
	return nil
}

func before(y1 int, m1 time.Month, d1, y2 int, m2 time.Month, d2 int) bool {
	if y1 != y2 {
		return y1 < y2
	}
	if m1 != m2 {
		return m1 < m2
	}
	return d1 < d2
}
