package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/schedule"
	"github.com/sameteam/sameteam/internal/server"
	"github.com/sameteam/sameteam/internal/telemetry"
)

// shutdownTimeout bounds the whole stop sequence after SIGTERM; Kubernetes
// gives 30 s by default before SIGKILL.
const shutdownTimeout = 25 * time.Second

func runServe(ctx context.Context, env Env, args []string) error {
	f := newFlags("serve", env)
	logFormat := f.String("log-format", "text", "log format: text or json")
	listen := f.String("listen", "", "HTTP address (default: server.listen)")
	if err := f.parse(args); err != nil {
		return err
	}
	cfg, err := f.load(env)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	log, err := newLogger(env.Stderr, *logFormat, config.NewRedactor(cfg))
	if err != nil {
		return err
	}
	rec := telemetry.New(buildOf(env).telemetry())
	// HTTP first: /healthz answers while the database is still unreachable
	// and /readyz says 503 until it answers, so Kubernetes keeps the pod
	// out of the Service instead of restarting it in a loop.
	g := &readiness{}
	srv, err := server.New(server.Options{
		Listen: cfg.Server.Listen, Token: cfg.Server.Token, LinkKey: linkKey(cfg), LinkTTL: cfg.Server.LinkTTL.D(),
		Reports: g, Renderer: g, Pinger: g, OptOuts: g, Gatherer: rec.Gatherer(), Logger: log,
	})
	if err != nil {
		return withCode(ExitConfig, err)
	}
	if err := srv.Open(); err != nil {
		return withCode(ExitConfig, fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err))
	}
	closeHTTP := func() error {
		stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		return srv.Close(stop)
	}
	st, err := openWaiting(ctx, log, func() (*stack, error) {
		return open(ctx, cfg, log, stackOptions{Ledger: true, Sender: true, Telemetry: rec})
	})
	if err != nil {
		return errors.Join(err, closeHTTP())
	}
	if st == nil { // stopped while waiting
		log.Info("stopped before the database answered")
		return closeHTTP()
	}
	defer st.Close()

	reports, opts, err := scheduled(ctx, cfg, st, rec, log)
	if err != nil {
		return errors.Join(err, closeHTTP())
	}
	sched, err := schedule.New(opts)
	if err != nil {
		return errors.Join(withCode(ExitConfig, err), closeHTTP())
	}
	rec.WatchNextRuns(sched.NextRuns)
	g.open(httpSide(st, reports, sched.NextRuns))
	g.openOptOuts(optOuts{st.ledger})
	sched.Start()
	log.Info("serving", "addr", srv.Addr(), "reports", len(reports), "scheduled", len(opts.Jobs))

	<-ctx.Done()
	log.Info("stopping: waiting for a run in flight, then closing HTTP and the database")
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	errs := []error{sched.Shutdown(stop), srv.Close(stop)}
	log.Info("stopped")
	return errors.Join(errs...)
}

// Waiting for the database at start: the first retry after
// connectRetryFirst, doubling up to connectRetryMax, each with up to a
// fifth of jitter so replicas do not knock in step.
var (
	connectRetryFirst = time.Second
	connectRetryMax   = 30 * time.Second
)

// openWaiting calls open until it succeeds, retrying with backoff while the
// database does not answer (any other error is returned at once). It
// returns nil, nil when ctx ends first.
func openWaiting(ctx context.Context, log *slog.Logger, open func() (*stack, error)) (*stack, error) {
	wait := connectRetryFirst
	for {
		st, err := open()
		var unreachable unreachableError
		if err == nil || !errors.As(err, &unreachable) {
			return st, err
		}
		d := wait + time.Duration(rand.Int64N(int64(wait)/5+1))
		log.Warn("database unreachable; not ready, retrying", "in", d.Round(time.Millisecond).String(), slog.Any("error", err))
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(d):
		}
		wait = min(2*wait, connectRetryMax)
	}
}

// readiness is what the HTTP server serves before the database has answered:
// not ready, no index, no downloads. open hands it the real ones.
type readiness struct {
	mu       sync.RWMutex
	reports  server.ReportLister
	renderer server.Renderer
	pinger   server.Pinger
	optOuts  server.OptOutRecorder
}

var errNotConnected = errors.New("the database has not answered yet")

func (g *readiness) open(r server.ReportLister, rd server.Renderer, p server.Pinger) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reports, g.renderer, g.pinger = r, rd, p
}

func (g *readiness) PingContext(ctx context.Context) error {
	g.mu.RLock()
	p := g.pinger
	g.mu.RUnlock()
	if p == nil {
		return errNotConnected
	}
	return p.PingContext(ctx)
}

func (g *readiness) Reports(ctx context.Context) ([]server.Report, error) {
	g.mu.RLock()
	r := g.reports
	g.mu.RUnlock()
	if r == nil {
		return nil, errNotConnected
	}
	return r.Reports(ctx)
}

// openOptOuts hands over the ledger that records unsubscribe requests;
// until then a one-click request is answered 503, and retried.
func (g *readiness) openOptOuts(o server.OptOutRecorder) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.optOuts = o
}

func (g *readiness) OptOut(ctx context.Context, report, recipient string) error {
	g.mu.RLock()
	o := g.optOuts
	g.mu.RUnlock()
	if o == nil {
		return errNotConnected
	}
	return o.OptOut(ctx, report, recipient)
}

// optOuts records the opt-outs of unsubscribe links in the ledger.
type optOuts struct{ l *ledger.Ledger }

func (o optOuts) OptOut(ctx context.Context, report, recipient string) error {
	_, err := o.l.OptOut(ctx, report, recipient)
	return err
}

func (g *readiness) Render(ctx context.Context, report, label, format string, w io.Writer) error {
	g.mu.RLock()
	r := g.renderer
	g.mu.RUnlock()
	if r == nil {
		return errNotConnected
	}
	return r.Render(ctx, report, label, format, w)
}

// scheduled is what serve schedules on st: each report in the pipeline's
// form, and the scheduler's options (jobs, the run and catch-up wired to the
// runner and the ledger, the replicas' lock, the telemetry). Tests set
// Options.Clock on the result to drive the same wiring on a fake clock.
func scheduled(ctx context.Context, cfg *config.Config, st *stack, rec *telemetry.Recorder, log *slog.Logger) (map[string]pipeline.Report, schedule.Options, error) {
	reports, err := pipelineReports(cfg)
	if err != nil {
		return nil, schedule.Options{}, err
	}
	var jobs []schedule.Job
	for i := range cfg.Reports {
		r := &cfg.Reports[i]
		rep := reports[r.Name]
		if r.Schedule != "" {
			jobs = append(jobs, schedule.Job{Name: r.Name, Cron: r.Schedule, Location: rep.Location, Kind: rep.Kind, CatchUp: r.CatchUp})
		}
	}

	names := make([]string, 0, len(cfg.Reports))
	for _, r := range cfg.Reports {
		names = append(names, r.Name)
	}
	rec.Expect(names, observedRunStatuses(), observedDeliveryStatuses())
	rec.WatchLastSuccess(func(ctx context.Context) (map[string]time.Time, error) {
		return lastSuccesses(ctx, st.ledger, names)
	}, lastSuccessRefresh, lastSuccessTimeout)

	opts := schedule.Options{
		Jobs: jobs,
		Run: func(ctx context.Context, name string, p period.Period, trigger report.Trigger) error {
			out, err := st.runner.Run(ctx, reports[name], p, pipeline.Options{Trigger: trigger})
			if errors.Is(err, ledger.ErrLocked) || errors.Is(err, ledger.ErrRunInProgress) {
				// Another replica or a manual run is delivering this period.
				log.Info("skipped: another run is delivering this period", "report", name, "period", p.Label())
				return nil
			}
			if err == nil && outcomeCode(out, nil) != ExitOK {
				err = fmt.Errorf("%s %s: some deliveries did not go out", name, p.Label())
			}
			return err
		},
		Standing: func(ctx context.Context, name string, p period.Period) (ledger.Standing, error) {
			return st.ledger.Standing(ctx, name, p.Label())
		},
		Monitor: rec,
		Logger:  log,
	}
	if st.state.Engine == db.Postgres {
		// Every report can run at once (at the same fire time, and a
		// catch-up beside a scheduled run), and each run holds a connection
		// for the replicas' lock and one for the run's ledger lock while it
		// needs more for its snapshot and its ledger writes: a pool smaller
		// than that deadlocks, every run holding locks and waiting for a
		// connection.
		st.state.SetMaxOpenConns(max(8, 4+5*len(jobs)))
		// Replicas take turns per report; the ledger's claims make each
		// delivery go out once even if two ever ran together.
		locker, err := schedule.NewAdvisoryLocker(schedule.AdvisoryLockerOptions{DB: st.state, Logger: log})
		if err != nil {
			return nil, schedule.Options{}, err
		}
		opts.Locker = locker
	}
	return reports, opts, nil
}

// linkKey is the signing key for download links, nil when none is set.
func linkKey(cfg *config.Config) []byte {
	if cfg.Server.LinkKey == "" {
		return nil
	}
	return []byte(cfg.Server.LinkKey)
}

// The last-success gauge is read from the ledger at scrape time, at most
// once per lastSuccessRefresh: a run by another replica shows within that,
// far inside any sensible alert window, and a scrape never waits on the
// database longer than lastSuccessTimeout.
const (
	lastSuccessRefresh = 30 * time.Second
	lastSuccessTimeout = 3 * time.Second
)

// lastSuccesses reads each report's last successful run from the ledger.
func lastSuccesses(ctx context.Context, l *ledger.Ledger, reports []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, name := range reports {
		run, ok, err := l.LastSuccess(ctx, name)
		if err != nil {
			return nil, err
		}
		if ok {
			out[name] = run.FinishedAt
		}
	}
	return out, nil
}

// observedRunStatuses are the final run statuses the runner reports to
// the telemetry; serve exports each at 0 from the start.
func observedRunStatuses() []report.RunStatus {
	return []report.RunStatus{report.RunSucceeded, report.RunPartial, report.RunFailed, report.RunHeld}
}

// observedDeliveryStatuses are the delivery outcomes the runner reports.
func observedDeliveryStatuses() []report.DeliveryStatus {
	return []report.DeliveryStatus{report.DeliverySent, report.DeliveryFailedTemporary, report.DeliveryFailedPermanent, report.DeliveryUnknown}
}

// httpSide is what the HTTP server of serve and of the demo reads on st:
// the index of the reports with their recent runs (next, when set, gives
// the scheduler's next runs), the downloads, and the database to ping.
func httpSide(st *stack, reports map[string]pipeline.Report, next func() map[string]time.Time) (lister, httpRenderer, server.Pinger) {
	return lister{cfg: st.cfg, reports: reports, ledger: st.ledger, next: next}, httpRenderer{reports: reports, st: st}, st.source
}

// lister describes the reports for the index page.
type lister struct {
	cfg     *config.Config
	reports map[string]pipeline.Report
	ledger  *ledger.Ledger
	next    func() map[string]time.Time
}

func (l lister) Reports(ctx context.Context) ([]server.Report, error) {
	var next map[string]time.Time
	if l.next != nil {
		next = l.next()
	}
	var out []server.Report
	for _, r := range l.cfg.Reports {
		rep := l.reports[r.Name]
		item := server.Report{
			Name: r.Name, Title: string(r.Audience) + ", " + r.Period, Schedule: r.Schedule, Zone: r.TimeZone,
			NextRun: next[r.Name].In(rep.Location),
			Latest:  period.LastComplete(rep.Kind, time.Now(), rep.Location).Label(),
		}
		if l.ledger != nil {
			runs, err := l.ledger.Runs(ctx, r.Name, 5)
			if err != nil {
				return nil, err
			}
			for _, run := range runs {
				d := time.Duration(0)
				if !run.FinishedAt.IsZero() {
					d = run.FinishedAt.Sub(run.StartedAt)
				}
				item.Recent = append(item.Recent, server.Run{Period: run.Period, Status: run.Status, Trigger: run.Trigger, StartedAt: run.StartedAt.In(rep.Location), Duration: d})
			}
		}
		out = append(out, item)
	}
	return out, nil
}

// httpRenderer renders downloads on demand from the source. A period that
// was delivered is rendered at the as_of of its delivery, so the download
// is the workbook that was mailed, figure for figure.
type httpRenderer struct {
	reports map[string]pipeline.Report
	st      *stack
}

// build makes the build of report name for the period label, of a team
// report or of a personal one as personal says: at the as_of of the
// period's delivery when there was one, else now.
func (h httpRenderer) build(ctx context.Context, name, label string, personal bool) (*pipeline.Build, error) {
	rep, ok := h.reports[name]
	if !ok || rep.Audience.Personal() != personal {
		return nil, server.ErrUnknownReport
	}
	p, err := period.Parse(label, rep.Location)
	if err != nil || p.Kind != rep.Kind {
		return nil, fmt.Errorf("%w: %s is not a %s", server.ErrBadPeriod, label, rep.Kind)
	}
	now := time.Now()
	if p.Start.After(now) {
		return nil, fmt.Errorf("%w: %s has not started", server.ErrBadPeriod, label)
	}
	asOf := now
	if h.st.ledger != nil {
		rec, err := h.st.ledger.Record(ctx, name, label)
		if err != nil {
			return nil, err
		}
		if !rec.AsOf.IsZero() {
			asOf = rec.AsOf
		}
	}
	return h.st.renderer.Build(ctx, rep, p, asOf, asOf)
}

func (h httpRenderer) Render(ctx context.Context, name, label, format string, w io.Writer) error {
	// A personal report has no team file: each person's is under
	// /reports/NAME/PERIOD/PERSON.
	b, err := h.build(ctx, name, label, false)
	if err != nil {
		return err
	}
	defer b.Close()
	switch format {
	case "html":
		d, err := h.st.renderer.Digest(b, b.Report.Locale, "")
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, d.HTML)
		return err
	case "xlsx":
		return h.st.renderer.WriteWorkbook(w, b, b.Report.Locale)
	case "json":
		js, err := pipeline.JSON(b)
		if err != nil {
			return err
		}
		_, err = w.Write(js)
		return err
	}
	return fmt.Errorf("%w: format %q", server.ErrBadPeriod, format)
}

// serveDemo serves the demo's reports on a loopback address without a
// token.
func serveDemo(ctx context.Context, env Env, st *stack, listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return usageError("demo --listen %q: the demo serves without a token, so only on a loopback address (127.0.0.1:PORT)", listen)
	}
	reports, err := pipelineReports(st.cfg)
	if err != nil {
		return err
	}
	rec := telemetry.New(buildOf(env).telemetry())
	index, downloads, pinger := httpSide(st, reports, nil)
	srv, err := server.New(server.Options{
		Listen: listen, AllowAnonymous: true,
		Reports: index, Renderer: downloads, Pinger: pinger, Gatherer: rec.Gatherer(), Logger: st.log,
	})
	if err != nil {
		return err
	}
	if err := srv.Open(); err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	fmt.Fprintf(env.Stdout, "\nServing the demo at %s without a token (loopback only). Ctrl-C stops.\n", srv.URL())
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return srv.Close(stop)
}
