package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/schedule"
)

func runRun(ctx context.Context, env Env, args []string) error {
	f := newFlags("run", env)
	var pf periodFlags
	pf.register(f)
	name := f.String("report", "", "the report to run")
	all := f.Bool("all", false, "run every configured report")
	dry := f.Bool("dry-run", false, "render everything, send nothing, write nothing to the ledger")
	to := f.String("to", "", "send one test copy to this address only; nothing is recorded")
	force := f.Bool("force", false, "send again to recipients the ledger marks sent")
	resend := f.Bool("resend-unknown", false, "send again where an earlier attempt's outcome is unknown")
	ignoreGate := f.Bool("ignore-gate", false, "send although the data-quality gate fails; the ledger notes that it did")
	partial := f.Bool("partial", false, "send a period that has not ended yet (a preview); nothing is recorded, so the complete period still goes out")
	logFormat := f.String("log-format", "text", "log format: text or json")
	if err := f.parse(args); err != nil {
		return err
	}
	if (*name == "") == !*all {
		return usageError("run: give --report NAME or --all")
	}
	if pf.slaHours != 0 {
		return usageError("run: --sla-hours is set per report in the config")
	}
	if *to != "" {
		if _, err := delivery.ParseAddress(*to); err != nil {
			return usageError("run: --to: %v", err)
		}
	}
	cfg, err := f.load(env)
	if err != nil {
		return err
	}
	if *to != "" {
		// A typo must not send the leadership report outside the company.
		if _, errs := delivery.Recipients([]string{*to}, cfg.AllowedDomains); len(errs) > 0 {
			return usageError("run: --to: %v", errs[0])
		}
	}
	reports, err := selectReports(cfg, *name, *all)
	if err != nil {
		return err
	}
	// With several reports, a bar on a terminal counts the finished ones;
	// log lines go above it.
	bar := newProgress(env.Stderr, "run", "reports")
	log, err := newLogger(bar, *logFormat, config.NewRedactor(cfg))
	if err != nil {
		return err
	}
	// Reports that read the same period share one snapshot: one instant
	// for every report of the invocation (now, below) makes them agree.
	st, err := open(ctx, cfg, log, stackOptions{Ledger: !*dry && *to == "", Sender: !*dry, ShareSnapshots: true})
	if err != nil {
		return err
	}
	defer st.Close()

	opts := pipeline.Options{Trigger: report.TriggerManual, DryRun: *dry, To: *to, Partial: *partial, IgnoreGate: *ignoreGate, Force: *force, ResendUnknown: *resend}
	// Without --period, a run that records heals the report: it first
	// finishes the earlier periods the ledger shows it still owes (see
	// schedule.Owed), so a cron line that failed on Monday finishes
	// Monday's recipients on Tuesday. A named period, a preview, a dry run
	// or a test copy does that one period; so does a run that overrides
	// the ledger or the gate, a deliberate act on one period.
	heal := pf.period == "" && !*dry && *to == "" && !*partial && !*force && !*resend && !*ignoreGate
	// One instant for every report of the invocation: the digests agree
	// with each other, and reports that read the same period share one
	// snapshot (one set of queries).
	now := time.Now()
	jobs := make([]*runJob, 0, len(reports))
	for _, r := range reports {
		rep, err := pipelineReport(cfg, r)
		if err != nil {
			return err
		}
		if rep.Calendar, err = pf.slaCalendar(cfg, r.SLACalendar); err != nil {
			return err
		}
		p, asOf, err := pf.resolve(r.Kind, r.Location, now)
		if err != nil {
			return err
		}
		if p.End.After(asOf) && !*partial {
			// An incomplete period sent and recorded would be skipped as
			// already sent when it is really due.
			return usageError("run: %s", incomplete(p, asOf, pf.asOf != "", "--partial sends it anyway and records nothing"))
		}
		opts.AsOf = asOf
		// The built-in leadership report has nobody to go to until a
		// config names its readers; say so instead of failing.
		skip := cfg.BuiltinReports && len(rep.Recipients) == 0 && len(rep.RecipientsFrom) == 0 && *to == ""
		j := &runJob{rep: rep, p: p, skip: skip}
		if heal && st.ledger != nil {
			j.heal = &schedule.Job{Name: r.Name, Cron: r.Schedule, Location: p.Location(), Kind: p.Kind, CatchUp: r.CatchUp}
		}
		jobs = append(jobs, j)
	}
	// Reports run side by side when there are cores for it: rendering
	// (workbooks above all) is CPU-bound, and each report has its own lock
	// and ledger rows. A report's own periods run one after the other,
	// oldest first.
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	var finished struct {
		sync.Mutex
		n int
	}
	runnable := 0
	for _, j := range jobs {
		if !j.skip {
			runnable++
		}
	}
	if runnable < 2 {
		runnable = 0 // one report: no bar
	}
	bar.update(0, runnable)
	for _, j := range jobs {
		if j.skip {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			j.run(ctx, st, opts, log)
			finished.Lock()
			finished.n++
			bar.update(finished.n, runnable)
			finished.Unlock()
		}()
	}
	wg.Wait()
	bar.done()
	code, codeErr := ExitOK, error(nil)
	var results []*periodResult
	for _, j := range jobs {
		if j.skip {
			fmt.Fprintf(env.Stdout, "%s: no recipients (add the report to a config file with its recipients); not run\n", j.rep.Name)
			continue
		}
		for _, res := range j.results {
			if res.owed {
				fmt.Fprintf(env.Stdout, "%s %s: finishing an earlier period the ledger shows incomplete\n", j.rep.Name, res.p.Label())
			}
			printOutcome(env, res.out, res.err, *dry)
			res.code = outcomeCode(res.out, res.err)
			if runRank(res.code) > runRank(code) {
				code, codeErr = res.code, res.err
			}
			results = append(results, res)
		}
	}
	if code == ExitOK {
		return nil
	}
	if len(results) > 1 {
		// Each report's and period's own outcome, so that the ones the exit
		// code does not speak for (a misconfigured report while another is
		// retried, an earlier period held while the current one went out)
		// still reach the logs and the alert on failed runs.
		for _, res := range results {
			if res.code == ExitOK {
				continue
			}
			attrs := []any{"report", res.name, "period", res.p.Label(), "exit", res.code}
			if res.err != nil {
				attrs = append(attrs, "err", res.err)
			}
			if res.code == ExitTempFail {
				log.Warn("report will be retried", attrs...)
			} else {
				log.Error("report needs a person: a retry will not fix it", attrs...)
			}
		}
	}
	if codeErr == nil {
		codeErr = errors.New("some deliveries did not go out (see above)")
	}
	return withCode(code, codeErr)
}

// runJob is one report of a `run`: its period and, when it heals, what it
// still owes before it.
type runJob struct {
	rep  pipeline.Report
	p    period.Period
	skip bool
	// heal, when set, is the report as the shared rule of what it still
	// owes reads it.
	heal    *schedule.Job
	results []*periodResult
}

// periodResult is one period's run.
type periodResult struct {
	name string
	p    period.Period
	owed bool // an earlier period the run finished before the current one
	out  *pipeline.Outcome
	err  error
	code int
}

// run runs the earlier periods the report still owes, oldest first, then
// its current period. An earlier period runs as the scheduler's catch-up
// does: no override of the ledger or the gate.
func (j *runJob) run(ctx context.Context, st *stack, opts pipeline.Options, log *slog.Logger) {
	if j.heal != nil {
		owed, err := schedule.Owed(ctx, *j.heal, j.p, opts.AsOf, func(ctx context.Context, name string, p period.Period) (ledger.Standing, error) {
			return st.ledger.Standing(ctx, name, p.Label())
		})
		if err != nil {
			// The current period's run meets the same ledger and says why
			// it fails, with the exit code for it.
			log.Warn("cannot read what the report still owes; running the current period only", "report", j.rep.Name, slog.Any("error", err))
		}
		earlier := pipeline.Options{Trigger: report.TriggerCatchUp, AsOf: opts.AsOf}
		for _, p := range owed {
			if p.Label() == j.p.Label() || ctx.Err() != nil {
				continue
			}
			out, err := st.runner.Run(ctx, j.rep, p, earlier)
			j.results = append(j.results, &periodResult{name: j.rep.Name, p: p, owed: true, out: out, err: err})
		}
	}
	out, err := st.runner.Run(ctx, j.rep, j.p, opts)
	j.results = append(j.results, &periodResult{name: j.rep.Name, p: j.p, out: out, err: err})
}

func selectReports(cfg *config.Config, name string, all bool) ([]*config.Report, error) {
	if all {
		out := make([]*config.Report, len(cfg.Reports))
		for i := range cfg.Reports {
			out[i] = &cfg.Reports[i]
		}
		return out, nil
	}
	r, ok := cfg.Report(name)
	if !ok {
		names := ""
		for i, r := range cfg.Reports {
			if i > 0 {
				names += ", "
			}
			names += r.Name
		}
		return nil, usageError("unknown report %q (configured: %s)", name, names)
	}
	return []*config.Report{r}, nil
}

// runRank orders the exit codes of the reports of one invocation: the
// process exits with the highest. A temporary failure ranks first: while
// any report can still go out, `run --all` exits 75 and its CronJob runs it
// again (the ledger skips what was sent, so the retry only sends what
// remains); a permanent problem of another report exits 78 or 65 on the
// retry that has nothing retriable left, and the Job fails then. Ranking
// 78 first would fail the Job at once and lose the retriable report's
// week. Among permanent codes, a configuration error outranks a recipient
// refused.
func runRank(code int) int {
	if code == ExitTempFail {
		return 5
	}
	return rank(code)
}

// rank orders exit codes by how much they ask of the operator, for check:
// a configuration error first (nothing works until a person fixes it),
// then a temporary failure, then recipients refused.
func rank(code int) int {
	switch code {
	case ExitOK:
		return 0
	case ExitDataErr:
		return 2
	case ExitTempFail:
		return 3
	case ExitConfig:
		return 4
	}
	return 1
}

// outcomeCode maps a run's outcome to an exit code.
func outcomeCode(out *pipeline.Outcome, err error) int {
	switch {
	case errors.Is(err, pipeline.ErrNoRecipients), errors.Is(err, pipeline.ErrNoOwnerColumn):
		return ExitConfig
	case errors.Is(err, delivery.ErrAuth), errors.Is(err, delivery.ErrTLS):
		// A refused password or an untrusted certificate does not fix
		// itself: retrying only risks locking the account.
		return ExitConfig
	case errors.Is(err, pipeline.ErrSource) && db.SchemaProblem(err):
		// A missing relation or column, or no right to read it: the
		// config or the grants need a person, not a retry.
		return ExitConfig
	case errors.Is(err, ledger.ErrLocked) && !errors.Is(err, ledger.ErrHolderAlive):
		// A SQLite lock whose holder may be gone (another host's, or an
		// owner that cannot be checked): its lease will pass, and the
		// recipients it has not reached are waiting. Try again.
		return ExitTempFail
	case errors.Is(err, ledger.ErrLocked), errors.Is(err, ledger.ErrRunInProgress):
		// Another process is delivering this period right now: duplicate
		// triggers converge on that one run, and this one has nothing to do.
		return ExitOK
	case errors.Is(err, pipeline.ErrSource), errors.Is(err, pipeline.ErrTransport):
		return ExitTempFail
	case errors.Is(err, pipeline.ErrUnrecorded):
		// The state database went away before the run's end was recorded:
		// the next run takes the run over and finishes what is left.
		return ExitTempFail
	case errors.Is(err, pipeline.ErrHeld):
		// The data may be fixed by the next try (a sync that catches up):
		// a CronJob retries, and a run that then passes sends as usual.
		return ExitTempFail
	case err != nil:
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return ExitTempFail
		}
		return ExitFailure
	}
	switch {
	case out.Count(report.DeliveryFailedTemporary) > 0:
		return ExitTempFail
	case out.Count(report.DeliveryFailedPermanent) > 0, out.Count(report.DeliveryUnknown) > 0:
		return ExitDataErr
	}
	return ExitOK
}

func printOutcome(env Env, out *pipeline.Outcome, err error, dry bool) {
	if out != nil && errors.Is(err, ledger.ErrLocked) && !errors.Is(err, ledger.ErrHolderAlive) {
		fmt.Fprintf(env.Stdout, "%s %s: not run, the period is locked by a process that may have stopped; try again after its lease (%v)\n", out.Report, out.Period, err)
		return
	}
	if out != nil && (errors.Is(err, ledger.ErrLocked) || errors.Is(err, ledger.ErrRunInProgress)) {
		fmt.Fprintf(env.Stdout, "%s %s: skipped, another run is delivering this period (%v)\n", out.Report, out.Period, err)
		return
	}
	if out != nil && errors.Is(err, pipeline.ErrUnrecorded) && out.Held != "" {
		// Nothing was sent, but the ledger does not say held: saying so
		// would claim a record that does not exist.
		fmt.Fprintf(env.Stdout, "%s %s: nothing sent; the data-quality gate would hold it, but the ledger could not record the held run, so the next run tries again: %s\n", out.Report, out.Period, out.Held)
		return
	}
	if out != nil && out.Held != "" {
		fmt.Fprintf(env.Stdout, "%s %s: held by the data-quality gate, nothing sent: %s\n", out.Report, out.Period, out.Held)
		for _, n := range out.Notices {
			fmt.Fprintf(env.Stdout, "  owner notice %s: %s\n", n.Status, n.Recipient)
		}
		return
	}
	if out != nil && out.GateIgnored != "" {
		fmt.Fprintf(env.Stdout, "%s %s: sent despite the data-quality gate (--ignore-gate): %s\n", out.Report, out.Period, out.GateIgnored)
	}
	if out == nil || (err != nil && len(out.Deliveries) == 0) {
		// The run did not get as far as any recipient; the error says why.
		return
	}
	fmt.Fprintf(env.Stdout, "%s %s (as of %s):", out.Report, out.Period, out.AsOf.UTC().Format(time.RFC3339))
	if dry {
		fmt.Fprintf(env.Stdout, " dry run, %d recipients, nothing sent or recorded\n", len(out.Deliveries))
		return
	}
	fmt.Fprintf(env.Stdout, " %d sent, %d skipped, %d failed (temporary), %d failed (permanent), %d unknown\n",
		out.Count(report.DeliverySent), out.Count(report.DeliverySkipped), out.Count(report.DeliveryFailedTemporary),
		out.Count(report.DeliveryFailedPermanent), out.Count(report.DeliveryUnknown))
	if errors.Is(err, pipeline.ErrUnrecorded) {
		fmt.Fprintf(env.Stdout, "  the ledger could not record the end of this run; the next run takes it over\n")
	}
	for _, d := range out.Deliveries {
		switch d.Status {
		case report.DeliverySent, report.DeliverySkipped:
			continue
		case report.DeliveryUnknown:
			fmt.Fprintf(env.Stdout, "  unknown  %s: %s (Message-ID <%s>: check the mailbox; resend with --resend-unknown)\n", d.Recipient, d.Detail, d.MessageID)
		default:
			fmt.Fprintf(env.Stdout, "  %s  %s: %s\n", d.Status, d.Recipient, d.Detail)
		}
	}
}

// incomplete says that p has not ended at asOf, in the period's zone.
func incomplete(p period.Period, asOf time.Time, explicitAsOf bool, then string) string {
	when := "as of now"
	if explicitAsOf {
		when = "as of " + asOf.UTC().Format("2006-01-02T15:04Z")
	}
	return fmt.Sprintf("%s ends on %s %s; %s it is not complete (%s)", p.Label(), p.End.Format("2006-01-02 15:04"), p.Location(), when, then)
}
