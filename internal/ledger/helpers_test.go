package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// clock is a fake clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 23, 7, 0, 0, 123456000, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// bundle is what a test gets besides the ledger.
type bundle struct {
	db    *db.DB
	clock *clock
}

const runLease = 10 * time.Minute

// setup opens url, migrates it and returns a ledger on a fake clock.
func setup(tb testing.TB, url string) (*ledger.Ledger, *bundle) {
	tb.Helper()
	d := testdb.Open(tb, url)
	if err := ledger.Migrate(context.Background(), d); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	c := newClock()
	l := ledger.NewWithOptions(d, ledger.Options{Now: c.Now, RunLease: runLease, Owner: "test-host:1"})
	return l, &bundle{db: d, clock: c}
}

func startRun(tb testing.TB, l *ledger.Ledger, name, period string) int64 {
	tb.Helper()
	id, err := l.StartRun(context.Background(), ledger.RunInfo{Report: name, Period: period, Trigger: report.TriggerScheduled})
	if err != nil {
		tb.Fatalf("start run %s %s: %v", name, period, err)
	}
	return id
}

func claim(tb testing.TB, l *ledger.Ledger, runID int64, report, period, recipient string, o ledger.ClaimOptions) ledger.Claim {
	tb.Helper()
	c, err := l.Claim(context.Background(), report, period, recipient, msgID(report, period, recipient), runID, o)
	if err != nil {
		tb.Fatalf("claim %s: %v", recipient, err)
	}
	return c
}

func msgID(report, period, recipient string) string {
	return "<" + report + "." + period + "." + ledger.NormalizeRecipient(recipient) + "@reports.example.com>"
}

// delivery returns the ledger row of one recipient.
func delivery(tb testing.TB, d *db.DB, report, period, recipient string) testsupport.Delivery {
	tb.Helper()
	ds := testsupport.Deliveries(tb, d, report, period)
	for _, d := range ds {
		if d.Recipient == recipient {
			return d
		}
	}
	tb.Fatalf("no delivery for %s in %d rows", recipient, len(ds))
	return testsupport.Delivery{}
}

func countDeliveries(tb testing.TB, d *db.DB) int {
	tb.Helper()
	var n int
	if err := d.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM sameteam_deliveries`); err != nil {
		tb.Fatal(err)
	}
	return n
}
