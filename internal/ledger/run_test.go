package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/testdb"
)

// TestRunLifecycle starts, finishes and lists runs, and reads them back
// field by field.
func TestRunLifecycle(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		asOf := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

		if _, ok, err := l.LastSuccess(ctx, "leadership"); err != nil || ok {
			t.Fatalf("LastSuccess on an empty ledger: %v %v", ok, err)
		}
		type step struct {
			report, period string
			trigger        report.Trigger
			status         report.RunStatus
			errText        string
			counts         ledger.Counts
		}
		steps := []step{
			{"leadership", "2026-W45", report.TriggerScheduled, report.RunSucceeded, "", ledger.Counts{Sent: 3}},
			{"leadership", "2026-W46", report.TriggerCatchUp, report.RunSucceeded, "", ledger.Counts{Sent: 2, Skipped: 1}},
			{"sales", "2026-W46", report.TriggerScheduled, report.RunSucceeded, "", ledger.Counts{Sent: 9}},
			{"leadership", "2026-W47", report.TriggerManual, report.RunPartial, "1 recipient refused", ledger.Counts{Sent: 2, Failed: 1, Unknown: 1}},
			{"leadership", "2026-W47", report.TriggerManual, report.RunFailed, "smtp: 535 authentication failed", ledger.Counts{}},
		}
		var ids []int64
		for _, s := range steps {
			b.clock.Advance(time.Hour)
			id, err := l.StartRun(ctx, ledger.RunInfo{Report: s.report, Period: s.period, AsOf: asOf, Trigger: s.trigger})
			if err != nil {
				t.Fatal(err)
			}
			b.clock.Advance(time.Minute)
			if err := l.FinishRun(ctx, id, s.status, s.errText, s.counts); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		b.clock.Advance(time.Hour)
		running := startRun(t, l, "leadership", "2026-W48")

		runs, err := l.Runs(ctx, "leadership", 10)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs := []int64{running, ids[4], ids[3], ids[1], ids[0]}
		if len(runs) != len(wantIDs) {
			t.Fatalf("%d runs, want %d", len(runs), len(wantIDs))
		}
		for i, r := range runs {
			if r.ID != wantIDs[i] {
				t.Errorf("runs[%d] = run %d, want %d (newest first)", i, r.ID, wantIDs[i])
			}
		}
		now := b.clock.Now().Truncate(time.Microsecond)
		if r := runs[0]; r.Status != report.RunRunning || !r.FinishedAt.IsZero() || !r.StartedAt.Equal(now) ||
			!r.LeaseUntil.Equal(now.Add(runLease)) || r.Owner != "test-host:1" || !r.AsOf.IsZero() || r.Trigger != report.TriggerScheduled {
			t.Errorf("running run %+v", r)
		}
		partial := runs[2]
		if partial.Status != report.RunPartial || partial.Error != "1 recipient refused" ||
			partial.Counts != (ledger.Counts{Sent: 2, Failed: 1, Unknown: 1}) || partial.Trigger != report.TriggerManual ||
			!partial.AsOf.Equal(asOf) || partial.FinishedAt.Sub(partial.StartedAt) != time.Minute || partial.Period != "2026-W47" {
			t.Errorf("partial run %+v", partial)
		}
		if r, err := l.Run(ctx, partial.ID); err != nil || r != partial {
			t.Errorf("Run(%d) = %+v, %v; want %+v", partial.ID, r, err, partial)
		}
		if two, err := l.Runs(ctx, "leadership", 2); err != nil || len(two) != 2 || two[1].ID != ids[4] {
			t.Errorf("Runs limit 2: %d runs, %v", len(two), err)
		}
		if all, err := l.Runs(ctx, "", 0); err != nil || len(all) != 6 {
			t.Errorf("Runs of every report: %d runs, %v", len(all), err)
		}

		last, ok, err := l.LastSuccess(ctx, "leadership")
		if err != nil || !ok || last.ID != ids[1] || last.Period != "2026-W46" || last.Counts.Skipped != 1 {
			t.Errorf("LastSuccess = %+v %v %v, want run %d (partial and failed runs do not count)", last, ok, err, ids[1])
		}
	})
}

// TestRunErrors covers refused starts and finishes.
func TestRunErrors(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, _ := setup(t, url)
		ctx := context.Background()
		id := startRun(t, l, rep, per)

		_, err := l.StartRun(ctx, ledger.RunInfo{Report: rep, Period: per, Trigger: report.TriggerManual})
		if !errors.Is(err, ledger.ErrRunInProgress) || !strings.Contains(err.Error(), "test-host:1") {
			t.Errorf("second start: %v, want ErrRunInProgress naming the holder", err)
		}
		if _, err := l.StartRun(ctx, ledger.RunInfo{Report: rep, Period: per, Trigger: "cron"}); !errors.Is(err, ledger.ErrInvalid) {
			t.Errorf("bad trigger: %v", err)
		}
		if _, err := l.StartRun(ctx, ledger.RunInfo{Report: rep, Trigger: report.TriggerManual}); !errors.Is(err, ledger.ErrInvalid) {
			t.Errorf("no period: %v", err)
		}
		if err := l.FinishRun(ctx, id, report.RunRunning, "", ledger.Counts{}); !errors.Is(err, ledger.ErrInvalid) {
			t.Errorf("finish as running: %v", err)
		}
		if err := l.FinishRun(ctx, 999999, report.RunSucceeded, "", ledger.Counts{}); !errors.Is(err, ledger.ErrNoRun) {
			t.Errorf("finish unknown run: %v", err)
		}
		if err := l.FinishRun(ctx, id, report.RunSucceeded, "", ledger.Counts{}); err != nil {
			t.Fatal(err)
		}
		if err := l.FinishRun(ctx, id, report.RunFailed, "late", ledger.Counts{}); !errors.Is(err, ledger.ErrRunNotRunning) {
			t.Errorf("second finish: %v", err)
		}
		if r, _ := l.Run(ctx, id); r.Status != report.RunSucceeded || r.Error != "" {
			t.Errorf("refused finish changed the run: %+v", r)
		}
		// Finished, the (report, period) may run again (a forced rerun).
		startRun(t, l, rep, per)
	})
}

// TestFinishResolvesOwnSending: a run that finishes with a delivery still in
// sending lost track of a send; the row becomes unknown with the finish.
func TestFinishResolvesOwnSending(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		id := startRun(t, l, rep, per)
		sent := claim(t, l, id, rep, per, "sent@example.com", ledger.ClaimOptions{})
		if err := l.MarkSent(ctx, sent, "250 ok"); err != nil {
			t.Fatal(err)
		}
		claim(t, l, id, rep, per, "lost@example.com", ledger.ClaimOptions{})
		if err := l.FinishRun(ctx, id, report.RunFailed, "context canceled", ledger.Counts{Sent: 1}); err != nil {
			t.Fatal(err)
		}
		if d := delivery(t, b.db, rep, per, "lost@example.com"); d.Status != report.DeliveryUnknown || d.Attempts != 1 || d.LastError == "" {
			t.Errorf("lost send after finish: %+v", d)
		}
		if d := delivery(t, b.db, rep, per, "sent@example.com"); d.Status != report.DeliverySent || d.Attempts != 1 {
			t.Errorf("sent row changed by finish: %+v", d)
		}
	})
}

// TestCrashedRun is RELIABILITY S2/E5: a run dies with one recipient in
// sending. After its lease the next run takes over; the sent recipients are
// not resent, the one in sending is unknown and held, the rest are sent.
func TestCrashedRun(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		recipients := []string{"a@x.com", "b@x.com", "c@x.com", "d@x.com"}

		dead := startRun(t, l, rep, per)
		for _, r := range recipients[:2] {
			c := claim(t, l, dead, rep, per, r, ledger.ClaimOptions{})
			if err := l.MarkSent(ctx, c, "250 ok"); err != nil {
				t.Fatal(err)
			}
		}
		inFlight := claim(t, l, dead, rep, per, recipients[2], ledger.ClaimOptions{})
		// The process is killed here. Within the lease, its run still holds
		// the period.
		b.clock.Advance(runLease - time.Second)
		if _, err := l.StartRun(ctx, ledger.RunInfo{Report: rep, Period: per, Trigger: report.TriggerCatchUp}); !errors.Is(err, ledger.ErrRunInProgress) {
			t.Fatalf("start within the dead run's lease: %v", err)
		}
		b.clock.Advance(2 * time.Second)
		next, err := l.StartRun(ctx, ledger.RunInfo{Report: rep, Period: per, Trigger: report.TriggerCatchUp})
		if err != nil {
			t.Fatalf("start after the lease: %v", err)
		}
		if r, _ := l.Run(ctx, dead); r.Status != report.RunFailed || !strings.Contains(r.Error, "abandoned") || r.FinishedAt.IsZero() {
			t.Errorf("dead run %+v", r)
		}
		if d := delivery(t, b.db, rep, per, recipients[2]); d.Status != report.DeliveryUnknown || d.Attempts != 1 {
			t.Errorf("in-flight delivery %+v, want unknown after 1 attempt", d)
		}

		var sent, held int
		for _, r := range recipients {
			c := claim(t, l, next, rep, per, r, ledger.ClaimOptions{})
			switch {
			case c.Claimed:
				if err := l.MarkSent(ctx, c, "250 ok"); err != nil {
					t.Fatal(err)
				}
				sent++
			case errors.Is(c.Reason, ledger.ErrUnknownOutcome):
				held++
			}
		}
		if sent != 1 || held != 1 {
			t.Errorf("rerun sent %d and held %d, want 1 and 1", sent, held)
		}
		// The dead run comes back to life (a long pause, not a kill): it
		// may not claim any more, but what it learns is recorded.
		if _, err := l.Claim(ctx, rep, per, "e@x.com", "<e>", dead, ledger.ClaimOptions{}); !errors.Is(err, ledger.ErrRunNotRunning) {
			t.Errorf("claim by the abandoned run: %v", err)
		}
		if err := l.MarkSent(ctx, inFlight, "250 late"); err != nil {
			t.Errorf("late mark by the abandoned run: %v", err)
		}
		if d := delivery(t, b.db, rep, per, recipients[2]); d.Status != report.DeliverySent || d.Response != "250 late" || d.Attempts != 2 {
			t.Errorf("late-marked delivery %+v", d)
		}
		// With --resend-unknown, a rerun would have sent it; and then the
		// abandoned run's mark is refused: the row is no longer its claim.
		c := claim(t, l, next, rep, per, recipients[2], ledger.ClaimOptions{Force: true})
		if !c.Claimed {
			t.Fatalf("forced claim refused: %v", c.Reason)
		}
		if err := l.MarkFailed(ctx, inFlight, report.DeliveryUnknown, "late"); !errors.Is(err, ledger.ErrClaimLost) {
			t.Errorf("mark by the previous claimant: %v, want ErrClaimLost", err)
		}
	})
}

// TestStartRunResolvesItsOwnPeriod: a new run records the dead runs of its
// (report, period) and their sends, and leaves other reports' live runs
// alone.
func TestStartRunResolvesItsOwnPeriod(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		dead := startRun(t, l, rep, per)
		claim(t, l, dead, rep, per, "a@x.com", ledger.ClaimOptions{})
		claim(t, l, dead, rep, per, "b@x.com", ledger.ClaimOptions{})
		b.clock.Advance(runLease / 2)
		alive := startRun(t, l, "sales", per)
		claim(t, l, alive, "sales", per, "c@x.com", ledger.ClaimOptions{})

		if _, err := l.StartRun(ctx, ledger.RunInfo{Report: rep, Period: per, Trigger: report.TriggerManual}); !errors.Is(err, ledger.ErrRunInProgress) {
			t.Fatalf("start within the lease: %v, want ErrRunInProgress", err)
		}
		b.clock.Advance(runLease/2 + time.Second)
		startRun(t, l, rep, per)
		if r, _ := l.Run(ctx, dead); r.Status != report.RunFailed {
			t.Errorf("the dead run is %s", r.Status)
		}
		for _, r := range []string{"a@x.com", "b@x.com"} {
			if d := delivery(t, b.db, rep, per, r); d.Status != report.DeliveryUnknown || d.Attempts != 1 {
				t.Errorf("%s is %s after %d attempts", r, d.Status, d.Attempts)
			}
		}
		if d := delivery(t, b.db, "sales", per, "c@x.com"); d.Status != report.DeliverySending {
			t.Errorf("the live run's send is %s", d.Status)
		}
		if r, _ := l.Run(ctx, alive); r.Status != report.RunRunning {
			t.Errorf("the live run is %s", r.Status)
		}
	})
}

// TestRecord: what the ledger holds of one (report, period) is found
// however many runs of other periods came after it, and a failed run's
// as_of never stands for what was delivered.
func TestRecord(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		if got, err := l.Record(ctx, rep, per); err != nil || got != (ledger.Record{}) {
			t.Fatalf("record of a period never run = %+v, %v; want nothing", got, err)
		}
		start := func(period string, asOf time.Time) int64 {
			t.Helper()
			id, err := l.StartRun(ctx, ledger.RunInfo{Report: rep, Period: period, AsOf: asOf, Trigger: report.TriggerScheduled})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		finish := func(id int64, s report.RunStatus) {
			t.Helper()
			if err := l.FinishRun(ctx, id, s, "", ledger.Counts{}); err != nil {
				t.Fatal(err)
			}
		}
		delivered := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
		finish(start(per, delivered), report.RunPartial)
		b.clock.Advance(time.Minute)
		finish(start(per, delivered.Add(time.Hour)), report.RunFailed)
		if got, _ := l.Record(ctx, rep, per); !got.AsOf.Equal(delivered) || got.Succeeded {
			t.Fatalf("after a partial and a failed run: %+v, want the partial run's as_of, not succeeded", got)
		}
		// More later runs of other periods than any page of runs holds.
		for i := range 210 {
			b.clock.Advance(time.Second)
			finish(start(fmt.Sprintf("2027-%03d", i), delivered), report.RunSucceeded)
		}
		got, err := l.Record(ctx, rep, per)
		if err != nil || !got.AsOf.Equal(delivered) || got.Succeeded {
			t.Fatalf("behind 210 later runs: %+v, %v; want as_of %s", got, err, delivered)
		}
		b.clock.Advance(time.Minute)
		finish(start(per, delivered.Add(2*time.Hour)), report.RunSucceeded)
		if got, _ := l.Record(ctx, rep, per); !got.AsOf.Equal(delivered.Add(2*time.Hour)) || !got.Succeeded {
			t.Fatalf("after a successful rerun: %+v, want its as_of and succeeded", got)
		}
	})
}

// TestStanding reads, on both engines, the facts the scheduler's rule of
// what a report still owes is made of.
func TestStanding(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		standing := func(period string) ledger.Standing {
			t.Helper()
			s, err := l.Standing(ctx, rep, period)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if got := standing(per); got != (ledger.Standing{}) {
			t.Fatalf("a report that never ran: %+v, want nothing", got)
		}
		start := func(period string, asOf time.Time) int64 {
			t.Helper()
			id, err := l.StartRun(ctx, ledger.RunInfo{Report: rep, Period: period, AsOf: asOf, Trigger: report.TriggerScheduled})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		first := time.Date(2026, 11, 16, 7, 0, 0, 0, time.UTC)
		// A later run for an earlier instant (a rerun with --as-of) still
		// makes the earliest as_of the report's.
		b.clock.Advance(time.Minute)
		later := start("2026-W46", first.Add(7*24*time.Hour))
		if err := l.FinishRun(ctx, later, report.RunHeld, "stale", ledger.Counts{}); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(time.Minute)
		id := start(per, first)
		claim(t, l, id, rep, per, "ana@example.com", ledger.ClaimOptions{})
		c := claim(t, l, id, rep, per, "ben@example.com", ledger.ClaimOptions{})
		if err := l.MarkFailed(ctx, c, report.DeliveryFailedTemporary, "451"); err != nil {
			t.Fatal(err)
		}
		if got := standing(per); got.Runs != 1 || got.Latest != report.RunRunning || got.Deliveries != 2 || got.Retriable != 1 ||
			got.Succeeded || !got.FirstAsOf.Equal(first) {
			t.Fatalf("a running run, one delivery in sending and one failed_temporary: %+v", got)
		}
		if err := l.FinishRun(ctx, id, report.RunPartial, "1 of 2", ledger.Counts{Failed: 1}); err != nil {
			t.Fatal(err)
		}
		if got := standing("2026-W46"); got.Latest != report.RunHeld || got.Runs != 1 || got.Deliveries != 0 {
			t.Fatalf("a held period: %+v", got)
		}
		if got := standing("2026-W48"); got.Runs != 0 || !got.FirstAsOf.Equal(first) {
			t.Fatalf("a period without runs of a report in service: %+v", got)
		}
		b.clock.Advance(time.Minute)
		id = start(per, first.Add(time.Hour))
		if err := l.FinishRun(ctx, id, report.RunSucceeded, "", ledger.Counts{}); err != nil {
			t.Fatal(err)
		}
		if got := standing(per); !got.Succeeded || got.Latest != report.RunSucceeded || got.Runs != 2 {
			t.Fatalf("after a successful rerun: %+v", got)
		}
	})
}
