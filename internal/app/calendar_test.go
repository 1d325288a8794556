package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/testdb"
)

// check says in which hours each report counts its SLA, with the
// calendar's next working interval.
func TestCheckPrintsEachReportsCalendar(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	importGolden(t, url)
	cfg := writeConfig(t, `time_zone: Europe/Madrid
outbox: `+filepath.Join(t.TempDir(), "outbox")+`
calendars:
  office:
    time_zone: Europe/Madrid
    hours: {mon: ["09:00-14:00", "15:00-18:30"], fri: ["08:00-15:00"]}
sla_calendar: office
reports:
  - {name: sales, audience: sales, sla_hours: 8, recipients: [a@example.com]}
  - {name: board, audience: leadership, sla_calendar: none, recipients: [b@example.com]}
`)
	res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": url}, "check", "--config", cfg)
	if res.code != ExitOK {
		t.Fatalf("check: %s", res)
	}
	for _, want := range []string{
		"sla sales: 8 working hours of calendar office (Europe/Madrid, 15.5 h a week); next working time ",
		"sla board: 24 wall-clock hours",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, res.stdout)
		}
	}
}

// A broken calendar is a configuration error with its path and line, and
// nothing runs: no ledger, no outbox.
func TestCalendarErrorsStopEveryCommand(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	importGolden(t, url)
	outbox := filepath.Join(t.TempDir(), "outbox")
	cfg := writeConfig(t, `outbox: `+outbox+`
calendars:
  office:
    time_zone: Europe/Madrid
    hours:
      mon: ["09:00-14:00", "12:00-18:30"]
reports:
  - {name: sales, audience: sales, recipients: [a@example.com], sla_calendar: ofice}
`)
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	for _, args := range [][]string{
		{"run", "--report", "sales", "--period", "2026-W47"},
		{"render", "--report", "sales", "--out", t.TempDir()},
		{"metrics"},
		{"check"},
	} {
		res := cli(t, vars, append(args, "--config", cfg)...)
		if res.code != ExitConfig {
			t.Errorf("%s: exit %d, want %d\n%s", args[0], res.code, ExitConfig, res)
		}
		for _, want := range []string{
			`line 6: calendars.office.hours.mon[1]: "12:00-18:30" overlaps`,
			`line 8: reports[0].sla_calendar: "ofice": no calendar of that name (calendars: office; or none)`,
		} {
			// check prints each problem as a FAIL line; the others on stderr.
			if !strings.Contains(res.stdout+res.stderr, want) {
				t.Errorf("%s: output lacks %q:\n%s", args[0], want, res)
			}
		}
	}
	if _, err := os.Stat(outbox); !os.IsNotExist(err) {
		t.Errorf("the outbox exists after a configuration error: %v", err)
	}
}

// --sla-calendar picks a calendar of the configuration; an unknown one is
// a usage error, and the snapshot names the calendar it counted in.
func TestSLACalendarFlag(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	importGolden(t, url)
	cfg := calendarsConfig(t)
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	base := []string{"metrics", "--config", cfg, "--format", "json", "--period", "2026-W46", "--time-zone", "Europe/Madrid",
		"--as-of", "2026-11-23T07:00:00Z", "--sla-hours", "8"}
	res := cli(t, vars, append(base, "--sla-calendar", "madrid-ofice")...)
	if res.code != ExitUsage || !strings.Contains(res.stderr, `--sla-calendar "madrid-ofice": no calendar of that name`) {
		t.Fatalf("unknown calendar: %s", res)
	}
	for flag, want := range map[string]any{"madrid-office": "madrid-office", "none": nil} {
		res := cli(t, vars, append(base, "--sla-calendar", flag)...)
		if res.code != ExitOK {
			t.Fatalf("--sla-calendar %s: %s", flag, res)
		}
		var snap map[string]any
		if err := json.Unmarshal([]byte(res.stdout), &snap); err != nil {
			t.Fatal(err)
		}
		if snap["sla_calendar"] != want {
			t.Errorf("--sla-calendar %s: sla_calendar %v, want %v", flag, snap["sla_calendar"], want)
		}
		working := snap["headline"].(map[string]any)["response_working_minutes_median"]
		if (want == nil) != (working == nil) {
			t.Errorf("--sla-calendar %s: response_working_minutes_median %v", flag, working)
		}
	}
}
