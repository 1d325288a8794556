package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/testdb"
)

// A test copy goes only inside allowed_domains: a typo in --to must not send
// the leadership report outside the company. A test copy inside them is
// sent, logged (recipient hashed, marked as a test copy) and recorded
// nowhere in the ledger.
func TestReliability_Security_TestCopyAllowlist(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"ana@example.com"}, topYAML: "allowed_domains: [example.com]\n"})
	res := w.run("--to", "ceo@examp1e.com")
	if res.code != ExitUsage || !strings.Contains(res.stderr, "examp1e.com") {
		t.Fatalf("--to outside allowed_domains: %s", res)
	}
	if n := len(w.srv.Messages()); n != 0 {
		t.Fatalf("%d messages sent", n)
	}
	res = w.run("--to", "me@example.com", "--log-format", "json")
	if res.code != ExitOK {
		t.Fatalf("--to inside allowed_domains: %s", res)
	}
	if n := len(w.srv.Messages()); n != 1 {
		t.Fatalf("%d messages, want the test copy", n)
	}
	var logged bool
	for _, line := range strings.Split(res.stderr, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "delivery" {
			continue
		}
		logged = rec["test_copy"] == true && rec["recipient_hash"] != nil
		if strings.Contains(line, "me@example.com") {
			t.Errorf("the log names the address: %s", line)
		}
	}
	if !logged {
		t.Errorf("no delivery line for the test copy:\n%s", res.stderr)
	}
	if runs, ds := ledgerState(t, w.url); len(runs) != 0 || len(ds) != 0 {
		t.Errorf("a test copy was recorded: %v %v", runs, ds)
	}
}

// A period that has not ended at as_of is refused by run (exit 64): sent
// and recorded, it would be all zeros now and skipped as already sent when
// it is really due. --partial sends a preview and records nothing, so the
// complete period still goes out; metrics shows a partial period and says
// so.
func TestReliability_Scheduling_IncompletePeriod(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"ana@example.com"}})
	early := []string{"run", "--config", w.cfg, "--report", testReport, "--period", testPeriod, "--as-of", "2026-11-20T12:00:00Z"}
	res := cli(t, w.vars, early...)
	if res.code != ExitUsage || !strings.Contains(res.stderr, "2026-W47 ends on 2026-11-23 00:00 Europe/Madrid; as of 2026-11-20T12:00Z it is not complete") {
		t.Fatalf("incomplete period: %s", res)
	}
	if n := len(w.srv.Messages()); n != 0 {
		t.Fatalf("%d messages sent for an incomplete period", n)
	}
	if res := cli(t, w.vars, append(early, "--partial")...); res.code != ExitOK {
		t.Fatalf("--partial: %s", res)
	}
	if runs, ds := ledgerState(t, w.url); len(runs) != 0 || len(ds) != 0 {
		t.Errorf("a partial period was recorded: %v %v", runs, ds)
	}
	// Once the week is over, it goes out as usual.
	if res := w.run(); res.code != ExitOK {
		t.Fatalf("the complete period: %s", res)
	}
	if got := received(w.srv)["ana@example.com"]; got != 2 {
		t.Errorf("ana received %d messages, want the preview and the digest", got)
	}
	if runs, ds := ledgerState(t, w.url); len(runs) != 1 || ds["ana@example.com"].Status != "sent" {
		t.Errorf("ledger after the complete period: %v %v", runs, ds)
	}

	m := cli(t, w.vars, "metrics", "--config", w.cfg, "--period", testPeriod, "--time-zone", "Europe/Madrid", "--as-of", "2026-11-20T12:00:00Z")
	if m.code != ExitOK || !strings.Contains(m.stdout, "partial: 2026-W47 ends on 2026-11-23 00:00 Europe/Madrid") {
		t.Errorf("metrics of a partial period: %s", m)
	}
	j := cli(t, w.vars, "metrics", "--config", w.cfg, "--format", "json", "--period", testPeriod, "--time-zone", "Europe/Madrid", "--as-of", "2026-11-20T12:00:00Z")
	if !strings.Contains(j.stdout, `"partial": true`) {
		t.Errorf("metrics JSON of a partial period does not say so: %s", j.stdout[:200])
	}
}
