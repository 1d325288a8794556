package app

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/signedlink"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// canaries are the secrets a serve world plants in every secret setting.
var canaries = map[string]string{
	"database password": "CANARY-db-7f3a9c1e",
	"smtp password":     "CANARY-smtp-91c2d4",
	"http token":        "CANARY-token-5c1a7e3b9d",
	"link key":          "CANARY-linkkey-9e2f4a6c8b0d1e3f5a7c9e1b3d",
}

// serveWorld is `sameteam serve` on the golden data, with a weekly sales
// report whose start-up catch-up sends 2026-W47 (the last complete week
// when the suite runs in late November 2026, or the week of the system
// clock otherwise).
type serveWorld struct {
	*served
	dbURL string
	srv   *smtptest.Server
	vars  map[string]string
	cfg   string
}

type serveOptions struct {
	recipients []string
	smtp       smtptest.Options
	top        string // more top-level keys
	secrets    bool   // a database role with a password, SMTP AUTH, all four canaries
	jsonLogs   bool
	schedule   string // default "0 8 * * MON"
}

func newServeWorld(t *testing.T, o serveOptions) *serveWorld {
	t.Helper()
	w := &serveWorld{}
	w.dbURL = testdb.PostgresURL(t)
	if o.secrets {
		w.dbURL = roleURL(t, canaries["database password"])
	}
	importGolden(t, w.dbURL)
	if o.secrets {
		// The relay takes the planted password unless the test gave it
		// another one to refuse it with.
		o.smtp.Username = "reports"
		o.smtp.Password = cmpOr(o.smtp.Password, canaries["smtp password"])
	}
	w.srv = smtptest.Start(t, o.smtp)
	port := freePort(t)
	smtpKeys := smtpKeysFor(w.srv, "2s")
	if o.secrets {
		smtpKeys += "  auth: plain\n  username: reports\n  password: ${SAMETEAM_SMTP_PASSWORD}\n"
	}
	top := o.top + fmt.Sprintf("server: {public_url: \"http://127.0.0.1:%d\", token: \"${SAMETEAM_HTTP_TOKEN}\", link_key: \"${SAMETEAM_LINK_KEY}\"}\n", port)
	w.cfg = writeConfig(t, reportsConfig(smtpKeys, top, weeklyAt(cmpOr(o.schedule, "0 8 * * MON"), o.recipients)))
	w.vars = map[string]string{
		"SAMETEAM_DATABASE_URL":  w.dbURL,
		"SAMETEAM_SMTP_PASSWORD": canaries["smtp password"],
		"SAMETEAM_HTTP_TOKEN":    canaries["http token"],
		"SAMETEAM_LINK_KEY":      canaries["link key"],
	}
	var extra []string
	if o.jsonLogs {
		extra = []string{"--log-format", "json"}
	}
	w.served = startServe(t, port, w.cfg, w.vars, extra...)
	return w
}

// waitRuns waits until serve has logged n finished runs.
func (w *serveWorld) waitRuns(n int) {
	w.t.Helper()
	for deadline := testsupport.Deadline(w.t); strings.Count(w.stderr.String(), "run finished") < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.t.Fatalf("serve did not finish %d runs:\n%s", n, w.stderr.String())
		}
	}
}

// bearer is the Authorization header with the token.
func bearer() []string { return []string{"Authorization", "Bearer " + canaries["http token"]} }

// noCanary fails when text holds any planted secret.
func noCanary(t *testing.T, where, text string) {
	t.Helper()
	for what, s := range canaries {
		if strings.Contains(text, s) {
			t.Errorf("the %s is in %s", what, where)
		}
	}
}

// X1 for serve: every secret planted (database password, SMTP password,
// HTTP token, link key), failures forced (the relay refuses the password
// on the catch-up run; a source that goes away under /readyz and a
// download; every refusal of the HTTP side), and none of them in the logs,
// /metrics, any HTTP response, or the messages sent.
func TestReliability_Security_SecretsInServe(t *testing.T) {
	t.Parallel()
	for _, jsonLogs := range []bool{false, true} {
		t.Run(fmt.Sprintf("json logs %v", jsonLogs), func(t *testing.T) {
			t.Parallel()
			// The relay wants another password: every send fails with 535.
			w := newServeWorld(t, serveOptions{recipients: []string{"a@example.com"}, secrets: true, jsonLogs: jsonLogs,
				smtp: smtptest.Options{Password: "the-right-one"}})
			w.waitRuns(1)
			if w.srv.AuthFailures() == 0 {
				t.Fatalf("the relay saw no refused AUTH:\n%s", w.stderr.String())
			}
			var bodies []string
			for _, req := range []struct {
				path string
				hdr  []string
			}{
				{"/metrics", nil},
				{"/", nil},
				{"/", []string{"Authorization", "Bearer wrong"}},
				{"/?token=" + canaries["http token"], nil},
				{"/", bearer()},
				{"/reports/weekly-sales/2026-W47.json", bearer()},
				{"/reports/weekly-sales/2026-W47.xlsx?expires=1&sig=x", nil},
				{"/reports/nope/2026-W47.xlsx", bearer()},
				{"/readyz", nil},
			} {
				// The request (which carries the token in one case) is not
				// part of what is checked: only what came back.
				code, hdr, body := w.get(req.path, req.hdr...)
				bodies = append(bodies, fmt.Sprintf("%d %v\n%s", code, hdr, body))
			}
			// The source goes away: readiness and downloads fail, and say so
			// without the URL.
			mustExec(t, adminDB(t, testdb.PostgresURL(t)), fmt.Sprintf(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '%s'`, roleOf(t, w.dbURL)))
			mustExec(t, adminDB(t, testdb.PostgresURL(t)), fmt.Sprintf(`ALTER ROLE %s NOLOGIN`, roleOf(t, w.dbURL)))
			for _, path := range []string{"/readyz", "/reports/weekly-sales/2026-W46.json"} {
				code, hdr, body := w.get(path, bearer()...)
				if code < 500 {
					t.Errorf("%s with the database gone: %d", path, code)
				}
				bodies = append(bodies, fmt.Sprintf("%s %d %v\n%s", path, code, hdr, body))
			}
			mustExec(t, adminDB(t, testdb.PostgresURL(t)), fmt.Sprintf(`ALTER ROLE %s LOGIN`, roleOf(t, w.dbURL)))
			if err := w.stop(); err != nil {
				t.Errorf("serve stopped with %v", err)
			}
			noCanary(t, "HTTP responses", strings.Join(bodies, "\n"))
			noCanary(t, "serve's log", w.stderr.String()+w.stdout.String())
			var mail strings.Builder
			for _, m := range w.srv.Messages() {
				mail.Write(m.Data)
			}
			noCanary(t, "the messages sent", mail.String())
			if !strings.Contains(w.stderr.String(), "authentication") {
				t.Errorf("the log does not say the relay refused the password:\n%s", w.stderr.String())
			}
			if t.Failed() {
				t.Logf("log:\n%s\nresponses:\n%s", w.stderr.String(), strings.Join(bodies, "\n"))
			}
		})
	}
}

// roleOf is the user of a database URL.
func roleOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.User.Username()
}

// linkRE finds the download link in a digest's HTML.
var linkRE = regexp.MustCompile(`href="(http://127\.0\.0\.1:\d+/reports/[^"]+\.xlsx\?[^"]+)"`)

// E6 and X2: a workbook over max_attachment_mb goes out once per
// recipient as a signed, expiring link, never attached, and every link in
// the inbox downloads the workbook from serve, as an attachment with the
// safe headers. The same link tampered with, expired, pointed at another
// period, or too long-lived is refused; the token is required otherwise,
// and a token in the query string is not a credential.
func TestReliability_Security_LinksInTheInboxDownload(t *testing.T) {
	t.Parallel()
	rcpts := []string{"a@example.com", "b@example.com"}
	w := newServeWorld(t, serveOptions{recipients: rcpts, top: "max_attachment_mb: 0.001\n"})
	w.waitRuns(1)
	msgs := w.srv.Messages()
	if len(msgs) != len(rcpts) {
		t.Fatalf("%d messages, want one per recipient\n%s", len(msgs), w.stderr.String())
	}
	var link *url.URL
	for _, m := range msgs {
		p := parseMessage(t, m.Data)
		if strings.Contains(p.structure, "spreadsheetml") {
			t.Errorf("the workbook is attached: %s", p.structure)
		}
		htm := p.leaf("text/html")
		if htm == nil {
			t.Fatal("no html part")
		}
		found := linkRE.FindStringSubmatch(string(htm.body))
		if found == nil {
			t.Fatalf("no link in the message")
		}
		u, err := url.Parse(html.UnescapeString(found[1]))
		if err != nil {
			t.Fatal(err)
		}
		code, hdr, body := w.get(u.RequestURI())
		if code != http.StatusOK || !strings.HasPrefix(body, "PK") {
			t.Errorf("GET %s: %d %q", u.RequestURI(), code, body[:min(len(body), 80)])
		}
		for k, want := range map[string]string{
			"Content-Type":           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
			"Content-Disposition":    `attachment; filename="weekly-sales-` + strings.TrimSuffix(strings.TrimPrefix(u.Path, "/reports/weekly-sales/"), ".xlsx") + `.xlsx"`,
			"X-Content-Type-Options": "nosniff",
			"Cache-Control":          "no-store",
			"Referrer-Policy":        "no-referrer",
		} {
			if hdr.Get(k) != want {
				t.Errorf("%s: %q, want %q", k, hdr.Get(k), want)
			}
		}
		link = u
	}

	linkKey := []byte(canaries["link key"])
	other := func(path string, exp time.Time) string {
		s, err := signedlink.Sign(linkKey, path, exp)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	q := link.Query()
	tampered := url.Values{"expires": {fmt.Sprint(time.Now().Add(time.Hour).Unix())}, "sig": q["sig"]}
	for _, tc := range []struct {
		name, path string
		hdr        []string
		want       int
	}{
		{"no credentials", "/reports/weekly-sales/2026-W47.xlsx", nil, http.StatusUnauthorized},
		{"wrong token", "/reports/weekly-sales/2026-W47.xlsx", []string{"Authorization", "Bearer nope"}, http.StatusUnauthorized},
		{"token in the query", "/reports/weekly-sales/2026-W47.xlsx?token=" + canaries["http token"], nil, http.StatusUnauthorized},
		{"tampered expiry", link.Path + "?" + tampered.Encode(), nil, http.StatusForbidden},
		{"link moved to another period", "/reports/weekly-sales/2026-W46.xlsx?" + link.RawQuery, nil, http.StatusForbidden},
		{"link moved to the json", strings.TrimSuffix(link.Path, ".xlsx") + ".json?" + link.RawQuery, nil, http.StatusForbidden},
		{"expired", other(link.Path, time.Now().Add(-time.Second)), nil, http.StatusForbidden},
		{"longer than seven days", other(link.Path, time.Now().Add(8*24*time.Hour)), nil, http.StatusForbidden},
		{"the token", link.Path, bearer(), http.StatusOK},
	} {
		if code, _, body := w.get(tc.path, tc.hdr...); code != tc.want {
			t.Errorf("%s: %d, want %d (%q)", tc.name, code, tc.want, body[:min(len(body), 80)])
		}
	}
	checkInvariants(t, w.dbURL, w.srv, map[key][]string{{testReport, periodOfLink(link)}: rcpts})
}

func periodOfLink(u *url.URL) string {
	return strings.TrimSuffix(strings.TrimPrefix(u.Path, "/reports/weekly-sales/"), ".xlsx")
}

// X3: path traversal and odd names, with and without the token: every
// probe is a 404 (malformed paths before authentication), or, without the
// token, the same 401 an existing report's download gets: no answer tells
// what exists. The server goes on.
func TestReliability_Security_PathTraversal(t *testing.T) {
	t.Parallel()
	w := newServeWorld(t, serveOptions{recipients: []string{"a@example.com"}})
	for _, p := range []string{
		"/reports/../../etc/passwd", "/reports/%2e%2e/%2e%2e/etc/passwd", "/reports/%252e%252e%252fetc/passwd",
		`/reports/..\..\etc\passwd`, "/etc/passwd", "/reports/weekly-sales/2026-W47%00.xlsx",
		"/reports/weekly-sales/" + strings.Repeat("A", 10000) + ".xlsx", "/reports/％２ｅ％２ｅ/passwd",
		"/reports/evil/passwd", "/reports/weekly-sales/2026-W47.xlsx/", "//reports/weekly-sales/2026-W47.xlsx",
		"/reports/weekly-sales/./2026-W47.xlsx", "/reports/Weekly-Sales/2026-W47.xlsx",
	} {
		for _, hdr := range [][]string{nil, bearer()} {
			req, err := http.NewRequest(http.MethodGet, w.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = p // sent as written, not cleaned
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest && (hdr != nil || resp.StatusCode != http.StatusUnauthorized) {
				t.Errorf("%.60s (token %v): %d %q", p, hdr != nil, resp.StatusCode, body[:min(len(body), 60)])
			}
			if strings.Contains(string(body), "root:") {
				t.Errorf("%.60s: a file's content came back", p)
			}
		}
	}
	if code, _, _ := w.get("/reports/weekly-sales/2026-W47.xlsx"); code != http.StatusUnauthorized {
		t.Errorf("an existing report without the token: %d, want the probes' 401", code)
	}
	if code, _, _ := w.get("/healthz"); code != http.StatusOK {
		t.Errorf("healthz after the probes: %d", code)
	}
}

// Beyond the plan: periods a download can name that no report has:
// the far future, the far past (year 0001, whose trend reaches before year
// 1), and labels of another kind. Each is a 404 or a rendered report,
// never a 500, a panic or a hang, and serve keeps serving.
func TestReliability_Security_OddPeriodsInDownloads(t *testing.T) {
	t.Parallel()
	w := newServeWorld(t, serveOptions{recipients: []string{"a@example.com"}})
	for _, label := range []string{"9999-W52", "9999-12", "2100-W01", "0001-W01", "0001-01-01", "0001-W52", "0000-W01", "1969-W52", "2026-11-23", "2026-11", "2026-Q4", "2026-W53", "2020-W53"} {
		for _, ext := range []string{"xlsx", "json", "html"} {
			done := make(chan struct{})
			var code int
			var body string
			go func() {
				defer close(done)
				code, _, body = w.get("/reports/weekly-sales/"+label+"."+ext, bearer()...)
			}()
			select {
			case <-done:
			case <-testsupport.After(t):
				t.Fatalf("%s.%s: no answer before the test's deadline", label, ext)
			}
			if code != http.StatusOK && code != http.StatusNotFound {
				t.Errorf("%s.%s: %d %q", label, ext, code, body[:min(len(body), 100)])
			}
		}
	}
	if code, _, _ := w.get("/healthz"); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
	if strings.Contains(w.stderr.String(), "panic") {
		t.Errorf("a panic in the log:\n%s", w.stderr.String())
	}
}

// X4: resource exhaustion on serve's HTTP side: a 1 MB Authorization
// header is refused (431) without disturbing anyone; more concurrent
// renders than allowed get 429 with Retry-After while /healthz and
// /metrics keep answering.
func TestReliability_Security_HTTPExhaustion(t *testing.T) {
	t.Parallel()
	w := newServeWorld(t, serveOptions{recipients: []string{"a@example.com"}})
	code, _, _ := w.get("/", "Authorization", "Bearer "+strings.Repeat("x", 1<<20))
	if code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("1 MB Authorization header: %d, want 431", code)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	retryAfter := true
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, w.url+"/reports/weekly-sales/2026-W40.xlsx", nil)
			req.Header.Set("Authorization", "Bearer "+canaries["http token"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				retryAfter = false
			}
			mu.Unlock()
		})
	}
	for range 5 {
		if code, _, _ := w.get("/healthz"); code != http.StatusOK {
			t.Errorf("healthz during the renders: %d", code)
		}
	}
	wg.Wait()
	if codes[http.StatusOK] == 0 || codes[http.StatusOK]+codes[http.StatusTooManyRequests] != 20 || !retryAfter {
		t.Errorf("20 concurrent renders: %v (Retry-After on every 429: %v)", codes, retryAfter)
	}
}

// X5 (what can run here): a run leaves nothing behind in the temporary
// directory (excelize's stream writer spills there) and writes nothing to
// the working directory, so a read-only root with an emptyDir /tmp works.
func TestReliability_Security_NoFilesLeftBehind(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadDir(wd)
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"a@example.com"}})
	if res := w.run(); res.code != ExitOK {
		t.Fatalf("%s", res)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("%d files left in TMPDIR: %v", len(ents), ents)
	}
	if after, _ := os.ReadDir(wd); len(after) != len(before) {
		t.Errorf("the run wrote to the working directory: %d entries, had %d", len(after), len(before))
	}
}

// X6: recipients outside allowed_domains. A configured address outside the
// allowed domains is a configuration error (exit 78, the address named,
// nothing sent); a team member whose CRM email is outside them is refused at
// run time (TestReliability_Input_BadAddresses). The allowed ones are sent.
func TestReliability_Security_RecipientAllowlist(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: []string{"boss@example.com", "exfil@gmail.example"},
		topYAML: "allowed_domains: [example.com]\n"})
	res := w.run()
	if res.code != ExitConfig || !strings.Contains(res.stderr, "exfil@gmail.example") || len(w.srv.Messages()) != 0 {
		t.Errorf("want exit 78 naming the refused address, nothing sent\n%s", res)
	}
	w = newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: []string{"boss@example.com"},
		topYAML: "allowed_domains: [example.com]\n"})
	if res := w.run(); res.code != ExitOK {
		t.Fatalf("run: %s", res)
	}
	if got := received(w.srv); got["boss@example.com"] != 1 {
		t.Errorf("messages: %v", got)
	}
	for _, m := range w.srv.Messages() {
		for _, href := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(m.Data), -1) {
			if u, err := url.Parse(href[1]); err == nil && u.Host != "" && !strings.HasSuffix(u.Host, "example.com") {
				t.Errorf("the digest references an outside resource: %s", href[1])
			}
		}
	}
}
