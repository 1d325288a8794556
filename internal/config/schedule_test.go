package config

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/schedule"
)

// The configuration checks a report's schedule with the scheduler's own
// parser, so an expression that loads is one that serve can schedule:
// `@every 2h` used to load, run with `run`, and stop `serve` with exit 78.
func TestScheduleVerdictMatchesScheduler(t *testing.T) {
	for _, expr := range []string{
		"0 8 * * MON", "@weekly", "30 2 * * SUN", // accepted by both
		"@every 2h", "@every 0s", "0 9 31 2 *", "61 8 * * *", "CRON_TZ=UTC 0 8 * * *", "0 8 * *", // refused by both
	} {
		t.Run(expr, func(t *testing.T) {
			yml := "time_zone: Europe/Madrid\nreports:\n  - {name: a, audience: sales, period: week, schedule: \"" + expr + "\"}\n"
			cfg, loadErr := Parse("c.yaml", []byte(yml), func(string) (string, bool) { return "", false })
			if loadErr != nil && !strings.Contains(loadErr.Error(), "reports[0].schedule") {
				t.Fatalf("load refused it for another reason: %v", loadErr)
			}
			loc := time.UTC
			if cfg != nil {
				loc = cfg.Reports[0].Location
			}
			_, serveErr := schedule.New(schedule.Options{
				Jobs: []schedule.Job{{Name: "a", Cron: expr, Location: loc, Kind: "week"}},
				Run:  func(context.Context, string, period.Period, report.Trigger) error { return nil },
			})
			if (loadErr == nil) != (serveErr == nil) {
				t.Fatalf("config load: %v; scheduler: %v", loadErr, serveErr)
			}
			if serveErr != nil && !errors.Is(serveErr, schedule.ErrCron) {
				t.Fatalf("scheduler refused it for another reason: %v", serveErr)
			}
		})
	}
}

// Validate resolves each report's zone and period kind once, with the
// top-level zone as the default.
func TestValidateResolvesTypedValues(t *testing.T) {
	yml := "time_zone: Europe/Madrid\nreports:\n" +
		"  - {name: a, audience: sales, period: month}\n" +
		"  - {name: b, audience: sales, time_zone: America/New_York}\n"
	cfg, err := Parse("c.yaml", []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Location == nil || cfg.Location.String() != "Europe/Madrid" {
		t.Errorf("Location = %v", cfg.Location)
	}
	a, b := cfg.Reports[0], cfg.Reports[1]
	if a.Kind != "month" || a.Location.String() != "Europe/Madrid" {
		t.Errorf("reports[0]: kind %q, zone %v", a.Kind, a.Location)
	}
	if b.Kind != "week" || b.Location.String() != "America/New_York" {
		t.Errorf("reports[1]: kind %q, zone %v", b.Kind, b.Location)
	}
}
