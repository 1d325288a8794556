package app

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// A source that cannot be reached is a temporary failure: exit 75, nothing
// sent, nothing written to the ledger.
func TestRunWithTheDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	state := testdb.SQLiteURL(t)
	if r := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": state}, "init-db"); r.code != ExitOK {
		t.Fatalf("init-db: %s", r)
	}
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, strings.Replace(
		configYAML(fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n", srv.Port()),
			"state: {url: \""+state+"\"}\n", []string{"a@example.com", "b@example.com"}),
		`source: {url: "${SAMETEAM_DATABASE_URL}"}`,
		`source: {url: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"}`, 1))
	res := cli(t, nil, "run", "--config", cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf)
	if res.code != ExitTempFail || !strings.Contains(res.stderr, "127.0.0.1:1") {
		t.Errorf("exit %d, want %d and the database named:\n%s", res.code, ExitTempFail, res)
	}
	if n := len(srv.Messages()); n != 0 || srv.Connections() != 0 {
		t.Errorf("the server got %d messages over %d connections", n, srv.Connections())
	}
	l, _ := openLedger(t, state)
	runs, err := l.Runs(context.Background(), "", 0)
	if err != nil || len(runs) != 0 {
		t.Errorf("the ledger has %d runs (%v)", len(runs), err)
	}
	if ds := deliveriesAt(t, state); len(ds) != 0 {
		t.Errorf("the ledger has deliveries: %v", ds)
	}
}

// A bad configuration is exit 78 with every problem named by its path; an
// unknown report is a usage error, exit 64, that lists the configured ones.
func TestRunRefusesBadConfigAndUnknownReport(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	bad := writeConfig(t, `time_zone: Mars/Olympus
source: {url: "${SAMETEAM_DATABASE_URL}"}
smtp: {host: 127.0.0.1, tls: sometimes, from: "Reports <reports@example.com>"}
reports:
  - {name: weekly-sales, audience: finance, schedule: "0 8 * *", recipients: [not-an-address]}
`)
	res := cli(t, vars, "run", "--config", bad, "--report", testReport, "--period", testPeriod)
	if res.code != ExitConfig {
		t.Errorf("bad config: exit %d, want %d\n%s", res.code, ExitConfig, res)
	}
	for _, p := range []string{"time_zone", "smtp.tls", "reports[0].audience", "reports[0].schedule", "reports[0].recipients[0]"} {
		if !strings.Contains(res.stderr, p+":") {
			t.Errorf("bad config: %s is not named:\n%s", p, res.stderr)
		}
	}

	good := writeConfig(t, configYAML("  host: 127.0.0.1\n  port: 2525\n  tls: none\n", "", []string{"a@example.com"}))
	res = cli(t, vars, "run", "--config", good, "--report", "weekly-salez", "--period", testPeriod)
	if res.code != ExitUsage || !strings.Contains(res.stderr, `unknown report "weekly-salez" (configured: weekly-sales)`) {
		t.Errorf("unknown report: exit %d, want %d\n%s", res.code, ExitUsage, res)
	}
	res = cli(t, vars, "run", "--config", good, "--period", testPeriod)
	if res.code != ExitUsage || !strings.Contains(res.stderr, "--report NAME or --all") {
		t.Errorf("no report: exit %d, want %d\n%s", res.code, ExitUsage, res)
	}
}

// A failure of the SMTP session (refused password, relay down) is nobody's
// fault among the recipients: the run stops at the first one instead of
// trying, and failing, every recipient the same way, records no permanent
// failure, and exits 78 for a refused password (a retry cannot help and
// would lock the account) or 75 for a relay that is down.
func TestRunStopsWhenTheSMTPSessionFails(t *testing.T) {
	rcpts := []string{"a@example.com", "b@example.com", "c@example.com"}
	tests := []struct {
		name string
		o    worldOptions
		code int
		says string
	}{
		{"password refused", worldOptions{
			smtp:     smtptest.Options{Username: "reports", Password: "the-right-one"},
			smtpYAML: "  auth: plain\n  username: reports\n  password: the-wrong-one\n",
		}, ExitConfig, "authentication failed"},
		{"relay down", worldOptions{
			noServer: true,
		}, ExitTempFail, "smtp session"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.o.recipients = rcpts
			if tc.o.noServer {
				tc.o.smtpYAML = fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n", closedPort(t))
			}
			w := newWorld(t, testdb.SQLiteURL(t), tc.o)
			res := w.run()
			if res.code != tc.code || !strings.Contains(res.stderr, tc.says) {
				t.Errorf("exit %d, want %d and %q\n%s", res.code, tc.code, tc.says, res)
			}
			if !strings.Contains(res.stdout, "0 sent, 0 skipped, 3 failed (temporary)") {
				t.Errorf("the summary does not count every recipient as not sent:\n%s", res.stdout)
			}
			if w.srv != nil {
				if n := w.srv.AuthFailures(); n != 1 {
					t.Errorf("%d refused AUTH attempts, want 1: the run went on after the first", n)
				}
				if n := len(w.srv.Messages()); n != 0 {
					t.Errorf("the server got %d messages", n)
				}
			}
			ds := w.deliveries()
			for _, r := range rcpts[1:] {
				if d := ds[r]; !strings.HasPrefix(d.LastError, ledger.NotTried) {
					t.Errorf("%s: %s %q in the ledger, want not tried: only the first is tried", r, d.Status, d.LastError)
				}
			}
			for r, d := range ds {
				if d.Status != report.DeliveryFailedTemporary {
					t.Errorf("%s is %q in the ledger: a session failure must stay retryable", r, d.Status)
				}
			}

			// Once the relay is fixed, the rerun sends to everyone.
			srv := smtptest.Start(t, smtptest.Options{})
			w.srv = srv
			w.cfg = writeConfig(t, configYAML(fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: 2s\n", srv.Port()), "", rcpts))
			if res := w.run(); res.code != ExitOK || len(srv.Messages()) != len(rcpts) {
				t.Errorf("after the fix: exit %d, %d messages\n%s", res.code, len(srv.Messages()), res)
			}
		})
	}
}
