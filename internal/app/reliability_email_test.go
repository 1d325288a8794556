package app

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// rawSMTP is a hand-written SMTP server for the replies smtptest cannot
// script: a server that never greets, one that hangs up after EHLO, one
// that hangs on RSET after accepting a message.
type rawSMTP struct {
	ln      net.Listener
	mu      sync.Mutex
	data    []string // the messages accepted
	refused []int    // the sizes refused as too large
	msgs    int
	conns   int
	done    chan struct{}
}

// rawMode is how a rawSMTP server behaves.
type rawMode int

const (
	rawSilent        rawMode = iota // accepts the connection, never greets
	rawHangUpAtEHLO                 // greets, answers EHLO, closes
	rawHangAfterData                // accepts the message, then never answers RSET
	rawRefuseLarge                  // 552 5.3.4 to a message over rawLimit, whatever SIZE said
)

// rawLimit is the largest message rawRefuseLarge accepts: more than the
// golden week's digest, less than the digest with its workbook.
const rawLimit = 80 << 10

func startRawSMTP(t *testing.T, mode rawMode) *rawSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawSMTP{ln: ln, done: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() { close(s.done); ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			wg.Go(func() {
				go func() { <-s.done; c.Close() }()
				defer c.Close()
				s.serve(c, mode)
			})
		}
	})
	return s
}

func (s *rawSMTP) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *rawSMTP) messages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs
}

func (s *rawSMTP) serve(c net.Conn, mode rawMode) {
	if mode == rawSilent {
		<-s.done
		return
	}
	r := bufio.NewReader(c)
	fmt.Fprint(c, "220 raw.example.com ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			if mode == rawHangUpAtEHLO {
				fmt.Fprint(c, "250 raw.example.com\r\n")
				return
			}
			fmt.Fprint(c, "250-raw.example.com\r\n250 8BITMIME\r\n")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"), cmd == "NOOP":
			fmt.Fprint(c, "250 2.0.0 ok\r\n")
		case cmd == "DATA":
			fmt.Fprint(c, "354 go ahead\r\n")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			if mode == rawRefuseLarge && data.Len() > rawLimit {
				s.mu.Lock()
				s.refused = append(s.refused, data.Len())
				s.mu.Unlock()
				fmt.Fprint(c, "552 5.3.4 Message size exceeds fixed maximum message size\r\n")
				continue
			}
			s.mu.Lock()
			s.msgs++
			s.data = append(s.data, data.String())
			s.mu.Unlock()
			fmt.Fprint(c, "250 2.0.0 queued as RAW1\r\n")
		case cmd == "RSET":
			<-s.done // never answers
			return
		case cmd == "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		default:
			fmt.Fprint(c, "502 5.5.2 not implemented\r\n")
		}
	}
}

// statuses is the ledger's status per recipient for the test week.
func statuses(w *world) map[string]report.DeliveryStatus {
	out := map[string]report.DeliveryStatus{}
	for r, d := range w.deliveries() {
		out[r] = d.Status
	}
	return out
}

// E1: the relay unreachable three ways, with ten recipients: connection
// refused, a server that accepts the connection and never greets (a
// blackhole: the connect times out), a connection reset after EHLO. Each
// is a temporary failure of the session: the run stops at the first
// recipient instead of failing all ten, exits 75, marks nobody failed for
// good; once the relay is back, the next run sends each of the ten once.
func TestReliability_Email_SMTPUnreachable(t *testing.T) {
	t.Parallel()
	rcpts := numbered("e1-", 10)
	for _, tc := range []struct {
		name string
		port func(t *testing.T) int
	}{
		{"connection refused", closedPort},
		{"never greets", func(t *testing.T) int { return startRawSMTP(t, rawSilent).port() }},
		{"reset after EHLO", func(t *testing.T) int { return startRawSMTP(t, rawHangUpAtEHLO).port() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts, noServer: true,
				smtpYAML: fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: 300ms\n", tc.port(t))})
			res := w.run()
			if res.code != ExitTempFail || !strings.Contains(res.stdout, "0 sent, 0 skipped, 10 failed (temporary)") {
				t.Errorf("exit %d, want 75 and all ten not sent\n%s", res.code, res)
			}
			for r, s := range statuses(w) {
				if s != report.DeliveryFailedTemporary {
					t.Errorf("%s is %s: the relay's failure is nobody's fault", r, s)
				}
			}
			srv := smtptest.Start(t, smtptest.Options{})
			w.srv = srv
			w.cfg = writeConfig(t, configYAML(smtpKeysFor(srv, "2s"), "", rcpts))
			if res := w.run(); res.code != ExitOK {
				t.Errorf("after recovery: %s", res)
			}
			checkInvariants(t, w.url, srv, map[key][]string{{testReport, testPeriod}: rcpts})
		})
	}
}

// E2: transient 4xx. A greylisting relay (451 to a recipient's first
// RCPT) delivers on the sender's retry within the run. A relay that starts
// throttling after three messages (451 to every message's data) stops the
// run after three recipients in a row failed for now, instead of spending
// every remaining recipient's retries on it (the circuit breaker), records
// the rest as not tried, exits 75, and the next run sends the rest once,
// the ones not tried first.
func TestReliability_Email_Transient4xx(t *testing.T) {
	t.Parallel()
	t.Run("greylisting", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		seen := map[string]bool{}
		rcpts := []string{"grey1@example.com", "ok@example.com"}
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts, smtp: smtptest.Options{Behavior: func(rcpt string) smtptest.Action {
			mu.Lock()
			defer mu.Unlock()
			if rcpt == "grey1@example.com" && !seen[rcpt] {
				seen[rcpt] = true
				return smtptest.Reply451
			}
			return smtptest.Accept
		}}})
		if res := w.run(); res.code != ExitOK {
			t.Errorf("%s", res)
		}
		if n := w.srv.RcptCount("grey1@example.com"); n != 2 {
			t.Errorf("the greylisted recipient was tried %d times, want 2", n)
		}
		checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
	})
	t.Run("throttling", func(t *testing.T) {
		t.Parallel()
		rcpts := numbered("e2-", 10)
		var throttle atomic.Bool
		var accepted atomic.Int32
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts, smtp: smtptest.Options{Behavior: func(string) smtptest.Action {
			if throttle.Load() && accepted.Load() >= 3 {
				return smtptest.Reply451AfterData
			}
			accepted.Add(1)
			return smtptest.Accept
		}}})
		throttle.Store(true)
		begun := time.Now()
		res := w.run()
		took := time.Since(begun)
		if res.code != ExitTempFail || !strings.Contains(res.stdout, "3 sent, 0 skipped, 7 failed (temporary)") {
			t.Errorf("want 3 sent, 7 not, exit 75\n%s", res)
		}
		tried := 0
		for _, r := range rcpts {
			if w.srv.RcptCount(r) > 0 {
				tried++
			}
		}
		if tried != 6 {
			t.Errorf("%d recipients tried, want the 3 sent and 3 refused in a row (took %v)", tried, took)
		}
		for _, r := range rcpts[6:] {
			if d := w.deliveries()[r]; d.Status != report.DeliveryFailedTemporary || !strings.HasPrefix(d.LastError, ledger.NotTried) {
				t.Errorf("%s: %s %q, want failed_temporary, not tried", r, d.Status, d.LastError)
			}
		}
		throttle.Store(false)
		before := len(w.srv.Messages())
		if res := w.run(); res.code != ExitOK || !strings.Contains(res.stdout, "7 sent, 3 skipped") {
			t.Errorf("next run: %s", res)
		}
		var order []string
		for _, m := range w.srv.Messages()[before:] {
			order = append(order, m.To...)
		}
		if len(order) != 7 || !slices.Equal(order[:4], rcpts[6:]) {
			t.Errorf("the next run sent to %v, want the 4 not tried (%v) first", order, rcpts[6:])
		}
		checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
	})
}

// E2b: the same three recipients deferred at RCPT (mailbox full,
// greylisting that never clears) come first on every run. Their 4xx is
// their own problem, not the relay's: everyone else gets the digest on the
// first run, the three are failed_temporary with the relay's reply, and a
// rerun tries only them. A relay that says 421 (closing) stops the run:
// that is the session's failure, and the rest are recorded as not tried.
func TestReliability_Email_DeferredRecipientsDoNotStarveTheRest(t *testing.T) {
	t.Parallel()
	t.Run("4xx at rcpt", func(t *testing.T) {
		t.Parallel()
		rcpts := numbered("e2b-", 10)
		full := map[string]smtptest.Action{rcpts[0]: smtptest.Reply451, rcpts[1]: smtptest.Reply451, rcpts[2]: smtptest.Reply451}
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts, smtp: smtptest.Options{Behavior: smtptest.ByRecipient(full)}})
		for run := range 2 {
			res := w.run()
			want := "7 sent, 0 skipped, 3 failed (temporary)"
			if run > 0 {
				want = "0 sent, 7 skipped, 3 failed (temporary)"
			}
			if res.code != ExitTempFail || !strings.Contains(res.stdout, want) {
				t.Errorf("run %d: want %q, exit 75\n%s", run+1, want, res)
			}
		}
		got := w.deliveries()
		for _, r := range rcpts {
			d := got[r]
			switch {
			case full[r] == smtptest.Reply451:
				if d.Status != report.DeliveryFailedTemporary || !strings.Contains(d.LastError, "451") {
					t.Errorf("%s: %s %q, want failed_temporary with the 451", r, d.Status, d.LastError)
				}
			case d.Status != report.DeliverySent:
				t.Errorf("%s: %s %q, want sent", r, d.Status, d.LastError)
			}
		}
		if n := len(w.srv.Messages()); n != 7 {
			t.Errorf("the relay holds %d messages, want 7", n)
		}
		checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
	})
	t.Run("421 closes the session", func(t *testing.T) {
		t.Parallel()
		rcpts := numbered("e2c-", 5)
		var closing atomic.Bool
		closing.Store(true)
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts, smtp: smtptest.Options{Behavior: func(rcpt string) smtptest.Action {
			if closing.Load() && rcpt == rcpts[1] {
				return smtptest.Reply421
			}
			return smtptest.Accept
		}}})
		res := w.run()
		if res.code != ExitTempFail || !strings.Contains(res.stdout, "1 sent, 0 skipped, 4 failed (temporary)") {
			t.Errorf("want the run stopped at the 421, exit 75\n%s", res)
		}
		for _, r := range rcpts[2:] {
			if n := w.srv.RcptCount(r); n != 0 {
				t.Errorf("%s tried %d times after the relay said 421", r, n)
			}
			if d := w.deliveries()[r]; d.Status != report.DeliveryFailedTemporary || !strings.HasPrefix(d.LastError, ledger.NotTried) {
				t.Errorf("%s: %s %q, want failed_temporary, not tried", r, d.Status, d.LastError)
			}
		}
		closing.Store(false)
		if res := w.run(); res.code != ExitOK || !strings.Contains(res.stdout, "4 sent, 1 skipped") {
			t.Errorf("next run: %s", res)
		}
		checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
	})
}

// E3: five recipients, the third unknown to the relay (550 5.1.1 at
// RCPT). One message per recipient, so the other four get theirs; the
// third is failed_permanent with the code and the server's words, is not
// retried by a rerun, and the run exits 65 (retrying cannot help).
func TestReliability_Email_PermanentRecipientFailure(t *testing.T) {
	t.Parallel()
	rcpts := numbered("e3-", 5)
	bad := rcpts[2]
	w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: rcpts,
		smtp: smtptest.Options{Behavior: smtptest.ByRecipient(map[string]smtptest.Action{bad: smtptest.Reply550})}})
	res := w.run()
	if res.code != ExitDataErr || !strings.Contains(res.stdout, "4 sent, 0 skipped, 0 failed (temporary), 1 failed (permanent)") {
		t.Errorf("want 4 sent, 1 permanent, exit 65\n%s", res)
	}
	d := w.deliveries()[bad]
	if d.Status != report.DeliveryFailedPermanent || !strings.Contains(d.LastError, "550") || !strings.Contains(d.LastError, "5.1.1") {
		t.Errorf("%s: %s %q, want failed_permanent with 550 5.1.1", bad, d.Status, d.LastError)
	}
	tries := w.srv.RcptCount(bad)
	if res := w.run(); res.code != ExitDataErr || w.srv.RcptCount(bad) != tries {
		t.Errorf("the rerun tried %s again (%d RCPTs, had %d): %s", bad, w.srv.RcptCount(bad), tries, res)
	}
	checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
}

// E4: the outcome after DATA is ambiguous or late. (a) The server keeps the
// message and drops the connection without a reply: unknown, held (not
// resent by a rerun), exactly one copy. (b) The server replies 250, then
// never answers the RSET that go-mail sends next: sent, not retried.
// (c) The server takes 1.5 s to reply: with a 3 s timeout, sent; with a
// 300 ms one, unknown and not retried blindly (one copy at the server).
func TestReliability_Email_AmbiguousAfterData(t *testing.T) {
	t.Parallel()
	t.Run("dropped after data", func(t *testing.T) {
		t.Parallel()
		rcpts := []string{"drop@example.com", "ok@example.com"}
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts,
			smtp: smtptest.Options{Behavior: smtptest.ByRecipient(map[string]smtptest.Action{"drop@example.com": smtptest.DropAfterData})}})
		for range 2 {
			if res := w.run(); res.code != ExitDataErr || !strings.Contains(res.stdout, "unknown  drop@example.com") {
				t.Errorf("%s", res)
			}
		}
		if got := received(w.srv)["drop@example.com"]; got != 1 {
			t.Errorf("%d copies of the dropped message, want 1 (held, not resent)", got)
		}
		checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
	})
	t.Run("250 then RSET hangs", func(t *testing.T) {
		t.Parallel()
		raw := startRawSMTP(t, rawHangAfterData)
		rcpts := []string{"a@example.com", "b@example.com"}
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts, noServer: true,
			smtpYAML: fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: 300ms\n", raw.port())})
		res := w.run()
		if res.code != ExitOK || !strings.Contains(res.stdout, "2 sent") {
			t.Errorf("%s", res)
		}
		if raw.messages() != 2 {
			t.Errorf("the server took %d messages, want 2 (no retry)", raw.messages())
		}
		for r, d := range w.deliveries() {
			if d.Status != report.DeliverySent || !strings.Contains(d.Response, "queued as RAW1") {
				t.Errorf("%s: %s %q", r, d.Status, d.Response)
			}
		}
	})
	for _, tc := range []struct {
		timeout string
		want    report.DeliveryStatus
		code    int
	}{
		{"3s", report.DeliverySent, ExitOK},
		{"300ms", report.DeliveryUnknown, ExitDataErr},
	} {
		t.Run("slow 250, timeout "+tc.timeout, func(t *testing.T) {
			t.Parallel()
			rcpts := []string{"slow@example.com"}
			w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts,
				smtp: smtptest.Options{DataDelay: 1500 * time.Millisecond}, smtpYAML: "  timeout: " + tc.timeout + "\n"})
			if res := w.run(); res.code != tc.code {
				t.Errorf("%s", res)
			}
			if s := statuses(w)["slow@example.com"]; s != tc.want {
				t.Errorf("ledger says %s, want %s", s, tc.want)
			}
			// The server finishes taking the message whatever the client
			// thought: one copy, never two.
			deadline := testsupport.Deadline(t)
			for len(w.srv.Messages()) == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := w.srv.RcptCount("slow@example.com"); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
			checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
		})
	}
}

// E5: the process dies after the relay accepted a message and before the
// ledger recorded it. The ledger row of the seventh recipient is locked
// (as a slow database would hold it) when the relay takes its message, so
// the run is stuck in MarkSent, and then the process is killed. The rerun
// finds the row in sending by a dead run: unknown, not resent; everyone
// after it gets exactly one message. This is the proof that sending is
// recorded before DATA.
func TestReliability_Email_CrashBetween250AndCommit(t *testing.T) {
	t.Parallel()
	rcpts := numbered("e5-", 10)
	victim := rcpts[6]
	url := testdb.PostgresURL(t)
	admin := adminDB(t, url)
	lockTx := make(chan func(), 1)
	var holder string // the locking transaction's id
	var srv *smtptest.Server
	w := newWorld(t, url, worldOptions{recipients: rcpts, smtp: smtptest.Options{Behavior: func(rcpt string) smtptest.Action {
		if rcpt != victim {
			return smtptest.Accept
		}
		// The claim (sending) is committed before RCPT: lock the row now,
		// so the mark after the 250 waits.
		ctx := context.Background()
		tx, err := admin.BeginTxx(ctx, nil)
		if err != nil {
			t.Error(err)
			return smtptest.Accept
		}
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM sameteam_deliveries WHERE recipient = $1 FOR UPDATE`, victim).Scan(&status); err != nil {
			t.Errorf("lock the victim's row: %v", err)
		}
		if status != string(report.DeliverySending) {
			t.Errorf("the victim's row is %q at RCPT, want sending: the claim must be committed before DATA", status)
		}
		if err := tx.QueryRowContext(ctx, `SELECT (txid_current() % 4294967296)::text`).Scan(&holder); err != nil {
			t.Error(err)
		}
		lockTx <- func() { _ = tx.Rollback() }
		return smtptest.Accept
	}}, smtpYAML: "  timeout: 5s\n"})
	srv = w.srv
	cmd, out := childRun(t, w)
	var unlock func()
	select {
	case unlock = <-lockTx:
	case <-testsupport.After(t):
		t.Fatalf("the run never reached %s:\n%s", victim, out.String())
	}
	// Wait until the relay has the victim's message and the run waits on
	// the row lock.
	for deadline := testsupport.Deadline(t); received(srv)[victim] == 0 || !waitingOn(t, admin, holder); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the run never got stuck recording %s:\n%s", victim, out.String())
		}
	}
	reached := make(chan struct{})
	close(reached)
	killWhen(t, cmd, out, reached, victim)
	unlock()

	res := w.run()
	if res.code != ExitDataErr || !strings.Contains(res.stdout, "unknown  "+victim) {
		t.Errorf("rerun: want exit 65 naming %s unknown\n%s", victim, res)
	}
	d := checkInvariants(t, w.url, srv, map[key][]string{{testReport, testPeriod}: rcpts})
	got := received(srv)
	for _, dl := range d.deliveries[key{testReport, testPeriod}] {
		want := report.DeliverySent
		if dl.Recipient == victim {
			want = report.DeliveryUnknown
		}
		if dl.Status != want || got[dl.Recipient] != 1 {
			t.Errorf("%s: %s with %d messages, want %s and 1", dl.Recipient, dl.Status, got[dl.Recipient], want)
		}
	}
}

// waitingOn reports whether a session waits for the transaction xid (the
// run's MarkSent, on the row that transaction locked).
func waitingOn(t *testing.T, admin *db.DB, xid string) bool {
	t.Helper()
	var n int
	if err := admin.QueryRowContext(context.Background(), `SELECT count(*) FROM pg_locks
		WHERE NOT granted AND locktype = 'transactionid' AND transactionid::text = $1`, xid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// E6: a message too large for the relay. (a) Over max_attachment_mb: it
// goes out once, with a signed link in place of the workbook (that the
// link downloads the workbook from serve is
// TestReliability_Security_LinksInTheInboxDownload). (b) Under
// max_attachment_mb but refused by the relay with 552 5.3.4 after DATA:
// the link variant is sent once in its place; without a public URL to link
// to, the recipient fails for good with the relay's words, and the large
// message is never retried.
func TestReliability_Email_OversizedAttachment(t *testing.T) {
	t.Parallel()
	const linkKey = "an-example-link-key-of-at-least-32-characters"
	server := "server: {public_url: \"https://reports.example.com\", link_key: \"" + linkKey + "\"}\n"
	t.Run("over max_attachment_mb", func(t *testing.T) {
		t.Parallel()
		rcpts := []string{"a@example.com", "b@example.com"}
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts, topYAML: "max_attachment_mb: 0.001\n" + server})
		if res := w.run(); res.code != ExitOK {
			t.Fatalf("%s", res)
		}
		for _, m := range w.srv.Messages() {
			if strings.Contains(string(m.Data), "spreadsheetml") || !strings.Contains(string(m.Data), "https://reports.example.com/reports/weekly-sales/2026-W47.xlsx?") {
				t.Errorf("a message to %v is not the link variant", m.To)
			}
		}
		checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
	})
	for _, tc := range []struct {
		name string
		top  string
		want report.DeliveryStatus
		code int
		msgs int
	}{
		{"552 after data, link possible", server, report.DeliverySent, ExitOK, 1},
		{"552 after data, no public url", "", report.DeliveryFailedPermanent, ExitDataErr, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := startRawSMTP(t, rawRefuseLarge)
			w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"a@example.com"}, noServer: true, topYAML: tc.top,
				smtpYAML: fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: 2s\n", raw.port())})
			res := w.run()
			if res.code != tc.code {
				t.Errorf("%s", res)
			}
			d := w.deliveries()["a@example.com"]
			if d.Status != tc.want {
				t.Errorf("ledger: %s %q", d.Status, d.LastError)
			}
			if tc.want == report.DeliveryFailedPermanent && !strings.Contains(d.LastError, "552") {
				t.Errorf("the relay's 552 is not recorded: %q", d.LastError)
			}
			if raw.messages() != tc.msgs || len(raw.refused) != 1 {
				t.Fatalf("the relay took %d messages and refused %v, want %d and the first", raw.messages(), raw.refused, tc.msgs)
			}
			if tc.msgs == 1 && (strings.Contains(raw.data[0], "spreadsheetml") || !strings.Contains(raw.data[0], "reports.example.com/reports/weekly-sales/2026-W47.xlsx")) {
				t.Errorf("the message accepted is not the link variant")
			}
			if res := w.run(); raw.messages() != tc.msgs {
				t.Errorf("a rerun sent again: %s", res)
			}
		})
	}
}

// E7: session-level failures (STARTTLS not offered, a certificate that does
// not verify, AUTH refused): exit 78, nothing in clear (no AUTH and no
// message reached the server), and the recipients stay retryable, not
// failed for good; once fixed, every one is sent once. A setting to skip
// certificate checks does not exist (an unknown key is refused).
func TestReliability_Email_TLSAndAuthFailures(t *testing.T) {
	t.Parallel()
	rcpts := []string{"a@example.com", "b@example.com"}
	for _, tc := range []struct {
		name     string
		smtp     smtptest.Options
		smtpYAML string
		says     string
	}{
		{"no STARTTLS offered", smtptest.Options{Username: "u", Password: "p"}, "  tls: starttls\n  auth: plain\n  username: u\n  password: p\n", "does not offer STARTTLS"},
		{"untrusted certificate", smtptest.Options{StartTLS: true, Username: "u", Password: "p"}, "  tls: starttls\n  auth: plain\n  username: u\n  password: p\n", "certificate"},
		{"AUTH refused", smtptest.Options{Username: "u", Password: "p"}, "  tls: none\n  auth: plain\n  username: u\n  password: wrong\n", "authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tc.smtp)
			w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts, noServer: true,
				smtpYAML: fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  timeout: 2s\n", srv.Port()) + tc.smtpYAML})
			w.srv = srv
			res := w.run()
			if res.code != ExitConfig || !strings.Contains(res.stderr+res.stdout, tc.says) {
				t.Errorf("want exit 78 saying %q\n%s", tc.says, res)
			}
			if srv.AuthSuccesses() != 0 || len(srv.Messages()) != 0 {
				t.Errorf("%d AUTH successes and %d messages reached the server", srv.AuthSuccesses(), len(srv.Messages()))
			}
			for r, s := range statuses(w) {
				if s != report.DeliveryFailedTemporary {
					t.Errorf("%s is %s, want it retryable", r, s)
				}
			}
			fixed := smtptest.Start(t, smtptest.Options{})
			w.srv = fixed
			w.cfg = writeConfig(t, configYAML(smtpKeysFor(fixed, "2s"), "", rcpts))
			if res := w.run(); res.code != ExitOK {
				t.Errorf("after the fix: %s", res)
			}
			checkInvariants(t, w.url, fixed, map[key][]string{{testReport, testPeriod}: rcpts})
		})
	}
	t.Run("tls_skip_verify is not a setting", func(t *testing.T) {
		t.Parallel()
		cfg := writeConfig(t, configYAML("  host: smtp.example.com\n  tls_skip_verify: true\n", "", rcpts))
		res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": testdb.SQLiteURL(t)}, "run", "--config", cfg, "--report", testReport, "--period", testPeriod)
		if res.code != ExitConfig || !strings.Contains(res.stderr, "tls_skip_verify") {
			t.Errorf("%s", res)
		}
	})
}

// messageIDRE is the deterministic Message-ID: report, period, a hash of
// the recipient, the sender's domain.
var messageIDRE = regexp.MustCompile(`^<sameteam\.weekly-sales\.2026-W47\.[0-9a-f]{16}@example\.com>$`)

// E8: the headers every message carries: Date, From on the sender's
// domain, the deterministic Message-ID on that domain, MIME-Version, a
// text/plain alternative to the HTML, the recipient alone in To, and no
// Bcc. (DKIM signing is not sameteam's: the relay signs; see the README.)
func TestReliability_Email_HeadersContract(t *testing.T) {
	t.Parallel()
	rcpts := []string{"Ana.Lopez@Example.com", "luis@example.com"}
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: rcpts})
	if res := w.run(); res.code != ExitOK {
		t.Fatalf("%s", res)
	}
	msgs := w.srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		p := parseMessage(t, m.Data)
		h := p.header
		if _, err := h.Date(); err != nil {
			t.Errorf("Date: %v", err)
		}
		from, err := h.AddressList("From")
		if err != nil || len(from) != 1 || !strings.HasSuffix(from[0].Address, "@example.com") {
			t.Errorf("From %q: %v", h.Get("From"), err)
		}
		id := h.Get("Message-Id")
		if !messageIDRE.MatchString(id) || ids[id] {
			t.Errorf("Message-ID %q: not the deterministic form, or repeated", id)
		}
		ids[id] = true
		if h.Get("Mime-Version") != "1.0" {
			t.Errorf("MIME-Version %q", h.Get("Mime-Version"))
		}
		to, err := h.AddressList("To")
		if err != nil || len(to) != 1 || !slices.ContainsFunc(rcpts, func(r string) bool { return strings.EqualFold(r, to[0].Address) }) || !slices.Equal(m.To, []string{to[0].Address}) {
			t.Errorf("To %q, envelope %v", h.Get("To"), m.To)
		}
		for _, k := range []string{"Bcc", "Cc"} {
			if _, ok := h[k]; ok {
				t.Errorf("a %s header", k)
			}
		}
		if !strings.Contains(p.structure, "multipart/alternative[text/plain text/html]") {
			t.Errorf("structure %s: no text alternative", p.structure)
		}
	}
}
