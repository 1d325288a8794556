package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/schedule"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/telemetry"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// reportYAML is one report of a scheduling test's configuration.
type reportYAML struct {
	name, audience, kind, schedule, zone string
	catchUp                              int // 0: the default
	recipients                           []string
}

func (r reportYAML) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    audience: %s\n    period: %s\n", r.name, cmpOr(r.audience, "sales"), r.kind)
	if r.schedule != "" {
		fmt.Fprintf(&b, "    schedule: %q\n", r.schedule)
	}
	if r.zone != "" {
		fmt.Fprintf(&b, "    time_zone: %s\n", r.zone)
	}
	if r.catchUp != 0 {
		fmt.Fprintf(&b, "    catch_up: %d\n", r.catchUp)
	}
	b.WriteString("    recipients:\n")
	for _, rc := range r.recipients {
		fmt.Fprintf(&b, "      - %s\n", rc)
	}
	return b.String()
}

func cmpDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// reportsConfig is a configuration with the golden case's zone, SLA and
// targets, the given SMTP keys and top-level keys, and the reports.
func reportsConfig(smtpKeys, top string, reports ...reportYAML) string {
	var b strings.Builder
	b.WriteString("time_zone: Europe/Madrid\nlocale: en\nsla_hours: 24\ntargets: {week: {mqls: 30}}\n")
	b.WriteString("source: {url: \"${SAMETEAM_DATABASE_URL}\"}\n")
	b.WriteString("smtp:\n  from: \"" + testFrom + "\"\n" + smtpKeys)
	b.WriteString(top)
	b.WriteString("reports:\n")
	for _, r := range reports {
		b.WriteString(r.String())
	}
	return b.String()
}

// smtpKeysFor points the smtp mapping at a test server.
func smtpKeysFor(srv *smtptest.Server, timeout string) string {
	return fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: %s\n", srv.Port(), timeout)
}

// finished is one return of the scheduler's run function.
type finished struct {
	report, period string
	trigger        report.Trigger
	err            error
}

// rig is serve's scheduler, pipeline, ledger and telemetry, wired by the
// same function runServe uses, on a fake clock: the time-travel scenarios
// run real reports through it, days in milliseconds.
type rig struct {
	t       *testing.T
	url     string
	cfg     *config.Config
	st      *stack
	rec     *telemetry.Recorder
	clock   *clockwork.FakeClock
	logs    *testsupport.SyncBuffer
	sched   *schedule.Scheduler
	reports map[string]pipeline.Report
	runs    chan finished
	stopped bool
	// active counts runs in progress; closed gets a job name each time
	// gocron closes an execution. scheduled counts the scheduled runs that
	// returned, and shut (jobMonitor's) the scheduled executions gocron
	// closed: each such execution makes one scheduled run.
	active    atomic.Int32
	closed    chan string
	scheduled atomic.Int32
	shut      *atomic.Int32
}

// jobMonitor is the telemetry's gocron monitor, telling the rig when gocron
// has closed an execution (until then, a fire of the same report would be
// skipped as overlapping).
type jobMonitor struct {
	*telemetry.Recorder
	closed chan string
	shut   *atomic.Int32 // scheduled executions closed
}

func (m jobMonitor) IncrementJob(id uuid.UUID, name string, tags []string, status gocron.JobStatus) {
	m.Recorder.IncrementJob(id, name, tags, status)
	if status == gocron.Success || status == gocron.Fail {
		if !slices.Contains(tags, schedule.CatchUpTag) {
			m.shut.Add(1)
		}
		select {
		case m.closed <- name:
		default:
		}
	}
}

// rigOptions shape a rig.
type rigOptions struct {
	url   string // the database, golden data already imported
	yaml  string // the configuration
	start time.Time
	// wrap, when set, wraps the run function (to slow a run down, to
	// count them).
	wrap func(schedule.RunFunc) schedule.RunFunc
	// clock, when set, is shared with another rig (two replicas).
	clock *clockwork.FakeClock
	// vars are extra environment variables for the configuration.
	vars map[string]string
	// minHold is the PostgreSQL scheduler lock's minimum hold, in real
	// time; default none, because the fake clock moves days in
	// milliseconds and serve's 30 s would make every next fire skip.
	minHold time.Duration
}

func startRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	ctx := context.Background()
	vars := map[string]string{"SAMETEAM_DATABASE_URL": o.url}
	for k, v := range o.vars {
		vars[k] = v
	}
	cfg, err := config.Load(writeConfig(t, o.yaml), true, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	r := &rig{t: t, url: o.url, cfg: cfg, logs: &testsupport.SyncBuffer{}, runs: make(chan finished, 1000), clock: o.clock, closed: make(chan string, 1000), shut: &atomic.Int32{}}
	if r.clock == nil {
		r.clock = clockwork.NewFakeClockAt(o.start)
	}
	log, err := newLogger(r.logs, "json", config.NewRedactor(cfg))
	if err != nil {
		t.Fatal(err)
	}
	r.rec = telemetry.New(telemetry.Options{NoRuntime: true, Now: r.clock.Now})
	r.st, err = open(ctx, cfg, log, stackOptions{Ledger: true, Sender: true, Telemetry: r.rec, Now: r.clock.Now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(r.st.Close)
	reports, opts, err := scheduled(ctx, cfg, r.st, r.rec, log)
	if err != nil {
		t.Fatal(err)
	}
	r.reports = reports
	opts.Clock = r.clock
	opts.Monitor = jobMonitor{r.rec, r.closed, r.shut}
	if opts.Locker != nil {
		opts.Locker, err = schedule.NewAdvisoryLocker(schedule.AdvisoryLockerOptions{DB: r.st.state, MinHold: cmpDur(o.minHold, -1)})
		if err != nil {
			t.Fatal(err)
		}
	}
	run := opts.Run
	if o.wrap != nil {
		run = o.wrap(run)
	}
	opts.Run = func(ctx context.Context, name string, p period.Period, trigger report.Trigger) error {
		r.active.Add(1)
		defer r.active.Add(-1)
		err := run(ctx, name, p, trigger)
		if trigger == report.TriggerScheduled {
			r.scheduled.Add(1)
		}
		r.runs <- finished{name, p.Label(), trigger, err}
		return err
	}
	r.sched, err = schedule.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	r.sched.Start()
	return r
}

// stop shuts the scheduler down (a process stopping).
func (r *rig) stop() {
	if r.stopped {
		return
	}
	r.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.sched.Shutdown(ctx); err != nil {
		r.t.Errorf("scheduler shutdown: %v", err)
	}
}

// advance moves the fake clock to at once no run is in progress, gocron
// has closed the executions, and the scheduler has set timers for its jobs.
func (r *rig) advance(at time.Time) {
	r.t.Helper()
	r.quiet()
	ctx, cancel := context.WithDeadline(context.Background(), testsupport.Deadline(r.t))
	defer cancel()
	if err := r.clock.BlockUntilContext(ctx, len(r.reports)); err != nil {
		r.t.Fatalf("the scheduler did not set its timers: %v", err)
	}
	// The fake clock counts every waiter, not only the jobs' timers: wait
	// until each job has really been rescheduled past the present, or a job
	// still rescheduling when the clock jumps would skip the fire.
	for deadline := testsupport.Deadline(r.t); ; time.Sleep(5 * time.Millisecond) {
		now, ready := r.clock.Now(), true
		for _, next := range r.sched.NextRuns() {
			if !next.After(now) {
				ready = false
			}
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the scheduler did not reschedule every job: %v", r.sched.NextRuns())
		}
	}
	if d := at.Sub(r.clock.Now()); d > 0 {
		r.clock.Advance(d)
	}
}

// quiet waits until no run is in progress and gocron has closed them
// all: it closes an execution a moment after the run function returns.
func (r *rig) quiet() {
	r.t.Helper()
	// Every run returned, and gocron closed every scheduled execution
	// whose run returned: until it does, the report's next fire would be
	// skipped as overlapping, however loaded the machine.
	for deadline := testsupport.Deadline(r.t); r.active.Load() > 0 || r.shut.Load() < r.scheduled.Load(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("a run is still in progress or not closed (%d scheduled runs, %d closed); logs:\n%s", r.scheduled.Load(), r.shut.Load(), r.logs.String())
		}
	}
	for {
		select {
		case <-r.closed:
			continue
		case <-time.After(60 * time.Millisecond):
		}
		return
	}
}

// next waits (in real time) for the next run to return.
func (r *rig) next() finished {
	r.t.Helper()
	select {
	case f := <-r.runs:
		return f
	case <-testsupport.After(r.t):
		r.t.Fatalf("no run before the test's deadline; logs:\n%s", r.logs.String())
		return finished{}
	}
}

// none checks that no run returns for a moment.
func (r *rig) none() {
	r.t.Helper()
	select {
	case f := <-r.runs:
		r.t.Fatalf("unexpected run %+v", f)
	case <-time.After(300 * time.Millisecond):
	}
}

// key is one (report, period).
type key struct{ report, period string }

// ledgerDump is everything the ledger holds.
type ledgerDump struct {
	runs       []ledger.Run
	deliveries map[key][]testsupport.Delivery
}

func dumpLedger(t *testing.T, url string) ledgerDump {
	t.Helper()
	l, sdb := openLedger(t, url)
	ctx := context.Background()
	runs, err := l.Runs(ctx, "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	d := ledgerDump{runs: runs, deliveries: map[key][]testsupport.Delivery{}}
	for _, r := range runs {
		k := key{r.Report, r.Period}
		if _, ok := d.deliveries[k]; ok {
			continue
		}
		ds := testsupport.Deliveries(t, sdb, r.Report, r.Period)
		d.deliveries[k] = ds
	}
	return d
}

// messageIDs counts the server's messages by Message-ID (without the
// angle brackets).
func messageIDs(t *testing.T, srv *smtptest.Server) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range srv.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("a message at the server does not parse: %v", err)
		}
		out[strings.Trim(msg.Header.Get("Message-Id"), "<>")]++
	}
	return out
}

// checkInvariants checks the delivery invariants I1–I4 (the README's
// "Delivery: every digest once", "The guarantees") on the ledger at url
// and the server's mailbox. want is every (report, period) expected to
// have run, with the recipients it resolves to; a run of any other period
// is an error too.
//
//   - I1: every expected (report, period) has a run, no run of it is still
//     running, and no two of its runs overlapped in time.
//   - I2: its delivery rows are exactly its resolved recipients.
//   - I3: every sent row has the server's reply and a Message-ID; the
//     server holds exactly one copy per sent Message-ID, at most one per
//     unknown one, none for any other, and nothing the ledger does not know.
//   - I4: no row is in sending.
func checkInvariants(t *testing.T, url string, srv *smtptest.Server, want map[key][]string) ledgerDump {
	t.Helper()
	d := dumpLedger(t, url)
	byKey := map[key][]ledger.Run{}
	for _, r := range d.runs {
		k := key{r.Report, r.Period}
		if _, ok := want[k]; !ok {
			t.Errorf("I1: a run of %s %s, which was not expected to run (%s, %s)", r.Report, r.Period, r.Trigger, r.Status)
		}
		byKey[k] = append(byKey[k], r)
	}
	for k, rcpts := range want {
		runs := byKey[k]
		if len(runs) == 0 {
			t.Errorf("I1: %s %s has no run", k.report, k.period)
			continue
		}
		slices.SortFunc(runs, func(a, b ledger.Run) int { return a.StartedAt.Compare(b.StartedAt) })
		for i, r := range runs {
			if r.Status == report.RunRunning {
				t.Errorf("I1: %s %s run %d is still running", k.report, k.period, r.ID)
			}
			if i > 0 && r.StartedAt.Before(runs[i-1].FinishedAt) {
				t.Errorf("I1: %s %s runs %d and %d overlapped (%s < %s)", k.report, k.period, runs[i-1].ID, r.ID, r.StartedAt, runs[i-1].FinishedAt)
			}
		}
		var got, wantNorm []string
		for _, dl := range d.deliveries[k] {
			got = append(got, dl.Recipient)
		}
		for _, rc := range rcpts {
			if n := ledger.NormalizeRecipient(rc); !slices.Contains(wantNorm, n) {
				wantNorm = append(wantNorm, n)
			}
		}
		slices.Sort(got)
		slices.Sort(wantNorm)
		if !slices.Equal(got, wantNorm) {
			t.Errorf("I2: %s %s has delivery rows for %v, want %v", k.report, k.period, got, wantNorm)
		}
	}
	copies := map[string]int{}
	if srv != nil {
		copies = messageIDs(t, srv)
	}
	known := map[string]bool{}
	for k, ds := range d.deliveries {
		for _, dl := range ds {
			known[dl.MessageID] = true
			n := copies[dl.MessageID]
			switch dl.Status {
			case report.DeliverySent:
				if dl.Response == "" || dl.MessageID == "" {
					t.Errorf("I3: %s %s %s is sent without a reply or Message-ID: %+v", k.report, k.period, dl.Recipient, dl)
				}
				if srv != nil && n != 1 {
					t.Errorf("I3: %s %s %s is sent and the server holds %d copies of <%s>", k.report, k.period, dl.Recipient, n, dl.MessageID)
				}
			case report.DeliveryUnknown:
				if n > 1 {
					t.Errorf("I3: %s %s %s is unknown and the server holds %d copies", k.report, k.period, dl.Recipient, n)
				}
			case report.DeliverySending:
				t.Errorf("I4: %s %s %s is still in sending", k.report, k.period, dl.Recipient)
			default:
				if n != 0 {
					t.Errorf("I3: %s %s %s is %s and the server holds %d copies", k.report, k.period, dl.Recipient, dl.Status, n)
				}
			}
		}
	}
	for id, n := range copies {
		if !known[id] {
			t.Errorf("I3: the server holds %d messages <%s> the ledger does not know", n, id)
		}
	}
	return d
}

// metricFamilies parses a Prometheus text exposition.
func metricFamilies(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the metrics do not parse: %v\n%s", err, text)
	}
	return fams
}

// gathered is the recorder's exposition as text.
func gathered(t *testing.T, rec *telemetry.Recorder) string {
	t.Helper()
	fams, err := rec.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// counters sums a counter family by the value of one label.
func counters(fams map[string]*dto.MetricFamily, name, report, label string) map[string]int {
	out := map[string]int{}
	f := fams[name]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		var rep, val string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "report":
				rep = l.GetValue()
			case label:
				val = l.GetValue()
			}
		}
		if rep == report {
			out[val] += int(m.GetCounter().GetValue())
		}
	}
	return out
}

// checkMetricsMatchLedger checks I5: for a report whose every recipient
// was attempted once, sameteam_deliveries_total by status equals the
// ledger's rows by status, and sameteam_runs_total by status the ledger's
// runs (the ledger's succeeded is the metric's success).
func checkMetricsMatchLedger(t *testing.T, exposition string, d ledgerDump, name string) {
	t.Helper()
	fams := metricFamilies(t, exposition)
	wantDel := map[string]int{}
	for k, ds := range d.deliveries {
		if k.report != name {
			continue
		}
		for _, dl := range ds {
			wantDel[string(dl.Status)]++
		}
	}
	if got := counters(fams, "sameteam_deliveries_total", name, "status"); !mapsEqual(got, wantDel) {
		t.Errorf("I5: sameteam_deliveries_total{name=%q} = %v, the ledger has %v", name, got, wantDel)
	}
	wantRuns := map[string]int{}
	for _, r := range d.runs {
		if r.Report != name {
			continue
		}
		s := string(r.Status)
		if r.Status == report.RunSucceeded {
			s = "success" // the label dashboards and alerts read
		}
		wantRuns[s]++
	}
	if got := counters(fams, "sameteam_runs_total", name, "status"); !mapsEqual(got, wantRuns) {
		t.Errorf("I5: sameteam_runs_total{name=%q} = %v, the ledger has %v", name, got, wantRuns)
	}
}

func mapsEqual(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	return closedPort(t)
}

// served is a `sameteam serve` running in this process.
type served struct {
	t      *testing.T
	url    string // http://127.0.0.1:port
	stderr *testsupport.SyncBuffer
	stdout *testsupport.SyncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startServe runs `serve --config cfg` with vars on port until the test
// ends (or stop), and waits until it answers /healthz.
func startServe(t *testing.T, port int, cfg string, vars map[string]string, extra ...string) *served {
	t.Helper()
	return startServeUntil(t, "/readyz", port, cfg, vars, extra...)
}

// startServeUntil starts serve and waits until probe (/healthz: the process
// answers; /readyz: and its database) answers 200.
func startServeUntil(t *testing.T, probe string, port int, cfg string, vars map[string]string, extra ...string) *served {
	t.Helper()
	s := &served{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", port), stderr: &testsupport.SyncBuffer{}, stdout: &testsupport.SyncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	args := append([]string{"serve", "--config", cfg, "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, extra...)
	go func() {
		s.done <- Run(ctx, Env{Args: args, Stdout: s.stdout, Stderr: s.stderr,
			Getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
	}()
	t.Cleanup(func() { s.stop() })
	for deadline := testsupport.Deadline(t); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("serve stopped at start: %v\n%s", err, s.stderr.String())
		default:
		}
		resp, err := http.Get(s.url + probe)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never answered %s:\n%s", probe, s.stderr.String())
		}
	}
}

// stop cancels serve (SIGTERM) and returns what Run returned.
func (s *served) stop() error {
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-testsupport.After(s.t):
		s.t.Errorf("serve did not stop before the test's deadline")
		return nil
	}
}

// get fetches path with the headers given as name, value pairs.
func (s *served) get(path string, hdr ...string) (int, http.Header, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// resources is a snapshot of what a leak would grow.
type resources struct {
	goroutines int
	fds        int
	heap       uint64
}

func measure(t *testing.T) resources {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return resources{goroutines: runtime.NumGoroutine(), fds: len(ents), heap: ms.HeapInuse}
}

// settle waits for goroutines and files to drop back to at most base plus
// slack (idle HTTP connections and timers close a moment after their
// owner), and returns the last measure.
func settle(t *testing.T, base resources, slackG, slackFD int) resources {
	t.Helper()
	var m resources
	for deadline := testsupport.Deadline(t); ; time.Sleep(50 * time.Millisecond) {
		m = measure(t)
		if (m.goroutines <= base.goroutines+slackG && m.fds <= base.fds+slackFD) || time.Now().After(deadline) {
			return m
		}
	}
}
