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
// the scheduler makes sure each period gets its attempts: on start it
// catches up what the report still owes (Owed: a fire time passed while it
// was down, a run that failed or was held), and each fire first runs the
// earlier periods the report still owes (a fire skipped while the report
// was still running or locked, a held or failed period), then its own.
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
	// CatchUp is how many periods before the current one the report heals
	// (see Owed): on start, and at each fire before the fire's own period.
	// 0 means 1, negative none.
	CatchUp int
}

// Options configures a Scheduler.
type Options struct {
	Jobs []Job
	// Run is called for every scheduled and catch-up run. Required.
	Run RunFunc
	// Standing reads the ledger for Owed: it enables the catch-up on start
	// and the retry of owed periods at each fire; nil disables both.
	Standing StandingFunc
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
	s        gocron.Scheduler
	clock    clockwork.Clock
	log      *slog.Logger
	jobs     []Job
	crons    map[string]*zonedCron
	run      RunFunc
	standing StandingFunc
}

// CatchUpTag marks the one-time catch-up jobs, which NextRuns leaves out
// (and a gocron monitor can tell from the scheduled executions).
const CatchUpTag = "catch-up"

// New validates the jobs and builds the scheduler; nothing runs until Start.
func New(opts Options) (*Scheduler, error) {
	if opts.Run == nil {
		return nil, fmt.Errorf("%w: no run function", ErrJob)
	}
	s := &Scheduler{
		clock:    opts.Clock,
		log:      opts.Logger,
		jobs:     opts.Jobs,
		crons:    make(map[string]*zonedCron, len(opts.Jobs)),
		run:      opts.Run,
		standing: opts.Standing,
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
		// First what the report still owes of its earlier periods (see
		// Owed): a fire skipped while the previous run was still going or
		// another replica held the lock, a run that failed or was held.
		// Each is retried here, at the next fire, not only by the next
		// restart's catch-up.
		for _, op := range s.owed(ctx, j, p, now, &errs) {
			if op.Label() == p.Label() {
				continue // this fire's own, below
			}
			if ctx.Err() != nil {
				break
			}
			s.log.Info("running an earlier period the report still owes", "report", j.Name, "period", op.Label(), "trigger", report.TriggerCatchUp)
			if err := s.run(ctx, j.Name, op, report.TriggerCatchUp); err != nil {
				errs = append(errs, fmt.Errorf("owed %s %s: %w", j.Name, op.Label(), err))
			}
		}
		if ctx.Err() != nil {
			return errors.Join(append(errs, ctx.Err())...)
		}
		s.log.Info("scheduled run", "report", j.Name, "period", p.Label(), "trigger", report.TriggerScheduled)
		return errors.Join(append(errs, s.run(ctx, j.Name, p, report.TriggerScheduled))...)
	}
}

// owed is Owed on the scheduler's ledger, its error added to errs; nothing
// without a Standing function.
func (s *Scheduler) owed(ctx context.Context, j Job, current period.Period, now time.Time, errs *[]error) []period.Period {
	if s.standing == nil {
		return nil
	}
	ps, err := Owed(ctx, j, current, now, s.standing)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("read what %s still owes: %w", j.Name, err))
	}
	return ps
}

// Start starts the timers and, when catch-up is enabled, one catch-up job
// per report that runs, oldest first, what Owed says the report still owes
// at this moment: its last complete period and the Job.CatchUp before it,
// each if its fire time has passed and the ledger shows it incomplete. So
// a restart resends nothing.
func (s *Scheduler) Start() {
	now := s.clock.Now()
	if s.standing != nil {
		for _, j := range s.jobs {
			if j.CatchUp < 0 {
				continue
			}
			_, err := s.s.NewJob(
				gocron.OneTimeJob(gocron.OneTimeJobStartImmediately()),
				gocron.NewTask(s.catchUpTask(j, now)),
				// Not under the replicas' lock: its minimum hold would make the
				// report's own next fire, if it comes within it, skip. Two
				// replicas catching up together meet at the ledger's run lock.
				append(s.jobOptions(j.Name), gocron.WithTags(CatchUpTag), gocron.WithDisabledDistributedJobLocker(true))...,
			)
			if err != nil {
				s.log.Error("catch-up not scheduled", "report", j.Name, slog.Any("error", err))
			}
		}
	}
	s.s.Start()
}

func (s *Scheduler) catchUpTask(j Job, now time.Time) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var errs []error
		periods := s.owed(ctx, j, period.LastComplete(j.Kind, now, j.Location), now, &errs)
		if len(periods) == 0 {
			s.log.Debug("nothing to catch up", "report", j.Name)
		}
		for _, p := range periods {
			if ctx.Err() != nil {
				break
			}
			s.log.Info("catching up a missed run", "report", j.Name, "period", p.Label(), "trigger", report.TriggerCatchUp)
			if err := s.run(ctx, j.Name, p, report.TriggerCatchUp); err != nil {
				errs = append(errs, fmt.Errorf("catch-up %s %s: %w", j.Name, p.Label(), err))
			}
		}
		return errors.Join(errs...)
	}
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
		if slices.Contains(j.Tags(), CatchUpTag) {
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
