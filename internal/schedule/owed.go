package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
)

// StandingFunc reads what the ledger holds of report's period p.
type StandingFunc func(ctx context.Context, name string, p period.Period) (ledger.Standing, error)

// Owes reports whether a report still owes period p, from what the ledger
// holds of it. It is the one rule behind `run`, a scheduled fire and the
// catch-up on start:
//
//   - a period that a run finished succeeded is done;
//   - a period with no run at all is owed when it is the latest one due,
//     and an earlier one only when the report had run, for an as_of
//     before p ended (its cron line or its scheduler failed before
//     the ledger was reached): a report that never ran, or first ran after
//     p, does not send its history;
//   - a held run is owed (the data may be fresh now), and so is a run still
//     marked running (its process died; the run lock tells a live one);
//   - a failed or partial run is owed while a rerun would try someone: it
//     failed before reaching any recipient, or some delivery is
//     failed_temporary (including "not tried") or pending. One whose only
//     gaps are unknown or failed_permanent is not: a rerun would send
//     nothing (unknown waits for --resend-unknown, permanent for a person).
func Owes(s ledger.Standing, p period.Period, latest bool) bool {
	switch {
	case s.Succeeded:
		return false
	case s.Runs == 0:
		return latest || !s.FirstAsOf.IsZero() && s.FirstAsOf.Before(p.End)
	case s.Latest == report.RunHeld, s.Latest == report.RunRunning:
		return true
	case s.Deliveries == 0:
		return true
	}
	return s.Retriable > 0
}

// Owed lists, oldest first, the periods of j that a run at now still owes,
// up to current: of the j.CatchUp periods before current (none when it is
// negative; 0 means 1) and current itself, those that were due by now and
// that Owes says the ledger shows incomplete. A period is due when j's
// schedule had fired for it (a fire time at or after its end and before the
// next one's end, at or before now); for a job without a schedule (a `run`
// from an operator's cron line), when it had ended. So a daily report
// scheduled on weekdays does not send its Saturdays on Monday.
//
// A period whose standing cannot be read is left out and its error
// returned, joined with the others'; the rest are still listed.
func Owed(ctx context.Context, j Job, current period.Period, now time.Time, standing StandingFunc) ([]period.Period, error) {
	var z *zonedCron
	if j.Cron != "" {
		var err error
		if z, err = parseCron(j.Cron, j.Location); err != nil {
			return nil, err
		}
	}
	n := 0
	if j.CatchUp >= 0 {
		n = max(j.CatchUp, 1)
	}
	var candidates []period.Period
	for k := n; k >= 0; k-- {
		if p := current.Shift(-k); due(z, p, now) {
			candidates = append(candidates, p)
		}
	}
	var out []period.Period
	var errs []error
	for i, p := range candidates {
		if err := ctx.Err(); err != nil {
			return out, errors.Join(append(errs, err)...)
		}
		s, err := standing(ctx, j.Name, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", j.Name, p.Label(), err))
			continue
		}
		if Owes(s, p, i == len(candidates)-1) {
			out = append(out, p)
		}
	}
	return out, errors.Join(errs...)
}

// due reports whether p was due by now: its end has passed and, with a
// schedule z, z fired for it (the fires whose last complete period is p
// lie from p's end to the next period's end).
func due(z *zonedCron, p period.Period, now time.Time) bool {
	if p.End.After(now) {
		return false
	}
	if z == nil {
		return true
	}
	f := z.Next(p.End.Add(-time.Second))
	return !f.IsZero() && f.Before(p.Next().End) && !f.After(now)
}
