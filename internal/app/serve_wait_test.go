package app

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
)

// dbProxy is a TCP proxy on loopback in front of the test PostgreSQL. While
// down it accepts each connection and closes it at once, as a database
// that is not up yet does; up, it forwards.
type dbProxy struct {
	ln       net.Listener
	target   string
	up       atomic.Bool
	attempts atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     map[net.Conn]bool // both ends of every forwarded connection
}

func startDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *dbProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.attempts.Add(1)
		if !p.up.Load() {
			c.Close()
			continue
		}
		d, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.open == nil {
			p.open = map[net.Conn]bool{}
		}
		p.open[c], p.open[d] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(d, c); d.Close() }()
		go func() { defer p.wg.Done(); io.Copy(c, d); c.Close() }()
	}
}

// sever takes the database away: new connections are refused and every
// open one is cut, as when the database's host goes down.
func (p *dbProxy) sever() {
	p.up.Store(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.open {
		c.Close()
	}
	p.open = nil
}

// until polls cond until it holds, failing the test at a deadline taken
// from the test's own (go test -timeout), less a margin to report.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	if d, ok := t.Deadline(); ok {
		deadline = d.Add(-10 * time.Second)
	}
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not before the test's deadline", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// D1 for serve: the database is down when serve starts. serve does not exit
// (Kubernetes would restart it in a loop): it answers /healthz, says 503 on
// /readyz and keeps the index closed while it retries with backoff, and
// becomes ready and serves once the database answers. Stopped while it
// waits, it exits cleanly. (`run` still exits 75 at once: D1 above.)
func TestReliability_Database_ServeWaitsForTheDatabase(t *testing.T) {
	t.Parallel()
	pg := testdb.PostgresURL(t)
	importGolden(t, pg)
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startDBProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	srv := smtptest.Start(t, smtptest.Options{})
	port := freePort(t)
	top := "server: {token: \"${SAMETEAM_HTTP_TOKEN}\"}\n"
	cfg := writeConfig(t, reportsConfig(smtpKeysFor(srv, "2s"), top, weeklyAt("0 8 * * MON", []string{"a@example.com"})))
	vars := map[string]string{"SAMETEAM_DATABASE_URL": u.String(), "SAMETEAM_HTTP_TOKEN": canaries["http token"]}

	s := startServeUntil(t, "/healthz", port, cfg, vars) // fails if serve exits
	until(t, "two connection attempts", func() bool { return proxy.attempts.Load() >= 2 })
	if code, _, body := s.get("/readyz"); code != 503 {
		t.Errorf("/readyz with the database down: %d %s", code, body)
	}
	if code, _, _ := s.get("/healthz"); code != 200 {
		t.Errorf("/healthz with the database down: %d", code)
	}
	if code, _, body := s.get("/", bearer()...); code == 200 {
		t.Errorf("the index answered 200 before the database did: %s", body)
	}
	if code, _, body := s.get("/metrics"); code != 200 || !strings.Contains(body, "sameteam_build_info") {
		t.Errorf("/metrics with the database down: %d", code)
	}
	if !strings.Contains(s.stderr.String(), "database unreachable; not ready, retrying") {
		t.Errorf("no log line says why serve is not ready:\n%s", s.stderr.String())
	}

	proxy.up.Store(true)
	until(t, "/readyz 200 once the database is up", func() bool {
		code, _, _ := s.get("/readyz")
		return code == 200
	})
	if code, _, body := s.get("/", bearer()...); code != 200 || !strings.Contains(body, testReport) {
		t.Errorf("index once ready: %d %s", code, body)
	}
	if err := s.stop(); err != nil {
		t.Errorf("serve stopped with %v", err)
	}

	proxy.up.Store(false)
	waiting := startServeUntil(t, "/healthz", freePort(t), cfg, vars)
	before := proxy.attempts.Load()
	until(t, "a connection attempt", func() bool { return proxy.attempts.Load() > before })
	if err := waiting.stop(); err != nil {
		t.Errorf("serve stopped while waiting with %v", err)
	}
}
