package period

import (
	"errors"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParse(t *testing.T) {
	t.Parallel()
	madrid := mustLoc(t, "Europe/Madrid")
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name       string
		label      string
		loc        *time.Location
		kind       Kind
		start, end string
		hours      float64
	}{
		{"week in winter", "2026-W47", madrid, Week, "2026-11-16T00:00:00+01:00", "2026-11-23T00:00:00+01:00", 168},
		{"week that falls back", "2026-W43", madrid, Week, "2026-10-19T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 169},
		{"week that springs forward", "2026-W13", madrid, Week, "2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 167},
		{"ISO week 53", "2026-W53", time.UTC, Week, "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z", 168},
		{"week 1 starting in the previous year", "2026-W01", time.UTC, Week, "2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z", 168},
		{"month", "2026-10", time.UTC, Month, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", 744},
		{"quarter across DST", "2026-Q4", ny, Quarter, "2026-10-01T00:00:00-04:00", "2027-01-01T00:00:00-05:00", 2209},
		{"day", "2026-11-18", madrid, Day, "2026-11-18T00:00:00+01:00", "2026-11-19T00:00:00+01:00", 24},
		{"day of 23 hours", "2026-03-29", madrid, Day, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tc.label, tc.loc)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tc.kind || p.Start.Format(time.RFC3339) != tc.start || p.End.Format(time.RFC3339) != tc.end {
				t.Errorf("got %s %s – %s", p.Kind, p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339))
			}
			if h := p.Duration().Hours(); h != tc.hours {
				t.Errorf("duration %v h, want %v", h, tc.hours)
			}
			if p.Label() != tc.label {
				t.Errorf("label %q, want %q", p.Label(), tc.label)
			}
		})
	}
}

func TestParseRefusesLabelsThatNameNoPeriod(t *testing.T) {
	t.Parallel()
	for _, label := range []string{"2026-W54", "2026-W53x", "2025-W53", "2026-W00", "2026-13", "2026-00", "2026-Q5", "2026-Q0", "2026-02-30", "2026-11-31", "26-W01", "", "2026-w47", " 2026-W47"} {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse(label, time.UTC); !errors.Is(err, ErrLabel) {
				t.Errorf("Parse(%q) = %v, want ErrLabel", label, err)
			}
		})
	}
}

func TestShiftAcrossYears(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, want string
		n          int
	}{
		{"2026-W53", "2027-W01", 1},
		{"2027-W01", "2026-W53", -1},
		{"2026-Q1", "2025-Q4", -1},
		{"2026-Q4", "2027-Q1", 1},
		{"2026-Q4", "2024-Q1", -11},
		{"2026-01", "2025-12", -1},
		{"2026-03-01", "2026-02-28", -1},
		{"2024-03-01", "2024-02-29", -1},
	}
	for _, tc := range tests {
		p, err := Parse(tc.from, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Shift(tc.n).Label(); got != tc.want {
			t.Errorf("%s shifted by %d = %s, want %s", tc.from, tc.n, got, tc.want)
		}
	}
}

func TestTrendEndsWithThePeriod(t *testing.T) {
	t.Parallel()
	p, _ := Parse("2026-W02", time.UTC)
	tr := p.Trend(12)
	if len(tr) != 12 || tr[11].Label() != "2026-W02" || tr[0].Label() != "2025-W43" {
		t.Fatalf("trend %v … %v", tr[0], tr[len(tr)-1])
	}
	for i := 1; i < len(tr); i++ {
		if !tr[i].Start.Equal(tr[i-1].End) {
			t.Errorf("gap between %s and %s", tr[i-1], tr[i])
		}
	}
}

func TestLastComplete(t *testing.T) {
	t.Parallel()
	madrid := mustLoc(t, "Europe/Madrid")
	tests := []struct {
		name string
		kind Kind
		now  string
		want string
	}{
		{"Monday morning in Madrid is still Sunday night in UTC", Week, "2026-11-22T23:30:00Z", "2026-W47"},
		{"Sunday evening: the week is not over", Week, "2026-11-22T22:30:00Z", "2026-W46"},
		{"first of the month", Month, "2026-12-01T06:00:00Z", "2026-11"},
		{"new year's quarter", Quarter, "2027-01-01T00:00:00Z", "2026-Q4"},
		{"yesterday", Day, "2026-11-23T07:00:00Z", "2026-11-22"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now, _ := time.Parse(time.RFC3339, tc.now)
			if got := LastComplete(tc.kind, now, madrid).Label(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestContainsIsHalfOpen(t *testing.T) {
	t.Parallel()
	p, _ := Parse("2026-W47", time.UTC)
	if !p.Contains(p.Start) || p.Contains(p.End) || !p.Contains(p.End.Add(-time.Nanosecond)) {
		t.Error("a period contains its start and not its end")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026-W47", "2026-11", "2026-Q4", "2026-11-23", "2026-W53", "0000-W01", "9999-Q4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, label string) {
		p, err := Parse(label, time.UTC)
		if err != nil {
			return
		}
		if got := p.Label(); got != label {
			t.Fatalf("Parse(%q).Label() = %q", label, got)
		}
		if !p.End.After(p.Start) || !p.Next().Start.Equal(p.End) || p.Previous().Next().Label() != label {
			t.Fatalf("%q: inconsistent neighbours", label)
		}
	})
}
