package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// The days of the healing scenarios, as a cron line at 08:00 Madrid (07:00
// UTC) would run them: Monday's run reports on Sunday the 22nd, Tuesday's
// on Monday the 23rd, Wednesday's on Tuesday the 24th.
const (
	monday    = "2026-11-23T07:00:00Z"
	tuesday   = "2026-11-24T07:00:00Z"
	wednesday = "2026-11-25T07:00:00Z"
)

// healWorld is a report run by `run` from a cron line, day after day,
// through a relay the test can take down or make fail.
type healWorld struct {
	t    *testing.T
	url  string
	name string
	vars map[string]string
	srv  *smtptest.Server
	// failing makes the relay answer every message 451 after its data.
	failing atomic.Bool
	// up is the config pointing at the relay; down, at a closed port.
	up, down string
}

func newHealWorld(t *testing.T, url string, rep reportYAML, top string) *healWorld {
	t.Helper()
	importGolden(t, url)
	w := &healWorld{t: t, url: url, name: rep.name, vars: map[string]string{"SAMETEAM_DATABASE_URL": url}}
	w.srv = smtptest.Start(t, smtptest.Options{Behavior: func(string) smtptest.Action {
		if w.failing.Load() {
			return smtptest.Reply451AfterData
		}
		return smtptest.Accept
	}})
	w.up = writeConfig(t, reportsConfig(smtpKeysFor(w.srv, "2s"), top, rep))
	w.down = writeConfig(t, reportsConfig(fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: 500ms\n", closedPort(t)), top, rep))
	return w
}

// run is the cron line's `run` at asOf, with the given config and flags.
func (w *healWorld) run(cfg, asOf string, flags ...string) result {
	w.t.Helper()
	return cli(w.t, w.vars, append([]string{"run", "--config", cfg, "--report", w.name, "--as-of", asOf}, flags...)...)
}

// periods counts the server's messages by period header.
func (w *healWorld) periods() map[string]int {
	out := map[string]int{}
	for p, hs := range headersByPeriod(w.t, w.srv) {
		out[p] = len(hs)
	}
	return out
}

// H1: cron's Monday run fails (the relay down, or refusing every message
// for now); Tuesday's run, without --period, first finishes Monday's
// recipients, then sends its own period; Wednesday's sends only its own.
// Each recipient gets each period exactly once. For a weekly report
// Tuesday's period is Monday's, and nothing older is sent (the report had
// never run before: no history).
func TestReliability_Scheduling_RunFinishesWhatAnEarlierRunLeft(t *testing.T) {
	t.Parallel()
	rcpts := []string{"ana@example.com", "ben@example.com", "eva@example.com", "luis@example.com"}
	for _, tc := range []struct {
		name, engine, kind string
		failing            bool // the relay answers 451; otherwise it is down
		monday             string
		tuesday            []string // the periods Tuesday's run sends, in order
	}{
		{name: "relay down, daily", engine: "postgres", kind: "day", monday: "2026-11-22", tuesday: []string{"2026-11-22", "2026-11-23"}},
		{name: "relay failing, daily", engine: "sqlite", kind: "day", failing: true, monday: "2026-11-22", tuesday: []string{"2026-11-22", "2026-11-23"}},
		{name: "relay down, weekly", engine: "sqlite", kind: "week", monday: "2026-W47", tuesday: []string{"2026-W47"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := testdb.SQLiteURL(t)
			if tc.engine == "postgres" {
				url = testdb.PostgresURL(t)
			}
			w := newHealWorld(t, url, reportYAML{name: "cron-sales", kind: tc.kind, recipients: rcpts}, "")
			mon := w.down
			if tc.failing {
				mon = w.up
				w.failing.Store(true)
			}
			if res := w.run(mon, monday); res.code != ExitTempFail {
				t.Fatalf("Monday: %s", res)
			}
			if n := len(w.srv.Messages()); n != 0 {
				t.Fatalf("Monday's failing run delivered %d messages", n)
			}

			w.failing.Store(false)
			res := w.run(w.up, tuesday)
			if res.code != ExitOK {
				t.Fatalf("Tuesday: %s", res)
			}
			// Each period says which it is, the earlier one first.
			at := 0
			for i, p := range tc.tuesday {
				line := fmt.Sprintf("cron-sales %s (as of %s): %d sent, 0 skipped", p, tuesday, len(rcpts))
				j := strings.Index(res.stdout, line)
				if j < at {
					t.Fatalf("Tuesday's output lacks %q after the previous period:\n%s", line, res.stdout)
				}
				at = j
				if earlier := "cron-sales " + p + ": finishing an earlier period"; (i < len(tc.tuesday)-1) != strings.Contains(res.stdout, earlier) {
					t.Errorf("Tuesday's output and %q:\n%s", earlier, res.stdout)
				}
			}

			if res := w.run(w.up, wednesday); res.code != ExitOK || strings.Contains(res.stdout, "finishing") {
				t.Fatalf("Wednesday: %s", res)
			}
			want := map[key][]string{}
			for _, p := range append(tc.tuesday, tc.monday) {
				want[key{"cron-sales", p}] = rcpts
			}
			wed := "2026-11-24"
			if tc.kind == "week" {
				wed = "2026-W47" // still Monday's week
			}
			want[key{"cron-sales", wed}] = rcpts
			d := checkInvariants(t, w.url, w.srv, want)
			for k := range want {
				for _, dl := range d.deliveries[k] {
					if dl.Status != report.DeliverySent {
						t.Errorf("%s %s %s is %s", k.report, k.period, dl.Recipient, dl.Status)
					}
				}
			}
			for p, n := range w.periods() {
				if n != len(rcpts) {
					t.Errorf("%d messages for %s, want one per recipient", n, p)
				}
			}
		})
	}
}

// H2: Monday's run is held by the data-quality gate (the CRM sync
// stopped). Tuesday's run, once fresh rows arrived, sends the held Sunday
// and its own Monday, each once, and the owner, told once on Monday, hears
// nothing more.
func TestReliability_Gate_NextRunSendsTheHeldPeriod(t *testing.T) {
	t.Parallel()
	rcpts := []string{"ana@example.com", "ben@example.com"}
	w := newHealWorld(t, testdb.PostgresURL(t), reportYAML{name: "cron-sales", kind: "day", recipients: rcpts},
		"gate: {max_source_age: 2h}\nowners: [ops@example.com]\n")
	res := w.run(w.up, monday)
	if res.code != ExitTempFail || !strings.Contains(res.stdout, "cron-sales 2026-11-22: held by the data-quality gate, nothing sent") {
		t.Fatalf("Monday: %s", res)
	}

	// Still stale on Tuesday: both days held, nothing sent, exit 75.
	if res := w.run(w.up, tuesday); res.code != ExitTempFail ||
		!strings.Contains(res.stdout, "cron-sales 2026-11-22: held") || !strings.Contains(res.stdout, "cron-sales 2026-11-23: held") {
		t.Fatalf("Tuesday, still stale: %s", res)
	}
	for _, rc := range rcpts {
		if n := received(w.srv)[rc]; n != 0 {
			t.Fatalf("%s got %d digests of held runs", rc, n)
		}
	}

	// The sync catches up: an activity and a lead half an hour before
	// Tuesday's second try.
	d := adminDB(t, w.url)
	fresh := time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC)
	mustExecArgs(t, d, `INSERT INTO activities (id, occurred_at, team, actor_id, kind) VALUES ('A-FRESH', ?, 'sales', 'u001', 'call')`, d.Time(fresh))
	mustExecArgs(t, d, `INSERT INTO leads (id, created_at, source) VALUES ('L-FRESH', ?, 'marketing')`, d.Time(fresh))
	res = w.run(w.up, "2026-11-24T08:00:00Z")
	if res.code != ExitOK || !strings.Contains(res.stdout, "cron-sales 2026-11-22: finishing an earlier period") {
		t.Fatalf("Tuesday, fresh: %s", res)
	}
	got := received(w.srv)
	for _, rc := range rcpts {
		if got[rc] != 2 {
			t.Errorf("%s got %d digests, want Sunday's and Monday's", rc, got[rc])
		}
	}
	// One notice per held period: Sunday's on Monday, Monday's on
	// Tuesday's first try; none once they went out.
	if got["ops@example.com"] != 2 {
		t.Errorf("the owner got %d notices, want one per held period (2)", got["ops@example.com"])
	}
	dump := dumpLedger(t, w.url)
	for _, r := range dump.runs {
		if r.Status == report.RunRunning {
			t.Errorf("run %d of %s %s is still running", r.ID, r.Report, r.Period)
		}
	}
	for _, p := range []string{"2026-11-22", "2026-11-23"} {
		for _, dl := range dump.deliveries[key{"cron-sales", p}] {
			if dl.Status != report.DeliverySent {
				t.Errorf("%s %s is %s", p, dl.Recipient, dl.Status)
			}
		}
	}
	for p, n := range w.periods() {
		if n != len(rcpts)+1 { // the recipients' digests and the owner's notice
			t.Errorf("%d messages for %s, want %d", n, p, len(rcpts)+1)
		}
	}
}

// H3: an explicit --period runs that period only, even when an earlier
// one is owed; the next run without it finishes the earlier one and skips
// everyone of the named one.
func TestReliability_Scheduling_ExplicitPeriodDoesOnlyThatPeriod(t *testing.T) {
	t.Parallel()
	rcpts := []string{"ana@example.com", "ben@example.com"}
	w := newHealWorld(t, testdb.SQLiteURL(t), reportYAML{name: "cron-sales", kind: "day", recipients: rcpts}, "")
	if res := w.run(w.down, monday); res.code != ExitTempFail {
		t.Fatalf("Monday: %s", res)
	}
	res := w.run(w.up, tuesday, "--period", "2026-11-23")
	if res.code != ExitOK || strings.Contains(res.stdout, "2026-11-22") {
		t.Fatalf("--period 2026-11-23: %s", res)
	}
	if got := w.periods(); got["2026-11-22"] != 0 || got["2026-11-23"] != len(rcpts) {
		t.Fatalf("messages by period after --period: %v", got)
	}
	// --dry-run renders the current period only and records nothing.
	if res := w.run(w.up, tuesday, "--dry-run"); res.code != ExitOK || strings.Contains(res.stdout, "2026-11-22") {
		t.Fatalf("--dry-run: %s", res)
	}
	res = w.run(w.up, tuesday)
	if res.code != ExitOK || !strings.Contains(res.stdout, "cron-sales 2026-11-22 (as of "+tuesday+"): 2 sent") ||
		!strings.Contains(res.stdout, "cron-sales 2026-11-23 (as of "+tuesday+"): 0 sent, 2 skipped") {
		t.Fatalf("the run after: %s", res)
	}
	checkInvariants(t, w.url, w.srv, map[key][]string{{"cron-sales", "2026-11-22"}: rcpts, {"cron-sales", "2026-11-23"}: rcpts})
}

// H4: serve's next fire retries a period whose scheduled run did not go
// out (the relay refused every message for now), before its own period,
// and the fire after that runs only its own.
func TestReliability_Scheduling_NextFireRetriesAFailedPeriod(t *testing.T) {
	t.Parallel()
	madrid := mustLoad(t, "Europe/Madrid")
	url := testdb.PostgresURL(t)
	importGolden(t, url)
	rcpts := []string{"ana@example.com", "ben@example.com"}
	var failing atomic.Bool
	srv := smtptest.Start(t, smtptest.Options{Behavior: func(string) smtptest.Action {
		if failing.Load() {
			return smtptest.Reply451AfterData
		}
		return smtptest.Accept
	}})
	daily := reportYAML{name: "daily-sales", kind: "day", schedule: "0 8 * * *", recipients: rcpts}
	// Sunday the 22nd at 09:00: the report's first due period is the
	// 21st, sent by the catch-up on start.
	r := startRig(t, rigOptions{url: url, yaml: reportsConfig(smtpKeysFor(srv, "2s"), "", daily),
		start: time.Date(2026, 11, 22, 9, 0, 0, 0, madrid)})
	if f := r.next(); f.err != nil || f.period != "2026-11-21" {
		t.Fatalf("start: %+v", f)
	}
	failing.Store(true)
	r.advance(time.Date(2026, 11, 23, 8, 0, 0, 0, madrid))
	if f := r.next(); f.err == nil || f.period != "2026-11-22" || f.trigger != report.TriggerScheduled {
		t.Fatalf("the failing fire: %+v", f)
	}
	failing.Store(false)
	r.advance(time.Date(2026, 11, 24, 8, 0, 0, 0, madrid))
	for _, want := range []finished{{"daily-sales", "2026-11-22", report.TriggerCatchUp, nil}, {"daily-sales", "2026-11-23", report.TriggerScheduled, nil}} {
		if f := r.next(); f.err != nil || f.period != want.period || f.trigger != want.trigger {
			t.Fatalf("next fire ran %+v, want %s (%s)", f, want.period, want.trigger)
		}
	}
	r.advance(time.Date(2026, 11, 25, 8, 0, 0, 0, madrid))
	if f := r.next(); f.err != nil || f.period != "2026-11-24" || f.trigger != report.TriggerScheduled {
		t.Fatalf("the fire after: %+v", f)
	}
	r.none()
	r.stop()
	want := map[key][]string{}
	for _, p := range []string{"2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"} {
		want[key{"daily-sales", p}] = rcpts
	}
	d := checkInvariants(t, url, srv, want)
	for k := range want {
		for _, dl := range d.deliveries[k] {
			if dl.Status != report.DeliverySent {
				t.Errorf("%s %s is %s", k.period, dl.Recipient, dl.Status)
			}
		}
	}
}

// G3: the state database goes away after the run began and while the
// snapshot is read, before the held run's record. The run must not say it
// was held (the ledger does not say so), exits 75, and sends nothing, not
// even the owners' notice (its claim cannot be written). Once the database
// is back, the next run takes the abandoned run over and is held, with one
// notice, and the ledger holds no run still running and no delivery in
// flight.
func TestReliability_Database_StateGoneBeforeTheHeldRecord(t *testing.T) {
	t.Parallel()
	pg := testdb.PostgresURL(t)
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startDBProxy(t, u.Host)
	proxy.up.Store(true)
	u.Host = proxy.ln.Addr().String()
	w := newWorld(t, pg, worldOptions{recipients: []string{"ana@example.com"},
		topYAML: "gate: {max_source_age: 2h}\nowners: [ops@example.com]\nstate: {url: \"${SAMETEAM_STATE_URL}\"}\n"})
	w.vars["SAMETEAM_STATE_URL"] = u.String()
	admin := adminDB(t, pg)
	view := faultyMembers(t, admin, pg)
	// The snapshot's first fact query waits for an advisory lock the test
	// holds, so the test knows the run is inside its snapshot.
	mustExec(t, admin, `CREATE OR REPLACE FUNCTION fault_gate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_lock_shared(731, 1);
  PERFORM pg_advisory_unlock_shared(731, 1);
  RETURN true;
END $$`)
	w.withSource("tables: {team_members: " + view + "}")
	ctx := context.Background()
	hold, err := admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := hold.ExecContext(ctx, `SELECT pg_advisory_lock(731, 1)`); err != nil {
		t.Fatal(err)
	}
	results := make(chan result, 1)
	go func() { results <- w.run() }()
	until(t, "the run waiting inside its snapshot", func() bool {
		var n int
		err := admin.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%`+view+`%'`)
		return err == nil && n > 0
	})
	proxy.sever()
	if _, err := hold.ExecContext(ctx, `SELECT pg_advisory_unlock(731, 1)`); err != nil {
		t.Fatal(err)
	}
	var res result
	select {
	case res = <-results:
	case <-testsupport.After(t):
		t.Fatal("the run did not return")
	}
	if res.code != ExitTempFail || strings.Contains(res.stdout, "held by the data-quality gate") ||
		!strings.Contains(res.stdout, "the ledger could not record the held run") {
		t.Fatalf("the run without its state database: %s", res)
	}
	if n := len(w.srv.Messages()); n != 0 {
		t.Fatalf("%d messages sent", n)
	}

	proxy.up.Store(true)
	res = w.run()
	if res.code != ExitTempFail || !strings.Contains(res.stdout, "held by the data-quality gate, nothing sent") {
		t.Fatalf("the run once the database is back: %s", res)
	}
	if got := received(w.srv); got["ops@example.com"] != 1 || got["ana@example.com"] != 0 {
		t.Errorf("messages after the second run: %v, want one notice and no digest", got)
	}
	checkGateInvariants(t, w, []string{"ops@example.com"})
	rows := runRows(t, pg)
	if len(rows) != 2 || rows[0].Status != string(report.RunFailed) || rows[1].Status != string(report.RunHeld) {
		t.Errorf("ledger runs: %+v, want the abandoned one failed and the second held", rows)
	}
}
