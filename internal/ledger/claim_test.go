package ledger_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/testdb"
)

const (
	rep = "leadership"
	per = "2026-W47"
)

// TestClaimMatrix claims a recipient in every prior state under every
// option and checks the effectively-once rule, and that a refused claim
// changes nothing.
func TestClaimMatrix(t *testing.T) {
	t.Parallel()
	none := ledger.ClaimOptions{}
	resend := ledger.ClaimOptions{ResendUnknown: true}
	force := ledger.ClaimOptions{Force: true}

	// prepare brings recipient to a state under run runID.
	type prepare func(t *testing.T, l *ledger.Ledger, b *bundle, runID int64, recipient string)
	mark := func(status report.DeliveryStatus) prepare {
		return func(t *testing.T, l *ledger.Ledger, _ *bundle, runID int64, r string) {
			c := claim(t, l, runID, rep, per, r, none)
			var err error
			if status == report.DeliverySent {
				err = l.MarkSent(context.Background(), c, "250 2.0.0 OK queued")
			} else {
				err = l.MarkFailed(context.Background(), c, status, "smtp said no")
			}
			if err != nil {
				t.Fatalf("mark %s: %v", status, err)
			}
		}
	}
	states := []struct {
		name    string
		prep    prepare
		prior   report.DeliveryStatus // the Prior a claim reports
		after   report.DeliveryStatus // the row's status after a refused claim
		reasons [3]error              // for none, resend, force; nil = claimed
	}{
		{name: "new", prep: func(*testing.T, *ledger.Ledger, *bundle, int64, string) {}, prior: ""},
		{
			name: "pending", prior: report.DeliveryPending,
			prep: func(t *testing.T, _ *ledger.Ledger, b *bundle, _ int64, r string) {
				// Nothing in the ledger writes pending and stops there; a
				// planner (or an older version) might.
				if _, err := b.db.ExecContext(context.Background(), b.db.Rebind(`INSERT INTO sameteam_deliveries
					(report, period, recipient, message_id, status, updated_at) VALUES (?, ?, ?, ?, 'pending', ?)`),
					rep, per, r, msgID(rep, per, r), b.db.Time(b.clock.Now())); err != nil {
					t.Fatal(err)
				}
			},
		},
		{name: "failed_temporary", prep: mark(report.DeliveryFailedTemporary), prior: report.DeliveryFailedTemporary},
		{
			name: "sent", prep: mark(report.DeliverySent), prior: report.DeliverySent, after: report.DeliverySent,
			reasons: [3]error{ledger.ErrAlreadySent, ledger.ErrAlreadySent, nil},
		},
		{
			name: "unknown", prep: mark(report.DeliveryUnknown), prior: report.DeliveryUnknown, after: report.DeliveryUnknown,
			reasons: [3]error{ledger.ErrUnknownOutcome, nil, nil},
		},
		{
			name: "failed_permanent", prep: mark(report.DeliveryFailedPermanent), prior: report.DeliveryFailedPermanent, after: report.DeliveryFailedPermanent,
			reasons: [3]error{ledger.ErrFailedPermanent, ledger.ErrFailedPermanent, nil},
		},
		{
			// A personal digest skip_empty spared: decided on purpose, so
			// a rerun keeps it; only --force sends after all.
			name: "skipped", prior: report.DeliverySkipped, after: report.DeliverySkipped,
			prep: func(t *testing.T, l *ledger.Ledger, _ *bundle, runID int64, r string) {
				c := claim(t, l, runID, rep, per, r, none)
				if err := l.MarkSkipped(context.Background(), c, "skip_empty: nothing due and nothing in the period"); err != nil {
					t.Fatalf("mark skipped: %v", err)
				}
			},
			reasons: [3]error{ledger.ErrSkipped, ledger.ErrSkipped, nil},
		},
		{
			name: "sending_this_run", prior: report.DeliverySending, after: report.DeliverySending,
			prep: func(t *testing.T, l *ledger.Ledger, _ *bundle, runID int64, r string) {
				claim(t, l, runID, rep, per, r, none)
			},
			reasons: [3]error{ledger.ErrInProgress, ledger.ErrInProgress, ledger.ErrInProgress},
		},
		{
			// A row in sending whose run has finished without resolving it:
			// it reads as unknown and stays unknown when refused.
			name: "sending_finished_run", prior: report.DeliveryUnknown, after: report.DeliveryUnknown,
			prep: func(t *testing.T, _ *ledger.Ledger, b *bundle, _ int64, r string) {
				ctx := context.Background()
				var old int64
				if err := b.db.GetContext(ctx, &old, b.db.Rebind(`INSERT INTO sameteam_runs
					(report, period, status, "trigger", started_at, finished_at) VALUES (?, ?, 'failed', 'manual', ?, ?) RETURNING id`),
					rep, per, b.db.Time(b.clock.Now()), b.db.Time(b.clock.Now())); err != nil {
					t.Fatal(err)
				}
				if _, err := b.db.ExecContext(ctx, b.db.Rebind(`INSERT INTO sameteam_deliveries
					(report, period, recipient, message_id, status, run_id, updated_at) VALUES (?, ?, ?, ?, 'sending', ?, ?)`),
					rep, per, r, msgID(rep, per, r), old, b.db.Time(b.clock.Now())); err != nil {
					t.Fatal(err)
				}
			},
			reasons: [3]error{ledger.ErrUnknownOutcome, nil, nil},
		},
	}
	opts := []struct {
		name string
		o    ledger.ClaimOptions
	}{{"plain", none}, {"resend_unknown", resend}, {"force", force}}

	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		runID := startRun(t, l, rep, per)
		for _, st := range states {
			for i, op := range opts {
				t.Run(st.name+"/"+op.name, func(t *testing.T) {
					r := st.name + "." + op.name + "@example.com"
					st.prep(t, l, b, runID, r)
					before := 0
					if st.name != "new" {
						before = delivery(t, b.db, rep, per, r).Attempts
					}
					c, err := l.Claim(ctx, rep, per, r, msgID(rep, per, r), runID, op.o)
					if err != nil {
						t.Fatalf("claim: %v", err)
					}
					want := st.reasons[i]
					if c.Claimed != (want == nil) || !errors.Is(c.Reason, want) || (want == nil) != (c.Reason == nil) {
						t.Fatalf("claimed %v reason %v, want reason %v", c.Claimed, c.Reason, want)
					}
					if c.Prior != st.prior {
						t.Errorf("prior %q, want %q", c.Prior, st.prior)
					}
					got := delivery(t, b.db, rep, per, r)
					if c.Claimed {
						if got.Status != report.DeliverySending || got.RunID != runID || c.ID != got.ID {
							t.Errorf("claimed row is %s run %d id %d, want sending run %d id %d", got.Status, got.RunID, got.ID, runID, c.ID)
						}
						return
					}
					if got.Status != st.after {
						t.Errorf("refused claim left %s, want %s", got.Status, st.after)
					}
					wantAttempts := before
					if st.name == "sending_finished_run" {
						wantAttempts++ // the abandoned send counts
					}
					if got.Attempts != wantAttempts {
						t.Errorf("attempts %d, want %d", got.Attempts, wantAttempts)
					}
				})
			}
		}
	})
}

// TestMarkFlows follows deliveries through claim and mark.
func TestMarkFlows(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		runID := startRun(t, l, rep, per)

		t.Run("retry_then_sent", func(t *testing.T) {
			r := "retry@example.com"
			c := claim(t, l, runID, rep, per, r, ledger.ClaimOptions{})
			if err := l.MarkFailed(ctx, c, report.DeliveryFailedTemporary, "451 4.7.0 try later"); err != nil {
				t.Fatal(err)
			}
			b.clock.Advance(time.Minute)
			c2 := claim(t, l, runID, rep, per, r, ledger.ClaimOptions{})
			if !c2.Claimed || c2.Prior != report.DeliveryFailedTemporary || c2.Attempts != 1 {
				t.Fatalf("retry claim %+v", c2)
			}
			if err := l.MarkSent(ctx, c2, "250 2.0.0 Ok: queued as ABC"); err != nil {
				t.Fatal(err)
			}
			d := delivery(t, b.db, rep, per, r)
			if d.Status != report.DeliverySent || d.Attempts != 2 || d.Response != "250 2.0.0 Ok: queued as ABC" ||
				d.LastError != "451 4.7.0 try later" || !d.SentAt.Equal(b.clock.Now()) || !d.UpdatedAt.Equal(b.clock.Now()) ||
				d.MessageID != msgID(rep, per, r) {
				t.Errorf("delivery %+v", d)
			}
			if err := l.MarkSent(ctx, c2, "250 again"); !errors.Is(err, ledger.ErrClaimLost) {
				t.Errorf("second mark: %v, want ErrClaimLost", err)
			}
		})

		t.Run("force_resend_keeps_first_reply_on_failure", func(t *testing.T) {
			r := "force@example.com"
			c := claim(t, l, runID, rep, per, r, ledger.ClaimOptions{})
			if err := l.MarkSent(ctx, c, "250 first"); err != nil {
				t.Fatal(err)
			}
			sentAt := b.clock.Now()
			b.clock.Advance(time.Hour)
			c2 := claim(t, l, runID, rep, per, r, ledger.ClaimOptions{Force: true})
			if !c2.Claimed || c2.Prior != report.DeliverySent {
				t.Fatalf("forced claim %+v", c2)
			}
			if err := l.MarkFailed(ctx, c2, report.DeliveryFailedPermanent, "550 5.1.1 no such user"); err != nil {
				t.Fatal(err)
			}
			d := delivery(t, b.db, rep, per, r)
			if d.Status != report.DeliveryFailedPermanent || d.Attempts != 2 || d.Response != "250 first" ||
				!d.SentAt.Equal(sentAt) || d.LastError != "550 5.1.1 no such user" {
				t.Errorf("delivery %+v", d)
			}
		})

		t.Run("recipients_are_lower_cased", func(t *testing.T) {
			c := claim(t, l, runID, rep, per, "  Ana.Garcia@Example.COM ", ledger.ClaimOptions{})
			if c.Recipient != "ana.garcia@example.com" {
				t.Errorf("recipient %q", c.Recipient)
			}
			if err := l.MarkSent(ctx, c, "250 ok"); err != nil {
				t.Fatal(err)
			}
			again := claim(t, l, runID, rep, per, "ana.garcia@example.com", ledger.ClaimOptions{})
			if again.Claimed || !errors.Is(again.Reason, ledger.ErrAlreadySent) {
				t.Errorf("second spelling claimed: %+v", again)
			}
			delivery(t, b.db, rep, per, "ana.garcia@example.com")
		})

		t.Run("bad_marks", func(t *testing.T) {
			c := claim(t, l, runID, rep, per, "bad@example.com", ledger.ClaimOptions{})
			if err := l.MarkFailed(ctx, c, report.DeliverySent, "x"); !errors.Is(err, ledger.ErrInvalid) {
				t.Errorf("MarkFailed(sent): %v, want ErrInvalid", err)
			}
			if err := l.MarkSent(ctx, ledger.Claim{Recipient: "x"}, "250"); !errors.Is(err, ledger.ErrInvalid) {
				t.Errorf("mark of an unclaimed delivery: %v, want ErrInvalid", err)
			}
			if d := delivery(t, b.db, rep, per, "bad@example.com"); d.Status != report.DeliverySending || d.Attempts != 0 {
				t.Errorf("refused marks changed the row: %+v", d)
			}
		})
	})
}

// TestClaimErrors covers claims the ledger cannot decide.
func TestClaimErrors(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		ctx := context.Background()
		runID := startRun(t, l, rep, per)
		other := startRun(t, l, rep, "2026-W48")
		finished := startRun(t, l, "sales", per)
		if err := l.FinishRun(ctx, finished, report.RunSucceeded, "", ledger.Counts{}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name                      string
			report, period, recipient string
			messageID                 string
			runID                     int64
			want                      error
		}{
			{name: "empty_recipient", report: rep, period: per, recipient: "  ", messageID: "<m>", runID: runID, want: ledger.ErrInvalid},
			{name: "empty_message_id", report: rep, period: per, recipient: "a@x.com", runID: runID, want: ledger.ErrInvalid},
			{name: "no_such_run", report: rep, period: per, recipient: "a@x.com", messageID: "<m>", runID: 999999, want: ledger.ErrNoRun},
			{name: "run_of_another_period", report: rep, period: per, recipient: "a@x.com", messageID: "<m>", runID: other, want: ledger.ErrRunMismatch},
			{name: "finished_run", report: "sales", period: per, recipient: "a@x.com", messageID: "<m>", runID: finished, want: ledger.ErrRunNotRunning},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := l.Claim(ctx, tt.report, tt.period, tt.recipient, tt.messageID, tt.runID, ledger.ClaimOptions{})
				if !errors.Is(err, tt.want) {
					t.Fatalf("err %v, want %v", err, tt.want)
				}
			})
		}
		if n := countDeliveries(t, b.db); n != 0 {
			t.Errorf("%d delivery rows written by failed claims", n)
		}
	})
}

// TestConcurrentClaims has ten goroutines claim each recipient at once, new
// ones and ones to retry: exactly one may win every time.
func TestConcurrentClaims(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, b := setup(t, url)
		// On SQLite a second handle is a second process on the same file.
		l2, b2 := setup(t, url)
		const goroutines, recipients = 10, 15
		// Keep the connections between rounds (database/sql keeps two idle
		// by default), so that rounds race on claims, not on connecting.
		b.db.SetMaxIdleConns(goroutines)
		b2.db.SetMaxIdleConns(goroutines)
		ctx := context.Background()
		runID := startRun(t, l, rep, per)
		for i := range recipients {
			r := "r" + strings.Repeat("x", i) + "@example.com"
			if i%2 == 1 {
				// A retry of an existing row races on the conditional
				// UPDATE rather than on inserting the row.
				c := claim(t, l, runID, rep, per, r, ledger.ClaimOptions{})
				if err := l.MarkFailed(ctx, c, report.DeliveryFailedTemporary, "421 busy"); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var wins, inProgress int
			var errs []error
			start := make(chan struct{})
			for g := range goroutines {
				wg.Go(func() {
					lg := l
					if g%2 == 1 {
						lg = l2
					}
					<-start
					c, err := lg.Claim(ctx, rep, per, r, msgID(rep, per, r), runID, ledger.ClaimOptions{})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						errs = append(errs, err)
					case c.Claimed:
						wins++
					case errors.Is(c.Reason, ledger.ErrInProgress):
						inProgress++
					default:
						errs = append(errs, c.Reason)
					}
				})
			}
			close(start)
			wg.Wait()
			if len(errs) > 0 || wins != 1 || inProgress != goroutines-1 {
				t.Fatalf("%s: %d wins, %d in progress, errors %v", r, wins, inProgress, errs)
			}
		}
	})
}

// TestConcurrentStartRun: of ten runs of one (report, period) started at
// once, one starts and nine are told another is in progress.
func TestConcurrentStartRun(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		l, _ := setup(t, url)
		l2, _ := setup(t, url)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ids []int64
		var busy int
		var errs []error
		for g := range 10 {
			wg.Go(func() {
				lg := l
				if g%2 == 1 {
					lg = l2
				}
				id, err := lg.StartRun(context.Background(), ledger.RunInfo{Report: rep, Period: per, Trigger: report.TriggerScheduled})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ids = append(ids, id)
				case errors.Is(err, ledger.ErrRunInProgress):
					busy++
				default:
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if len(ids) != 1 || busy != 9 || len(errs) > 0 {
			t.Fatalf("started %v, %d in progress, errors %v", ids, busy, errs)
		}
	})
}
