package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/goldentest"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/source"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// The database scenarios (D1–D7) of the README's "Reliability" table, against the real
// PostgreSQL: faults are made with the server's own means (a view that
// sleeps or raises, pg_terminate_backend, a held lock, roles with exact
// grants), and each test checks what the scenario calls "nothing lost":
// what went out, what the ledger holds, and the exit code.

// adminDB opens url as the test superuser.
func adminDB(t *testing.T, url string) *db.DB {
	t.Helper()
	return testdb.Open(t, url)
}

func mustExec(t *testing.T, d *db.DB, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if _, err := d.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// schemaOf returns the test schema of a testdb URL.
func schemaOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}

// faultyMembers installs, next to the golden data at url, a view over
// team_members that reads its behaviour from a one-row table: it sleeps
// sleep_s seconds, then raises SQLSTATE 40001 (as a hot standby does on a
// conflict with recovery) when raise_40001 is set. The row is read before
// the sleep, in the query's snapshot, so a test that clears the fault while
// the query sleeps sees the fault raised once and gone on a retry. It
// returns the view's name (unique per test, so pg_stat_activity tells this
// test's queries from any other's). team_members is read by the first fact
// query, so a pause there happens after the snapshot is taken and before
// every other query.
func faultyMembers(t *testing.T, d *db.DB, url string) string {
	t.Helper()
	view := "faulty_" + schemaOf(t, url)
	mustExec(t, d,
		`CREATE TABLE fault (sleep_s float8 NOT NULL, raise_40001 boolean NOT NULL)`,
		`INSERT INTO fault VALUES (0, false)`,
		`CREATE FUNCTION fault_gate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE f fault;
BEGIN
  SELECT * INTO f FROM fault;
  IF f.sleep_s > 0 THEN PERFORM pg_sleep(f.sleep_s); END IF;
  IF f.raise_40001 THEN
    RAISE EXCEPTION 'canceling statement due to conflict with recovery (test)' USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN true;
END $$`,
		`CREATE VIEW `+view+` AS SELECT * FROM team_members WHERE (SELECT fault_gate())`,
	)
	return view
}

// setFault sets the view's behaviour.
func setFault(t *testing.T, d *db.DB, sleep float64, raise bool) {
	t.Helper()
	if _, err := d.ExecContext(context.Background(), `UPDATE fault SET sleep_s = $1, raise_40001 = $2`, sleep, raise); err != nil {
		t.Fatal(err)
	}
}

// withSource rewrites the world's config so that its source section has
// the extra keys (tables:, query_timeout:) and no others.
func (w *world) withSource(extra string) {
	w.t.Helper()
	b, err := os.ReadFile(w.cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^source: \{url: "\$\{SAMETEAM_DATABASE_URL\}"[^\n]*\}$`)
	if !line.Match(b) {
		w.t.Fatalf("config has no source line:\n%s", b)
	}
	text := line.ReplaceAllLiteralString(string(b), `source: {url: "${SAMETEAM_DATABASE_URL}", `+extra+`}`)
	if err := os.WriteFile(w.cfg, []byte(text), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// runAsync starts `sameteam run` for the test report and week.
func (w *world) runAsync(flags ...string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		args := append([]string{"run", "--config", w.cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf}, flags...)
		stdout, stderr, err := run(w.t, w.vars, args...)
		var msg strings.Builder
		code := ExitCode(err, &msg)
		ch <- result{stdout: stdout, stderr: stderr + msg.String(), code: code}
	}()
	return ch
}

// sleeper waits until a query of view is sleeping in the server and
// returns its backend pid.
func sleeper(t *testing.T, d *db.DB, view string) int {
	t.Helper()
	deadline := testsupport.Deadline(t)
	for time.Now().Before(deadline) {
		var pids []int
		err := d.SelectContext(context.Background(), &pids, `SELECT pid FROM pg_stat_activity
			WHERE wait_event = 'PgSleep' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, view)
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) > 0 {
			return pids[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no query of %s started sleeping", view)
	return 0
}

// ledgerState reads every run and every delivery of the state database at
// url, and fails the test if any is half-written: a run still running or a
// delivery still pending or sending after the process returned.
func ledgerState(t *testing.T, url string) ([]ledger.Run, map[string]testsupport.Delivery) {
	t.Helper()
	l, _ := openLedger(t, url)
	runs, err := l.Runs(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Status == report.RunRunning {
			t.Errorf("run %d of %s %s is still running after the process returned", r.ID, r.Report, r.Period)
		}
	}
	ds := deliveriesAt(t, url)
	for rc, d := range ds {
		if d.Status == report.DeliveryPending || d.Status == report.DeliverySending {
			t.Errorf("delivery to %s left %s", rc, d.Status)
		}
	}
	return runs, ds
}

// sentOnce checks that every recipient got exactly one message and that
// the ledger marks each sent, under one succeeded run.
func sentOnce(t *testing.T, w *world, recipients []string) {
	t.Helper()
	got := received(w.srv)
	runs, ds := ledgerState(t, w.url)
	for _, rc := range recipients {
		if got[rc] != 1 {
			t.Errorf("%s received %d copies, want 1", rc, got[rc])
		}
		if ds[rc].Status != report.DeliverySent {
			t.Errorf("ledger: %s is %q, want sent", rc, ds[rc].Status)
		}
	}
	if len(runs) != 1 || runs[0].Status != report.RunSucceeded {
		t.Errorf("runs %+v, want one succeeded", runs)
	}
}

// nothingSent checks the "nothing lost" of a failed snapshot: no message,
// no delivery row, every run finished as failed with its cause.
func nothingSent(t *testing.T, w *world, cause string) {
	t.Helper()
	if n := len(w.srv.Messages()); n != 0 {
		t.Errorf("the server got %d messages", n)
	}
	runs, ds := ledgerState(t, w.url)
	if len(ds) != 0 {
		t.Errorf("the ledger has deliveries after a failed snapshot: %v", ds)
	}
	for _, r := range runs {
		if r.Status != report.RunFailed || !strings.Contains(r.Error, cause) {
			t.Errorf("run %d is %s (%q), want failed with %q", r.ID, r.Status, r.Error, cause)
		}
	}
}

var dbRecipients = []string{"ana@example.com", "ben@example.com"}

// D1: the source cannot be reached at start (down, DNS failure, too many
// connections): exit 75 before any claim, no SMTP connection, an empty
// ledger, so the period stays due.
func TestReliability_Database_UnavailableAtStart(t *testing.T) {
	t.Parallel()
	pg := testdb.PostgresURL(t)
	admin := adminDB(t, pg)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	full := "sameteam_full_" + hex.EncodeToString(b)
	mustExec(t, admin, `CREATE ROLE `+full+` LOGIN CONNECTION LIMIT 0`)
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), `DROP ROLE `+full) })
	u, _ := url.Parse(pg)
	u.User = url.User(full)

	tests := []struct {
		name, url, want string
	}{
		{"server down", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable&connect_timeout=2", closedPort(t)), "connection refused"},
		{"host not found", "postgres://postgres@db.sameteam.invalid:5432/x?sslmode=disable&connect_timeout=2", "db.sameteam.invalid"},
		{"too many connections (53300)", u.String(), "too many connections"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			state := testdb.SQLiteURL(t)
			if r := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": state}, "init-db"); r.code != ExitOK {
				t.Fatalf("init-db: %s", r)
			}
			srv := smtptest.Start(t, smtptest.Options{})
			cfg := writeConfig(t, configYAML(fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n", srv.Port()),
				"state: {url: \""+state+"\"}\n", dbRecipients))
			res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": tc.url},
				"run", "--config", cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf)
			if res.code != ExitTempFail || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("exit %d, want %d and %q:\n%s", res.code, ExitTempFail, tc.want, res)
			}
			if srv.Connections() != 0 {
				t.Errorf("SMTP was contacted %d times", srv.Connections())
			}
			runs, ds := ledgerState(t, state)
			if len(runs) != 0 || len(ds) != 0 {
				t.Errorf("the ledger has %d runs and %d deliveries", len(runs), len(ds))
			}
		})
	}
}

// D2: the source's connection is killed (pg_terminate_backend, SQLSTATE
// 57P01) while a fact query runs. The whole snapshot is read again on a
// new connection, and the report goes out once. When it is killed on every
// attempt, the run gives up after three: exit 75, nothing sent, no
// delivery row, the run recorded as failed.
func TestReliability_Database_ConnectionKilledMidSnapshot(t *testing.T) {
	t.Parallel()
	t.Run("once: retried", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: dbRecipients})
		admin := adminDB(t, w.url)
		view := faultyMembers(t, admin, w.url)
		w.withSource("tables: {team_members: " + view + "}")
		setFault(t, admin, 30, false)
		done := w.runAsync()
		pid := sleeper(t, admin, view)
		setFault(t, admin, 0, false)
		mustExec(t, admin, fmt.Sprintf(`SELECT pg_terminate_backend(%d)`, pid))
		res := <-done
		if res.code != ExitOK {
			t.Fatalf("%s", res)
		}
		if !strings.Contains(res.stderr, "sqlstate=57P01") && !strings.Contains(res.stderr, "reading a new one") {
			t.Errorf("no retry logged:\n%s", res.stderr)
		}
		sentOnce(t, w, dbRecipients)
	})
	t.Run("every attempt: exit 75", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: dbRecipients})
		admin := adminDB(t, w.url)
		view := faultyMembers(t, admin, w.url)
		w.withSource("tables: {team_members: " + view + "}")
		setFault(t, admin, 30, false)
		done := w.runAsync()
		killed := map[int]bool{} // a terminated backend lingers in pg_stat_activity for a moment
		for {
			select {
			case res := <-done:
				if res.code != ExitTempFail {
					t.Errorf("exit %d, want %d\n%s", res.code, ExitTempFail, res)
				}
				if len(killed) != 3 {
					t.Errorf("killed %d snapshots, want 3 attempts", len(killed))
				}
				nothingSent(t, w, "bad connection")
				return
			default:
			}
			var pids []int
			if err := admin.SelectContext(context.Background(), &pids, `SELECT pid FROM pg_stat_activity
				WHERE wait_event = 'PgSleep' AND query LIKE '%' || $1 || '%'`, view); err != nil {
				t.Fatal(err)
			}
			for _, pid := range pids {
				if !killed[pid] {
					mustExec(t, admin, fmt.Sprintf(`SELECT pg_terminate_backend(%d)`, pid))
					killed[pid] = true
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// D3: every fact query of a snapshot reads one state of the data. Rows
// committed while the snapshot is being read (a new won deal and a new
// MQL in the week) appear in no number of that snapshot, which therefore
// still equals the golden file; the next snapshot has them.
func TestReliability_Database_ConsistentSnapshot(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	importGolden(t, url)
	admin := adminDB(t, url)
	view := faultyMembers(t, admin, url)
	cfg := writeConfig(t, "source: {url: \"${SAMETEAM_DATABASE_URL}\", tables: {team_members: "+view+"}}\n")
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	c := goldenCase(t, "w47-madrid")
	args := append([]string{"metrics", "--config", cfg}, c.metricsArgs()...)

	// Long enough to commit three statements while the query waits.
	setFault(t, admin, 2, false)
	done := make(chan result, 1)
	go func() { done <- cli(t, vars, args...) }()
	sleeper(t, admin, view)
	// Written and committed while the first query of the snapshot waits.
	mustExec(t, admin,
		`INSERT INTO leads (id, created_at, source, owner_id, mql_at) VALUES ('L-LATE', '2026-11-18T10:00:00Z', 'marketing', 'u001', '2026-11-18T11:00:00Z')`,
		`INSERT INTO opportunities (id, created_at, lead_id, source, owner_id, amount, closed_at, is_won)
		 VALUES ('O-LATE', '2026-11-18T12:00:00Z', 'L-LATE', 'marketing', 'u001', 123456.78, '2026-11-19T12:00:00Z', true)`,
		`UPDATE opportunities SET amount = amount + 1000 WHERE is_won`,
	)
	setFault(t, admin, 0, false)
	res := <-done
	if res.code != ExitOK {
		t.Fatalf("%s", res)
	}
	want, err := os.ReadFile(filepath.Join(goldenDir, "w47-madrid.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range goldentest.Diff(want, []byte(res.stdout)) {
		t.Errorf("a write committed during the snapshot shows in it: %s", d)
	}
	after := cli(t, vars, args...)
	if after.code != ExitOK || len(goldentest.Diff(want, []byte(after.stdout))) == 0 {
		t.Errorf("the next snapshot does not see the new rows (exit %d): the test proves nothing", after.code)
	}
}

// D4: a fact query that runs past source.query_timeout (a slow view, or a
// lock held by another session) stops the run: exit 75, nothing sent, no
// delivery row, the run failed with the timeout named. It is not retried
// (it would run past the timeout again). The query is cancelled in the
// server, not left running, and the next read on the same pool succeeds.
func TestReliability_Database_QueryTimeout(t *testing.T) {
	t.Parallel()
	t.Run("slow query", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: dbRecipients})
		admin := adminDB(t, w.url)
		view := faultyMembers(t, admin, w.url)
		w.withSource("tables: {team_members: " + view + "}, query_timeout: 300ms")
		setFault(t, admin, 30, false)
		res := w.run()
		if res.code != ExitTempFail || !strings.Contains(res.stderr, "query timeout 300ms") {
			t.Errorf("exit %d, want %d naming the timeout\n%s", res.code, ExitTempFail, res)
		}
		if strings.Contains(res.stderr, "reading a new one") {
			t.Errorf("a timeout was retried:\n%s", res.stderr)
		}
		nothingSent(t, w, "query timeout")
		// Whichever timeout fired (the client's cancel or the server's
		// statement_timeout, the same error), the statement is cancelled
		// in the server: no backend keeps sleeping on the dead run's
		// behalf. A cancel request is asynchronous, so wait for it, until
		// well before the test's own deadline.
		wait := 30 * time.Second
		if dl, ok := t.Deadline(); ok {
			wait = min(wait, time.Until(dl)/2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		for {
			var n int
			err := admin.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity
				WHERE wait_event = 'PgSleep' AND query LIKE '%' || $1 || '%'`, view)
			if err == nil && n == 0 {
				break
			}
			if ctx.Err() != nil {
				t.Errorf("%d queries still sleeping after the run (%v)", n, err)
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		setFault(t, admin, 0, false)
		// The default timeout: a loaded test machine may need more than
		// 300ms for the whole snapshot.
		w.withSource("tables: {team_members: " + view + "}")
		if res := w.run(); res.code != ExitOK {
			t.Fatalf("rerun: %s", res)
		}
		got := received(w.srv)
		for _, rc := range dbRecipients {
			if got[rc] != 1 {
				t.Errorf("%s received %d copies", rc, got[rc])
			}
		}
	})
	t.Run("lock held by another session", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: dbRecipients})
		w.withSource("query_timeout: 500ms")
		admin := adminDB(t, w.url)
		tx, err := admin.BeginTxx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`LOCK TABLE opportunities IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		res := w.run()
		_ = tx.Rollback()
		if res.code != ExitTempFail || !strings.Contains(res.stderr, "query timeout 500ms") {
			t.Errorf("exit %d, want %d naming the timeout\n%s", res.code, ExitTempFail, res)
		}
		nothingSent(t, w, "query timeout")
		w.withSource("query_timeout: 60s")
		if res := w.run(); res.code != ExitOK {
			t.Errorf("rerun after the lock is released: %s", res)
		}
	})
	t.Run("same pool after a timeout", func(t *testing.T) {
		t.Parallel()
		url := testdb.PostgresURL(t)
		importGolden(t, url)
		admin := adminDB(t, url)
		view := faultyMembers(t, admin, url)
		d := adminDB(t, url)
		d.SetMaxOpenConns(1) // the next read must reuse the cancelled connection
		tables := map[string]string{"team_members": view}
		short, err := source.New(d, source.Options{Tables: tables, QueryTimeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		// The same pool, with room for a loaded test machine.
		long, err := source.New(d, source.Options{Tables: tables, QueryTimeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c := goldenCase(t, "w47-madrid")
		in := c.input(t)
		setFault(t, admin, 30, false)
		if _, err := short.Load(context.Background(), metrics.Plan(in)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Load past the timeout = %v, want a deadline error", err)
		}
		setFault(t, admin, 0, false)
		start := time.Now()
		facts, err := long.Load(context.Background(), metrics.Plan(in))
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("the next Load took %s: the cancelled query still held the connection", d)
		}
		if err != nil {
			t.Fatalf("the next Load on the same pool: %v", err)
		}
		if len(facts.Members) == 0 {
			t.Error("the next Load read no members")
		}
	})
}

// D5: a serialization failure (40001: what a hot standby reports when
// replay conflicts with a query) is retried with a new snapshot, and the
// report goes out once. When it persists, exit 75 after three attempts,
// nothing sent and nothing half-written; `metrics` exits 75 too.
func TestReliability_Database_SerializationFailure(t *testing.T) {
	t.Parallel()
	t.Run("once: retried", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: dbRecipients})
		admin := adminDB(t, w.url)
		view := faultyMembers(t, admin, w.url)
		w.withSource("tables: {team_members: " + view + "}")
		setFault(t, admin, 1, true)
		done := w.runAsync()
		sleeper(t, admin, view)
		// The query already read the fault; it raises after its sleep, and
		// the retry's new snapshot sees the fault gone.
		setFault(t, admin, 0, false)
		res := <-done
		if res.code != ExitOK {
			t.Fatalf("%s", res)
		}
		if !strings.Contains(res.stderr, "sqlstate=40001") {
			t.Errorf("the retry does not name the SQLSTATE:\n%s", res.stderr)
		}
		sentOnce(t, w, dbRecipients)
	})
	t.Run("persists: exit 75", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: dbRecipients})
		admin := adminDB(t, w.url)
		view := faultyMembers(t, admin, w.url)
		w.withSource("tables: {team_members: " + view + "}")
		setFault(t, admin, 0, true)
		res := w.run()
		if res.code != ExitTempFail || strings.Count(res.stderr, "reading a new one") != 2 {
			t.Errorf("exit %d, want %d after 3 attempts\n%s", res.code, ExitTempFail, res)
		}
		nothingSent(t, w, "conflict with recovery")
		m := cli(t, w.vars, append([]string{"metrics", "--config", w.cfg}, goldenCase(t, "w47-madrid").metricsArgs()...)...)
		if m.code != ExitTempFail || m.stdout != "" {
			t.Errorf("metrics: exit %d, want %d and no output\n%s", m.code, ExitTempFail, m)
		}
	})
}

// D6: sameteam runs with exactly the grants the README documents: a
// read-only role on the source (USAGE on the schema, SELECT on the five
// relations, read-only by default) and a ledger role with SELECT, INSERT
// and UPDATE on the ledger tables. `run` (to the outbox) and `metrics`
// work; the roles cannot write the source, create tables, delete ledger
// rows or read what they were not granted.
func TestReliability_Database_LeastPrivilege(t *testing.T) {
	t.Parallel()
	srcURL, stateURL := testdb.PostgresURL(t), testdb.PostgresURL(t)
	importGolden(t, srcURL)
	admin := adminDB(t, srcURL)
	stateAdmin := adminDB(t, stateURL)
	if err := ledger.Migrate(context.Background(), stateAdmin); err != nil {
		t.Fatal(err)
	}
	srcSchema, stateSchema := schemaOf(t, srcURL), schemaOf(t, stateURL)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ro, rw := "sameteam_ro_"+hex.EncodeToString(b), "sameteam_ledger_"+hex.EncodeToString(b)
	grants := leastPrivilegeGrants(ro, rw, srcSchema, stateSchema)
	mustExec(t, admin, grants...)
	t.Cleanup(func() {
		for _, role := range []string{ro, rw} {
			_, _ = admin.ExecContext(context.Background(), `DROP OWNED BY `+role)
			_, _ = admin.ExecContext(context.Background(), `DROP ROLE `+role)
		}
	})
	as := func(rawURL, role string) string {
		u, _ := url.Parse(rawURL)
		u.User = url.UserPassword(role, "any") // trust auth; the password is not checked
		return u.String()
	}
	roURL, rwURL := as(srcURL, ro), as(stateURL, rw)

	outbox := t.TempDir()
	cfg := writeConfig(t, strings.Replace(configYAML("", "state: {url: \"${SAMETEAM_STATE_URL}\"}\noutbox: "+outbox+"\n", dbRecipients),
		"smtp:\n  from:", "smtp:\n  host: \"\"\n  from:", 1))
	vars := map[string]string{"SAMETEAM_DATABASE_URL": roURL, "SAMETEAM_STATE_URL": rwURL}
	res := cli(t, vars, "run", "--config", cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf)
	if res.code != ExitOK {
		t.Fatalf("run with least privilege: %s", res)
	}
	emls, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(emls) != len(dbRecipients) {
		t.Errorf("outbox holds %d messages, want %d", len(emls), len(dbRecipients))
	}
	_, ds := ledgerState(t, stateURL)
	for _, rc := range dbRecipients {
		if ds[rc].Status != report.DeliverySent {
			t.Errorf("ledger: %s is %q, want sent", rc, ds[rc].Status)
		}
	}
	// A rerun reads the ledger and sends nothing again.
	if res := cli(t, vars, "run", "--config", cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf); res.code != ExitOK {
		t.Errorf("rerun: %s", res)
	}
	if again, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(again) != len(emls) {
		t.Errorf("rerun wrote %d more messages", len(again)-len(emls))
	}
	if res := cli(t, vars, "check", "--config", cfg); !strings.Contains(res.stdout, "ledger tables writable") {
		t.Errorf("check with least privilege: %s", res)
	}
	// The ledger role records an opt-out (serve's one-click), lists it and
	// takes it back (recipients --restore).
	if _, err := ledger.New(testdb.Open(t, rwURL)).OptOut(context.Background(), testReport, dbRecipients[0]); err != nil {
		t.Fatalf("an opt-out with least privilege: %v", err)
	}
	if res := cli(t, vars, "recipients", "--config", cfg, "--report", testReport); res.code != ExitOK || !strings.Contains(res.stdout, "1 unsubscribed") {
		t.Errorf("recipients with least privilege: %s", res)
	}
	if res := cli(t, vars, "recipients", "--config", cfg, "--report", testReport, "--restore", dbRecipients[0]); res.code != ExitOK {
		t.Errorf("recipients --restore with least privilege: %s", res)
	}

	c := goldenCase(t, "w47-madrid")
	m := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": roURL}, append([]string{"metrics"}, c.metricsArgs()...)...)
	if m.code != ExitOK {
		t.Fatalf("metrics with the read-only role: %s", m)
	}
	want, _ := os.ReadFile(filepath.Join(goldenDir, "w47-madrid.json"))
	for _, d := range goldentest.Diff(want, []byte(m.stdout)) {
		t.Error(d)
	}

	// The grants are exactly these, and nothing more works.
	roDB, rwDB := adminDB(t, roURL), adminDB(t, rwURL)
	var tables []string
	if err := admin.SelectContext(context.Background(), &tables, `SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p') AND has_table_privilege($2, c.oid, 'SELECT')
		ORDER BY 1`, srcSchema, ro); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tables, ","); got != "activities,campaigns,leads,opportunities,team_members" {
		t.Errorf("the read-only role can read %s", got)
	}
	refused := []struct {
		name  string
		d     *db.DB
		query string
		codes string // acceptable SQLSTATEs
	}{
		{"source: update", roDB, `UPDATE leads SET source = 'x'`, "25006 42501"},
		{"source: temp table", roDB, `CREATE TEMP TABLE x (a int)`, "25006 42501"},
		{"source: create table", roDB, `CREATE TABLE ` + srcSchema + `.x (a int)`, "25006 42501"},
		{"source: pg_authid", roDB, `SELECT rolpassword FROM pg_authid`, "42501"},
		{"source: ledger tables", roDB, `SELECT 1 FROM ` + stateSchema + `.sameteam_runs`, "42501"},
		{"ledger: delete", rwDB, `DELETE FROM sameteam_deliveries`, "42501"},
		{"ledger: truncate", rwDB, `TRUNCATE sameteam_runs CASCADE`, "42501"},
		{"ledger: drop", rwDB, `DROP TABLE sameteam_deliveries`, "42501"},
		{"ledger: create table", rwDB, `CREATE TABLE ` + stateSchema + `.x (a int)`, "42501"},
		{"ledger: read the source", rwDB, `SELECT 1 FROM ` + srcSchema + `.leads`, "42501"},
	}
	for _, tc := range refused {
		_, err := tc.d.ExecContext(context.Background(), tc.query)
		var pe *pq.Error
		if !errors.As(err, &pe) || !strings.Contains(tc.codes, string(pe.Code)) {
			t.Errorf("%s: %q gave %v, want SQLSTATE %s", tc.name, tc.query, err, tc.codes)
		}
	}
}

// leastPrivilegeGrants are the statements of the README's least-privilege
// section, for the roles ro (source) and rw (ledger).
func leastPrivilegeGrants(ro, rw, srcSchema, stateSchema string) []string {
	rel := func(names ...string) string {
		for i, n := range names {
			names[i] = srcSchema + "." + n
		}
		return strings.Join(names, ", ")
	}
	return []string{
		`CREATE ROLE ` + ro + ` LOGIN`,
		`ALTER ROLE ` + ro + ` SET default_transaction_read_only = on`,
		`GRANT USAGE ON SCHEMA ` + srcSchema + ` TO ` + ro,
		`GRANT SELECT ON ` + rel("team_members", "campaigns", "leads", "activities", "opportunities") + ` TO ` + ro,
		`CREATE ROLE ` + rw + ` LOGIN`,
		`GRANT USAGE ON SCHEMA ` + stateSchema + ` TO ` + rw,
		`GRANT SELECT ON ` + stateSchema + `.sameteam_schema_migrations TO ` + rw,
		`GRANT SELECT, INSERT, UPDATE ON ` + stateSchema + `.sameteam_runs, ` + stateSchema + `.sameteam_deliveries TO ` + rw,
		`GRANT SELECT, INSERT, DELETE ON ` + stateSchema + `.sameteam_opt_outs TO ` + rw,
	}
}

// D7: the run lock. While another process holds the lock of the report
// and week, a run skips the period (exit 0, as duplicate triggers do in
// S1) with nothing sent and no run recorded; when
// that process is killed (its session terminated), the lock goes with it
// and the next run sends everything once.
func TestReliability_Database_LockHolderKilled(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: dbRecipients})
	other := adminDB(t, w.url)
	other.SetMaxOpenConns(1) // so the lock's connection is the one whose pid we read
	var pid int
	if err := other.GetContext(context.Background(), &pid, `SELECT pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.New(other).Lock(context.Background(), testReport, testPeriod); err != nil {
		t.Fatal(err)
	}
	res := w.run()
	if res.code != ExitOK || !strings.Contains(res.stdout, "another run is delivering this period") {
		t.Errorf("exit %d while another process holds the lock, want %d and a skip\n%s", res.code, ExitOK, res)
	}
	if n := len(w.srv.Messages()); n != 0 {
		t.Errorf("%d messages sent past the lock", n)
	}
	if runs, ds := ledgerState(t, w.url); len(runs) != 0 || len(ds) != 0 {
		t.Errorf("the ledger has %d runs and %d deliveries", len(runs), len(ds))
	}
	// With a timeout, pg_terminate_backend waits until the backend is gone
	// (and its advisory lock released); without, it only signals it, and on
	// a loaded machine the next run could still find the lock held.
	mustExec(t, adminDB(t, w.url), fmt.Sprintf(`SELECT pg_terminate_backend(%d, 60000)`, pid))
	if res := w.run(); res.code != ExitOK {
		t.Fatalf("after the holder was killed: %s", res)
	}
	sentOnce(t, w, dbRecipients)
}

// goldenCase returns the golden case called name.
func goldenCase(t *testing.T, name string) gcase {
	t.Helper()
	for _, c := range goldentest.Cases(t, goldenDir) {
		if c.Name == name {
			return gcase{c}
		}
	}
	t.Fatalf("no golden case %s", name)
	return gcase{}
}

type gcase struct{ goldentest.Case }

// metricsArgs are the flags of `metrics --format json` for the case.
func (c gcase) metricsArgs() []string {
	args := []string{"--format", "json", "--period", c.Period, "--time-zone", c.TimeZone,
		"--as-of", c.AsOf.Format(time.RFC3339), "--sla-hours", fmt.Sprint(c.SLAHours)}
	if c.MQLTarget != nil {
		args = append(args, "--mql-target", fmt.Sprint(*c.MQLTarget))
	}
	return args
}

// input is the engine's input for the case.
func (c gcase) input(t *testing.T) metrics.Input {
	t.Helper()
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	p, err := period.Parse(c.Period, loc)
	if err != nil {
		t.Fatal(err)
	}
	return metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget}
}
