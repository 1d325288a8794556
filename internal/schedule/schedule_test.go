package schedule_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/schedule"
	"github.com/sameteam/sameteam/internal/testsupport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// run is one call of the RunFunc, as the tests see it.
type run struct {
	report, period string
	trigger        report.Trigger
	at             time.Time // the scheduler clock at the call
	span           time.Duration
}

// runLog collects RunFunc calls; calls is signalled after each.
type runLog struct {
	clock clockwork.Clock
	mu    sync.Mutex
	runs  []run
	calls chan run
}

func newRunLog(clock clockwork.Clock) *runLog {
	return &runLog{clock: clock, calls: make(chan run, 100)}
}

func (l *runLog) Run(_ context.Context, name string, p period.Period, trigger report.Trigger) error {
	r := run{report: name, period: p.Label(), trigger: trigger, at: l.clock.Now(), span: p.Duration()}
	l.mu.Lock()
	l.runs = append(l.runs, r)
	l.mu.Unlock()
	l.calls <- r
	return nil
}

// ran reports whether a run of the period was called.
func (l *runLog) ran(label string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.runs {
		if r.period == label {
			return true
		}
	}
	return false
}

// next waits (in real time) for the next RunFunc call.
func (l *runLog) next(tb testing.TB) run {
	tb.Helper()
	select {
	case r := <-l.calls:
		return r
	case <-testsupport.After(tb):
		tb.Fatal("no run before the test's deadline")
		return run{}
	}
}

// none checks that no RunFunc call arrives for a moment.
func (l *runLog) none(tb testing.TB) {
	tb.Helper()
	select {
	case r := <-l.calls:
		tb.Fatalf("unexpected run %+v", r)
	case <-time.After(150 * time.Millisecond):
	}
}

func shutdown(tb testing.TB, s *schedule.Scheduler) {
	tb.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), testsupport.Deadline(tb))
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		tb.Errorf("Shutdown: %v", err)
	}
}

// waitFor waits until the log holds s.
func waitFor(tb testing.TB, logs *testsupport.SyncBuffer, s string) {
	tb.Helper()
	for deadline := testsupport.Deadline(tb); !strings.Contains(logs.String(), s); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("the log never showed %q:\n%s", s, logs.String())
		}
	}
}

// nextFire is the next fire time of report once its timer is set.
func nextFire(tb testing.TB, clock *clockwork.FakeClock, s *schedule.Scheduler, report string) time.Time {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		tb.Fatalf("no timer set: %v", err)
	}
	next := s.NextRuns()[report]
	if !next.After(clock.Now()) {
		tb.Fatalf("NextRuns[%s] = %s, not after now %s", report, next, clock.Now())
	}
	return next
}

// advanceTo moves the fake clock to at once every job has its timer.
func advanceTo(tb testing.TB, clock *clockwork.FakeClock, timers int, at time.Time) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, timers); err != nil {
		tb.Fatalf("scheduler did not set %d timers: %v", timers, err)
	}
	if d := at.Sub(clock.Now()); d > 0 {
		clock.Advance(d)
	}
}

// TestScheduleAcrossDST drives three Europe/Madrid reports across the March
// and October 2026 transitions on a fake clock: each fire time is the right
// local time, the Sunday 02:30 report runs once in the gap and once in the
// overlap, and each run reports on the last complete period.
func TestScheduleAcrossDST(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	jobs := []schedule.Job{
		{Name: "weekly-sales", Cron: "0 8 * * MON", Location: madrid, Kind: period.Week},
		{Name: "night-owl", Cron: "30 2 * * SUN", Location: madrid, Kind: period.Week},
		{Name: "monthly", Cron: "0 9 1 * *", Location: madrid, Kind: period.Month},
	}
	type want struct {
		at      string // local time in Madrid
		report  string
		period  string
		spanHrs float64
	}
	tests := []struct {
		name  string
		start time.Time
		want  []want
	}{
		{
			name:  "spring forward",
			start: time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC),
			want: []want{
				{"2026-03-22 02:30 CET", "night-owl", "2026-W11", 168},
				{"2026-03-23 08:00 CET", "weekly-sales", "2026-W12", 168},
				// 02:30 does not exist on 29 March: run once, after the jump.
				{"2026-03-29 03:30 CEST", "night-owl", "2026-W12", 168},
				// The week with the change is 167 hours long.
				{"2026-03-30 08:00 CEST", "weekly-sales", "2026-W13", 167},
				{"2026-04-01 09:00 CEST", "monthly", "2026-03", 743},
				{"2026-04-05 02:30 CEST", "night-owl", "2026-W13", 167},
				{"2026-04-06 08:00 CEST", "weekly-sales", "2026-W14", 168},
			},
		},
		{
			name:  "fall back",
			start: time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC),
			want: []want{
				// 02:30 happens twice on 25 October: run once, at the first.
				{"2026-10-25 02:30 CEST", "night-owl", "2026-W42", 168},
				{"2026-10-26 08:00 CET", "weekly-sales", "2026-W43", 169},
				{"2026-11-01 02:30 CET", "night-owl", "2026-W43", 169},
				{"2026-11-01 09:00 CET", "monthly", "2026-10", 745},
				{"2026-11-02 08:00 CET", "weekly-sales", "2026-W44", 168},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(tt.start)
			log := newRunLog(clock)
			s, err := schedule.New(schedule.Options{Jobs: jobs, Run: log.Run, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			defer shutdown(t, s)
			for _, w := range tt.want {
				at, err := time.ParseInLocation("2006-01-02 15:04 MST", w.at, madrid)
				if err != nil {
					t.Fatal(err)
				}
				// Advance to one second before, to catch early or doubled
				// fires, then to the fire time.
				advanceTo(t, clock, len(jobs), at.Add(-time.Second))
				log.none(t)
				advanceTo(t, clock, len(jobs), at)
				got := log.next(t)
				if got.report != w.report || got.period != w.period || got.trigger != report.TriggerScheduled {
					t.Fatalf("at %s: run %s %s (%s), want %s %s", w.at, got.report, got.period, got.trigger, w.report, w.period)
				}
				if !got.at.Equal(at) {
					t.Fatalf("%s ran at %s, want %s", w.report, got.at.In(madrid), w.at)
				}
				if got.span.Hours() != w.spanHrs {
					t.Fatalf("%s %s spans %v h, want %v", w.report, w.period, got.span.Hours(), w.spanHrs)
				}
			}
			log.none(t)
			if next := s.NextRuns(); len(next) != len(jobs) {
				t.Fatalf("NextRuns = %v, want one per job", next)
			}
		})
	}
}

func TestNextRuns(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	s, err := schedule.New(schedule.Options{
		Jobs: []schedule.Job{{Name: "weekly-sales", Cron: "0 8 * * MON", Location: madrid, Kind: period.Week}},
		Run:  newRunLog(clock).Run, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdown(t, s)
	advanceTo(t, clock, 1, clock.Now())
	got := s.NextRuns()["weekly-sales"]
	if want := time.Date(2026, 11, 30, 8, 0, 0, 0, madrid); !got.Equal(want) || got.Location() != madrid {
		t.Fatalf("NextRuns = %s, want %s in Europe/Madrid", got, want)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	ok := schedule.Job{Name: "weekly-sales", Cron: "0 8 * * MON", Location: madrid, Kind: period.Week}
	runFn := func(context.Context, string, period.Period, report.Trigger) error { return nil }
	tests := []struct {
		name string
		opts schedule.Options
		want string
	}{
		{"no run function", schedule.Options{Jobs: []schedule.Job{ok}}, "no run function"},
		{"bad name", schedule.Options{Run: runFn, Jobs: []schedule.Job{{Name: "../x", Cron: ok.Cron, Location: madrid, Kind: period.Week}}}, `jobs[0]: name "../x"`},
		{"repeated name", schedule.Options{Run: runFn, Jobs: []schedule.Job{ok, ok}}, `jobs[1]: name "weekly-sales" repeated`},
		{"bad kind", schedule.Options{Run: runFn, Jobs: []schedule.Job{{Name: "a", Cron: ok.Cron, Location: madrid, Kind: "fortnight"}}}, "unknown kind"},
		{"bad cron", schedule.Options{Run: runFn, Jobs: []schedule.Job{{Name: "a", Cron: "0 8 * *", Location: madrid, Kind: period.Week}}}, "jobs[0] a: schedule: bad cron expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := schedule.New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// inService is when the reports of these tests first ran: long before any
// period they are asked about, so a period without a run is owed.
var inService = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// TestCatchUp starts the scheduler after missed fire times and checks that
// each period the report still owes (the current one and catch_up before
// it, once its fire time has passed) runs once, oldest first, only when the
// ledger has no success for it, and that the next scheduled run moves on to
// the next period without running the caught-up ones again.
func TestCatchUp(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	tests := []struct {
		name      string
		start     string // Madrid local
		catchUp   int
		succeeded map[string]bool
		askErr    error
		wantAsked []string // the periods Standing is asked about
		wantRuns  []string // the periods caught up
	}{
		{name: "missed this morning", start: "2026-11-23 10:00", succeeded: map[string]bool{"2026-W46": true},
			wantAsked: []string{"2026-W46", "2026-W47"}, wantRuns: []string{"2026-W47"}},
		{name: "missed this morning and last week", start: "2026-11-23 10:00",
			wantAsked: []string{"2026-W46", "2026-W47"}, wantRuns: []string{"2026-W46", "2026-W47"}},
		{name: "missed and already sent", start: "2026-11-23 10:00", succeeded: map[string]bool{"2026-W46": true, "2026-W47": true},
			wantAsked: []string{"2026-W46", "2026-W47"}},
		{name: "before this morning's run, last week's missed", start: "2026-11-23 07:00", wantAsked: []string{"2026-W46"}, wantRuns: []string{"2026-W46"}},
		{name: "before this morning's run, last week's sent", start: "2026-11-23 07:00", succeeded: map[string]bool{"2026-W46": true}, wantAsked: []string{"2026-W46"}},
		{name: "three weeks down, two of them sent", start: "2026-11-25 12:00", catchUp: 3,
			succeeded: map[string]bool{"2026-W44": true, "2026-W46": true},
			wantAsked: []string{"2026-W44", "2026-W45", "2026-W46", "2026-W47"}, wantRuns: []string{"2026-W45", "2026-W47"}},
		{name: "disabled", start: "2026-11-23 10:00", catchUp: -1},
		{name: "ledger unreachable", start: "2026-11-23 10:00", askErr: errors.New("connection refused"), wantAsked: []string{"2026-W46", "2026-W47"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start, err := time.ParseInLocation("2006-01-02 15:04", tt.start, madrid)
			if err != nil {
				t.Fatal(err)
			}
			clock := clockwork.NewFakeClockAt(start)
			log := newRunLog(clock)
			asked := make(chan string, 100)
			logs := &testsupport.SyncBuffer{}
			s, err := schedule.New(schedule.Options{
				Jobs: []schedule.Job{{Name: "weekly-sales", Cron: "0 8 * * MON", Location: madrid, Kind: period.Week, CatchUp: tt.catchUp}},
				Run:  log.Run,
				// As the ledger would: a period succeeded once it ran (the
				// runs here all succeed) or when the test says so.
				Standing: func(_ context.Context, report string, p period.Period) (ledger.Standing, error) {
					asked <- p.Label()
					if tt.askErr != nil {
						return ledger.Standing{}, tt.askErr
					}
					return ledger.Standing{Succeeded: tt.succeeded[p.Label()] || log.ran(p.Label()), FirstAsOf: inService}, nil
				},
				Clock:  clock,
				Logger: slog.New(slog.NewTextHandler(logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			defer shutdown(t, s)
			for _, want := range tt.wantAsked {
				select {
				case got := <-asked:
					if got != want {
						t.Fatalf("Standing asked about %s, want %s", got, want)
					}
				case <-testsupport.After(t):
					t.Fatalf("Standing never asked about %s", want)
				}
			}
			for _, want := range tt.wantRuns {
				got := log.next(t)
				if got.period != want || got.trigger != report.TriggerCatchUp || got.report != "weekly-sales" {
					t.Fatalf("catch-up ran %+v, want weekly-sales %s catch-up", got, want)
				}
			}
			log.none(t)
			select {
			case got := <-asked:
				t.Fatalf("Standing asked again, about %s", got)
			default:
			}
			if tt.askErr != nil && !strings.Contains(logs.String(), "connection refused") {
				t.Fatalf("the catch-up error was not logged:\n%s", logs.String())
			}

			// The next scheduled run reports on the following period, and the
			// catch-up does not come back.
			next := nextFire(t, clock, s, "weekly-sales")
			advanceTo(t, clock, 1, next)
			got := log.next(t)
			if want := period.LastComplete(period.Week, next, madrid).Label(); got.period != want || got.trigger != report.TriggerScheduled {
				t.Fatalf("scheduled run %+v, want %s", got, want)
			}
			log.none(t)
		})
	}
}

// TestReliability_Scheduling_NextFireRetriesWhatDidNotGoOut: a scheduled
// run that fails (the relay down) or is held leaves its period owed, and the
// report's next fire runs it again, before that fire's own period, until the
// ledger shows it done; a period whose only gaps a rerun cannot fill
// (unknown, failed_permanent) is not run again.
func TestReliability_Scheduling_NextFireRetriesWhatDidNotGoOut(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 16, 7, 0, 0, 0, madrid))
	var mu sync.Mutex
	// What the ledger holds, by period; a period with no entry has no run.
	done := ledger.Standing{Runs: 1, Succeeded: true, Latest: report.RunSucceeded, FirstAsOf: inService}
	held := map[string]ledger.Standing{"2026-11-13": done, "2026-11-14": done}
	// outcome is what the next run of a period leaves in the ledger.
	outcome := map[string]ledger.Standing{
		"2026-11-15": {Runs: 1, Latest: report.RunFailed, Deliveries: 3, Retriable: 3, FirstAsOf: inService},  // the relay was down
		"2026-11-16": {Runs: 1, Latest: report.RunHeld, FirstAsOf: inService},                                 // the gate held it
		"2026-11-17": {Runs: 1, Latest: report.RunPartial, Deliveries: 3, Retriable: 0, FirstAsOf: inService}, // one unknown: not retried
	}
	calls := make(chan run, 20)
	s, err := schedule.New(schedule.Options{
		Jobs: []schedule.Job{{Name: "daily", Cron: "0 8 * * *", Location: madrid, Kind: period.Day, CatchUp: 2}},
		Run: func(_ context.Context, name string, p period.Period, trigger report.Trigger) error {
			mu.Lock()
			st, bad := outcome[p.Label()]
			if bad {
				delete(outcome, p.Label()) // the next run of it succeeds
			} else {
				st = done
			}
			held[p.Label()] = st
			mu.Unlock()
			calls <- run{report: name, period: p.Label(), trigger: trigger, at: clock.Now()}
			if bad && st.Latest != report.RunPartial {
				return errors.New("did not go out")
			}
			return nil
		},
		Standing: func(_ context.Context, _ string, p period.Period) (ledger.Standing, error) {
			mu.Lock()
			defer mu.Unlock()
			if st, ok := held[p.Label()]; ok {
				return st, nil
			}
			return ledger.Standing{FirstAsOf: inService}, nil
		},
		Clock:  clock,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdown(t, s)
	wait := func(want string, trigger report.Trigger) {
		t.Helper()
		select {
		case got := <-calls:
			if got.period != want || got.trigger != trigger {
				t.Fatalf("ran %s (%s), want %s (%s)", got.period, got.trigger, want, trigger)
			}
		case <-testsupport.After(t):
			t.Fatalf("no run of %s", want)
		}
	}
	noRun := func() {
		t.Helper()
		select {
		case got := <-calls:
			t.Fatalf("unexpected run %+v", got)
		case <-time.After(150 * time.Millisecond):
		}
	}
	// Start at 07:00: the 13th and 14th are done, the 15th not due until
	// 08:00.
	noRun()
	fire := func(day int) {
		t.Helper()
		at := time.Date(2026, 11, day, 8, 0, 0, 0, madrid)
		if next := nextFire(t, clock, s, "daily"); !next.Equal(at) {
			t.Fatalf("next fire %s, want %s", next, at)
		}
		advanceTo(t, clock, 1, at)
	}
	fire(16)
	wait("2026-11-15", report.TriggerScheduled) // fails
	fire(17)
	wait("2026-11-15", report.TriggerCatchUp) // retried, goes out
	wait("2026-11-16", report.TriggerScheduled)
	fire(18)
	wait("2026-11-16", report.TriggerCatchUp) // the held day, now fresh
	wait("2026-11-17", report.TriggerScheduled)
	fire(19)
	wait("2026-11-18", report.TriggerScheduled) // the 17th's unknown is left to a person
	noRun()
}

// TestShutdownWithRunInFlight checks both ends of a graceful stop: a run that
// honours its context is cancelled and waited for, and a run that does not
// is abandoned after the stop timeout.
func TestShutdownWithRunInFlight(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	tests := []struct {
		name        string
		honoursCtx  bool
		stopTimeout time.Duration
		wantErr     bool
	}{
		{name: "run stops at its next safe point", honoursCtx: true, stopTimeout: 5 * time.Second},
		{name: "run ignores cancellation", honoursCtx: false, stopTimeout: 200 * time.Millisecond, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC))
			started := make(chan struct{})
			release := make(chan struct{})
			finished := make(chan error, 1)
			s, err := schedule.New(schedule.Options{
				Jobs: []schedule.Job{{Name: "weekly-sales", Cron: "0 8 * * MON", Location: madrid, Kind: period.Week}},
				Run: func(ctx context.Context, _ string, _ period.Period, _ report.Trigger) error {
					close(started)
					if tt.honoursCtx {
						<-ctx.Done()
						time.Sleep(50 * time.Millisecond) // finish the recipient in hand
						finished <- ctx.Err()
						return ctx.Err()
					}
					<-release
					finished <- ctx.Err()
					return nil
				},
				Clock:       clock,
				StopTimeout: tt.stopTimeout,
			})
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			advanceTo(t, clock, 1, time.Date(2026, 11, 23, 8, 0, 0, 0, madrid))
			select {
			case <-started:
			case <-testsupport.After(t):
				t.Fatal("the run never started")
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			begun := time.Now()
			err = s.Shutdown(ctx)
			took := time.Since(begun)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Shutdown = nil, want a stop timeout")
				}
				if took > tt.stopTimeout+3*time.Second {
					t.Fatalf("Shutdown took %v with a %v stop timeout", took, tt.stopTimeout)
				}
				close(release)
				if got := <-finished; !errors.Is(got, context.Canceled) {
					t.Fatalf("abandoned run's context: %v, want cancelled", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Shutdown = %v", err)
			}
			select {
			case got := <-finished:
				if !errors.Is(got, context.Canceled) {
					t.Fatalf("run context: %v, want cancelled", got)
				}
			default:
				t.Fatal("Shutdown returned before the run did")
			}
		})
	}
}

// TestPanicRecovered checks that a panicking run is logged and does not stop
// the scheduler.
func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC))
	logs := &testsupport.SyncBuffer{}
	calls := make(chan string, 10)
	s, err := schedule.New(schedule.Options{
		Jobs: []schedule.Job{{Name: "weekly-sales", Cron: "0 8 * * MON", Location: madrid, Kind: period.Week}},
		Run: func(_ context.Context, _ string, p period.Period, _ report.Trigger) error {
			calls <- p.Label()
			if p.Label() == "2026-W47" {
				panic("template exploded")
			}
			return errors.New("smtp down")
		},
		Clock:  clock,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdown(t, s)
	for _, step := range []struct{ period, logged string }{{"2026-W47", "template exploded"}, {"2026-W48", "smtp down"}} {
		w := step.period
		advanceTo(t, clock, 1, nextFire(t, clock, s, "weekly-sales"))
		select {
		case got := <-calls:
			if got != w {
				t.Fatalf("ran %s, want %s", got, w)
			}
		case <-testsupport.After(t):
			t.Fatalf("no run for %s: the scheduler died after the panic", w)
		}
		// A fire that comes while gocron is still closing the previous run is
		// skipped (singleton mode): wait for the listeners, then a little more,
		// before moving the clock a week on in a few microseconds.
		waitFor(t, logs, step.logged)
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{`"msg":"report run panicked"`, `"panic":"template exploded"`, `"msg":"report run failed"`, `"error":"smtp down"`, `"report":"weekly-sales"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}
