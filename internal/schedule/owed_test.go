package schedule_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/schedule"
)

// TestOwed checks the one rule of what a report still owes on the ledger
// states it can meet.
func TestOwed(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	// Tuesday 2026-11-24 09:00 in Madrid: the daily report's current period
	// is Monday the 23rd.
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, madrid)
	current := period.LastComplete(period.Day, now, madrid)
	done := ledger.Standing{Runs: 1, Succeeded: true, Latest: report.RunSucceeded, FirstAsOf: inService}
	tests := []struct {
		name    string
		cron    string
		catchUp int
		ledger  map[string]ledger.Standing // missing: no run
		fresh   bool                       // the report never ran
		want    []string
	}{
		{name: "all sent", ledger: map[string]ledger.Standing{"2026-11-22": done, "2026-11-23": done}},
		{name: "current not yet sent", ledger: map[string]ledger.Standing{"2026-11-22": done}, want: []string{"2026-11-23"}},
		{name: "yesterday's run failed before any recipient", ledger: map[string]ledger.Standing{
			"2026-11-22": {Runs: 1, Latest: report.RunFailed, FirstAsOf: inService}, "2026-11-23": done}, want: []string{"2026-11-22"}},
		{name: "yesterday's relay failed mid-way", ledger: map[string]ledger.Standing{
			"2026-11-22": {Runs: 1, Latest: report.RunPartial, Deliveries: 5, Retriable: 2, FirstAsOf: inService}, "2026-11-23": done}, want: []string{"2026-11-22"}},
		{name: "yesterday held", ledger: map[string]ledger.Standing{
			"2026-11-22": {Runs: 2, Latest: report.RunHeld, FirstAsOf: inService}, "2026-11-23": done}, want: []string{"2026-11-22"}},
		{name: "yesterday's gaps are unknown or permanent only", ledger: map[string]ledger.Standing{
			"2026-11-22": {Runs: 1, Latest: report.RunPartial, Deliveries: 5, FirstAsOf: inService}, "2026-11-23": done}},
		{name: "yesterday never ran (the state database was down)", ledger: map[string]ledger.Standing{"2026-11-23": done}, want: []string{"2026-11-22"}},
		{name: "a report that never ran sends no history", fresh: true, catchUp: 5, want: []string{"2026-11-23"}},
		{name: "three days back with catch_up 3", catchUp: 3, ledger: map[string]ledger.Standing{"2026-11-21": done},
			want: []string{"2026-11-20", "2026-11-22", "2026-11-23"}},
		{name: "catch_up bounds the look-back", catchUp: 1, want: []string{"2026-11-22", "2026-11-23"}},
		// Monday's fire reports on Sunday; Friday and Saturday have no fire.
		{name: "weekday schedule: Friday and Saturday are not due", cron: "0 8 * * MON-FRI", catchUp: 3,
			ledger: map[string]ledger.Standing{"2026-11-22": done}, want: []string{"2026-11-23"}},
		{name: "weekday schedule: Sunday is Monday's", cron: "0 8 * * MON-FRI", catchUp: 3, want: []string{"2026-11-22", "2026-11-23"}},
		{name: "before today's fire time the current period is not due", cron: "0 10 * * *",
			ledger: map[string]ledger.Standing{}, want: []string{"2026-11-22"}},
		{name: "negative catch_up: only the current period", catchUp: -1, want: []string{"2026-11-23"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := schedule.Job{Name: "daily", Cron: tt.cron, Location: madrid, Kind: period.Day, CatchUp: tt.catchUp}
			got, err := schedule.Owed(context.Background(), j, current, now, func(_ context.Context, _ string, p period.Period) (ledger.Standing, error) {
				if s, ok := tt.ledger[p.Label()]; ok {
					return s, nil
				}
				if tt.fresh {
					return ledger.Standing{}, nil
				}
				return ledger.Standing{FirstAsOf: inService}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var labels []string
			for _, p := range got {
				labels = append(labels, p.Label())
			}
			if !slices.Equal(labels, tt.want) {
				t.Fatalf("owed %v, want %v", labels, tt.want)
			}
		})
	}

	// A period whose standing cannot be read is left out, and said.
	j := schedule.Job{Name: "daily", Location: madrid, Kind: period.Day}
	got, err := schedule.Owed(context.Background(), j, current, now, func(_ context.Context, _ string, p period.Period) (ledger.Standing, error) {
		if p.Label() == "2026-11-22" {
			return ledger.Standing{}, errors.New("connection refused")
		}
		return ledger.Standing{FirstAsOf: inService}, nil
	})
	if err == nil || len(got) != 1 || got[0].Label() != "2026-11-23" {
		t.Fatalf("owed %v, %v; want 2026-11-23 and the error", got, err)
	}
}
