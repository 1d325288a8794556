// Package telemetry is sameteam's Prometheus instrumentation: a registry of
// its own (never the process-wide default, so two servers in one test binary
// never collide), the run, delivery and query collectors, and an adapter that
// lets gocron report its job executions into the same registry.
//
// Label values are report names, run and delivery statuses, query names and
// job names: all bounded by the configuration. Recipients never become labels.
package telemetry

import (
	"cmp"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sameteam/sameteam/internal/report"
)

// runLabel is a run status as sameteam_runs_total's status label spells
// it. A succeeded run is labelled "success", the word dashboards and alerts
// were written against; the other statuses are the ledger's words.
func runLabel(s report.RunStatus) string {
	if s == report.RunSucceeded {
		return "success"
	}
	return string(s)
}

// Options configures a Recorder.
type Options struct {
	// Now is the clock for the last-success gauge; default time.Now.
	Now func() time.Time
	// Version, Commit, BuildDate and GoVersion label sameteam_build_info.
	Version, Commit, BuildDate, GoVersion string
	// NoRuntime leaves out the Go runtime and process collectors (tests that
	// compare whole expositions).
	NoRuntime bool
}

// Recorder holds the registry and every sameteam collector. Its methods are
// safe for concurrent use.
type Recorder struct {
	reg          *prometheus.Registry
	now          func() time.Time
	runs         *prometheus.CounterVec
	runDuration  *prometheus.HistogramVec
	deliveries   *prometheus.CounterVec
	sourceAge    *prometheus.GaugeVec
	lastSuccess  *lastSuccess
	queryTime    *prometheus.HistogramVec
	jobs         *prometheus.CounterVec
	jobDuration  *prometheus.HistogramVec
	nextRunsDesc *prometheus.Desc
}

// New builds a Recorder with a fresh registry.
func New(opts Options) *Recorder {
	r := &Recorder{
		reg: prometheus.NewRegistry(),
		now: opts.Now,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sameteam_runs_total",
			Help: "Report runs by final status.",
		}, []string{"report", "status"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sameteam_run_duration_seconds",
			Help: "Wall time of a report run, from claim to the last delivery.",
			// Runs take seconds to minutes: a big workbook and a slow relay
			// are the long tail.
			Buckets: []float64{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"report"}),
		sourceAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sameteam_source_age_seconds",
			Help: "How old the source was at the report's last run: as_of less the older of the newest activity and the newest lead. A stalled CRM sync shows here before a digest goes wrong.",
		}, []string{"report"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sameteam_deliveries_total",
			Help: "Per-recipient deliveries by status.",
		}, []string{"report", "status"}),
		lastSuccess: &lastSuccess{
			desc: prometheus.NewDesc("sameteam_last_success_timestamp_seconds",
				"Unix time of the report's last successful run, by any replica (read from the ledger); set on success only, so its age is the alert.",
				[]string{"report"}, nil),
			at: map[string]time.Time{},
		},
		queryTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sameteam_source_query_duration_seconds",
			Help:    "Duration of each named source query.",
			Buckets: []float64{0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 60, 120},
		}, []string{"query"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sameteam_scheduler_job_runs_total",
			Help: "Scheduler job executions by gocron status (success, fail, skip, singleton_rescheduled).",
		}, []string{"job", "status"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sameteam_scheduler_job_duration_seconds",
			Help:    "Duration of scheduler job executions by gocron status.",
			Buckets: []float64{0.1, 1, 5, 30, 120, 600, 1800},
		}, []string{"job", "status"}),
		nextRunsDesc: prometheus.NewDesc("sameteam_next_run_timestamp_seconds",
			"Unix time of the report's next scheduled run.", []string{"report"}, nil),
	}
	if r.now == nil {
		r.now = time.Now
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sameteam_build_info",
		Help: "Always 1; the labels name the running build.",
	}, []string{"version", "commit", "build_date", "goversion"})
	build.WithLabelValues(cmp.Or(opts.Version, "dev"), cmp.Or(opts.Commit, "unknown"),
		cmp.Or(opts.BuildDate, "unknown"), cmp.Or(opts.GoVersion, "unknown")).Set(1)
	r.reg.MustRegister(r.runs, r.runDuration, r.deliveries, r.sourceAge, r.lastSuccess, r.queryTime, r.jobs, r.jobDuration, build)
	if !opts.NoRuntime {
		r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return r
}

// Registry is the Recorder's registry, for registering more collectors.
func (r *Recorder) Registry() *prometheus.Registry { return r.reg }

// Gatherer is what /metrics serves.
func (r *Recorder) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the registry in the Prometheus exposition format.
func (r *Recorder) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}

// RunFinished records one finished run of a report with its final status
// and duration. Only a succeeded run moves the last-success gauge.
func (r *Recorder) RunFinished(name string, status report.RunStatus, d time.Duration) {
	r.runs.WithLabelValues(name, runLabel(status)).Inc()
	r.runDuration.WithLabelValues(name).Observe(d.Seconds())
	if status == report.RunSucceeded {
		r.lastSuccess.set(name, r.now())
	}
}

// SourceAge records how old the source was at a run of report.
func (r *Recorder) SourceAge(name string, age time.Duration) {
	r.sourceAge.WithLabelValues(name).Set(age.Seconds())
}

// SetLastSuccess records a success of report at t, typically read from the
// ledger at start, so that a restart does not make a healthy report look
// absent. The gauge never moves back: an earlier t is ignored.
func (r *Recorder) SetLastSuccess(report string, t time.Time) {
	r.lastSuccess.set(report, t)
}

// Expect exports every counter of each report at 0 for each of the given run
// and delivery statuses. A series that first appears at 1 has no increase()
// in Prometheus, so without this the first failure of a process would never
// fire an alert.
func (r *Recorder) Expect(names []string, runStatuses []report.RunStatus, deliveryStatuses []report.DeliveryStatus) {
	for _, name := range names {
		for _, s := range runStatuses {
			r.runs.WithLabelValues(name, runLabel(s))
		}
		for _, s := range deliveryStatuses {
			r.deliveries.WithLabelValues(name, string(s))
		}
	}
}

// WatchLastSuccess makes the last-success gauge follow f, the ledger's last
// success per report, asked at scrape time at most once per every (a failed
// or slow f keeps the values already known, for at most timeout). With
// several replicas only one runs a period, but every replica must report its
// success, or the others' gauges age and the dead man's switch pages
// although the digest went out. Call it once.
func (r *Recorder) WatchLastSuccess(f func(context.Context) (map[string]time.Time, error), every, timeout time.Duration) {
	l := r.lastSuccess
	l.mu.Lock()
	l.read, l.every, l.timeout, l.clock = f, every, timeout, r.now
	l.mu.Unlock()
}

// Delivery records one recipient's delivery outcome (sent, failed, unknown…).
func (r *Recorder) Delivery(name string, status report.DeliveryStatus) {
	r.deliveries.WithLabelValues(name, string(status)).Inc()
}

// QueryDuration records how long the named source query took.
func (r *Recorder) QueryDuration(name string, d time.Duration) {
	r.queryTime.WithLabelValues(name).Observe(d.Seconds())
}

// WatchNextRuns exports sameteam_next_run_timestamp_seconds from f, asked
// at every scrape (the scheduler's NextRuns). Call it once.
func (r *Recorder) WatchNextRuns(f func() map[string]time.Time) {
	r.reg.MustRegister(nextRuns{desc: r.nextRunsDesc, f: f})
}

// lastSuccess is the last-success gauge: the latest of this process's own
// successes and, when a reader is set, the ledger's, read at scrape time and
// cached.
type lastSuccess struct {
	desc *prometheus.Desc

	// reading is held for a whole read of the ledger, so concurrent scrapes
	// wait for one read rather than each starting their own; mu guards the
	// fields below and is never held across a read, so a run that finishes
	// meanwhile does not wait for the database.
	reading sync.Mutex
	mu      sync.Mutex
	at      map[string]time.Time
	read    func(context.Context) (map[string]time.Time, error)
	every   time.Duration
	timeout time.Duration
	clock   func() time.Time
	readAt  time.Time
}

func (l *lastSuccess) set(report string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setLocked(report, t)
}

func (l *lastSuccess) setLocked(report string, t time.Time) {
	if t.After(l.at[report]) {
		l.at[report] = t
	}
}

// refresh reads the ledger when the last reading is older than every.
func (l *lastSuccess) refresh() {
	l.reading.Lock()
	defer l.reading.Unlock()
	l.mu.Lock()
	read, timeout := l.read, l.timeout
	var now time.Time
	due := false
	if read != nil {
		now = l.clock()
		due = l.readAt.IsZero() || now.Sub(l.readAt) >= l.every || now.Before(l.readAt)
	}
	l.mu.Unlock()
	if !due {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	got, err := read(ctx)
	cancel()
	if err != nil {
		return // keep what is known; the next scrape tries again
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.readAt = now
	for report, t := range got {
		l.setLocked(report, t)
	}
}

// Describe implements prometheus.Collector.
func (l *lastSuccess) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

// Collect implements prometheus.Collector.
func (l *lastSuccess) Collect(ch chan<- prometheus.Metric) {
	l.refresh()
	l.mu.Lock()
	defer l.mu.Unlock()
	for report, t := range l.at {
		ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, float64(t.UnixNano())/1e9, report)
	}
}

type nextRuns struct {
	desc *prometheus.Desc
	f    func() map[string]time.Time
}

// Describe implements prometheus.Collector.
func (n nextRuns) Describe(ch chan<- *prometheus.Desc) { ch <- n.desc }

// Collect implements prometheus.Collector: one sample per scheduled report,
// read at scrape time.
func (n nextRuns) Collect(ch chan<- prometheus.Metric) {
	for report, t := range n.f() {
		if t.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(n.desc, prometheus.GaugeValue, float64(t.Unix()), report)
	}
}

// Recorder reports gocron job executions: pass it to both gocron.WithMonitor
// (counts) and gocron.WithMonitorStatus (durations).
var _ gocron.MonitorStatus = (*Recorder)(nil)

// IncrementJob implements gocron.Monitor: one execution of job name ended
// with status.
func (r *Recorder) IncrementJob(_ uuid.UUID, name string, _ []string, status gocron.JobStatus) {
	r.jobs.WithLabelValues(name, string(status)).Inc()
}

// RecordJobTiming implements gocron.Monitor. It records nothing: the
// scheduler registers the Recorder with both gocron.WithMonitor and
// gocron.WithMonitorStatus, and RecordJobTimingWithStatus, which gocron calls
// for the same execution, keeps the status-labelled histogram.
func (r *Recorder) RecordJobTiming(time.Time, time.Time, uuid.UUID, string, []string) {}

// RecordJobTimingWithStatus implements gocron.MonitorStatus.
func (r *Recorder) RecordJobTimingWithStatus(start, end time.Time, _ uuid.UUID, name string, _ []string, status gocron.JobStatus, _ error) {
	r.jobDuration.WithLabelValues(name, string(status)).Observe(end.Sub(start).Seconds())
}
