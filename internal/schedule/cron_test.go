package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/schedule"
)

func mustZone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

func TestValidate(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	tests := []struct {
		name    string
		expr    string
		loc     *time.Location
		wantErr bool
	}{
		{name: "weekly", expr: "0 8 * * MON", loc: madrid},
		{name: "descriptor", expr: "@weekly", loc: madrid},
		{name: "first of month", expr: "0 9 1 * *", loc: madrid},
		{name: "six fields", expr: "0 0 8 * * MON", loc: madrid, wantErr: true},
		{name: "garbage", expr: "every monday", loc: madrid, wantErr: true},
		{name: "out of range", expr: "0 25 * * *", loc: madrid, wantErr: true},
		{name: "interval", expr: "@every 1h", loc: madrid, wantErr: true},
		{name: "zone in expression", expr: "CRON_TZ=UTC 0 8 * * MON", loc: madrid, wantErr: true},
		{name: "never fires", expr: "0 8 30 2 *", loc: madrid, wantErr: true},
		{name: "no zone", expr: "0 8 * * MON", loc: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := schedule.Validate(tt.expr, tt.loc)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate(%q) = %v, want error: %v", tt.expr, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, schedule.ErrCron) {
				t.Fatalf("Validate(%q) = %v, want ErrCron", tt.expr, err)
			}
		})
	}
}

func TestDSTWarnings(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	ny := mustZone(t, "America/New_York")
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		expr string
		loc  *time.Location
		want []string
	}{
		{name: "monday morning", expr: "0 8 * * MON", loc: madrid},
		{name: "monday night is not a transition day", expr: "30 2 * * MON", loc: madrid},
		{name: "utc has no DST", expr: "30 2 * * *", loc: time.UTC},
		{name: "sunday 02:30 in Madrid", expr: "30 2 * * SUN", loc: madrid, want: []string{
			"2026-03-29 02:30 does not exist in Europe/Madrid (clocks go forward at 02:00): that run happens at 03:30 CEST",
			"2026-10-25 02:30 happens twice in Europe/Madrid (clocks go back at 03:00): the run happens once, at the first (02:30 CEST)",
		}},
		{name: "every 20 minutes", expr: "*/20 * * * *", loc: madrid, want: []string{
			"2026-03-29 02:00 does not exist in Europe/Madrid (clocks go forward at 02:00): that run happens at 03:00 CEST",
			"2026-10-25 02:00 happens twice in Europe/Madrid (clocks go back at 03:00): the run happens once, at the first (02:00 CEST)",
		}},
		{name: "new york 01:30", expr: "30 1 * * *", loc: ny, want: []string{
			"2026-11-01 01:30 happens twice in America/New_York (clocks go back at 02:00): the run happens once, at the first (01:30 EDT)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := schedule.DSTWarnings(tt.expr, tt.loc, from)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("DSTWarnings(%q):\n got %q\nwant %q", tt.expr, got, tt.want)
			}
		})
	}
}
