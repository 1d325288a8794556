package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// childEnv makes the test binary behave as the sameteam binary: TestMain
// runs the command line after it instead of the tests.
const childEnv = "SAMETEAM_TEST_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		// As cmd/sameteam does: a stop signal cancels the context.
		ctx, stop := signal.NotifyContext(context.Background(), StopSignals...)
		err := Run(ctx, Env{Args: os.Args[1:], Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.LookupEnv})
		stop()
		os.Exit(ExitCode(err, os.Stderr))
	}
	os.Exit(m.Run())
}

// A run killed with SIGKILL in the middle of a batch, then run again:
// every recipient gets exactly one message, except the one in flight when
// the process died, which gets at most one, is unknown in the ledger and
// is reported by the second run.
func TestRunKilledMidBatchThenRunAgain(t *testing.T) {
	t.Parallel()
	const n = 50
	var rcpts []string
	for i := range n {
		rcpts = append(rcpts, fmt.Sprintf("r%02d@example.com", i))
	}
	victim := rcpts[20]
	smtp, reached := slowRelayReaching(victim)
	w := newWorld(t, testdb.PostgresURL(t), worldOptions{
		recipients: rcpts,
		smtp:       smtp,
		smtpYAML:   "  timeout: 5s\n",
	})

	out := killWhenReached(t, w, reached, victim)
	sentBefore := 0
	for _, d := range w.deliveries() {
		if d.Status == report.DeliverySent {
			sentBefore++
		}
	}
	if sentBefore == 0 || sentBefore >= n-1 {
		t.Fatalf("%d sent before the kill: not mid-batch", sentBefore)
	}

	res := w.run()
	if res.code != ExitDataErr {
		t.Errorf("second run: exit %d, want %d (the unknown delivery)\n%s", res.code, ExitDataErr, res)
	}
	if !strings.Contains(res.stdout, "unknown  "+victim) || !strings.Contains(res.stdout, "--resend-unknown") {
		t.Errorf("the second run does not report %s as unknown:\n%s", victim, res.stdout)
	}

	t.Logf("second run:\n%s", res)
	ds := w.deliveries()
	got := received(w.srv)
	for _, r := range rcpts {
		d := ds[r]
		if r == victim {
			if d.Status != report.DeliveryUnknown || got[r] > 1 {
				t.Errorf("%s (in flight at the kill): %q in the ledger, %d messages at the server; want unknown and at most 1", r, d.Status, got[r])
			}
			continue
		}
		if d.Status != report.DeliverySent || got[r] != 1 {
			t.Errorf("%s: %q in the ledger, %d messages at the server; want sent and exactly 1", r, d.Status, got[r])
		}
	}
	if t.Failed() {
		t.Logf("first run's output:\n%s", out.String())
	}
}

// killWhenReached runs the world's report as a child process (the test
// binary acting as sameteam) and kills it with SIGKILL as soon as reached
// says the SMTP server has the victim's message on the wire: the worst
// moment to die. It returns what the child printed.
func killWhenReached(t *testing.T, w *world, reached <-chan struct{}, victim string) *bytes.Buffer {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "run", "--config", w.cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf)
	cmd.Env = append(os.Environ(), childEnv+"=1", "SAMETEAM_DATABASE_URL="+w.url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
		// The victim's row is in sending (claimed before RCPT) and its
		// message is on the wire.
	case <-testsupport.After(t):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the run never reached %s:\n%s", victim, out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the run was not killed (%v):\n%s", err, out.String())
	}
	return &out
}

// D7b: on SQLite, `run` killed with SIGKILL mid-batch, and run again at
// once, as cron or an operator would. The lock's row outlives its holder
// (no session dies with it, as on PostgreSQL), and the rerun skipped the
// period with exit 0: the recipients after the victim never got the
// digest. The lock's owner names its process; a rerun on the same host sees
// it gone, takes over at once, records the victim's delivery unknown, and
// sends everyone else exactly once.
func TestReliability_Database_SQLiteRerunRightAfterKill9(t *testing.T) {
	t.Parallel()
	const n = 40
	rcpts := numbered("d7b-", n)
	victim := rcpts[10]
	smtp, reached := slowRelayReaching(victim)
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{
		recipients: rcpts,
		smtp:       smtp,
		smtpYAML:   "  timeout: 5s\n",
	})
	killWhenReached(t, w, reached, victim)

	res := w.run()
	if strings.Contains(res.stdout, "skipped, another run") {
		t.Fatalf("the rerun skipped the period its killed predecessor left:\n%s", res)
	}
	if res.code != ExitDataErr || !strings.Contains(res.stdout, "unknown  "+victim) {
		t.Errorf("rerun: exit %d, want %d with %s unknown\n%s", res.code, ExitDataErr, victim, res)
	}
	ds := w.deliveries()
	got := received(w.srv)
	for _, r := range rcpts {
		d := ds[r]
		switch {
		case r == victim:
			if d.Status != report.DeliveryUnknown || got[r] > 1 {
				t.Errorf("%s (in flight at the kill): %q, %d messages; want unknown and at most 1", r, d.Status, got[r])
			}
		case d.Status != report.DeliverySent || got[r] != 1:
			t.Errorf("%s: %q, %d messages; want sent and exactly 1", r, d.Status, got[r])
		}
	}
	checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
}

// D7b, the other side: a SQLite lock of the period held by a process of
// another host (which this one cannot check) is not a reason to report
// success: `run` exits 75 so that cron tries again, and sends nothing.
func TestReliability_Database_SQLiteLockOfAnotherHost(t *testing.T) {
	t.Parallel()
	rcpts := numbered("d7c-", 3)
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts})
	d := testdb.Open(t, w.url)
	if err := ledger.Migrate(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	other := ledger.NewWithOptions(d, ledger.Options{Owner: "elsewhere.example:4242 (process start 0f0f/1)"})
	unlock, err := other.Lock(context.Background(), testReport, testPeriod)
	if err != nil {
		t.Fatal(err)
	}
	res := w.run()
	if res.code != ExitTempFail || !strings.Contains(res.stdout, "elsewhere.example:4242") || strings.Contains(res.stdout, "skipped") {
		t.Errorf("want exit 75 naming the holder, not a skip\n%s", res)
	}
	if n := len(w.srv.Messages()); n != 0 {
		t.Errorf("%d messages sent under another's lock", n)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if res := w.run(); res.code != ExitOK || !strings.Contains(res.stdout, "3 sent") {
		t.Errorf("once the lock is free: %s", res)
	}
	checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
}

// slowRelayReaching is a relay that takes 100 ms over each message's data
// and says on reached when victim's message is on the wire.
func slowRelayReaching(victim string) (smtptest.Options, <-chan struct{}) {
	reached := make(chan struct{}, 1)
	return smtptest.Options{
		DataDelay: 100 * time.Millisecond,
		Behavior: func(rcpt string) smtptest.Action {
			if rcpt == victim {
				select {
				case reached <- struct{}{}:
				default:
				}
			}
			return smtptest.Accept
		},
	}, reached
}
