package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// runRow is one run as the ledger keeps it, with its note.
type runRow struct {
	Report string `db:"report"`
	Status string `db:"status"`
	Error  string `db:"error"`
	Note   string `db:"note"`
}

func runRows(t *testing.T, url string) []runRow {
	t.Helper()
	d := adminDB(t, url)
	var rows []runRow
	if err := d.SelectContext(context.Background(), &rows, `SELECT report, status, error, note FROM sameteam_runs ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return rows
}

// insertFresh adds an activity and a lead stamped shortly before the test
// week's as_of: the sync has caught up.
func insertFresh(t *testing.T, url string) {
	t.Helper()
	d := adminDB(t, url)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO activities (id, occurred_at, team, actor_id, kind) VALUES ('A-FRESH', ?, 'sales', 'u001', 'call')`, []any{d.Time(at)}},
		{`INSERT INTO leads (id, created_at, source) VALUES ('L-FRESH', ?, 'marketing')`, []any{d.Time(at)}},
	} {
		if _, err := d.ExecContext(ctx, d.Rebind(q.sql), q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
}

// The data-quality gate on both engines: a source whose newest activity is
// older than max_source_age holds the run (exit 75): nobody gets the
// digest, the run is held with the reason, each owner gets one notice; a
// run held again notifies nobody again; once fresh rows arrive every
// recipient gets the digest once and no owner hears more; --ignore-gate
// sends anyway and the ledger notes it.
func TestGateHoldsAStaleSource(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		rcpts := []string{"ana@example.com", "ben@example.com"}
		owners := []string{"ops@example.com", "revops@example.com"}
		// The golden data's newest activity is 3 h 35 min before the
		// test week's as_of.
		w := newWorld(t, url, worldOptions{recipients: rcpts,
			topYAML: "gate: {max_source_age: 2h}\nowners: [ops@example.com, revops@example.com]\n"})

		res := w.run()
		if res.code != ExitTempFail || !strings.Contains(res.stdout, "held by the data-quality gate, nothing sent: newest activity 2026-11-23T03:25Z, 3 h 34 min before as_of; max_source_age is 2 h") {
			t.Fatalf("stale source: %s", res)
		}
		got := received(w.srv)
		for _, rc := range rcpts {
			if got[rc] != 0 {
				t.Errorf("%s got the digest of a held run", rc)
			}
		}
		for _, o := range owners {
			if got[o] != 1 {
				t.Errorf("owner %s got %d notices, want 1", o, got[o])
			}
		}
		for _, m := range w.srv.Messages() {
			if !strings.Contains(string(m.Data), "newest activity 2026-11-23T03:25Z") || !strings.Contains(string(m.Data), "--ignore-gate") {
				t.Errorf("the notice does not say why or what to do:\n%s", m.Data)
			}
		}
		rows := runRows(t, w.url)
		if len(rows) != 1 || rows[0].Status != string(report.RunHeld) || !strings.Contains(rows[0].Error, "max_source_age is 2 h") {
			t.Fatalf("ledger runs after a held run: %+v", rows)
		}

		// Held again: no second notice.
		if res := w.run(); res.code != ExitTempFail {
			t.Fatalf("second held run: %s", res)
		}
		if n := len(w.srv.Messages()); n != len(owners) {
			t.Errorf("%d messages after a second held run, want the %d notices of the first", n, len(owners))
		}

		// The sync catches up: the digest goes out, once, and no notice.
		insertFresh(t, w.url)
		if res := w.run(); res.code != ExitOK {
			t.Fatalf("run after fresh rows: %s", res)
		}
		got = received(w.srv)
		for _, rc := range rcpts {
			if got[rc] != 1 {
				t.Errorf("%s got %d digests, want 1", rc, got[rc])
			}
		}
		for _, o := range owners {
			if got[o] != 1 {
				t.Errorf("owner %s got %d messages, want the one notice", o, got[o])
			}
		}
		rows = runRows(t, w.url)
		if last := rows[len(rows)-1]; last.Status != string(report.RunSucceeded) || last.Note != "" {
			t.Errorf("the run that passed: %+v", last)
		}
		checkGateInvariants(t, w, owners)
	})
}

// --ignore-gate sends a held report anyway, and the run's note says so.
func TestGateIgnored(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"ana@example.com"},
		topYAML: "gate: {max_source_age: 2h}\nowners: [ops@example.com]\n"})
	res := w.run("--ignore-gate")
	if res.code != ExitOK || !strings.Contains(res.stdout, "sent despite the data-quality gate (--ignore-gate)") {
		t.Fatalf("--ignore-gate: %s", res)
	}
	got := received(w.srv)
	if got["ana@example.com"] != 1 || got["ops@example.com"] != 0 {
		t.Errorf("received %v, want the digest and no notice", got)
	}
	rows := runRows(t, w.url)
	if len(rows) != 1 || rows[0].Status != string(report.RunSucceeded) || !strings.HasPrefix(rows[0].Note, "sent despite the data-quality gate (--ignore-gate): newest activity") {
		t.Errorf("ledger: %+v", rows)
	}
}

// min_activity_ratio: a period with 10 % of the previous period's
// activity is held; a period whose previous one had none is not.
func TestGateMinActivityRatio(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	w := newWorld(t, url, worldOptions{recipients: []string{"ana@example.com"}, topYAML: "gate: {min_activity_ratio: 0.5}\n"})
	d := adminDB(t, url)
	ctx := context.Background()
	// Keep a tenth of the test week's activities.
	mustExecArgs(t, d, `DELETE FROM activities WHERE occurred_at >= ? AND occurred_at < ? AND abs(random()) % 10 <> 0`,
		d.Time(time.Date(2026, 11, 15, 23, 0, 0, 0, time.UTC)), d.Time(time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)))
	res := w.run()
	if res.code != ExitTempFail || !strings.Contains(res.stdout, "min_activity_ratio is 0.5") {
		t.Fatalf("a tenth of the activity: %s", res)
	}
	// The first period ever: nothing before it to compare with.
	if _, err := d.ExecContext(ctx, `DELETE FROM activities`); err != nil {
		t.Fatal(err)
	}
	first := cli(t, w.vars, "run", "--config", w.cfg, "--report", testReport, "--period", "2025-W10", "--as-of", testAsOf)
	if first.code != ExitOK {
		t.Errorf("a period with no previous activity is held: %s", first)
	}
}

// The gate reads the snapshot: a snapshot past query_timeout is a
// temporary failure like any (exit 75), not a held run, and nothing is sent.
func TestReliability_Database_GateQueryTimeout(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	w := newWorld(t, url, worldOptions{recipients: []string{"ana@example.com"},
		topYAML: "gate: {max_source_age: 2h}\nowners: [ops@example.com]\n"})
	admin := adminDB(t, url)
	view := faultyMembers(t, admin, url)
	w.withSource("tables: {team_members: " + view + "}, query_timeout: 500ms")
	setFault(t, admin, 30, false)
	res := w.run()
	setFault(t, admin, 0, false)
	if res.code != ExitTempFail || strings.Contains(res.stdout, "held by the data-quality gate") {
		t.Fatalf("gate read past the timeout: %s", res)
	}
	if n := len(w.srv.Messages()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
	for _, r := range runRows(t, url) {
		if r.Status != string(report.RunFailed) {
			t.Errorf("run %+v, want failed (not held)", r)
		}
	}
}

// check evaluates each report's gate now and prints each rule's value and
// verdict.
func TestCheckEvaluatesTheGate(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"ana@example.com"},
		topYAML: "gate: {max_source_age: 36h, min_activity_ratio: 0.3, require: [leads, opportunities]}\n"})
	res := cli(t, w.vars, "check", "--config", w.cfg)
	// check judges the last complete period at the real now: the words
	// depend on the day, the rules' lines do not.
	for _, want := range []string{
		"gate " + testReport + " ", " max_source_age: ", " min_activity_ratio: ", " require: ", " opportunities in ",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, res.stdout)
		}
	}
}

func mustExecArgs(t *testing.T, d *db.DB, q string, args ...any) {
	t.Helper()
	if _, err := d.ExecContext(context.Background(), d.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// checkGateInvariants: the report's runs finished, and one notice per
// owner in the ledger under the report's notice key, each sent and none
// left pending or sending.
func checkGateInvariants(t *testing.T, w *world, owners []string) {
	t.Helper()
	ledgerState(t, w.url)
	_, d := openLedger(t, w.url)
	notices := testsupport.Deliveries(t, d, report.GateNotice(testReport), testPeriod)
	if len(notices) != len(owners) {
		t.Fatalf("%d owner notices in the ledger, want %d", len(notices), len(owners))
	}
	for _, n := range notices {
		if n.Status != report.DeliverySent {
			t.Errorf("notice to %s is %s", n.Recipient, n.Status)
		}
	}
}

// G2: SIGKILL while the owners' notices of a held run are on the wire,
// then the run again (still held): every owner has exactly one notice,
// except the one in flight at the kill, which has at most one and is
// unknown in the ledger; nobody got the digest.
func TestReliability_Gate_KilledWhileNotifying(t *testing.T) {
	t.Parallel()
	var owners []string
	for i := range 5 {
		owners = append(owners, fmt.Sprintf("owner%d@example.com", i))
	}
	victim := owners[2]
	smtp, reached := slowRelayReaching(victim)
	w := newWorld(t, testdb.PostgresURL(t), worldOptions{
		recipients: []string{"ana@example.com"},
		topYAML:    "gate: {max_source_age: 2h}\nowners: [" + strings.Join(owners, ", ") + "]\n",
		smtp:       smtp,
		smtpYAML:   "  timeout: 5s\n",
	})
	killWhenReached(t, w, reached, victim)

	res := w.run()
	if res.code != ExitTempFail || !strings.Contains(res.stdout, "held by the data-quality gate") {
		t.Fatalf("the run after the kill: %s", res)
	}
	_, d := openLedger(t, w.url)
	notices := map[string]report.DeliveryStatus{}
	for _, n := range testsupport.Deliveries(t, d, report.GateNotice(testReport), testPeriod) {
		notices[n.Recipient] = n.Status
	}
	got := received(w.srv)
	for _, o := range owners {
		switch {
		case o == victim:
			if notices[o] != report.DeliveryUnknown || got[o] > 1 {
				t.Errorf("%s (in flight at the kill): %s in the ledger, %d notices; want unknown and at most 1", o, notices[o], got[o])
			}
		case notices[o] != report.DeliverySent || got[o] != 1:
			t.Errorf("%s: %s in the ledger, %d notices; want sent and exactly 1", o, notices[o], got[o])
		}
	}
	if got["ana@example.com"] != 0 {
		t.Error("a recipient got the digest of a held run")
	}
}
