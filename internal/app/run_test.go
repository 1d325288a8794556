package app

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
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
		want    map[string]ledger.Status
		code    int
		says    []string
	}{
		{"accepted", "sqlite", map[string]smtptest.Action{ok: smtptest.Accept},
			map[string]ledger.Status{ok: ledger.StatusSent}, ExitOK, []string{"1 sent"}},
		{"421 at rcpt", "postgres", map[string]smtptest.Action{ok: smtptest.Accept, r421: smtptest.Reply421},
			map[string]ledger.Status{ok: ledger.StatusSent, r421: ledger.StatusFailedTemporary}, ExitTempFail, []string{"failed_temporary  " + r421, "421"}},
		{"451 at rcpt", "sqlite", map[string]smtptest.Action{ok: smtptest.Accept, r451: smtptest.Reply451},
			map[string]ledger.Status{ok: ledger.StatusSent, r451: ledger.StatusFailedTemporary}, ExitTempFail, []string{"failed_temporary  " + r451, "451"}},
		{"550 at rcpt", "postgres", map[string]smtptest.Action{ok: smtptest.Accept, r550: smtptest.Reply550},
			map[string]ledger.Status{ok: ledger.StatusSent, r550: ledger.StatusFailedPermanent}, ExitDataErr, []string{"failed_permanent  " + r550, "550"}},
		{"stalls past the timeout", "sqlite", map[string]smtptest.Action{ok: smtptest.Accept, stall: smtptest.Stall},
			map[string]ledger.Status{ok: ledger.StatusSent, stall: ledger.StatusFailedTemporary}, ExitTempFail, []string{"failed_temporary  " + stall}},
		{"dropped after data", "postgres", map[string]smtptest.Action{ok: smtptest.Accept, drop: smtptest.DropAfterData},
			map[string]ledger.Status{ok: ledger.StatusSent, drop: ledger.StatusUnknown}, ExitDataErr,
			[]string{"unknown  " + drop, "check the mailbox", "--resend-unknown"}},
		{"permanent and temporary: temporary wins", "sqlite", map[string]smtptest.Action{r550: smtptest.Reply550, r451: smtptest.Reply451},
			map[string]ledger.Status{r550: ledger.StatusFailedPermanent, r451: ledger.StatusFailedTemporary}, ExitTempFail, nil},
		{"permanent and unknown", "postgres", map[string]smtptest.Action{ok: smtptest.Accept, r550: smtptest.Reply550, drop: smtptest.DropAfterData},
			map[string]ledger.Status{ok: ledger.StatusSent, r550: ledger.StatusFailedPermanent, drop: ledger.StatusUnknown}, ExitDataErr, nil},
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
				case want == ledger.StatusSent && d.Response == "":
					t.Errorf("%s: sent without the server's reply in the ledger", rcpt)
				case want != ledger.StatusSent && d.LastError == "":
					t.Errorf("%s: %s without an error in the ledger", rcpt, want)
				}
			}
			// Only accepted messages (and the one the server kept before
			// dropping the connection) reached the server.
			got2 := received(w.srv)
			for rcpt, want := range tc.want {
				n := 0
				if want == ledger.StatusSent || want == ledger.StatusUnknown {
					n = 1
				}
				if got2[rcpt] != n {
					t.Errorf("%s: the server has %d messages, want %d", rcpt, got2[rcpt], n)
				}
			}
		})
	}
}
