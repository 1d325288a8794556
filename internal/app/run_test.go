package app

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// Each way an SMTP server can answer one recipient, through `run`: what the
// ledger records and what the exit code tells cron. Recipients that fail
// temporarily are retried with the sender's default backoff (seconds), so
// each case has at most one of them and the cases run in parallel.
func TestRunClassifiesEachRecipient(t *testing.T) {
	const (
		ok    = "ok@example.com"
		r421  = "busy@example.com"
		r451  = "grey@example.com"
		r550  = "nobody@example.com"
		stall = "slow@example.com"
		drop  = "dropped@example.com"
	)
	tests := []struct {
		name    string
		engine  string
		actions map[string]smtptest.Action
		want    map[string]report.DeliveryStatus
		code    int
		says    []string
	}{
		{"accepted", "sqlite", map[string]smtptest.Action{ok: smtptest.Accept},
			map[string]report.DeliveryStatus{ok: report.DeliverySent}, ExitOK, []string{"1 sent"}},
		// 421 closes the session: the relay is going away for everyone, so
		// the run stops and the recipient after it is not tried.
		{"421 at rcpt", "postgres", map[string]smtptest.Action{ok: smtptest.Accept, r421: smtptest.Reply421},
			map[string]report.DeliveryStatus{ok: report.DeliveryFailedTemporary, r421: report.DeliveryFailedTemporary}, ExitTempFail,
			[]string{"failed_temporary  " + r421, "421", "failed_temporary  " + ok, "not tried"}},
		{"451 at rcpt", "sqlite", map[string]smtptest.Action{ok: smtptest.Accept, r451: smtptest.Reply451},
			map[string]report.DeliveryStatus{ok: report.DeliverySent, r451: report.DeliveryFailedTemporary}, ExitTempFail, []string{"failed_temporary  " + r451, "451"}},
		{"550 at rcpt", "postgres", map[string]smtptest.Action{ok: smtptest.Accept, r550: smtptest.Reply550},
			map[string]report.DeliveryStatus{ok: report.DeliverySent, r550: report.DeliveryFailedPermanent}, ExitDataErr, []string{"failed_permanent  " + r550, "550"}},
		{"stalls past the timeout", "sqlite", map[string]smtptest.Action{ok: smtptest.Accept, stall: smtptest.Stall},
			map[string]report.DeliveryStatus{ok: report.DeliverySent, stall: report.DeliveryFailedTemporary}, ExitTempFail, []string{"failed_temporary  " + stall}},
		{"dropped after data", "postgres", map[string]smtptest.Action{ok: smtptest.Accept, drop: smtptest.DropAfterData},
			map[string]report.DeliveryStatus{ok: report.DeliverySent, drop: report.DeliveryUnknown}, ExitDataErr,
			[]string{"unknown  " + drop, "check the mailbox", "--resend-unknown"}},
		{"permanent and temporary: temporary wins", "sqlite", map[string]smtptest.Action{r550: smtptest.Reply550, r451: smtptest.Reply451},
			map[string]report.DeliveryStatus{r550: report.DeliveryFailedPermanent, r451: report.DeliveryFailedTemporary}, ExitTempFail, nil},
		{"permanent and unknown", "postgres", map[string]smtptest.Action{ok: smtptest.Accept, r550: smtptest.Reply550, drop: smtptest.DropAfterData},
			map[string]report.DeliveryStatus{ok: report.DeliverySent, r550: report.DeliveryFailedPermanent, drop: report.DeliveryUnknown}, ExitDataErr, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := testdb.SQLiteURL(t)
			if tc.engine == "postgres" {
				url = testdb.PostgresURL(t)
			}
			rcpts := slices.Sorted(maps.Keys(tc.actions))
			w := newWorld(t, url, worldOptions{
				recipients: rcpts,
				smtp:       smtptest.Options{Behavior: smtptest.ByRecipient(tc.actions), StallFor: 3 * time.Second},
				smtpYAML:   "  timeout: 300ms\n",
			})
			res := w.run()
			if res.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", res.code, tc.code, res)
			}
			for _, s := range tc.says {
				if !strings.Contains(res.stdout, s) {
					t.Errorf("stdout does not say %q:\n%s", s, res.stdout)
				}
			}
			got := w.deliveries()
			if len(got) != len(tc.want) {
				t.Errorf("%d ledger rows, want %d: %v", len(got), len(tc.want), got)
			}
			for rcpt, want := range tc.want {
				d := got[rcpt]
				if d.Status != want {
					t.Errorf("%s: ledger says %q (%s), want %q", rcpt, d.Status, d.LastError, want)
				}
				switch {
				case d.MessageID == "":
					t.Errorf("%s: no Message-ID in the ledger", rcpt)
				case want == report.DeliverySent && d.Response == "":
					t.Errorf("%s: sent without the server's reply in the ledger", rcpt)
				case want != report.DeliverySent && d.LastError == "":
					t.Errorf("%s: %s without an error in the ledger", rcpt, want)
				}
			}
			// Only accepted messages (and the one the server kept before
			// dropping the connection) reached the server.
			got2 := received(w.srv)
			for rcpt, want := range tc.want {
				n := 0
				if want == report.DeliverySent || want == report.DeliveryUnknown {
					n = 1
				}
				if got2[rcpt] != n {
					t.Errorf("%s: the server has %d messages, want %d", rcpt, got2[rcpt], n)
				}
			}
		})
	}
}

// A rerun sends only what is missing: nothing again to those sent, the
// temporary failures again, the unknown ones only on request, everyone
// only with --force, always under the same Message-ID. A dry run and a test
// copy leave the ledger as it was.
func TestRunRerunSendsOnlyWhatIsMissing(t *testing.T) {
	t.Parallel()
	const (
		sent = "sent@example.com"
		temp = "grey@example.com"
		unk  = "dropped@example.com"
		perm = "nobody@example.com"
		test = "tester@example.com"
	)
	b := newBehaviours(map[string]smtptest.Action{temp: smtptest.Reply451, unk: smtptest.DropAfterData, perm: smtptest.Reply550})
	w := newWorld(t, testdb.PostgresURL(t), worldOptions{
		recipients: []string{sent, temp, unk, perm},
		smtp:       smtptest.Options{Behavior: b.act},
	})
	// step runs `run` with flags and checks the exit code, which
	// recipients the server got a new message for, and the ledger.
	step := func(name string, flags []string, code int, newMsgs []string, want map[string]report.DeliveryStatus) map[string]testsupport.Delivery {
		t.Helper()
		before := received(w.srv)
		res := w.run(flags...)
		if res.code != code {
			t.Errorf("%s: exit %d, want %d\n%s", name, res.code, code, res)
		}
		after := received(w.srv)
		var got []string
		for rcpt, n := range after {
			for range n - before[rcpt] {
				got = append(got, rcpt)
			}
		}
		slices.Sort(got)
		slices.Sort(newMsgs)
		if !slices.Equal(got, newMsgs) {
			t.Errorf("%s: the server got new messages for %v, want %v", name, got, newMsgs)
		}
		ds := w.deliveries()
		for rcpt, st := range want {
			if ds[rcpt].Status != st {
				t.Errorf("%s: %s is %q in the ledger, want %q", name, rcpt, ds[rcpt].Status, st)
			}
		}
		if len(ds) != len(want) {
			t.Errorf("%s: %d ledger rows, want %d", name, len(ds), len(want))
		}
		return ds
	}

	first := step("first run", nil, ExitTempFail, []string{sent, unk}, map[string]report.DeliveryStatus{
		sent: report.DeliverySent, temp: report.DeliveryFailedTemporary, unk: report.DeliveryUnknown, perm: report.DeliveryFailedPermanent})
	b.set(temp, smtptest.Accept)
	b.set(unk, smtptest.Accept)
	b.set(perm, smtptest.Accept)
	permTries := w.srv.RcptCount(perm)
	runs := func() int {
		l, _ := openLedger(t, w.url)
		rs, err := l.Runs(context.Background(), testReport, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}
	runsBefore := runs()

	// A dry run renders everything and sends and records nothing.
	res := w.run("--dry-run")
	if res.code != ExitOK || !strings.Contains(res.stdout, "dry run, 4 recipients, nothing sent or recorded") {
		t.Errorf("dry run:\n%s", res)
	}
	if len(w.srv.Messages()) != 2 {
		t.Errorf("the dry run sent %d messages", len(w.srv.Messages())-2)
	}
	if got := w.deliveries(); !maps.Equal(got, first) {
		t.Errorf("the dry run changed the ledger:\nbefore %v\nafter  %v", first, got)
	}

	// A test copy goes to its one address, and the ledger does not know it.
	before := len(w.srv.Messages())
	res = w.run("--to", test)
	if res.code != ExitOK {
		t.Errorf("--to:\n%s", res)
	}
	msgs := w.srv.Messages()
	if len(msgs) != before+1 || !slices.Equal(msgs[len(msgs)-1].To, []string{test}) {
		t.Errorf("--to %s: the server got %d messages, last to %v", test, len(msgs)-before, msgs[len(msgs)-1].To)
	}
	if got := w.deliveries(); !maps.Equal(got, first) {
		t.Errorf("--to changed the ledger:\nbefore %v\nafter  %v", first, got)
	}

	if n := runs(); n != runsBefore {
		t.Errorf("the dry run and the test copy recorded %d runs", n-runsBefore)
	}

	// The rerun retries the temporary failure only; the unknown one is
	// reported and held, the permanent one reported and not tried.
	second := step("rerun", nil, ExitDataErr, []string{temp}, map[string]report.DeliveryStatus{
		sent: report.DeliverySent, temp: report.DeliverySent, unk: report.DeliveryUnknown, perm: report.DeliveryFailedPermanent})
	if w.srv.RcptCount(perm) != permTries {
		t.Errorf("the rerun tried %s again, which had failed for good", perm)
	}

	third := step("--resend-unknown", []string{"--resend-unknown"}, ExitDataErr, []string{unk}, map[string]report.DeliveryStatus{
		sent: report.DeliverySent, temp: report.DeliverySent, unk: report.DeliverySent, perm: report.DeliveryFailedPermanent})

	step("nothing left", nil, ExitDataErr, nil, map[string]report.DeliveryStatus{
		sent: report.DeliverySent, temp: report.DeliverySent, unk: report.DeliverySent, perm: report.DeliveryFailedPermanent})

	forced := step("--force", []string{"--force"}, ExitOK, []string{sent, temp, unk, perm}, map[string]report.DeliveryStatus{
		sent: report.DeliverySent, temp: report.DeliverySent, unk: report.DeliverySent, perm: report.DeliverySent})

	// One Message-ID per (report, period, recipient), whatever the run.
	for _, rcpt := range []string{sent, temp, unk, perm} {
		ids := []string{first[rcpt].MessageID, second[rcpt].MessageID, third[rcpt].MessageID, forced[rcpt].MessageID}
		if ids[0] == "" || slices.ContainsFunc(ids, func(s string) bool { return s != ids[0] }) {
			t.Errorf("%s: Message-IDs across runs %v", rcpt, ids)
		}
	}
}
