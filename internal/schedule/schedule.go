// Package schedule runs each report on its cron schedule, in its own time
// zone, on gocron v2. It is only an adapter: every scheduled run and every
// catch-up calls the same RunFunc that the one-shot `run` command calls, with
// the period already decided, so the two can never compute different things.
//
// Which period a run covers: the last complete period of the report's kind
// in its zone at the moment the schedule fires (a Monday 08:00 weekly run
// reports on the week that ended at Sunday midnight).
//
// DST: a fire time in a spring-forward gap runs once, just after the jump; a
// fire time in a fall-back overlap runs once, at its first occurrence (see
// DSTWarnings). Exactly-once per period is the ledger's job, behind RunFunc;
// the scheduler makes sure each period gets at least its one attempt: on
// start it catches up a period whose fire time passed while it was down, and
// a fire skipped while the report was still running or locked has its
// period run at the report's next fire.
//
// Several replicas: pass a Locker (AdvisoryLocker on PostgreSQL) so that only
// one replica runs a given report at a time.
package schedule

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
)

// DefaultStopTimeout is how long Shutdown waits for a run in flight: below
// Kubernetes' default 30 s termination grace period, so the process still
// closes HTTP and the database before it is killed.
const DefaultStopTimeout = 25 * time.Second

// RunFunc runs one report for one period. ctx is cancelled when the
// scheduler shuts down; a run should stop at a safe point (between
// recipients) and return.
//
// trigger is report.TriggerScheduled or report.TriggerCatchUp.
type RunFunc func(ctx context.Context, name string, p period.Period, trigger report.Trigger) error

// SucceededFunc reports whether the ledger holds a successful run of report
// for p.
type SucceededFunc func(ctx context.Context, name string, p period.Period) (bool, error)

// Job is one report's schedule.
type Job struct {
	// Name is the report name; also gocron's job name and the lock key.
	Name string
	// Cron is a five-field expression or a descriptor (@daily, @weekly…),
	// read on the wall clock of Location.
	Cron     string
	Location *time.Location
	// Kind is the length of the period each run reports on.
	Kind period.Kind
	// CatchUp is how many of the latest fire times before Start are checked
	// on start and, when their period has no successful run, run then,
	// oldest first: 0 means 1, negative none.
	CatchUp int
}

// Options configures a Scheduler.
type Options struct {
	Jobs []Job
	// Run is called for every scheduled and catch-up run. Required.
	Run RunFunc
	// Succeeded enables the catch-up on start; nil disables it.
	Succeeded SucceededFunc
	// Locker, when set, makes replicas take turns: a run starts only after
	// Lock(ctx, report) succeeds.
	Locker gocron.Locker
	// Monitor receives gocron's per-execution counts and timings.
	Monitor gocron.MonitorStatus
	// Clock is gocron's clock (a clockwork.FakeClock in tests); default real.
	Clock clockwork.Clock
	// Logger gets run failures, panics and lock skips; default discard.
	Logger *slog.Logger
	// StopTimeout bounds how long Shutdown waits for runs in flight;
	// default DefaultStopTimeout.
	StopTimeout time.Duration
}

// Scheduler runs the jobs. Create it with New, then Start and Shutdown.
type Scheduler struct {
	s         gocron.Scheduler
	clock     clockwork.Clock
	log       *slog.Logger
	jobs      []Job
	crons     map[string]*zonedCron
	run       RunFunc
	succeeded SucceededFunc

	mu sync.Mutex
	// handled is, per report, the clock when its scheduled run last began
	// (Start's clock before the first): fire times after it that never ran
	// were skipped.
	handled map[string]time.Time
}

// catchUpTag marks the one-time catch-up jobs, which NextRuns leaves out.
const catchUpTag = "catch-up"

// New validates the jobs and builds the scheduler; nothing runs until Start.
func New(opts Options) (*Scheduler, error) {
	if opts.Run == nil {
		return nil, fmt.Errorf("%w: no run function", ErrJob)
	}
	s := &Scheduler{
		clock:     opts.Clock,
		log:       opts.Logger,
		jobs:      opts.Jobs,
		crons:     make(map[string]*zonedCron, len(opts.Jobs)),
		run:       opts.Run,
		succeeded: opts.Succeeded,
		handled:   make(map[string]time.Time, len(opts.Jobs)),
	}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	for i, j := range opts.Jobs {
		if !report.ValidName(j.Name) {
			errs = append(errs, fmt.Errorf("%w: jobs[%d]: name %q: use a-z, 0-9 and -", ErrJob, i, j.Name))
			continue
		}
		if _, dup := s.crons[j.Name]; dup {
			errs = append(errs, fmt.Errorf("%w: jobs[%d]: name %q repeated", ErrJob, i, j.Name))
			continue
		}
		if _, err := period.ParseKind(string(j.Kind)); err != nil {
			errs = append(errs, fmt.Errorf("%w: jobs[%d] %s: %w", ErrJob, i, j.Name, err))
		}
		z, err := parseCron(j.Cron, j.Location)
		if err != nil {
			errs = append(errs, fmt.Errorf("jobs[%d] %s: %w", i, j.Name, err))
			continue
		}
		s.crons[j.Name] = z
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	sopts := []gocron.SchedulerOption{
		// Each job's zone lives in its own Cron; the scheduler's location only
		// matters to gocron's fall-back de-duplication, which UTC never needs.
		gocron.WithLocation(time.UTC),
		gocron.WithClock(s.clock),
		gocron.WithLogger(s.log),
		gocron.WithStopTimeout(cmp.Or(opts.StopTimeout, DefaultStopTimeout)),
	}
	if opts.Locker != nil {
		sopts = append(sopts, gocron.WithDistributedLocker(opts.Locker))
	}
	if opts.Monitor != nil {
		sopts = append(sopts, gocron.WithMonitor(opts.Monitor), gocron.WithMonitorStatus(opts.Monitor))
	}
	gs, err := gocron.NewScheduler(sopts...)
	if err != nil {
		return nil, fmt.Errorf("new scheduler: %w", err)
	}
	s.s = gs
	for _, j := range opts.Jobs {
		_, err := gs.NewJob(
			gocron.CronJob(j.Cron, false),
			gocron.NewTask(s.scheduledTask(j)),
			append(s.jobOptions(j.Name), gocron.WithCronImplementation(s.crons[j.Name]))...,
		)
		if err != nil {
			_ = gs.Shutdown()
			return nil, fmt.Errorf("schedule %s: %w", j.Name, err)
		}
	}
	return s, nil
}

// jobOptions are the options of every job of report name, scheduled or
// catch-up. Listeners are single slots in gocron, so they are set per job.
func (s *Scheduler) jobOptions(name string) []gocron.JobOption {
	return []gocron.JobOption{
		gocron.WithName(name),
		// A run still going when the next fire time comes is not doubled; the
		// skipped fire's period is the next catch-up's or the ledger's concern.
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithEventListeners(
			gocron.AfterJobRunsWithError(func(_ uuid.UUID, name string, err error) {
				s.log.Error("report run failed", "report", name, slog.Any("error", err))
			}),
			// Registering a panic listener is what makes gocron recover a
			// panicking run instead of letting it kill the process.
			gocron.AfterJobRunsWithPanic(func(_ uuid.UUID, name string, recovered any) {
				s.log.Error("report run panicked", "report", name, "panic", fmt.Sprint(recovered))
			}),
			gocron.AfterLockError(func(_ uuid.UUID, name string, err error) {
				if errors.Is(err, ErrLocked) {
					s.log.Info("report run skipped: another replica holds its lock", "report", name)
					return
				}
				s.log.Warn("report run skipped: cannot take its lock", "report", name, slog.Any("error", err))
			}),
		),
	}
}

func (s *Scheduler) scheduledTask(j Job) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		// gocron's clock stands at the fire time (give or take timer latency),
		// so the period is the one that had ended when the schedule fired.
		now := s.clock.Now()
		p := period.LastComplete(j.Kind, now, j.Location)
		var errs []error
		for _, sp := range s.skipped(j, now, p) {
			if ctx.Err() != nil {
				break
			}
			done, err := s.succeeded(ctx, j.Name, sp)
			if err != nil {
				errs = append(errs, fmt.Errorf("skipped %s %s: %w", j.Name, sp.Label(), err))
				continue
			}
			if done {
				continue
			}
			s.log.Info("running a period whose scheduled run was skipped", "report", j.Name, "period", sp.Label(), "trigger", report.TriggerCatchUp)
			if err := s.run(ctx, j.Name, sp, report.TriggerCatchUp); err != nil {
				errs = append(errs, fmt.Errorf("skipped %s %s: %w", j.Name, sp.Label(), err))
			}
		}
		if ctx.Err() != nil {
			return errors.Join(append(errs, ctx.Err())...)
		}
		s.log.Info("scheduled run", "report", j.Name, "period", p.Label(), "trigger", report.TriggerScheduled)
		return errors.Join(append(errs, s.run(ctx, j.Name, p, report.TriggerScheduled))...)
	}
}

// skipped lists, oldest first, the periods of j's fire times that came
// after its last scheduled run began and before now and never ran: gocron
// skips a fire while the report's previous run is still going (singleton
// mode) and while its lock is held (another replica, or this one's
// catch-up). Without this, such a period would wait for the next restart's
// catch-up. At most j.CatchUp (at least 1) of the latest are returned, the
// current period p excluded; it records now as handled. Only with
// Succeeded, which tells the ones another replica ran.
func (s *Scheduler) skipped(j Job, now time.Time, p period.Period) []period.Period {
	s.mu.Lock()
	since, ok := s.handled[j.Name]
	s.handled[j.Name] = now
	s.mu.Unlock()
	if !ok || s.succeeded == nil {
		return nil
	}
	z := s.crons[j.Name]
	var fires []time.Time
	for t := z.Next(since); !t.IsZero() && !t.After(now); t = z.Next(t) {
		fires = append(fires, t)
	}
	if len(fires) < 2 {
		return nil
	}
	fires = fires[:len(fires)-1] // the last is this run's
	if n := max(j.CatchUp, 1); len(fires) > n {
		fires = fires[len(fires)-n:]
	}
	var out []period.Period
	for _, f := range fires {
		sp := period.LastComplete(j.Kind, f, j.Location)
		if sp.Label() != p.Label() && (len(out) == 0 || out[len(out)-1].Label() != sp.Label()) {
			out = append(out, sp)
		}
	}
	return out
}

// Start starts the timers and, when catch-up is enabled, one catch-up job
// per report for the periods of its latest fire times before now (Job.CatchUp
// of them). The catch-up asks Succeeded about each period and runs only the
// ones without a successful run, oldest first, so a restart resends nothing.
func (s *Scheduler) Start() {
	now := s.clock.Now()
	s.mu.Lock()
	for _, j := range s.jobs {
		s.handled[j.Name] = now
	}
	s.mu.Unlock()
	if s.succeeded != nil {
		for _, j := range s.jobs {
			periods := s.missable(j, now)
			if len(periods) == 0 {
				continue
			}
			_, err := s.s.NewJob(
				gocron.OneTimeJob(gocron.OneTimeJobStartImmediately()),
				gocron.NewTask(s.catchUpTask(j.Name, periods)),
				// Not under the replicas' lock: its minimum hold would make the
				// report's own next fire, if it comes within it, skip. Two
				// replicas catching up together meet at the ledger's run lock.
				append(s.jobOptions(j.Name), gocron.WithTags(catchUpTag), gocron.WithDisabledDistributedJobLocker(true))...,
			)
			if err != nil {
				s.log.Error("catch-up not scheduled", "report", j.Name, slog.Any("error", err))
			}
		}
	}
	s.s.Start()
}

func (s *Scheduler) catchUpTask(name string, periods []period.Period) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var errs []error
		for _, p := range periods {
			if ctx.Err() != nil {
				break
			}
			done, err := s.succeeded(ctx, name, p)
			if err != nil {
				errs = append(errs, fmt.Errorf("catch-up %s %s: %w", name, p.Label(), err))
				continue
			}
			if done {
				s.log.Debug("nothing to catch up", "report", name, "period", p.Label())
				continue
			}
			s.log.Info("catching up a missed run", "report", name, "period", p.Label(), "trigger", report.TriggerCatchUp)
			if err := s.run(ctx, name, p, report.TriggerCatchUp); err != nil {
				errs = append(errs, fmt.Errorf("catch-up %s %s: %w", name, p.Label(), err))
			}
		}
		return errors.Join(errs...)
	}
}

// missable lists the distinct periods of j's latest CatchUp fire times at or
// before now, oldest first.
func (s *Scheduler) missable(j Job, now time.Time) []period.Period {
	n := j.CatchUp
	if n < 0 {
		return nil
	}
	n = max(n, 1)
	z := s.crons[j.Name]
	// Look back n+1 periods: far enough for n fire times of any schedule that
	// fires at least once a period, and a bound on the walk for one that fires
	// every minute.
	from := period.Containing(j.Kind, now, j.Location).Shift(-(n + 1)).Start
	var fires []time.Time
	for t := z.Next(from.Add(-time.Second)); !t.IsZero() && !t.After(now); t = z.Next(t) {
		fires = append(fires, t)
		if len(fires) > n {
			fires = fires[1:]
		}
	}
	var out []period.Period
	for _, f := range fires {
		p := period.LastComplete(j.Kind, f, j.Location)
		if len(out) == 0 || out[len(out)-1].Label() != p.Label() {
			out = append(out, p)
		}
	}
	return out
}

// Shutdown stops the timers, cancels the context of runs in flight and waits
// for them to return, up to the stop timeout or ctx, whichever ends first.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	if err := s.s.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("stop scheduler: %w", err)
	}
	return nil
}

// NextRuns is each report's next fire time, in its zone (zero before
// Start).
func (s *Scheduler) NextRuns() map[string]time.Time {
	now := s.clock.Now()
	out := make(map[string]time.Time, len(s.jobs))
	for _, j := range s.s.Jobs() {
		if slices.Contains(j.Tags(), catchUpTag) {
			continue
		}
		// gocron keeps a fire time in its list until that run completes, so
		// the first entry may be the run in progress: skip what is not ahead.
		times, err := j.NextRuns(2)
		if err != nil {
			continue
		}
		var next time.Time
		for _, t := range times {
			if t.After(now) {
				next = t
				break
			}
		}
		if z, ok := s.crons[j.Name()]; ok && !next.IsZero() {
			next = next.In(z.loc)
		}
		out[j.Name()] = next
	}
	return out
}
