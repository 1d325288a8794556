package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// The week every delivery test sends: the golden case w47-madrid.
const (
	testReport = "weekly-sales"
	testPeriod = "2026-W47"
	testAsOf   = "2026-11-23T07:00:00Z"
	testFrom   = "Sameteam Reports <reports@example.com>"
)

// world is one delivery test's surroundings: a database holding the golden
// data (source and ledger), a test SMTP server, and a config file that
// points at both.
type world struct {
	t    *testing.T
	url  string
	vars map[string]string
	cfg  string
	srv  *smtptest.Server
}

// worldOptions shape a world.
type worldOptions struct {
	recipients []string
	smtp       smtptest.Options
	// smtpYAML adds keys to the smtp mapping (auth, username, …); timeout
	// is 500ms unless given here.
	smtpYAML string
	// topYAML adds top-level keys (max_attachment_mb, server, …).
	topYAML string
	// noServer leaves the SMTP server out; smtpYAML must then set host and port.
	noServer bool
}

// importGolden creates the tables at url and loads the golden data.
func importGolden(t *testing.T, url string) {
	t.Helper()
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	if _, stderr, err := run(t, vars, "init-db"); err != nil {
		t.Fatalf("init-db: %v\n%s", err, stderr)
	}
	if _, stderr, err := run(t, vars, "import", "--dir", filepath.Join(goldenDir, "data")); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
}

// newWorld imports the golden data into url, starts the SMTP server and
// writes the config.
func newWorld(t *testing.T, url string, o worldOptions) *world {
	t.Helper()
	importGolden(t, url)
	w := &world{t: t, url: url, vars: map[string]string{"SAMETEAM_DATABASE_URL": url}}
	smtpKeys := ""
	if !o.noServer {
		w.srv = smtptest.Start(t, o.smtp)
		smtpKeys = fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n", w.srv.Port())
	}
	if !strings.Contains(o.smtpYAML, "timeout:") {
		smtpKeys += "  timeout: 500ms\n"
	}
	w.cfg = writeConfig(t, configYAML(smtpKeys+o.smtpYAML, o.topYAML, o.recipients))
	return w
}

// configYAML is the configuration of the delivery tests: the golden case's
// zone, SLA and target, and one sales report to the given recipients.
func configYAML(smtpKeys, top string, recipients []string) string {
	var b strings.Builder
	b.WriteString("time_zone: Europe/Madrid\nlocale: en\nsla_hours: 24\ntargets: {week: {mqls: 30}}\n")
	b.WriteString("source: {url: \"${SAMETEAM_DATABASE_URL}\"}\n")
	b.WriteString("smtp:\n  from: \"" + testFrom + "\"\n" + smtpKeys)
	b.WriteString(top)
	b.WriteString("reports:\n  - name: " + testReport + "\n    audience: sales\n    period: week\n    recipients:\n")
	for _, r := range recipients {
		b.WriteString("      - " + r + "\n")
	}
	return b.String()
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sameteam.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// result is one command's output and exit code, as the binary would give
// them (the error line ExitCode prints ends stderr).
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli runs a command line and returns what the process would show.
func cli(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	stdout, stderr, err := run(t, vars, args...)
	var msg strings.Builder
	code := ExitCode(err, &msg)
	return result{stdout: stdout, stderr: stderr + msg.String(), code: code}
}

// run runs `sameteam run` for the test report and week, with extra flags.
func (w *world) run(flags ...string) result {
	w.t.Helper()
	args := append([]string{"run", "--config", w.cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf}, flags...)
	return cli(w.t, w.vars, args...)
}

// deliveries reads the ledger's rows of the test report and week, by
// recipient.
func (w *world) deliveries() map[string]testsupport.Delivery {
	w.t.Helper()
	return deliveriesAt(w.t, w.url)
}

func deliveriesAt(t *testing.T, url string) map[string]testsupport.Delivery {
	t.Helper()
	_, d := openLedger(t, url)
	out := map[string]testsupport.Delivery{}
	for _, dl := range testsupport.Deliveries(t, d, testReport, testPeriod) {
		out[dl.Recipient] = dl
	}
	return out
}

// openLedger opens the ledger at url, closed when the test ends.
func openLedger(t *testing.T, url string) (*ledger.Ledger, *db.DB) {
	t.Helper()
	d := testdb.Open(t, url)
	return ledger.New(d), d
}

// received counts the messages the server took, by envelope recipient.
func received(s *smtptest.Server) map[string]int {
	out := map[string]int{}
	for _, m := range s.Messages() {
		for _, to := range m.To {
			out[to]++
		}
	}
	return out
}

// behaviours is a Behavior a test can change between runs.
type behaviours struct {
	mu sync.Mutex
	m  map[string]smtptest.Action
}

func newBehaviours(m map[string]smtptest.Action) *behaviours { return &behaviours{m: m} }

func (b *behaviours) act(rcpt string) smtptest.Action {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[rcpt]
}

func (b *behaviours) set(rcpt string, a smtptest.Action) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[rcpt] = a
}
