package app

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// The load tests measure the whole process (goroutines, open files, heap),
// so each runs alone in a child process of the test binary, while its
// parent waits in parallel with the rest of the suite.

// loadChildEnv names the test a child process runs alone.
const loadChildEnv = "SAMETEAM_TEST_ISOLATED"

// isolated reports whether this is the child running t alone; in the
// parent it runs the child, reports its result, and returns false.
func isolated(t *testing.T) bool {
	t.Helper()
	if os.Getenv(loadChildEnv) == t.Name() {
		return true
	}
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The child has what is left of this test's own time, so a loaded
	// machine slows it down without failing it before the parent would.
	timeout := time.Duration(0)
	if _, ok := t.Deadline(); ok {
		timeout = max(testsupport.Patience(t), time.Second)
	}
	args := []string{"-test.run", "^" + t.Name() + "$", "-test.v", "-test.count=1", "-test.timeout=" + timeout.String()}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), loadChildEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "reliability_load_test.go") || strings.Contains(line, "SKIP") || strings.HasPrefix(strings.TrimSpace(line), "---") {
			t.Log(strings.TrimSpace(line))
		}
	}
	if err != nil {
		t.Fatalf("the isolated run failed: %v\n%s", err, out)
	}
	return false
}

// Load: one run to 500 recipients through the test SMTP server: every one
// sent once, and the process has as many goroutines and open files after
// as before.
func TestReliability_Load_500Recipients(t *testing.T) {
	if !isolated(t) {
		return
	}
	rcpts := numbered("load", 500)
	w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: rcpts, smtpYAML: "  timeout: 5s\n"})
	before := measure(t)
	http.DefaultClient.CloseIdleConnections()
	begun := time.Now()
	res := w.run()
	took := time.Since(begun)
	if res.code != ExitOK || !strings.Contains(res.stdout, "500 sent") {
		t.Fatalf("%s", res)
	}
	after := settle(t, before, 3, 2)
	t.Logf("500 recipients in %v; goroutines %d → %d, open files %d → %d, heap %d → %d MB",
		took.Round(time.Millisecond), before.goroutines, after.goroutines, before.fds, after.fds, before.heap>>20, after.heap>>20)
	if after.goroutines > before.goroutines+3 || after.fds > before.fds+2 {
		t.Errorf("leak: goroutines %d → %d, open files %d → %d", before.goroutines, after.goroutines, before.fds, after.fds)
	}
	checkInvariants(t, w.url, w.srv, map[key][]string{{testReport, testPeriod}: rcpts})
}

// Load: 50 clients download the workbook from serve at once. Beyond the
// render limit they get 429 with Retry-After and try again; every one ends
// with the workbook; serve stopped, nothing is left running or open.
func TestReliability_Load_ConcurrentDownloads(t *testing.T) {
	if !isolated(t) {
		return
	}
	before := measure(t)
	w := newServeWorld(t, serveOptions{recipients: []string{"a@example.com"}})
	w.waitRuns(1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	tooMany, sizes := 0, map[int]int{}
	begun := time.Now()
	for range 50 {
		wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second}
			for attempt := 0; ; attempt++ {
				req, _ := http.NewRequest(http.MethodGet, w.url+"/reports/weekly-sales/2026-W47.xlsx", nil)
				req.Header.Set("Authorization", "Bearer "+canaries["http token"])
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" && attempt < 200 {
					mu.Lock()
					tooMany++
					mu.Unlock()
					time.Sleep(50 * time.Millisecond) // shorter than Retry-After, to keep the test quick
					continue
				}
				mu.Lock()
				if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(body), "PK") {
					sizes[len(body)/1024]++
				} else {
					t.Errorf("download: %d %q", resp.StatusCode, body[:min(len(body), 80)])
				}
				mu.Unlock()
				return
			}
		})
	}
	wg.Wait()
	took := time.Since(begun)
	n := 0
	for _, c := range sizes {
		n += c
	}
	if n != 50 {
		t.Errorf("%d of 50 downloads got the workbook", n)
	}
	if err := w.stop(); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	after := settle(t, before, 3, 2)
	t.Logf("50 concurrent downloads in %v (%d answers 429 on the way, sizes in KB %v); goroutines %d → %d, open files %d → %d",
		took.Round(time.Millisecond), tooMany, sizes, before.goroutines, after.goroutines, before.fds, after.fds)
	if after.goroutines > before.goroutines+3 || after.fds > before.fds+2 {
		t.Errorf("leak after serve stopped: goroutines %d → %d, open files %d → %d", before.goroutines, after.goroutines, before.fds, after.fds)
	}
}

// Load: ten daily reports scheduled for 24 days on a fake clock, each run
// real (snapshot, digest, workbook, SMTP, ledger): every day of every
// report sent once, the heap after day 24 within a bound of day 2's, and
// the goroutines and open files back where they were once serve's
// scheduler stops.
func TestReliability_Load_SchedulerDays(t *testing.T) {
	if testing.Short() {
		t.Skip("240 real runs take about 40 s")
	}
	if !isolated(t) {
		return
	}
	const reports, days = 10, 24
	url := testdb.PostgresURL(t)
	importGolden(t, url)
	srv := smtptest.Start(t, smtptest.Options{})
	before := measure(t)
	var reps []reportYAML
	for i := range reports {
		reps = append(reps, reportYAML{name: fmt.Sprintf("daily-%02d", i), kind: "day", schedule: "0 8 * * *",
			audience: []string{"sales", "marketing", "leadership"}[i%3], recipients: []string{fmt.Sprintf("r%02d@example.com", i)}})
	}
	madrid := mustLoad(t, "Europe/Madrid")
	start := time.Date(2026, 10, 1, 7, 0, 0, 0, madrid)
	r := startRig(t, rigOptions{url: url, yaml: reportsConfig(smtpKeysFor(srv, "5s"), "", reps...), start: start})
	for range reports {
		r.next() // 30 September, caught up
	}
	// The test server keeps every message it took: that is the test's
	// memory, not sameteam's.
	mailbox := func() uint64 {
		var n uint64
		for _, m := range srv.Messages() {
			n += uint64(len(m.Data))
		}
		return n
	}
	begun := time.Now()
	var day2 resources
	var mail2 uint64
	for d := range days {
		r.advance(time.Date(2026, 10, 1+d, 8, 0, 0, 0, madrid))
		for range reports {
			if f := r.next(); f.err != nil {
				t.Fatalf("day %d: %s: %v", d+1, f.report, f.err)
			}
		}
		if d == 1 {
			r.quiet()
			day2, mail2 = measure(t), mailbox()
		}
	}
	r.quiet()
	day24, mail24 := measure(t), mailbox()
	took := time.Since(begun)
	r.stop()
	r.st.Close()
	after := settle(t, before, 3, 2)
	own2, own24 := day2.heap-min(day2.heap, mail2), day24.heap-min(day24.heap, mail24)
	t.Logf("%d runs in %v; heap in use after GC, less the test server's mailbox: day 2 %.1f MB, day 24 %.1f MB (mailbox %.1f → %.1f MB); goroutines day 2 %d, day 24 %d, start %d → end %d; open files start %d → end %d",
		reports*days, took.Round(time.Millisecond), float64(own2)/(1<<20), float64(own24)/(1<<20), float64(mail2)/(1<<20), float64(mail24)/(1<<20),
		day2.goroutines, day24.goroutines, before.goroutines, after.goroutines, before.fds, after.fds)
	if own24 > own2+own2/2+4<<20 {
		t.Errorf("heap grew from %.1f MB on day 2 to %.1f MB on day 24", float64(own2)/(1<<20), float64(own24)/(1<<20))
	}
	if day24.goroutines > day2.goroutines+5 {
		t.Errorf("goroutines grew from %d on day 2 to %d on day 24", day2.goroutines, day24.goroutines)
	}
	if after.goroutines > before.goroutines+3 || after.fds > before.fds+2 {
		t.Errorf("leak after stop: goroutines %d → %d, open files %d → %d", before.goroutines, after.goroutines, before.fds, after.fds)
	}
	// 29 September, caught up at start, then 30 September to 23 October:
	// one message per report per day.
	if n := len(srv.Messages()); n != reports*(days+1) {
		t.Errorf("%d messages, want %d", n, reports*(days+1))
	}
}
