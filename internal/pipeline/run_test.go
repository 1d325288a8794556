package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/templates"
)

// These tests drive Runner.Run with a ledger and a sender in memory: the
// rules of a run (what is claimed, what each sender outcome records, when a
// run stops, the link fallback, the counts) without a database or an SMTP
// server. The end-to-end tests in internal/app run the same code on real
// ones.

// emptySource is a source without activity: the snapshot is all zeros,
// which is all a run's rules need.
type emptySource struct{}

func (emptySource) Load(context.Context, metrics.Windows) (*metrics.Facts, error) {
	return &metrics.Facts{}, nil
}

// fakeLedger is the ledger's contract in memory: claims as configured,
// marks and the run's end recorded.
type fakeLedger struct {
	mu      sync.Mutex
	refuse  map[string]error // recipient → the reason its claim is refused
	locked  bool
	marks   map[string]report.DeliveryStatus
	claims  int
	started int
	status  report.RunStatus
	errText string
	note    string
	counts  ledger.Counts
}

func (l *fakeLedger) Lock(context.Context, string, string) (func() error, error) {
	l.locked = true
	return func() error { return nil }, nil
}

func (l *fakeLedger) StartRun(context.Context, ledger.RunInfo) (int64, error) {
	l.started++
	return 7, nil
}

func (l *fakeLedger) FinishRun(_ context.Context, _ int64, s report.RunStatus, text string, c ledger.Counts) error {
	l.status, l.errText, l.counts = s, text, c
	return nil
}

func (l *fakeLedger) Claim(_ context.Context, rep, per, rcpt, msgID string, runID int64, _ ledger.ClaimOptions) (ledger.Claim, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.claims++
	c := ledger.Claim{Report: rep, Period: per, Recipient: rcpt, MessageID: msgID, RunID: runID}
	if reason := l.refuse[rcpt]; reason != nil {
		c.Reason = reason
		return c, nil
	}
	c.Claimed = true
	return c, nil
}

func (l *fakeLedger) MarkSent(_ context.Context, c ledger.Claim, _ string) error {
	return l.mark(c, report.DeliverySent)
}

func (l *fakeLedger) MarkFailed(_ context.Context, c ledger.Claim, s report.DeliveryStatus, _ string) error {
	return l.mark(c, s)
}

func (l *fakeLedger) MarkSkipped(_ context.Context, c ledger.Claim, _ string) error {
	return l.mark(c, report.DeliverySkipped)
}

func (l *fakeLedger) mark(c ledger.Claim, s report.DeliveryStatus) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.marks == nil {
		l.marks = map[string]report.DeliveryStatus{}
	}
	l.marks[c.Recipient] = s
	return nil
}

func (l *fakeLedger) Runs(context.Context, string, int) ([]ledger.Run, error) { return nil, nil }

func (l *fakeLedger) NotTriedRecipients(context.Context, string, string) ([]string, error) {
	return nil, nil
}

func (l *fakeLedger) NoteRun(_ context.Context, _ int64, note string) error {
	l.note = note
	return nil
}

// fakeSender answers each message with reply(message) and keeps them.
type fakeSender struct {
	reply func(m delivery.Message) delivery.Result
	sent  []delivery.Message
}

func (s *fakeSender) Send(_ context.Context, m delivery.Message) delivery.Result {
	s.sent = append(s.sent, m)
	if s.reply == nil {
		return delivery.Result{Status: report.DeliverySent, Response: "250 2.0.0 queued", Code: 250}
	}
	return s.reply(m)
}

// to answers by recipient, sent for everyone not named.
func to(results map[string]delivery.Result) func(delivery.Message) delivery.Result {
	return func(m delivery.Message) delivery.Result {
		if r, ok := results[m.To]; ok {
			return r
		}
		return delivery.Result{Status: report.DeliverySent, Response: "250 ok", Code: 250}
	}
}

var (
	temporary = delivery.Result{Status: report.DeliveryFailedTemporary, Code: 451, Err: errors.New("451 try later")}
	permanent = delivery.Result{Status: report.DeliveryFailedPermanent, Code: 550, Err: errors.New("550 no such user")}
	unknown   = delivery.Result{Status: report.DeliveryUnknown, Err: errors.New("connection lost after DATA")}
	tooLarge  = delivery.Result{Status: report.DeliveryFailedPermanent, Code: 552, EnhancedCode: "5.3.4", Err: errors.New("552 message too large")}
	session   = delivery.Result{Status: report.DeliveryFailedTemporary, Err: fmt.Errorf("%w: connection refused", delivery.ErrSession)}
	deferred  = delivery.Result{Status: report.DeliveryFailedTemporary, Code: 452, Err: fmt.Errorf("%w: 452 mailbox full", delivery.ErrRecipientDeferred)}
)

func TestRun(t *testing.T) {
	t.Parallel()
	digests, err := digest.New(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	p, err := period.Parse("2026-W47", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	abc := []string{"a@example.com", "b@example.com", "c@example.com"}
	type want map[string]report.DeliveryStatus

	tests := []struct {
		name     string
		rcpts    []string
		refuse   map[string]error
		reply    func(delivery.Message) delivery.Result
		runner   func(*pipeline.Runner)
		opts     pipeline.Options
		want     want // each delivery outcome, by recipient ("" for a refused address)
		marks    want // what the ledger recorded, by recipient
		run      report.RunStatus
		counts   ledger.Counts
		err      error
		sends    int
		unlinked bool // the last message went without its workbook, with a link
	}{
		{
			name: "all sent", rcpts: abc,
			want:  want{"a@example.com": report.DeliverySent, "b@example.com": report.DeliverySent, "c@example.com": report.DeliverySent},
			marks: want{"a@example.com": report.DeliverySent, "b@example.com": report.DeliverySent, "c@example.com": report.DeliverySent},
			run:   report.RunSucceeded, counts: ledger.Counts{Sent: 3}, sends: 3,
		},
		{
			name: "each sender outcome is recorded as it is", rcpts: abc,
			reply: to(map[string]delivery.Result{"a@example.com": permanent, "b@example.com": unknown, "c@example.com": temporary}),
			want:  want{"a@example.com": report.DeliveryFailedPermanent, "b@example.com": report.DeliveryUnknown, "c@example.com": report.DeliveryFailedTemporary},
			marks: want{"a@example.com": report.DeliveryFailedPermanent, "b@example.com": report.DeliveryUnknown, "c@example.com": report.DeliveryFailedTemporary},
			run:   report.RunFailed, counts: ledger.Counts{Failed: 2, Unknown: 1}, sends: 3,
		},
		{
			name: "some failed: partial", rcpts: abc,
			reply: to(map[string]delivery.Result{"b@example.com": permanent}),
			want:  want{"a@example.com": report.DeliverySent, "b@example.com": report.DeliveryFailedPermanent, "c@example.com": report.DeliverySent},
			marks: want{"a@example.com": report.DeliverySent, "b@example.com": report.DeliveryFailedPermanent, "c@example.com": report.DeliverySent},
			run:   report.RunPartial, counts: ledger.Counts{Sent: 2, Failed: 1}, sends: 3,
		},
		{
			name: "refused claims are not sent", rcpts: append(abc, "d@example.com"),
			refuse: map[string]error{"a@example.com": ledger.ErrAlreadySent, "b@example.com": ledger.ErrUnknownOutcome, "c@example.com": ledger.ErrFailedPermanent},
			want:   want{"a@example.com": report.DeliverySkipped, "b@example.com": report.DeliveryUnknown, "c@example.com": report.DeliveryFailedPermanent, "d@example.com": report.DeliverySent},
			marks:  want{"d@example.com": report.DeliverySent},
			run:    report.RunPartial, counts: ledger.Counts{Sent: 1, Skipped: 1, Failed: 1, Unknown: 1}, sends: 1,
		},
		{
			name: "already sent to everyone: succeeded", rcpts: abc[:2],
			refuse: map[string]error{"a@example.com": ledger.ErrAlreadySent, "b@example.com": ledger.ErrAlreadySent},
			want:   want{"a@example.com": report.DeliverySkipped, "b@example.com": report.DeliverySkipped},
			marks:  want{},
			run:    report.RunSucceeded, counts: ledger.Counts{Skipped: 2}, sends: 0,
		},
		{
			name: "a session failure stops the run", rcpts: abc,
			reply: to(map[string]delivery.Result{"a@example.com": session}),
			want:  want{"a@example.com": report.DeliveryFailedTemporary, "b@example.com": report.DeliveryFailedTemporary, "c@example.com": report.DeliveryFailedTemporary},
			marks: want{"a@example.com": report.DeliveryFailedTemporary, "b@example.com": report.DeliveryFailedTemporary, "c@example.com": report.DeliveryFailedTemporary},
			run:   report.RunFailed, counts: ledger.Counts{Failed: 3}, err: pipeline.ErrTransport, sends: 1,
		},
		{
			name: "three temporary failures in a row stop the run", rcpts: append(abc, "d@example.com", "e@example.com"),
			reply: func(delivery.Message) delivery.Result { return temporary },
			want: want{"a@example.com": report.DeliveryFailedTemporary, "b@example.com": report.DeliveryFailedTemporary, "c@example.com": report.DeliveryFailedTemporary,
				"d@example.com": report.DeliveryFailedTemporary, "e@example.com": report.DeliveryFailedTemporary},
			marks: want{"a@example.com": report.DeliveryFailedTemporary, "b@example.com": report.DeliveryFailedTemporary, "c@example.com": report.DeliveryFailedTemporary,
				"d@example.com": report.DeliveryFailedTemporary, "e@example.com": report.DeliveryFailedTemporary},
			run: report.RunFailed, counts: ledger.Counts{Failed: 5}, sends: 3,
		},
		{
			name: "recipients deferred at RCPT do not stop the run", rcpts: append(abc, "d@example.com", "e@example.com"),
			reply: to(map[string]delivery.Result{"a@example.com": deferred, "b@example.com": deferred, "c@example.com": deferred, "d@example.com": deferred}),
			want: want{"a@example.com": report.DeliveryFailedTemporary, "b@example.com": report.DeliveryFailedTemporary, "c@example.com": report.DeliveryFailedTemporary,
				"d@example.com": report.DeliveryFailedTemporary, "e@example.com": report.DeliverySent},
			marks: want{"a@example.com": report.DeliveryFailedTemporary, "b@example.com": report.DeliveryFailedTemporary, "c@example.com": report.DeliveryFailedTemporary,
				"d@example.com": report.DeliveryFailedTemporary, "e@example.com": report.DeliverySent},
			run: report.RunPartial, counts: ledger.Counts{Sent: 1, Failed: 4}, sends: 5,
		},
		{
			name: "a refused address is a permanent failure, the others go", rcpts: []string{"not-an-address", "a@example.com", "A@Example.com "},
			want:  want{"": report.DeliveryFailedPermanent, "a@example.com": report.DeliverySent},
			marks: want{"a@example.com": report.DeliverySent},
			run:   report.RunPartial, counts: ledger.Counts{Sent: 1, Failed: 1}, sends: 1,
		},
		{
			name: "over max_attachment_mb: the link goes instead", rcpts: abc[:1],
			runner: func(r *pipeline.Runner) {
				r.MaxMessageBytes, r.PublicURL, r.LinkKey = 1000, "https://reports.example.com", []byte("0123456789abcdef0123456789abcdef")
			},
			want:  want{"a@example.com": report.DeliverySent},
			marks: want{"a@example.com": report.DeliverySent},
			run:   report.RunSucceeded, counts: ledger.Counts{Sent: 1}, sends: 1, unlinked: true,
		},
		{
			name: "over max_attachment_mb without a public URL: permanent failure", rcpts: abc[:1],
			runner: func(r *pipeline.Runner) { r.MaxMessageBytes = 1000 },
			want:   want{"a@example.com": report.DeliveryFailedPermanent},
			marks:  want{"a@example.com": report.DeliveryFailedPermanent},
			run:    report.RunFailed, counts: ledger.Counts{Failed: 1}, sends: 0,
		},
		{
			name: "the relay refuses the size: the link goes once in its place", rcpts: abc[:1],
			runner: func(r *pipeline.Runner) {
				r.PublicURL, r.LinkKey = "https://reports.example.com", []byte("0123456789abcdef0123456789abcdef")
			},
			reply: func(m delivery.Message) delivery.Result {
				if m.Attachment != nil {
					return tooLarge
				}
				return delivery.Result{Status: report.DeliverySent, Response: "250 ok", Code: 250}
			},
			want:  want{"a@example.com": report.DeliverySent},
			marks: want{"a@example.com": report.DeliverySent},
			run:   report.RunSucceeded, counts: ledger.Counts{Sent: 1}, sends: 2, unlinked: true,
		},
		{
			name: "the relay refuses the size without a public URL: recorded as refused", rcpts: abc[:1],
			reply: func(delivery.Message) delivery.Result { return tooLarge },
			want:  want{"a@example.com": report.DeliveryFailedPermanent},
			marks: want{"a@example.com": report.DeliveryFailedPermanent},
			run:   report.RunFailed, counts: ledger.Counts{Failed: 1}, sends: 1,
		},
		{
			name: "dry run: nothing sent or recorded", rcpts: abc[:2], opts: pipeline.Options{DryRun: true},
			want: want{"a@example.com": report.DeliverySkipped, "b@example.com": report.DeliverySkipped},
		},
		{
			name: "test copy: one message, nothing recorded", rcpts: abc, opts: pipeline.Options{To: "qa@example.com"},
			want: want{"qa@example.com": report.DeliverySent}, sends: 1,
		},
		{
			name: "nobody to send to", err: pipeline.ErrNoRecipients, run: report.RunFailed, marks: want{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := &fakeLedger{refuse: tt.refuse}
			s := &fakeSender{reply: tt.reply}
			r := &pipeline.Runner{
				Renderer: &pipeline.Renderer{Source: emptySource{}, Digests: digests, Currency: "EUR"},
				Ledger:   l, Sender: s, From: "sameteam <reports@example.com>",
				Now: func() time.Time { return now },
			}
			if tt.runner != nil {
				tt.runner(r)
			}
			rep := pipeline.Report{Name: "weekly-sales", Audience: report.AudienceSales, Kind: period.Week, Location: time.UTC, Locale: "en", SLAHours: 4}
			for _, a := range tt.rcpts {
				rep.Recipients = append(rep.Recipients, pipeline.Recipient{Email: a})
			}
			opts := tt.opts
			opts.AsOf, opts.Trigger = now, report.TriggerManual
			out, err := r.Run(context.Background(), rep, p, opts)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("Run error = %v, want %v", err, tt.err)
			}
			got := want{}
			for _, d := range out.Deliveries {
				got[d.Recipient] = d.Status
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("outcome %v, want %v", got, tt.want)
			}
			for status, n := range map[report.DeliveryStatus]int{report.DeliverySent: tt.counts.Sent, report.DeliverySkipped: tt.counts.Skipped, report.DeliveryUnknown: tt.counts.Unknown} {
				if record := !opts.DryRun && opts.To == ""; record && out.Count(status) != n {
					t.Errorf("Count(%s) = %d, want %d", status, out.Count(status), n)
				}
			}
			if len(s.sent) != tt.sends {
				t.Errorf("%d messages sent, want %d", len(s.sent), tt.sends)
			}
			record := !opts.DryRun && opts.To == ""
			if !record {
				if l.locked || l.started != 0 || l.claims != 0 || len(l.marks) != 0 || l.status != "" {
					t.Errorf("a run that records nothing touched the ledger: %+v", l)
				}
				return
			}
			if !l.locked || l.started != 1 {
				t.Errorf("locked %v, started %d runs", l.locked, l.started)
			}
			if l.status != tt.run || l.counts != tt.counts {
				t.Errorf("run finished %s %+v (%q), want %s %+v", l.status, l.counts, l.errText, tt.run, tt.counts)
			}
			if len(tt.marks) > 0 || l.marks != nil {
				if !maps.Equal(l.marks, tt.marks) {
					t.Errorf("ledger marks %v, want %v", l.marks, tt.marks)
				}
			}
			if tt.unlinked {
				last := s.sent[len(s.sent)-1]
				if last.Attachment != nil || !strings.Contains(last.HTML, "https://reports.example.com/reports/weekly-sales/2026-W47.xlsx?") {
					t.Errorf("the last message has attachment %v and no link to the workbook", last.Attachment != nil)
				}
			} else if tt.sends > 0 && s.sent[0].Attachment == nil {
				t.Error("the workbook is not attached")
			}
		})
	}
}
