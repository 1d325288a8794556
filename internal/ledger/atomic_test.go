package ledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// failUpdatesTo makes the database refuse, with an error, any update of a
// delivery to status, until the returned function is called: a fault in the
// middle of a ledger transaction.
func failUpdatesTo(tb testing.TB, d *db.DB, status report.DeliveryStatus) (restore func()) {
	tb.Helper()
	ctx := context.Background()
	ddl := []string{`CREATE TRIGGER sameteam_test_fail BEFORE UPDATE ON sameteam_deliveries
		FOR EACH ROW WHEN (NEW.status = '` + string(status) + `')
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`}
	drop := []string{`DROP TRIGGER sameteam_test_fail`}
	if d.Engine == db.Postgres {
		ddl = []string{
			`CREATE FUNCTION sameteam_test_fail() RETURNS trigger LANGUAGE plpgsql
			 AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
			`CREATE TRIGGER sameteam_test_fail BEFORE UPDATE ON sameteam_deliveries
			 FOR EACH ROW WHEN (NEW.status = '` + string(status) + `') EXECUTE FUNCTION sameteam_test_fail()`,
		}
		drop = []string{`DROP TRIGGER sameteam_test_fail ON sameteam_deliveries`, `DROP FUNCTION sameteam_test_fail()`}
	}
	for _, q := range ddl {
		if _, err := d.ExecContext(ctx, q); err != nil {
			tb.Fatalf("install fault: %v", err)
		}
	}
	return func() {
		for _, q := range drop {
			if _, err := d.ExecContext(ctx, q); err != nil {
				tb.Fatalf("remove fault: %v", err)
			}
		}
	}
}

// TestNothingHalfWritten: when the second write of a ledger step fails, the
// first one is rolled back with it.
func TestNothingHalfWritten(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()

		t.Run("claim", func(t *testing.T) {
			// The new row is inserted, then moved to sending: with the move
			// failing, no pending row may stay behind.
			l, b := setup(t, url)
			id := startRun(t, l, "claim-report", per)
			restore := failUpdatesTo(t, b.db, report.DeliverySending)
			_, err := l.Claim(ctx, "claim-report", per, "a@x.com", "<a>", id, ledger.ClaimOptions{})
			restore()
			if err == nil || !strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("claim: %v, want the injected failure", err)
			}
			if ds := testsupport.Deliveries(t, b.db, "claim-report", per); len(ds) != 0 {
				t.Errorf("failed claim left %+v", ds)
			}
		})

		t.Run("finish_run", func(t *testing.T) {
			// The run is finished, then its sending rows resolved.
			l, b := setup(t, url)
			id := startRun(t, l, "finish-report", per)
			claim(t, l, id, "finish-report", per, "a@x.com", ledger.ClaimOptions{})
			restore := failUpdatesTo(t, b.db, report.DeliveryUnknown)
			err := l.FinishRun(ctx, id, report.RunSucceeded, "", ledger.Counts{Sent: 1})
			restore()
			if err == nil {
				t.Fatal("finish succeeded despite the fault")
			}
			if r, _ := l.Run(ctx, id); r.Status != report.RunRunning || r.Counts.Sent != 0 {
				t.Errorf("failed finish left the run %s with counts %+v", r.Status, r.Counts)
			}
		})

		t.Run("start_run_after_a_dead_one", func(t *testing.T) {
			// The dead run is abandoned, its sends resolved, the new run
			// inserted: all or nothing.
			l, b := setup(t, url)
			dead := startRun(t, l, "start-report", per)
			claim(t, l, dead, "start-report", per, "a@x.com", ledger.ClaimOptions{})
			b.clock.Advance(runLease + time.Second)
			restore := failUpdatesTo(t, b.db, report.DeliveryUnknown)
			_, err := l.StartRun(ctx, ledger.RunInfo{Report: "start-report", Period: per, Trigger: report.TriggerCatchUp})
			restore()
			if err == nil {
				t.Fatal("start succeeded despite the fault")
			}
			runs, err := l.Runs(ctx, "start-report", 10)
			if err != nil || len(runs) != 1 || runs[0].Status != report.RunRunning {
				t.Errorf("failed start left runs %+v (%v)", runs, err)
			}
			if d := delivery(t, b.db, "start-report", per, "a@x.com"); d.Status != report.DeliverySending {
				t.Errorf("failed start changed the delivery to %s", d.Status)
			}
		})
	})
}
