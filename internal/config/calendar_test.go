package config

import (
	"strings"
	"testing"
	"time"
)

const calendarYAML = `
time_zone: Europe/Madrid
calendars:
  madrid-office:
    time_zone: Europe/Madrid
    hours:
      mon: ["09:00-14:00", "15:00-18:30"]
      fri: ["08:00-15:00"]
    holidays: [2026-10-12, "2026-11-02"]
  new-york:
    time_zone: America/New_York
    hours: {mon: ["09:00-17:00"]}
sla_calendar: madrid-office
reports:
  - {name: a, audience: sales}
  - {name: b, audience: sales, sla_calendar: new-york}
  - {name: c, audience: sales, sla_calendar: none}
`

func TestCalendars(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("cal.yaml", []byte(calendarYAML), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "madrid-office", "b": "new-york", "c": ""}
	for _, r := range cfg.Reports {
		cal := cfg.ReportCalendar(&r)
		got := ""
		if cal != nil {
			got = cal.Name()
		}
		if got != want[r.Name] {
			t.Errorf("report %s: calendar %q, want %q", r.Name, got, want[r.Name])
		}
	}
	cal, err := cfg.Calendar("madrid-office")
	if err != nil {
		t.Fatal(err)
	}
	// An unquoted YAML date is still a holiday.
	loc, _ := time.LoadLocation("Europe/Madrid")
	if h := cal.HolidaysIn(time.Date(2026, 10, 1, 0, 0, 0, 0, loc), time.Date(2026, 11, 30, 0, 0, 0, 0, loc)); len(h) != 2 {
		t.Errorf("holidays %v, want 2026-10-12 and 2026-11-02", h)
	}
	if _, err := cfg.Calendar("nope"); err == nil || !strings.Contains(err.Error(), "madrid-office, new-york") {
		t.Errorf("unknown calendar: %v", err)
	}
}

// Every calendar problem is a configuration error naming its path and
// line, all at once.
func TestCalendarProblems(t *testing.T) {
	t.Parallel()
	yml := `calendars:
  office:
    time_zone: Europe/Madird
    hours:
      mon: ["09:00-14:00", "13:00-18:30"]
      tue: ["18:00-09:00"]
      wed: ["9-17"]
      funday: ["09:00-17:00"]
    holidays: [2026-13-01]
  empty:
    time_zone: UTC
    hours: {}
sla_calendar: offise
reports:
  - {name: a, audience: sales, sla_calendar: nowhere}
`
	_, err := Parse("cal.yaml", []byte(yml), env(nil))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`line 3: calendars.office.time_zone: "Europe/Madird" is not an IANA time zone`,
		`line 5: calendars.office.hours.mon[1]: "13:00-18:30" overlaps`,
		`line 6: calendars.office.hours.tue[0]: "18:00-09:00": the start is not before the end`,
		`line 7: calendars.office.hours.wed[0]: "9-17"`,
		`line 8: calendars.office.hours.funday: unknown weekday`,
		`line 9: calendars.office.holidays[0]: "2026-13-01" is not a date`,
		`line 12: calendars.empty.hours: no working time`,
		`line 13: sla_calendar: "offise": no calendar of that name`,
		`line 15: reports[0].sla_calendar: "nowhere": no calendar of that name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
