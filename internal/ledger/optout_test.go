package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/testdb"
)

// TestOptOut: an opted-out recipient is skipped (recorded, reason
// unsubscribed) while the others are claimed; a delivery that already went
// out keeps its state, even under Force; the owners' notices are not the
// report; a restored recipient is claimed again in the same period.
func TestOptOut(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()

		first, err := l.OptOut(ctx, rep, "  Ana@X.com ")
		if err != nil {
			t.Fatal(err)
		}
		if first.Recipient != "ana@x.com" || first.Report != rep || !first.At.Equal(b.clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("opt-out %+v", first)
		}
		b.clock.Advance(time.Hour)
		again, err := l.OptOut(ctx, rep, "ana@x.com")
		if err != nil || !again.At.Equal(first.At) {
			t.Fatalf("a repeated opt-out: %+v, %v; want the first one's time %s", again, err, first.At)
		}
		// bob has the period's digest already, then opts out.
		id := startRun(t, l, rep, per)
		c := claim(t, l, id, rep, per, "bob@x.com", ledger.ClaimOptions{})
		if err := l.MarkSent(ctx, c, "250 OK"); err != nil {
			t.Fatal(err)
		}
		if err := l.FinishRun(ctx, id, report.RunSucceeded, "", ledger.Counts{Sent: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.OptOut(ctx, rep, "bob@x.com"); err != nil {
			t.Fatal(err)
		}

		id = startRun(t, l, rep, per)
		ana := claim(t, l, id, rep, per, "ana@x.com", ledger.ClaimOptions{})
		if ana.Claimed || !errors.Is(ana.Reason, ledger.ErrUnsubscribed) || ana.Skip != report.SkipUnsubscribed || ana.Prior != "" {
			t.Fatalf("claim of an opted-out recipient: %+v", ana)
		}
		if d := delivery(t, b.db, rep, per, "ana@x.com"); d.Status != report.DeliverySkipped || d.LastError != "unsubscribed" || d.Attempts != 0 || d.RunID != id {
			t.Errorf("ana's row %+v, want skipped, unsubscribed, no attempt, run %d", d, id)
		}
		if c := claim(t, l, id, rep, per, "carla@x.com", ledger.ClaimOptions{}); !c.Claimed {
			t.Errorf("a recipient who did not opt out: %+v", c)
		}
		for _, o := range []ledger.ClaimOptions{{}, {Force: true}} {
			bob := claim(t, l, id, rep, per, "bob@x.com", o)
			if bob.Claimed {
				t.Errorf("bob claimed with %+v", o)
			}
		}
		if d := delivery(t, b.db, rep, per, "bob@x.com"); d.Status != report.DeliverySent {
			t.Errorf("bob's row %+v: the sent delivery must stay sent", d)
		}
		if n := claim(t, l, id, report.GateNotice(rep), per, "ana@x.com", ledger.ClaimOptions{}); !n.Claimed {
			t.Errorf("an owner's notice to an opted-out recipient: %+v", n)
		}

		list, err := l.OptOuts(ctx, rep)
		if err != nil || len(list) != 2 || list[0].Recipient != "ana@x.com" || list[1].Recipient != "bob@x.com" {
			t.Fatalf("OptOuts = %+v, %v", list, err)
		}
		if other, err := l.OptOuts(ctx, "another"); err != nil || len(other) != 0 {
			t.Errorf("OptOuts of another report = %+v, %v", other, err)
		}
		if ok, err := l.Restore(ctx, rep, "ANA@x.com"); err != nil || !ok {
			t.Fatalf("Restore = %v, %v", ok, err)
		}
		if ok, err := l.Restore(ctx, rep, "ana@x.com"); err != nil || ok {
			t.Errorf("a second Restore = %v, %v; want false", ok, err)
		}
		if c := claim(t, l, id, rep, per, "ana@x.com", ledger.ClaimOptions{}); !c.Claimed || c.Prior != report.DeliverySkipped {
			t.Errorf("claim after the restore: %+v, want claimed from skipped", c)
		}
		if _, err := l.OptOut(ctx, "", "ana@x.com"); !errors.Is(err, ledger.ErrInvalid) {
			t.Errorf("an opt-out without a report: %v", err)
		}
	})
}
