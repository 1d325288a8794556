package server_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/server"
	"github.com/sameteam/sameteam/internal/signedlink"
	"github.com/sameteam/sameteam/internal/telemetry"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const token = "s3cret-token-for-tests"

var linkKey = []byte("0123456789abcdef0123456789abcdef")

// FakeRenderer is a server.Renderer of …Fn fields.
type FakeRenderer struct {
	RenderFn func(ctx context.Context, report, label, format string, w io.Writer) error
}

var _ server.Renderer = (*FakeRenderer)(nil)

// Render calls RenderFn.
func (f *FakeRenderer) Render(ctx context.Context, report, label, format string, w io.Writer) error {
	return f.RenderFn(ctx, report, label, format, w)
}

// FakeLister is a server.ReportLister.
type FakeLister struct {
	ReportsFn func(ctx context.Context) ([]server.Report, error)
}

var _ server.ReportLister = (*FakeLister)(nil)

// Reports calls ReportsFn.
func (f *FakeLister) Reports(ctx context.Context) ([]server.Report, error) { return f.ReportsFn(ctx) }

// FakePinger is a server.Pinger.
type FakePinger struct {
	PingFn func(ctx context.Context) error
}

// PingContext calls PingFn.
func (f *FakePinger) PingContext(ctx context.Context) error { return f.PingFn(ctx) }

// bundle is what a test needs besides the server.
type bundle struct {
	now     time.Time
	mu      sync.Mutex
	renders []string // "report/label.format" per Render call
	pingErr error
	client  *http.Client
}

func (b *bundle) rendered() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.renders...)
}

func fakeReports() []server.Report {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	at := func(s string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", s, madrid)
		return t
	}
	return []server.Report{
		{
			Name: "weekly-leadership", Title: "Leadership, weekly", Schedule: "0 8 * * MON", Zone: "Europe/Madrid",
			NextRun: at("2026-11-30 08:00"), Latest: "2026-W47",
			Recent: []server.Run{
				{Period: "2026-W47", Status: report.RunSucceeded, Trigger: report.TriggerScheduled, StartedAt: at("2026-11-23 08:00"), Duration: 41 * time.Second},
				{Period: "2026-W46", Status: report.RunPartial, Trigger: report.TriggerScheduled, StartedAt: at("2026-11-16 08:00"), Duration: 38 * time.Second},
				{Period: "2026-W45", Status: report.RunFailed, Trigger: report.TriggerCatchUp, StartedAt: at("2026-11-09 09:12"), Duration: 3 * time.Second},
			},
		},
		{
			Name: "weekly-sales", Title: "Sales, weekly", Schedule: "0 8 * * MON", Zone: "Europe/Madrid",
			NextRun: at("2026-11-30 08:00"), Latest: "2026-W47",
			Recent: []server.Run{
				{Period: "2026-W47", Status: report.RunRunning, Trigger: report.TriggerManual, StartedAt: at("2026-11-24 10:31"), Duration: 12 * time.Second},
				{Period: "2026-W46", Status: report.RunSucceeded, Trigger: report.TriggerScheduled, StartedAt: at("2026-11-16 08:00"), Duration: 52 * time.Second},
			},
		},
		{
			Name: "monthly-marketing", Title: "Marketing, monthly <Q4 & \"push\">", Schedule: "0 9 1 * *", Zone: "Europe/Madrid",
			NextRun: at("2026-12-01 09:00"), Latest: "2026-10",
		},
	}
}

// setup starts a server on a loopback port with fakes behind it.
func setup(t *testing.T, mod func(*server.Options)) (*server.Server, *bundle) {
	t.Helper()
	b := &bundle{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	rec := telemetry.New(telemetry.Options{})
	rec.RunFinished("weekly-sales", report.RunSucceeded, time.Second)
	rec.Delivery("weekly-sales", report.DeliverySent)
	rec.QueryDuration("mql_facts", time.Millisecond)
	opts := server.Options{
		Listen:  "127.0.0.1:0",
		Token:   token,
		LinkKey: linkKey,
		Reports: &FakeLister{ReportsFn: func(context.Context) ([]server.Report, error) { return fakeReports(), nil }},
		Renderer: &FakeRenderer{RenderFn: func(_ context.Context, report, label, format string, w io.Writer) error {
			b.mu.Lock()
			b.renders = append(b.renders, report+"/"+label+"."+format)
			b.mu.Unlock()
			switch {
			case report == "boom":
				return errors.New("pq: password authentication failed for user \"reports\" at db.internal:5432")
			case !strings.HasPrefix(report, "weekly-"):
				return fmt.Errorf("render: %w", server.ErrUnknownReport)
			case label > "2026-W47" && strings.Contains(label, "W"):
				return fmt.Errorf("render: %w: %s has not ended", server.ErrBadPeriod, label)
			}
			_, err := fmt.Fprintf(w, "%s %s %s", report, label, format)
			return err
		}},
		Pinger:   &FakePinger{PingFn: func(context.Context) error { return b.pingErr }},
		Gatherer: rec.Gatherer(),
		Now:      func() time.Time { return b.now },
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	b.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, b
}

type response struct {
	code   int
	header http.Header
	body   string
}

func get(t *testing.T, b *bundle, u, auth string) response {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(body)}
}

// raw sends path exactly as written, over a plain TCP connection, so no
// client library cleans or escapes it first.
func raw(t *testing.T, addr, path, auth string) response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: reports.example.com\r\nConnection: close\r\n", path)
	if auth != "" {
		fmt.Fprintf(conn, "Authorization: %s\r\n", auth)
	}
	fmt.Fprint(conn, "\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(body)}
}

func sign(t *testing.T, path string, expires time.Time) string {
	t.Helper()
	s, err := signedlink.Sign(linkKey, path, expires)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatusCodes(t *testing.T) {
	t.Parallel()
	s, b := setup(t, nil)
	bearer := "Bearer " + token
	in := func(d time.Duration) time.Time { return b.now.Add(d) }
	const xlsx = "/reports/weekly-sales/2026-W47.xlsx"
	expiredLink := sign(t, xlsx, in(-time.Minute))
	goodLink := sign(t, xlsx, in(time.Hour))
	tamperedExpiry := strings.Replace(goodLink, fmt.Sprint(in(time.Hour).Unix()), fmt.Sprint(in(2*time.Hour).Unix()), 1)
	tests := []struct {
		name       string
		path, auth string
		want       int
		wantBody   string
		wantHeader map[string]string
	}{
		{name: "liveness needs no token", path: "/healthz", want: 200, wantBody: "ok"},
		{name: "readiness needs no token", path: "/readyz", want: 200},
		{name: "index without token", path: "/", want: 401, wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="sameteam"`}},
		{name: "index with a wrong token", path: "/", auth: "Bearer nope", want: 401},
		{name: "index with a basic scheme", path: "/", auth: "Basic " + token, want: 401},
		{name: "index with the token", path: "/", auth: bearer, want: 200, wantHeader: map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}},
		{name: "token scheme is case-insensitive", path: "/", auth: "bearer " + token, want: 200},
		{name: "workbook without token", path: xlsx, want: 401},
		{name: "workbook with a wrong token", path: xlsx, auth: "Bearer " + token + "x", want: 401},
		{name: "workbook with the token", path: xlsx, auth: bearer, want: 200, wantBody: "weekly-sales 2026-W47 xlsx", wantHeader: map[string]string{
			"Content-Type":           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
			"Content-Disposition":    `attachment; filename="weekly-sales-2026-W47.xlsx"`,
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
		}},
		{name: "html digest", path: "/reports/weekly-sales/2026-W47.html", auth: bearer, want: 200, wantBody: "weekly-sales 2026-W47 html", wantHeader: map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}},
		{name: "json snapshot", path: "/reports/weekly-sales/2026-11.json", auth: bearer, want: 200, wantBody: "weekly-sales 2026-11 json", wantHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "day and quarter labels", path: "/reports/weekly-sales/2026-Q3.json", auth: bearer, want: 200},
		{name: "unknown report", path: "/reports/quarterly-board/2026-W47.html", auth: bearer, want: 404},
		{name: "period the renderer refuses", path: "/reports/weekly-sales/2026-W50.html", auth: bearer, want: 404},
		{name: "week 54", path: "/reports/weekly-sales/2026-W54.html", auth: bearer, want: 404},
		{name: "month 13", path: "/reports/weekly-sales/2026-13.html", auth: bearer, want: 404},
		{name: "30 February", path: "/reports/weekly-sales/2026-02-30.html", auth: bearer, want: 404},
		{name: "unknown format", path: "/reports/weekly-sales/2026-W47.pdf", auth: bearer, want: 404},
		{name: "no format", path: "/reports/weekly-sales/2026-W47", auth: bearer, want: 404},
		{name: "double extension", path: "/reports/weekly-sales/2026-W47.html.xlsx", auth: bearer, want: 404},
		{name: "upper-case name", path: "/reports/Weekly-Sales/2026-W47.html", auth: bearer, want: 404},
		{name: "unknown path", path: "/admin", auth: bearer, want: 404},
		{name: "render failure hides its cause", path: "/reports/boom/2026-W47.html", auth: bearer, want: 500, wantBody: "the report could not be rendered; see the server log"},
		{name: "signed link", path: goodLink, want: 200, wantBody: "weekly-sales 2026-W47 xlsx"},
		{name: "signed link for another report", path: strings.Replace(goodLink, "weekly-sales", "weekly-marketing", 1), want: 403, wantBody: "invalid link"},
		{name: "signed link for another period", path: strings.Replace(goodLink, "W47", "W46", 1), want: 403},
		{name: "signed link for another format", path: strings.Replace(goodLink, ".xlsx", ".json", 1), want: 403},
		{name: "expired link", path: expiredLink, want: 403, wantBody: "this link has expired"},
		{name: "link with a pushed expiry", path: tamperedExpiry, want: 403, wantBody: "invalid link"},
		{name: "link without its signature", path: xlsx + "?expires=" + fmt.Sprint(in(time.Hour).Unix()), want: 403},
		{name: "link beyond seven days", path: sign(t, xlsx, in(8*24*time.Hour)), want: 403},
		{name: "good link, wrong token", path: goodLink, auth: "Bearer nope", want: 401},
		{name: "signed link to the index", path: sign(t, "/", in(time.Hour)), want: 200},
		{name: "index link used for a report", path: "/reports/weekly-sales/2026-W47.xlsx?" + strings.SplitN(sign(t, "/", in(time.Hour)), "?", 2)[1], want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := get(t, b, s.URL()+tt.path, tt.auth)
			if got.code != tt.want {
				t.Fatalf("GET %s = %d %q, want %d", tt.path, got.code, got.body, tt.want)
			}
			if tt.wantBody != "" && strings.TrimSpace(got.body) != tt.wantBody {
				t.Errorf("body = %q, want %q", got.body, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got.header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.header.Get(k), v)
				}
			}
			if got.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			if strings.Contains(got.body, "password") || strings.Contains(got.body, "db.internal") {
				t.Errorf("the response leaks an internal error: %q", got.body)
			}
		})
	}
}

func TestReadinessFollowsTheDatabase(t *testing.T) {
	t.Parallel()
	s, b := setup(t, nil)
	b.pingErr = errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")
	got := get(t, b, s.URL()+"/readyz", "")
	if got.code != 503 || strings.Contains(got.body, "10.0.0.5") {
		t.Fatalf("/readyz with the database down = %d %q, want 503 without the address", got.code, got.body)
	}
	if live := get(t, b, s.URL()+"/healthz", ""); live.code != 200 {
		t.Fatalf("/healthz with the database down = %d, want 200 (alive, not ready)", live.code)
	}
}

// TestPathTraversal sends hostile paths byte for byte, with a valid token,
// and expects the same 404 for each, without ever reaching the renderer.
func TestPathTraversal(t *testing.T) {
	t.Parallel()
	s, b := setup(t, nil)
	paths := []string{
		"/reports/../etc/passwd",
		"/reports/weekly-sales/../../etc/passwd",
		"/reports/weekly-sales/..%2f..%2fetc%2fpasswd",
		"/reports/weekly-sales/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/reports/weekly-sales/%252e%252e%252fetc.html",
		"/reports/weekly-sales%2f2026-W47.xlsx",
		"/reports/weekly-sales%2F2026-W47.xlsx",
		"/reports/%2e%2e/2026-W47.html",
		"/reports/./weekly-sales/2026-W47.html",
		"/reports/weekly-sales/./2026-W47.html",
		"/reports//etc/passwd.html",
		"//etc/passwd",
		"/reports/weekly-sales//2026-W47.html",
		"/reports/weekly-sales/..\\..\\windows\\win.ini",
		"/reports/weekly-sales/2026-W47.xlsx%00",
		"/reports/weekly-sales/2026-W47%00.xlsx",
		"/reports/weekly-sales/%EF%BC%8E%EF%BC%8E.html",
		"/reports/" + strings.Repeat("a", 10000) + "/2026-W47.html",
		"/reports/weekly-sales/" + strings.Repeat("9", 5000) + ".html",
		"/reports/weekly-sales/etc/passwd",
		"/reports/weekly-sales/2026-W47.xlsx/",
		"/reports/weekly-sales/",
		"http://evil.example/reports/../etc/passwd",
	}
	for _, p := range paths {
		got := raw(t, s.Addr(), p, "Bearer "+token)
		if got.code != 404 {
			t.Errorf("GET %.80q = %d, want 404", p, got.code)
		}
		if loc := got.header.Get("Location"); loc != "" {
			t.Errorf("GET %.80q redirects to %q", p, loc)
		}
	}
	if r := b.rendered(); len(r) != 0 {
		t.Fatalf("hostile paths reached the renderer: %q", r)
	}
	// The same connection-level client does reach a good path, so the 404s
	// above are not an artefact of the raw requests.
	if got := raw(t, s.Addr(), "/reports/weekly-sales/2026-W47.html", "Bearer "+token); got.code != 200 {
		t.Fatalf("control request = %d, want 200", got.code)
	}
}

func TestMethods(t *testing.T) {
	t.Parallel()
	s, b := setup(t, nil)
	req, _ := http.NewRequest("POST", s.URL()+"/reports/weekly-sales/2026-W47.xlsx", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST = %d, want 405", res.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s, b := setup(t, nil)
	got := get(t, b, s.URL()+"/metrics", "")
	if got.code != 200 {
		t.Fatalf("/metrics = %d", got.code)
	}
	for _, name := range []string{
		"sameteam_runs_total", "sameteam_run_duration_seconds", "sameteam_deliveries_total",
		"sameteam_last_success_timestamp_seconds", "sameteam_source_query_duration_seconds",
	} {
		if !strings.Contains(got.body, "\n"+name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// TestIndexLinks checks that the index's download links are signed, open
// the file they name, and never outlive the link that opened the page.
func TestIndexLinks(t *testing.T) {
	t.Parallel()
	s, b := setup(t, func(o *server.Options) { o.LinkTTL = 24 * time.Hour })
	tests := []struct {
		name        string
		path, auth  string
		wantExpires time.Time
	}{
		{name: "opened with the token", path: "/", auth: "Bearer " + token, wantExpires: b.now.Add(24 * time.Hour)},
		{name: "opened by a link", path: sign(t, "/", b.now.Add(10*time.Minute)), wantExpires: b.now.Add(10 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(t, b, s.URL()+tt.path, tt.auth)
			if got.code != 200 {
				t.Fatalf("index = %d", got.code)
			}
			hrefs := hrefsIn(got.body)
			if len(hrefs) != 3*(1+3)+3*(1+2)+3*1 {
				t.Fatalf("found %d links, want 24: %q", len(hrefs), hrefs)
			}
			for _, h := range hrefs {
				u, err := url.Parse(h)
				if err != nil {
					t.Fatal(err)
				}
				if err := signedlink.Verify(linkKey, u.Path, u.Query(), b.now); err != nil {
					t.Fatalf("link %q: %v", h, err)
				}
				if exp := u.Query().Get("expires"); exp != fmt.Sprint(tt.wantExpires.Unix()) {
					t.Fatalf("link %q expires at %s, want %d", h, exp, tt.wantExpires.Unix())
				}
			}
			// One of them, followed without the token.
			if res := get(t, b, s.URL()+hrefs[1], ""); res.code != 200 || res.body != "weekly-leadership 2026-W47 xlsx" {
				t.Fatalf("following %q = %d %q", hrefs[1], res.code, res.body)
			}
		})
	}
}

func hrefsIn(body string) []string {
	var out []string
	for _, part := range strings.Split(body, `href="`)[1:] {
		h, _, _ := strings.Cut(part, `"`)
		out = append(out, strings.ReplaceAll(h, "&amp;", "&"))
	}
	return out
}

func TestIndexEscapesAndCSP(t *testing.T) {
	t.Parallel()
	s, b := setup(t, nil)
	got := get(t, b, s.URL()+"/", "Bearer "+token)
	if strings.Contains(got.body, `<Q4 & "push">`) || !strings.Contains(got.body, "Marketing, monthly &lt;Q4 &amp; &#34;push&#34;&gt;") {
		t.Fatalf("report title not escaped:\n%s", got.body)
	}
	csp := got.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP = %q", csp)
	}
	// The hash in the CSP must be that of the page's <style> text, or a
	// browser would drop the styles.
	_, rest, _ := strings.Cut(got.body, "<style>")
	style, _, _ := strings.Cut(rest, "</style>")
	if !strings.Contains(csp, "'sha256-"+sha256b64(style)+"'") {
		t.Fatalf("CSP %q does not allow the page's style", csp)
	}
	for _, want := range []string{"weekly-leadership", "✓ succeeded", "✗ failed", "! partial", "… running", "Mon 30 Nov 2026 08:00 CET", "No runs recorded yet."} {
		if !strings.Contains(got.body, want) {
			t.Errorf("index lacks %q", want)
		}
	}
}

func TestTooManyRenders(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	s, b := setup(t, func(o *server.Options) {
		o.MaxConcurrentRenders = 1
		o.Renderer = &FakeRenderer{RenderFn: func(ctx context.Context, _, _, _ string, w io.Writer) error {
			entered <- struct{}{}
			<-release
			_, err := io.WriteString(w, "done")
			return err
		}}
	})
	first := make(chan response, 1)
	go func() { first <- get(t, b, s.URL()+"/reports/weekly-sales/2026-W47.xlsx", "Bearer "+token) }()
	<-entered
	got := get(t, b, s.URL()+"/reports/weekly-sales/2026-W46.xlsx", "Bearer "+token)
	close(release)
	if got.code != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" {
		t.Fatalf("second render = %d (Retry-After %q), want 429 with Retry-After", got.code, got.header.Get("Retry-After"))
	}
	if r := <-first; r.code != 200 {
		t.Fatalf("first render = %d", r.code)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	t.Run("bind error is synchronous", func(t *testing.T) {
		t.Parallel()
		s1, _ := setup(t, nil)
		s2, err := server.New(server.Options{Listen: s1.Addr(), Reports: &FakeLister{}, Renderer: &FakeRenderer{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s2.Open(); err == nil {
			_ = s2.Close(context.Background())
			t.Fatalf("Open on a taken port %s succeeded", s1.Addr())
		}
	})
	t.Run("anonymous on a public address", func(t *testing.T) {
		t.Parallel()
		s, err := server.New(server.Options{Listen: ":0", AllowAnonymous: true, Reports: &FakeLister{}, Renderer: &FakeRenderer{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Open(); !errors.Is(err, server.ErrAnonymous) {
			_ = s.Close(context.Background())
			t.Fatalf("Open = %v, want ErrAnonymous", err)
		}
	})
	t.Run("anonymous on loopback", func(t *testing.T) {
		t.Parallel()
		s, b := setup(t, func(o *server.Options) { o.AllowAnonymous = true; o.Token = ""; o.LinkKey = nil })
		if got := get(t, b, s.URL()+"/reports/weekly-sales/2026-W47.html", ""); got.code != 200 {
			t.Fatalf("anonymous download = %d, want 200", got.code)
		}
		idx := get(t, b, s.URL()+"/", "")
		if idx.code != 200 || !strings.Contains(idx.body, `href="/reports/weekly-sales/2026-W47.xlsx"`) {
			t.Fatalf("anonymous index = %d, want plain links", idx.code)
		}
	})
	t.Run("short link key", func(t *testing.T) {
		t.Parallel()
		if _, err := server.New(server.Options{LinkKey: []byte("short"), Reports: &FakeLister{}, Renderer: &FakeRenderer{}}); err == nil {
			t.Fatal("a 5-byte link key was accepted")
		}
	})
}

// TestCloseWaitsForRequests checks that Close lets a download in flight
// finish.
func TestCloseWaitsForRequests(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	s, b := setup(t, func(o *server.Options) {
		o.Renderer = &FakeRenderer{RenderFn: func(ctx context.Context, _, _, _ string, w io.Writer) error {
			close(entered)
			time.Sleep(200 * time.Millisecond)
			_, err := io.WriteString(w, "complete")
			return err
		}}
	})
	done := make(chan response, 1)
	go func() { done <- get(t, b, s.URL()+"/reports/weekly-sales/2026-W47.xlsx", "Bearer "+token) }()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := <-done; got.code != 200 || got.body != "complete" {
		t.Fatalf("in-flight download = %d %q", got.code, got.body)
	}
}

func sha256b64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}
