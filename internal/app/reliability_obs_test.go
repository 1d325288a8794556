package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/telemetry"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// O1: serve's catch-up sends to six recipients with mixed outcomes: three
// accepted, one 550, one 451 (still failing after the sender's retries),
// one dropped after DATA. /metrics then says exactly what the ledger says
// (I5), passes the Prometheus linter, and no label carries an address.
func TestReliability_Observability_MetricsContract(t *testing.T) {
	t.Parallel()
	rcpts := []string{"ok1@example.com", "nobody@example.com", "ok2@example.com", "grey@example.com", "ok3@example.com", "drop@example.com"}
	w := newServeWorld(t, serveOptions{recipients: rcpts, jsonLogs: true, smtp: smtptest.Options{Behavior: smtptest.ByRecipient(map[string]smtptest.Action{
		"nobody@example.com": smtptest.Reply550, "grey@example.com": smtptest.Reply451, "drop@example.com": smtptest.DropAfterData})}})
	w.waitRuns(1)
	code, _, text := w.get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	d := dumpLedger(t, w.dbURL)
	checkMetricsMatchLedger(t, text, d, testReport)
	got := counters(metricFamilies(t, text), "sameteam_deliveries_total", testReport, "status")
	if want := map[string]int{"sent": 3, "failed_permanent": 1, "failed_temporary": 1, "unknown": 1}; !mapsEqual(got, want) {
		t.Errorf("sameteam_deliveries_total = %v, want %v", got, want)
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, f := range metricFamilies(t, text) {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "@") {
					t.Errorf("%s{%s=%q}: an address in a label", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	var k key
	for kk := range d.deliveries {
		k = kk
	}
	checkInvariants(t, w.dbURL, w.srv, map[key][]string{k: rcpts})
}

// O2: the last-success gauge moves on success only. A run that succeeds
// sets it (to the ledger's time of that success); a run that does not (a recipient refused for good) leaves it
// and counts a partial run; a restarted serve seeds it from the ledger, so
// its age stays true across restarts. (A one-shot `run` pushes nothing:
// the CronJob is watched through kube-state-metrics; see the README.)
func TestReliability_Observability_LastSuccess(t *testing.T) {
	t.Parallel()
	madrid := mustLoad(t, "Europe/Madrid")
	url := testdb.PostgresURL(t)
	importGolden(t, url)
	b := newBehaviours(map[string]smtptest.Action{})
	srv := smtptest.Start(t, smtptest.Options{Behavior: b.act})
	yaml := reportsConfig(smtpKeysFor(srv, "2s"), "", weeklyAt("0 8 * * MON", []string{"a@example.com", "b@example.com"}))
	monday := time.Date(2026, 11, 16, 8, 0, 0, 0, madrid)
	r := startRig(t, rigOptions{url: url, yaml: yaml, start: monday.Add(-time.Minute)})
	r.next() // W45, caught up
	gauge := func(rec *telemetry.Recorder) float64 {
		f := metricFamilies(t, gathered(t, rec))["sameteam_last_success_timestamp_seconds"]
		if f == nil || len(f.GetMetric()) != 1 {
			t.Fatalf("no last-success gauge")
		}
		return f.GetMetric()[0].GetGauge().GetValue()
	}
	r.advance(monday)
	if f := r.next(); f.err != nil {
		t.Fatal(f.err)
	}
	ok := gauge(r.rec)
	l, _ := openLedger(t, url)
	first, found, err := l.LastSuccess(t.Context(), testReport)
	if err != nil || !found {
		t.Fatalf("ledger: %v %v", found, err)
	}
	// The gauge is the ledger's last success (its clock, not the
	// scheduler's fake one), which is at or after the run's fire time.
	if want := float64(first.FinishedAt.UnixNano()) / 1e9; ok != want || ok < float64(monday.Unix()) {
		t.Errorf("after the success at %s the gauge is %v, the ledger's last success %v", monday, ok, want)
	}
	b.set("b@example.com", smtptest.Reply550)
	r.advance(monday.AddDate(0, 0, 7))
	if f := r.next(); f.err == nil {
		t.Errorf("the partial run reported no error")
	}
	r.quiet()
	if got := gauge(r.rec); got != ok {
		t.Errorf("a partial run moved the gauge from %v to %v", ok, got)
	}
	if runs := counters(metricFamilies(t, gathered(t, r.rec)), "sameteam_runs_total", testReport, "status"); runs["partial"] != 1 || runs["success"] != 2 {
		t.Errorf("sameteam_runs_total = %v", runs)
	}
	r.stop()
	r2 := startRig(t, rigOptions{url: url, yaml: yaml, start: monday.AddDate(0, 0, 8)})
	l, _ = openLedger(t, url)
	last, found, err := l.LastSuccess(t.Context(), testReport)
	if err != nil || !found {
		t.Fatalf("ledger: %v %v", found, err)
	}
	if got := gauge(r2.rec); got != float64(last.FinishedAt.UnixNano())/1e9 {
		t.Errorf("after a restart the gauge is %v, want the ledger's last success %v", got, last.FinishedAt)
	}
}

// O6: two serve replicas on one PostgreSQL ledger. Only the replica that
// wins a period's lock delivers it, yet both report the same last success,
// read from the ledger, so "time since last success" does not age on the
// other one and page a week later although the digest went out. Both also
// export every run and delivery counter at 0 from the start, so the first
// failure of a process is an increase Prometheus can see.
func TestReliability_Observability_ReplicasAgreeOnLastSuccess(t *testing.T) {
	t.Parallel()
	madrid := mustLoad(t, "Europe/Madrid")
	monday8 := time.Date(2026, 11, 23, 8, 0, 0, 0, madrid)
	url := testdb.PostgresURL(t)
	importGolden(t, url)
	srv := smtptest.Start(t, smtptest.Options{})
	yaml := reportsConfig(smtpKeysFor(srv, "2s"), "", weeklyAt("0 8 * * MON", []string{"a@example.com", "b@example.com"}))
	start := monday8.Add(-time.Hour)
	a := startRig(t, rigOptions{url: url, yaml: yaml, start: start})
	b := startRig(t, rigOptions{url: url, yaml: yaml, start: start})

	gauge := func(r *rig) float64 {
		t.Helper()
		f := metricFamilies(t, gathered(t, r.rec))["sameteam_last_success_timestamp_seconds"]
		if f == nil || len(f.GetMetric()) != 1 {
			t.Fatalf("no last-success gauge:\n%s", gathered(t, r.rec))
		}
		return f.GetMetric()[0].GetGauge().GetValue()
	}
	ledgerLast := func() float64 {
		t.Helper()
		l, _ := openLedger(t, url)
		last, found, err := l.LastSuccess(t.Context(), testReport)
		if err != nil || !found {
			t.Fatalf("ledger: %v %v", found, err)
		}
		return float64(last.FinishedAt.UnixNano()) / 1e9
	}
	for _, r := range []*rig{a, b} {
		r.next() // last week's catch-up: one replica sends, the other finds it locked or done
		r.quiet()
	}
	first := ledgerLast()
	for name, r := range map[string]*rig{"a": a, "b": b} {
		if got := gauge(r); got != first {
			t.Errorf("replica %s: last success %v, the ledger's is %v", name, got, first)
		}
		fams := metricFamilies(t, gathered(t, r.rec))
		for _, c := range []struct {
			family   string
			statuses []string
		}{
			{"sameteam_runs_total", []string{"success", "partial", "failed"}},
			{"sameteam_deliveries_total", []string{"sent", "failed_temporary", "failed_permanent", "unknown"}},
		} {
			got := counters(fams, c.family, testReport, "status")
			for _, s := range c.statuses {
				if _, ok := got[s]; !ok {
					t.Errorf("replica %s: no %s{status=%q} series (want it from the start, at 0 if nothing happened)", name, c.family, s)
				}
			}
		}
	}

	// This week's run on replica a alone (b's clock has not reached the
	// fire time); b sees it once its cached reading is older than the
	// refresh interval.
	a.advance(monday8)
	if f := a.next(); f.err != nil || f.period != testPeriod {
		t.Fatalf("replica a: %+v", f)
	}
	a.quiet()
	second := ledgerLast()
	if second <= first {
		t.Fatalf("the ledger's last success did not move: %v then %v", first, second)
	}
	b.clock.Advance(lastSuccessRefresh)
	if got := gauge(b); got != second {
		t.Errorf("replica b, which did not run this week: last success %v, the ledger's is %v", got, second)
	}
	if got := gauge(a); got < second {
		t.Errorf("replica a: last success %v, before the ledger's %v", got, second)
	}
}

// O3 (what runs without Prometheus): the signals a dead man's switch
// needs are there from start. serve exports, before any run, the next run
// time of every scheduled report (a stuck scheduler is time() past it) and
// the last success read from the ledger (a restart does not reset the
// age). A report that never succeeded has a next run and no last success,
// which config/prometheus/alerts.yaml's SameteamDigestNeverDelivered uses.
func TestReliability_Observability_DeadMansSwitchSignals(t *testing.T) {
	t.Parallel()
	w := newServeWorld(t, serveOptions{recipients: []string{"a@example.com"}})
	w.waitRuns(1)
	_, _, text := w.get("/metrics")
	fams := metricFamilies(t, text)
	next := fams["sameteam_next_run_timestamp_seconds"]
	if next == nil || len(next.GetMetric()) != 1 || next.GetMetric()[0].GetGauge().GetValue() < float64(time.Now().Unix()) {
		t.Errorf("sameteam_next_run_timestamp_seconds: %v", next)
	}
	if f := fams["sameteam_last_success_timestamp_seconds"]; f == nil || len(f.GetMetric()) != 1 {
		t.Errorf("no last success after a successful catch-up")
	}
	if err := w.stop(); err != nil {
		t.Fatal(err)
	}
	again := startServe(t, freePort(t), w.cfg, w.vars)
	_, _, text = again.get("/metrics")
	if f := metricFamilies(t, text)["sameteam_last_success_timestamp_seconds"]; f == nil || len(f.GetMetric()) != 1 {
		t.Errorf("after a restart, no last success from the ledger:\n%s", text)
	}
}

// O4: SIGTERM in the middle of a batch. The one-shot run finishes the
// message in flight, records it, tries nobody else, leaves nothing in
// sending, and exits 75 within a few seconds (well inside Kubernetes' 30 s
// grace); the retried Job sends the rest once. serve, stopped the same
// way, returns with its run recorded and nothing in sending.
func TestReliability_Observability_SIGTERM(t *testing.T) {
	t.Parallel()
	rcpts := numbered("o4-", 10)
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		reached := make(chan struct{}, 1)
		w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: rcpts, smtp: smtptest.Options{DataDelay: 500 * time.Millisecond,
			Behavior: func(rcpt string) smtptest.Action {
				if rcpt == rcpts[3] {
					reached <- struct{}{}
				}
				return smtptest.Accept
			}}, smtpYAML: "  timeout: 5s\n"})
		cmd, out := childRun(t, w)
		select {
		case <-reached:
		case <-testsupport.After(t):
			t.Fatalf("never reached %s:\n%s", rcpts[3], out)
		}
		begun := time.Now()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		took := time.Since(begun)
		if code := cmd.ProcessState.ExitCode(); code != ExitTempFail || took > 10*time.Second {
			t.Errorf("exit %d after %v, want 75 within seconds\n%s", code, took, out)
		}
		ds := w.deliveries()
		if ds[rcpts[3]].Status != report.DeliverySent {
			t.Errorf("the message in flight is %q, want sent", ds[rcpts[3]].Status)
		}
		for r, d := range ds {
			if d.Status == report.DeliverySending {
				t.Errorf("%s left in sending", r)
			}
		}
		if n := len(w.srv.Messages()); n != 4 {
			t.Errorf("%d messages before the stop, want 4", n)
		}
		if res := w.run(); res.code != ExitOK || !strings.Contains(res.stdout, "6 sent, 4 skipped") {
			t.Errorf("the retry: %s", res)
		}
		checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
	})
	t.Run("serve", func(t *testing.T) {
		t.Parallel()
		w := newServeWorld(t, serveOptions{recipients: rcpts, smtp: smtptest.Options{DataDelay: 300 * time.Millisecond}})
		for deadline := testsupport.Deadline(t); len(w.srv.Messages()) < 2; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the catch-up never got going")
			}
		}
		begun := time.Now()
		err := w.stop()
		if took := time.Since(begun); took > 10*time.Second {
			t.Errorf("serve took %v to stop", took)
		}
		if err != nil {
			t.Errorf("serve: %v", err)
		}
		d := dumpLedger(t, w.dbURL)
		for _, r := range d.runs {
			if r.Status == report.RunRunning {
				t.Errorf("run %d left running", r.ID)
			}
		}
		for _, ds := range d.deliveries {
			for _, dl := range ds {
				if dl.Status == report.DeliverySending || (dl.Status == report.DeliverySent) != (received(w.srv)[dl.Recipient] == 1) {
					t.Errorf("%s: %s in the ledger, %d at the server", dl.Recipient, dl.Status, received(w.srv)[dl.Recipient])
				}
			}
		}
	})
}

// O5: JSON logs. Exactly one "run finished" line per run, with the run's
// id, report and period, whose counts equal the ledger's; every line
// parses; no line carries a recipient's address for a normal run.
func TestReliability_Observability_StructuredLogs(t *testing.T) {
	t.Parallel()
	rcpts := []string{"ok1@example.com", "nobody@example.com", "ok2@example.com"}
	w := newServeWorld(t, serveOptions{recipients: rcpts, jsonLogs: true,
		smtp: smtptest.Options{Behavior: smtptest.ByRecipient(map[string]smtptest.Action{"nobody@example.com": smtptest.Reply550})}})
	w.waitRuns(1)
	if err := w.stop(); err != nil {
		t.Fatal(err)
	}
	d := dumpLedger(t, w.dbURL)
	var summaries []map[string]any
	sc := bufio.NewScanner(strings.NewReader(w.stderr.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("not JSON: %s", sc.Text())
			continue
		}
		if line["msg"] == "run finished" {
			summaries = append(summaries, line)
		}
		for _, r := range rcpts {
			if strings.Contains(sc.Text(), r) {
				t.Errorf("a log line names %s: %s", r, sc.Text())
			}
		}
	}
	if len(summaries) != len(d.runs) {
		t.Fatalf("%d run summaries for %d runs", len(summaries), len(d.runs))
	}
	for _, s := range summaries {
		var run ledger.Run
		for _, r := range d.runs {
			if fmt.Sprint(r.ID) == fmt.Sprint(s["run_id"]) {
				run = r
			}
		}
		if run.ID == 0 || s["report"] != run.Report || s["period"] != run.Period {
			t.Errorf("summary %v matches no run", s)
			continue
		}
		if int(s["sent"].(float64)) != run.Counts.Sent || int(s["failed_permanent"].(float64)) != run.Counts.Failed {
			t.Errorf("summary %v, ledger counts %+v", s, run.Counts)
		}
	}
}

// SIGHUP in the middle of serve's delivery (a closed terminal, or a
// supervisor's "reload"): serve stops as on SIGTERM. The message in flight
// is finished or marked, nothing is left in sending or running, and the
// exit is clean, not the default action's death by signal (exit 129).
func TestReliability_Observability_SIGHUP(t *testing.T) {
	t.Parallel()
	rcpts := numbered("hup-", 10)
	dbURL := testdb.PostgresURL(t)
	importGolden(t, dbURL)
	srv := smtptest.Start(t, smtptest.Options{DataDelay: 300 * time.Millisecond})
	cfg := writeConfig(t, reportsConfig(smtpKeysFor(srv, "2s"), "", weeklyAt("0 8 * * MON", rcpts)))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "serve", "--config", cfg, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	cmd.Env = append(os.Environ(), childEnv+"=1", "SAMETEAM_DATABASE_URL="+dbURL)
	out := &testsupport.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	// Two waits: each may take a third of what is left.
	within := testsupport.Patience(t) / 3
	// The start-up catch-up delivers the last complete week.
	for deadline := time.Now().Add(within); len(srv.Messages()) < 2; time.Sleep(10 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("serve stopped before delivering:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the catch-up never got going:\n%s", out)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(within):
		t.Fatalf("serve did not stop within %s of SIGHUP:\n%s", within, out)
	}
	if code := cmd.ProcessState.ExitCode(); code != ExitOK {
		t.Errorf("exit %d (%s) after SIGHUP, want %d as after SIGTERM\n%s", code, cmd.ProcessState, ExitOK, out)
	}
	d := dumpLedger(t, dbURL)
	for _, r := range d.runs {
		if r.Status == report.RunRunning {
			t.Errorf("run %d left running", r.ID)
		}
	}
	got := received(srv)
	for _, ds := range d.deliveries {
		for _, dl := range ds {
			if dl.Status == report.DeliverySending || (dl.Status == report.DeliverySent) != (got[dl.Recipient] == 1) {
				t.Errorf("%s: %s in the ledger, %d at the server", dl.Recipient, dl.Status, got[dl.Recipient])
			}
		}
	}
}
