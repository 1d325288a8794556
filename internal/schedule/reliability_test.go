package schedule_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/schedule"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// ledgerStub answers Standing from the runs that returned without error:
// those succeeded, and the report has run since long before.
type ledgerStub struct {
	mu   sync.Mutex
	done map[string]bool
}

func (l *ledgerStub) standing(_ context.Context, report string, p period.Period) (ledger.Standing, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return ledger.Standing{Succeeded: l.done[report+" "+p.Label()], FirstAsOf: inService}, nil
}

func (l *ledgerStub) mark(report, label string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done[report+" "+label] = true
}

// stubLocker is a replicas' lock that another replica holds while refuse
// is set.
type stubLocker struct{ refuse atomic.Bool }

func (l *stubLocker) Lock(context.Context, string) (gocron.Lock, error) {
	if l.refuse.Load() {
		return nil, schedule.ErrLocked
	}
	return stubLock{}, nil
}

type stubLock struct{}

func (stubLock) Unlock(context.Context) error { return nil }

// S5: a run still going at the report's next fire time. gocron skips that
// fire (singleton mode), so two runs of one report never overlap; the
// skipped fire's period is run at the following fire, before that fire's
// own, instead of waiting for a restart. A fire whose period another
// replica has sent is not run again.
func TestReliability_Scheduling_Overrun(t *testing.T) {
	t.Parallel()
	madrid := mustZone(t, "Europe/Madrid")
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 16, 7, 0, 0, 0, madrid))
	stub := &ledgerStub{done: map[string]bool{"daily 2026-11-13": true, "daily 2026-11-14": true}}
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	var mu sync.Mutex
	running := 0
	overlapped := false
	calls := make(chan run, 10)
	locker := &stubLocker{}
	s, err := schedule.New(schedule.Options{
		Jobs: []schedule.Job{{Name: "daily", Cron: "0 8 * * *", Location: madrid, Kind: period.Day, CatchUp: 2}},
		Run: func(_ context.Context, name string, p period.Period, trigger report.Trigger) error {
			mu.Lock()
			running++
			overlapped = overlapped || running > 1
			mu.Unlock()
			if p.Label() == "2026-11-15" {
				<-release // the overrun: past the next fire time
			}
			stub.mark(name, p.Label())
			mu.Lock()
			running--
			mu.Unlock()
			calls <- run{report: name, period: p.Label(), trigger: trigger, at: clock.Now()}
			return nil
		},
		Standing: stub.standing,
		Locker:   locker,
		Clock:    clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdown(t, s)
	defer free()
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
		case <-time.After(200 * time.Millisecond):
		}
	}

	advanceTo(t, clock, 1, time.Date(2026, 11, 16, 8, 0, 0, 0, madrid)) // runs the 15th, which hangs
	time.Sleep(50 * time.Millisecond)
	advanceTo(t, clock, 1, time.Date(2026, 11, 17, 8, 0, 0, 0, madrid)) // the 16th's fire: skipped
	noRun()
	free()
	wait("2026-11-15", report.TriggerScheduled)
	time.Sleep(100 * time.Millisecond) // gocron closes the execution
	advanceTo(t, clock, 1, time.Date(2026, 11, 18, 8, 0, 0, 0, madrid))
	wait("2026-11-16", report.TriggerCatchUp) // the skipped one first
	wait("2026-11-17", report.TriggerScheduled)
	noRun()

	// Another replica holds the lock at the 19th's fire and sends the 18th:
	// this one skips the fire, and its next fire does not send the 18th
	// again.
	time.Sleep(100 * time.Millisecond)
	locker.refuse.Store(true)
	advanceTo(t, clock, 1, time.Date(2026, 11, 19, 8, 0, 0, 0, madrid))
	noRun()
	stub.mark("daily", "2026-11-18")
	locker.refuse.Store(false)
	advanceTo(t, clock, 1, time.Date(2026, 11, 20, 8, 0, 0, 0, madrid))
	wait("2026-11-19", report.TriggerScheduled)
	noRun()
	mu.Lock()
	defer mu.Unlock()
	if overlapped {
		t.Error("two runs of the report overlapped")
	}
}
