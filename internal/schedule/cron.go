package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/robfig/cron/v3"
)

// zonedCron is a five-field cron schedule read on the wall clock of one zone,
// with a DST policy of its own instead of robfig/cron's:
//
//   - a wall time that does not exist (the spring-forward gap) runs once, at
//     that wall time read with the offset from before the jump (02:30 in
//     Europe/Madrid on the last Sunday of March runs at 03:30 CEST), where
//     robfig/cron would skip it and leave a weekly report without its run;
//   - a wall time that happens twice (the fall-back overlap) runs once, at
//     its first occurrence, where robfig/cron would run it twice.
//
// It evaluates the expression on wall time written as if it were UTC, which
// has no DST, and only then maps each wall time to an instant in the zone.
// It implements gocron.Cron, so gocron's timers run on it unchanged.
type zonedCron struct {
	spec *cron.SpecSchedule // Location is UTC: it runs on wall time
	loc  *time.Location
}

var _ gocron.Cron = (*zonedCron)(nil)

func parseCron(expr string, loc *time.Location) (*zonedCron, error) {
	if loc == nil {
		return nil, fmt.Errorf("%w %q: no time zone", ErrCron, expr)
	}
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return nil, fmt.Errorf("%w %q: set the report's time zone in the configuration, not in the expression", ErrCron, expr)
	}
	s, err := cron.ParseStandard(e)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrCron, expr, err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%w %q: @every is an interval, not a calendar schedule", ErrCron, expr)
	}
	spec.Location = time.UTC
	z := &zonedCron{spec: spec, loc: loc}
	// robfig/cron gives up after five years: "0 8 30 2 *" parses but never runs.
	if z.spec.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("%w %q: never fires", ErrCron, expr)
	}
	return z, nil
}

// IsValid implements gocron.Cron. The expression was checked by parseCron;
// gocron's location is ignored because the job carries its own zone.
func (z *zonedCron) IsValid(string, *time.Location, time.Time) error { return nil }

// Next implements gocron.Cron: the first fire time strictly after t.
func (z *zonedCron) Next(t time.Time) time.Time {
	w := asUTC(t.In(z.loc))
	// A few wall times can map to instants at or before t (the rest of an
	// overlap hour already run, or gap times folded onto one instant); at most
	// one hour of minutes is skipped that way.
	for range 2000 {
		nw := z.spec.Next(w)
		if nw.IsZero() {
			return time.Time{}
		}
		if at := resolve(nw, z.loc); at.After(t) {
			return at
		}
		w = nw
	}
	return time.Time{}
}

// asUTC is t's wall clock written as a UTC time (seconds precision).
func asUTC(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// resolve maps the wall time w (written as UTC) to an instant in loc: the
// earliest instant showing that wall time, or for a wall time in a gap, the
// wall time read with the offset in force before the gap. The standard
// library's time.Date leaves both choices unspecified, and in practice picks
// differently per zone.
func resolve(w time.Time, loc *time.Location) time.Time {
	// Zones change offset at most once in a few days, so the offsets two days
	// either side are the ones before and after any transition near w.
	_, before := w.Add(-48 * time.Hour).In(loc).Zone()
	_, after := w.Add(48 * time.Hour).In(loc).Zone()
	var best time.Time
	for _, off := range []int{before, after} {
		at := w.Add(-time.Duration(off) * time.Second).In(loc)
		if asUTC(at).Equal(w) && (best.IsZero() || at.Before(best)) {
			best = at
		}
	}
	if best.IsZero() {
		best = w.Add(-time.Duration(before) * time.Second).In(loc)
	}
	return best
}

// Validate checks a report's cron expression (five fields, or @daily,
// @weekly, @monthly…) in its zone: it must parse, must not carry its own
// TZ= prefix, and must fire at least once.
func Validate(expr string, loc *time.Location) error {
	_, err := parseCron(expr, loc)
	return err
}

// DSTWarnings lists the fire times of expr in loc, over the year after from,
// that fall in a DST gap (the wall time does not exist) or overlap (it
// happens twice), each with what sameteam does about it. Such schedules are
// accepted: the run happens once either way, and the ledger and the catch-up
// on start make sure the period is sent exactly once. An invalid expression
// has no warnings (Validate reports it).
func DSTWarnings(expr string, loc *time.Location, from time.Time) []string {
	z, err := parseCron(expr, loc)
	if err != nil {
		return nil
	}
	var out []string
	for _, tr := range transitions(loc, from, from.AddDate(1, 0, 0)) {
		// The affected wall times are [lo, hi): the skipped hour for a gap,
		// the repeated hour for an overlap.
		lo, hi := asUTC(tr.at.Add(-time.Second).In(loc)).Add(time.Second), asUTC(tr.at.In(loc))
		gap := tr.after > tr.before
		if !gap {
			lo, hi = hi, lo
		}
		first := z.spec.Next(lo.Add(-time.Second))
		if first.IsZero() || !first.Before(hi) {
			continue
		}
		runAt := resolve(first, loc)
		if gap {
			out = append(out, fmt.Sprintf("%s %s does not exist in %s (clocks go forward at %s): that run happens at %s",
				first.Format("2006-01-02"), first.Format("15:04"), loc, lo.Format("15:04"), runAt.Format("15:04 MST")))
		} else {
			out = append(out, fmt.Sprintf("%s %s happens twice in %s (clocks go back at %s): the run happens once, at the first (%s)",
				first.Format("2006-01-02"), first.Format("15:04"), loc, hi.Format("15:04"), runAt.Format("15:04 MST")))
		}
	}
	return out
}

// transition is a change of UTC offset: at is the first instant of the new
// offset.
type transition struct {
	at            time.Time
	before, after int
}

// transitions finds loc's offset changes in [from, to), by day and then by
// bisection to the second.
func transitions(loc *time.Location, from, to time.Time) []transition {
	offset := func(t time.Time) int { _, o := t.In(loc).Zone(); return o }
	var out []transition
	for t := from; t.Before(to); t = t.Add(24 * time.Hour) {
		next := t.Add(24 * time.Hour)
		o1, o2 := offset(t), offset(next)
		if o1 == o2 {
			continue
		}
		lo, hi := t, next // offset(lo) == o1, offset(hi) != o1
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
			if offset(mid) == o1 {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, transition{at: hi, before: o1, after: offset(hi)})
	}
	return out
}
