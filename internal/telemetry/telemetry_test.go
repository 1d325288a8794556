package telemetry_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/telemetry"
)

func TestRecorder(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	clock := now
	r := telemetry.New(telemetry.Options{Now: func() time.Time { return clock }, Version: "1.2.3"})

	r.RunFinished("weekly-sales", report.RunSucceeded, 3*time.Second)
	clock = now.Add(time.Hour)
	r.RunFinished("weekly-sales", report.RunFailed, time.Second)
	r.RunFinished("weekly-sales", report.RunFailed, time.Second)
	r.RunFinished("weekly-sales", report.RunHeld, time.Second)
	r.SourceAge("weekly-sales", 86*time.Hour)
	r.Delivery("weekly-sales", report.DeliverySent)
	r.Delivery("weekly-sales", report.DeliverySent)
	r.Delivery("weekly-sales", report.DeliveryUnknown)
	r.QueryDuration("mql_facts", 40*time.Millisecond)
	r.WatchNextRuns(func() map[string]time.Time {
		return map[string]time.Time{"weekly-sales": now.Add(7 * 24 * time.Hour), "never": {}}
	})
	id := uuid.New()
	r.IncrementJob(id, "weekly-sales", nil, gocron.Success)
	r.IncrementJob(id, "weekly-sales", nil, gocron.Skip)
	r.RecordJobTimingWithStatus(now, now.Add(2*time.Second), id, "weekly-sales", nil, gocron.Success, nil)

	body := scrape(t, r)
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"runs success", sample(t, body, `sameteam_runs_total{report="weekly-sales",status="success"}`), 1},
		{"runs failed", sample(t, body, `sameteam_runs_total{report="weekly-sales",status="failed"}`), 2},
		{"runs held", sample(t, body, `sameteam_runs_total{report="weekly-sales",status="held"}`), 1},
		{"source age", sample(t, body, `sameteam_source_age_seconds{report="weekly-sales"}`), 86 * 3600},
		{"last success kept across failures", sample(t, body, `sameteam_last_success_timestamp_seconds{report="weekly-sales"}`), float64(now.Unix())},
		{"deliveries sent", sample(t, body, `sameteam_deliveries_total{report="weekly-sales",status="sent"}`), 2},
		{"deliveries unknown", sample(t, body, `sameteam_deliveries_total{report="weekly-sales",status="unknown"}`), 1},
		{"run duration count", sample(t, body, `sameteam_run_duration_seconds_count{report="weekly-sales"}`), 4},
		{"run duration sum", sample(t, body, `sameteam_run_duration_seconds_sum{report="weekly-sales"}`), 6},
		{"query duration count", sample(t, body, `sameteam_source_query_duration_seconds_count{query="mql_facts"}`), 1},
		{"next run", sample(t, body, `sameteam_next_run_timestamp_seconds{report="weekly-sales"}`), float64(now.Add(7 * 24 * time.Hour).Unix())},
		{"job success", sample(t, body, `sameteam_scheduler_job_runs_total{job="weekly-sales",status="success"}`), 1},
		{"job skip", sample(t, body, `sameteam_scheduler_job_runs_total{job="weekly-sales",status="skip"}`), 1},
		{"job duration sum", sample(t, body, `sameteam_scheduler_job_duration_seconds_sum{job="weekly-sales",status="success"}`), 2},
		{"build info", sample(t, body, `sameteam_build_info{build_date="unknown",commit="unknown",goversion="unknown",version="1.2.3"}`), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}

	if problems, err := testutil.GatherAndLint(r.Gatherer()); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	if strings.Contains(body, `report="never"`) {
		t.Error("a report without a next run is exported")
	}
	if !strings.Contains(body, "go_goroutines") {
		t.Error("the Go runtime collector is missing")
	}
}

func TestLastSuccessAbsentUntilSuccess(t *testing.T) {
	t.Parallel()
	r := telemetry.New(telemetry.Options{NoRuntime: true})
	r.RunFinished("weekly-sales", report.RunFailed, time.Second)
	if body := scrape(t, r); strings.Contains(body, "sameteam_last_success_timestamp_seconds{") {
		t.Fatalf("last success set by a failure:\n%s", body)
	}
	seed := time.Date(2026, 11, 16, 8, 0, 0, 0, time.UTC)
	r.SetLastSuccess("weekly-sales", seed)
	if got := sample(t, scrape(t, r), `sameteam_last_success_timestamp_seconds{report="weekly-sales"}`); got != float64(seed.Unix()) {
		t.Fatalf("seeded last success = %v, want %v", got, seed.Unix())
	}
}

// A replica that did not run a period still reports its success, read from
// the ledger at scrape time; readings are cached for the refresh interval,
// a failed reading keeps what was known, and the gauge never moves back.
func TestLastSuccessFollowsTheLedger(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	r := telemetry.New(telemetry.Options{NoRuntime: true, Now: func() time.Time { return clock }})
	ledger := map[string]time.Time{}
	var reads int
	var fail error
	r.WatchLastSuccess(func(ctx context.Context) (map[string]time.Time, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the ledger is read without a deadline")
		}
		reads++
		return ledger, fail
	}, 30*time.Second, time.Second)
	const series = `sameteam_last_success_timestamp_seconds{report="weekly-sales"}`

	if body := scrape(t, r); strings.Contains(body, series) || reads != 1 {
		t.Fatalf("no success anywhere, %d reads:\n%s", reads, body)
	}
	other := clock.Add(-time.Minute) // another replica delivered
	ledger["weekly-sales"] = other
	clock = clock.Add(10 * time.Second)
	if body := scrape(t, r); strings.Contains(body, series) || reads != 1 {
		t.Fatalf("read again inside the refresh interval (%d reads):\n%s", reads, body)
	}
	clock = clock.Add(30 * time.Second)
	if got := sample(t, scrape(t, r), series); got != float64(other.Unix()) || reads != 2 {
		t.Fatalf("after the refresh interval: %v (%d reads), want the ledger's %v", got, reads, other.Unix())
	}
	fail = errors.New("database down")
	clock = clock.Add(time.Minute)
	if got := sample(t, scrape(t, r), series); got != float64(other.Unix()) {
		t.Fatalf("a failed reading changed the gauge to %v", got)
	}
	fail = nil
	r.RunFinished("weekly-sales", report.RunSucceeded, time.Second) // this replica, now
	if got := sample(t, scrape(t, r), series); got != float64(clock.Unix()) {
		t.Fatalf("own success: %v, want %v", got, clock.Unix())
	}
	clock = clock.Add(time.Minute) // the ledger is behind this process
	if got := sample(t, scrape(t, r), series); got < float64(clock.Add(-time.Minute).Unix()) {
		t.Fatalf("an older ledger reading moved the gauge back to %v", got)
	}
}

// Every report's counters exist at 0 for every expected status before
// anything happens: Prometheus sees no increase in a series that is born at
// 1, so the first failure would go unnoticed.
func TestExpectExportsZeros(t *testing.T) {
	t.Parallel()
	r := telemetry.New(telemetry.Options{NoRuntime: true})
	r.Expect([]string{"weekly-sales", "weekly-marketing"}, []report.RunStatus{report.RunSucceeded, report.RunFailed}, []report.DeliveryStatus{report.DeliverySent, report.DeliveryFailedPermanent})
	body := scrape(t, r)
	for _, report := range []string{"weekly-sales", "weekly-marketing"} {
		for _, s := range []string{"success", "failed"} {
			if got := sample(t, body, `sameteam_runs_total{report="`+report+`",status="`+s+`"}`); got != 0 {
				t.Errorf("%s runs %s = %v", report, s, got)
			}
		}
		for _, s := range []string{"sent", "failed_permanent"} {
			if got := sample(t, body, `sameteam_deliveries_total{report="`+report+`",status="`+s+`"}`); got != 0 {
				t.Errorf("%s deliveries %s = %v", report, s, got)
			}
		}
	}
	r.Delivery("weekly-sales", "failed_permanent")
	if got := sample(t, scrape(t, r), `sameteam_deliveries_total{report="weekly-sales",status="failed_permanent"}`); got != 1 {
		t.Errorf("after one failure: %v", got)
	}
}

// Two Recorders in one process must not collide: each has its own registry.
func TestRegistriesAreSeparate(t *testing.T) {
	t.Parallel()
	a := telemetry.New(telemetry.Options{})
	b := telemetry.New(telemetry.Options{})
	a.Delivery("x", report.DeliverySent)
	if strings.Contains(scrape(t, b), `sameteam_deliveries_total{report="x"`) {
		t.Fatal("a delivery recorded in one Recorder shows in another")
	}
}

// sample reads one sample's value from a text exposition; a missing sample
// fails the test.
func sample(t testing.TB, body, series string) float64 {
	t.Helper()
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	t.Fatalf("no sample %s in:\n%s", series, body)
	return 0
}

func scrape(t testing.TB, r *telemetry.Recorder) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}
