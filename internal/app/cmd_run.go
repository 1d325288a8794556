package app

import (
	"context"
	"errors"
	"fmt"
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
	// One instant for every report of the invocation: the digests agree
	// with each other, and reports that read the same period share one
	// snapshot (one set of queries).
	now := time.Now()
	type job struct {
		rep  pipeline.Report
		p    period.Period
		out  *pipeline.Outcome
		err  error
		skip bool
	}
	jobs := make([]*job, 0, len(reports))
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
		jobs = append(jobs, &job{rep: rep, p: p, skip: skip})
	}
	// Reports run side by side when there are cores for it: rendering
	// (workbooks above all) is CPU-bound, and each report has its own lock
	// and ledger rows.
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
			j.out, j.err = st.runner.Run(ctx, j.rep, j.p, opts)
			finished.Lock()
			finished.n++
			bar.update(finished.n, runnable)
			finished.Unlock()
		}()
	}
	wg.Wait()
	bar.done()
	code, codeErr := ExitOK, error(nil)
	codes := make([]int, len(jobs))
	for i, j := range jobs {
		if j.skip {
			fmt.Fprintf(env.Stdout, "%s: no recipients (add the report to a config file with its recipients); not run\n", j.rep.Name)
			continue
		}
		printOutcome(env, j.out, j.err, *dry)
		codes[i] = outcomeCode(j.out, j.err)
		if runRank(codes[i]) > runRank(code) {
			code, codeErr = codes[i], j.err
		}
	}
	if code == ExitOK {
		return nil
	}
	if len(jobs) > 1 {
		// Each report's own outcome, so that the ones the exit code does not
		// speak for (a misconfigured report while another is retried) still
		// reach the logs and the alert on failed runs.
		for i, j := range jobs {
			if codes[i] == ExitOK {
				continue
			}
			attrs := []any{"report", j.rep.Name, "period", j.p.Label(), "exit", codes[i]}
			if j.err != nil {
				attrs = append(attrs, "err", j.err)
			}
			if codes[i] == ExitTempFail {
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
