package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

const (
	unsubscribeBase = "https://reports.example.com"
	unsubscribeKey  = "k3y-for-unsubscribe-links-0123456789abcdef"
)

// unsubscribeHeaders reads the List-Unsubscribe headers of the messages
// the server took for period, by envelope recipient, with net/mail.
func unsubscribeHeaders(t *testing.T, srv *smtptest.Server, period string) map[string]mail.Header {
	t.Helper()
	out := map[string]mail.Header{}
	for _, m := range srv.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("net/mail cannot read a message: %v", err)
		}
		if msg.Header.Get("X-Sameteam-Period") != period {
			continue
		}
		for _, to := range m.To {
			out[to] = msg.Header
		}
	}
	return out
}

// pythonHeaders parses each raw message with Python's email package
// (policy default, RFC 5322 strict enough to list defects) and returns,
// per file, the headers it read and the defects it found.
func pythonHeaders(t *testing.T, files []string) map[string]map[string]any {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is not installed: the headers must be checked by a parser other than Go's")
		}
		t.Logf("python3 is not installed: the headers are checked by net/mail only")
		return nil
	}
	const script = `
import email, email.policy, json, sys
out = {}
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    defects = [type(d).__name__ for d in msg.defects]
    heads = {}
    for name in ('List-Unsubscribe', 'List-Unsubscribe-Post', 'List-Id', 'To'):
        values = msg.get_all(name) or []
        heads[name] = [str(v) for v in values]
        for v in values:
            defects += [name + ': ' + type(d).__name__ for d in getattr(v, 'defects', [])]
    longest = max(len(line) for line in raw.split(b'\r\n'))
    out[path] = {'headers': heads, 'defects': defects, 'longest_line': longest}
json.dump(out, sys.stdout)
`
	out, err := exec.Command("python3", append([]string{"-c", script}, files...)...).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python3 printed %q: %v", out, err)
	}
	return got
}

// oneClick posts what a mail provider's one-click unsubscribe posts (RFC
// 8058): the form body, no cookie, no credential.
func oneClick(t *testing.T, link string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, link, strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The whole round: every digest carries a per-recipient List-Unsubscribe
// with RFC 8058 one-click (read back by net/mail and by Python's email
// parser); a one-click POST to serve records the opt-out, a tampered link
// is refused and records nothing; the next run skips that recipient as
// unsubscribed and sends the rest; `recipients` lists the opt-out, and
// `recipients --restore` brings the recipient back.
func TestUnsubscribeRoundTrip(t *testing.T) {
	t.Parallel()
	url0 := testdb.SQLiteURL(t)
	top := "server: {public_url: \"" + unsubscribeBase + "\", link_key: \"${SAMETEAM_LINK_KEY}\"}\n"
	w := newWorld(t, url0, worldOptions{recipients: []string{"rep1@example.com", "ana@example.com", "bob@example.com"}, topYAML: top})
	w.vars["SAMETEAM_LINK_KEY"] = unsubscribeKey
	if r := w.run(); r.code != ExitOK {
		t.Fatalf("first run: %s", r)
	}

	heads := unsubscribeHeaders(t, w.srv, testPeriod)
	links := map[string]string{}
	for _, rcpt := range []string{"rep1@example.com", "ana@example.com", "bob@example.com"} {
		h := heads[rcpt]
		if h == nil {
			t.Fatalf("no message for %s", rcpt)
		}
		lu := h.Get("List-Unsubscribe")
		if !strings.HasPrefix(lu, "<"+unsubscribeBase+"/unsubscribe/"+testReport+"/en/") || !strings.HasSuffix(lu, ">") || !strings.Contains(lu, "?sig=") {
			t.Fatalf("%s: List-Unsubscribe %q", rcpt, lu)
		}
		if got := h.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
			t.Errorf("%s: List-Unsubscribe-Post %q", rcpt, got)
		}
		if strings.Contains(lu, rcpt) {
			t.Errorf("%s: the address reads in clear in the link %q", rcpt, lu)
		}
		links[rcpt] = strings.Trim(lu, "<>")
	}
	if links["ana@example.com"] == links["bob@example.com"] {
		t.Fatal("two recipients share an unsubscribe link")
	}

	// A second parser: Python's email package reads the same headers, with
	// no defect, and no line is over RFC 5322's 998 characters.
	dir := t.TempDir()
	var files []string
	for i, m := range w.srv.Messages() {
		p := filepath.Join(dir, "m"+string(rune('a'+i))+".eml")
		if err := os.WriteFile(p, m.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for path, got := range pythonHeaders(t, files) {
		if d := got["defects"].([]any); len(d) > 0 {
			t.Errorf("%s: Python finds defects %v", path, d)
		}
		h := got["headers"].(map[string]any)
		lu, post := h["List-Unsubscribe"].([]any), h["List-Unsubscribe-Post"].([]any)
		if len(lu) != 1 || len(post) != 1 || post[0] != "List-Unsubscribe=One-Click" {
			t.Errorf("%s: Python reads List-Unsubscribe %v, List-Unsubscribe-Post %v", path, lu, post)
		} else if !regexp.MustCompile(`^<https://reports\.example\.com/unsubscribe/weekly-sales/en/[A-Za-z0-9_-]+\?sig=[A-Za-z0-9_-]+>$`).MatchString(lu[0].(string)) {
			t.Errorf("%s: Python reads List-Unsubscribe %q", path, lu[0])
		}
		if n := got["longest_line"].(float64); n > 998 {
			t.Errorf("%s: a line of %v characters", path, n)
		}
	}

	if r := cli(t, w.vars, "check", "--config", w.cfg); !strings.Contains(r.stdout, "unsubscribe: List-Unsubscribe with one-click at "+unsubscribeBase+"/unsubscribe/") {
		t.Errorf("check does not say where the links go:\n%s", r)
	}

	// serve behind the public URL (an ingress terminating TLS would map
	// https://reports.example.com to it).
	port := freePort(t)
	s := startServe(t, port, w.cfg, w.vars)
	local := func(link string) string { return strings.Replace(link, unsubscribeBase, s.url, 1) }

	// Tampered: ana's signature on bob's address, and a flipped signature.
	ana, bob := links["ana@example.com"], links["bob@example.com"]
	au, _ := url.Parse(ana)
	bu, _ := url.Parse(bob)
	tampered := []string{
		bu.Path + "?" + au.RawQuery,
		au.Path + "?sig=" + strings.Map(func(r rune) rune {
			if r == 'A' {
				return 'B'
			}
			return 'A'
		}, au.Query().Get("sig")),
	}
	for _, p := range tampered {
		if code, body := oneClick(t, s.url+p); code != http.StatusForbidden {
			t.Errorf("tampered link %s: %d %q", p, code, body)
		}
	}
	l, _ := openLedger(t, url0)
	if outs, err := l.OptOuts(t.Context(), ""); err != nil || len(outs) != 0 {
		t.Fatalf("opt-outs after tampered links: %+v, %v", outs, err)
	}
	if code, body := oneClick(t, local(ana)); code != http.StatusOK || !strings.Contains(body, "ana@example.com will no longer receive the report weekly-sales") {
		t.Fatalf("one-click: %d\n%s", code, body)
	}
	outs, err := l.OptOuts(t.Context(), testReport)
	if err != nil || len(outs) != 1 || outs[0].Recipient != "ana@example.com" {
		t.Fatalf("opt-outs after the one-click: %+v, %v", outs, err)
	}
	if err := s.stop(); err != nil {
		t.Errorf("serve: %v", err)
	}

	// The next week: ana is skipped as unsubscribed, the rest get it.
	next := func() result {
		return cli(t, w.vars, "run", "--config", w.cfg, "--report", testReport, "--period", "2026-W48", "--as-of", "2026-11-30T07:00:00Z")
	}
	r := next()
	if r.code != ExitOK || !strings.Contains(r.stdout, "2 sent, 1 skipped") {
		t.Fatalf("the week after the opt-out: %s", r)
	}
	rows := map[string]testsupport.Delivery{}
	_, d := openLedger(t, url0)
	for _, dl := range testsupport.Deliveries(t, d, testReport, "2026-W48") {
		rows[dl.Recipient] = dl
	}
	if a := rows["ana@example.com"]; a.Status != report.DeliverySkipped || a.LastError != string(report.SkipUnsubscribed) {
		t.Errorf("ana's W48 delivery: %+v, want skipped, unsubscribed", a)
	}
	if w48 := unsubscribeHeaders(t, w.srv, "2026-W48"); w48["ana@example.com"] != nil || w48["bob@example.com"] == nil || w48["rep1@example.com"] == nil {
		t.Errorf("W48 went to %v, want bob and rep1 only", keys(w48))
	}

	list := cli(t, w.vars, "recipients", "--config", w.cfg, "--report", testReport)
	if list.code != ExitOK || !strings.Contains(list.stdout, "weekly-sales: 3 recipients, 1 unsubscribed") ||
		!regexp.MustCompile(`ana@example\.com\s+-\s+en\s+unsubscribed 20\d\d-\d\d-\d\dT`).MatchString(list.stdout) ||
		!regexp.MustCompile(`rep1@example\.com\s+Carlos Pérez\s+en\s+receives`).MatchString(list.stdout) {
		t.Errorf("recipients:\n%s", list)
	}
	for _, bad := range []struct {
		args []string
		code int
	}{
		{[]string{"--restore", "ana@example.com"}, ExitUsage},                                  // no --report
		{[]string{"--report", testReport, "--restore", "bob@example.com"}, ExitUsage},          // no opt-out
		{[]string{"--report", testReport, "--restore", "not an address"}, ExitUsage},           // not an address
		{[]string{"--report", "no-such-report", "--restore", "ana@example.com"}, ExitUsage},    // unknown report
		{[]string{"--config", filepath.Join(dir, "missing.yaml"), "--report", testReport}, 78}, // no config
	} {
		args := append([]string{"recipients"}, bad.args...)
		if !strings.Contains(strings.Join(bad.args, " "), "--config") {
			args = append(args, "--config", w.cfg)
		}
		if r := cli(t, w.vars, args...); r.code != bad.code {
			t.Errorf("%v: exit %d, want %d\n%s", bad.args, r.code, bad.code, r)
		}
	}
	if outs, _ := l.OptOuts(t.Context(), ""); len(outs) != 1 {
		t.Errorf("refused restores changed the opt-outs: %+v", outs)
	}

	restore := cli(t, w.vars, "recipients", "--config", w.cfg, "--report", testReport, "--restore", "Ana@Example.com")
	if restore.code != ExitOK || !strings.Contains(restore.stdout, "ana@example.com restored") {
		t.Fatalf("restore: %s", restore)
	}
	// Back on the list, and the rerun of the week sends ana her copy, and
	// only hers.
	r = next()
	if r.code != ExitOK || !strings.Contains(r.stdout, "1 sent, 2 skipped") {
		t.Fatalf("the week's rerun after the restore: %s", r)
	}
	if n := received(w.srv)["ana@example.com"]; n != 2 {
		t.Errorf("ana has %d messages, want 2 (W47, and W48 after the restore)", n)
	}
	if n := received(w.srv)["bob@example.com"]; n != 2 {
		t.Errorf("bob has %d messages, want 2", n)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
