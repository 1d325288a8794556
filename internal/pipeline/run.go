package pipeline

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/gate"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/signedlink"
)

// Ledger is what a run needs of the delivery ledger; *ledger.Ledger is one.
type Ledger interface {
	Lock(ctx context.Context, report, period string) (unlock func() error, err error)
	StartRun(ctx context.Context, info ledger.RunInfo) (int64, error)
	FinishRun(ctx context.Context, runID int64, status report.RunStatus, errText string, counts ledger.Counts) error
	Claim(ctx context.Context, report, period, recipient, messageID string, runID int64, opts ledger.ClaimOptions) (ledger.Claim, error)
	MarkSent(ctx context.Context, c ledger.Claim, response string) error
	MarkFailed(ctx context.Context, c ledger.Claim, status report.DeliveryStatus, errText string) error
	MarkSkipped(ctx context.Context, c ledger.Claim, reason string) error
	NotTriedRecipients(ctx context.Context, report, period string) ([]string, error)
	Runs(ctx context.Context, report string, limit int) ([]ledger.Run, error)
	NoteRun(ctx context.Context, runID int64, note string) error
}

// Sender delivers one message; delivery.SMTP and delivery.Outbox are two.
type Sender interface {
	Send(ctx context.Context, m delivery.Message) delivery.Result
}

// Observer is told about runs and deliveries (telemetry); optional.
type Observer interface {
	RunFinished(name string, status report.RunStatus, d time.Duration)
	Delivery(name string, status report.DeliveryStatus)
	// SourceAge is how old the source was at a run's as_of (see
	// gate.SourceAge).
	SourceAge(name string, age time.Duration)
}

// Runner computes, renders and delivers reports: the one code path of
// `run`, the scheduler and catch-up.
type Runner struct {
	Renderer *Renderer
	Ledger   Ledger
	Sender   Sender
	From     string
	ReplyTo  string
	// AllowedDomains limits recipients' domains when not empty.
	AllowedDomains []string
	// MaxMessageBytes is the largest encoded message; a larger one has its
	// workbook replaced by a signed link (when PublicURL and LinkKey are
	// set) or fails permanently with the reason.
	MaxMessageBytes int
	PublicURL       string
	LinkKey         []byte
	LinkTTL         time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
	Observer        Observer
}

// Options are the flags of one run.
type Options struct {
	AsOf          time.Time // zero: now
	Trigger       report.Trigger
	DryRun        bool   // render everything, send nothing, write nothing
	To            string // send one test copy here, record nothing
	Partial       bool   // the period has not ended: send, record nothing
	IgnoreGate    bool   // send although the data-quality gate fails; the run's note says so
	Force         bool   // send again to recipients the ledger marks sent
	ResendUnknown bool   // send again where an earlier outcome is unknown
}

// records says whether a run with these options writes to the ledger: a
// dry run, a test copy and a partial period's preview do not.
func (o Options) records() bool { return !o.DryRun && o.To == "" && !o.Partial }

// Outcome is what a run did, recipient by recipient.
type Outcome struct {
	Report     string
	Period     string
	AsOf       time.Time
	RunID      int64
	Deliveries []DeliveryOutcome
	Artifacts  map[string]int // artifact name → size in bytes, for dry runs
	// Held is why the data-quality gate held the run ("" when it did
	// not); GateIgnored, why it would have, for a run sent with
	// --ignore-gate.
	Held, GateIgnored string
	// Notices are the owners' notices of a held run.
	Notices []DeliveryOutcome
}

// DeliveryOutcome is one recipient's result.
type DeliveryOutcome struct {
	Recipient string
	Status    report.DeliveryStatus // sent, skipped, failed_temporary, failed_permanent, unknown
	Detail    string
	// MessageID is the copy's Message-ID, by which an unknown delivery can
	// be looked for in the relay's logs or the recipient's mailbox.
	MessageID string

	// session is set when the SMTP session itself failed (connect, TLS,
	// AUTH, MAIL FROM): not this recipient's fault, and every other
	// recipient would fail the same way.
	session error
	// deferred is set when the relay refused only this recipient for now
	// (4xx at RCPT: mailbox full, greylisting): it says nothing of the
	// relay, so it does not count towards stopping the run.
	deferred bool
}

// counts are the outcome's deliveries as the ledger counts a run's.
func (o *Outcome) counts() ledger.Counts {
	var c ledger.Counts
	for _, d := range o.Deliveries {
		switch d.Status {
		case report.DeliverySent:
			c.Sent++
		case report.DeliverySkipped:
			c.Skipped++
		case report.DeliveryUnknown:
			c.Unknown++
		default:
			c.Failed++
		}
	}
	return c
}

// Count returns how many deliveries ended in status.
func (o *Outcome) Count(status report.DeliveryStatus) int {
	n := 0
	for _, d := range o.Deliveries {
		if d.Status == status {
			n++
		}
	}
	return n
}

// Errors of a run.
var (
	// ErrSource wraps failures to read the source: temporary by nature.
	ErrSource = errors.New("pipeline: source unavailable")
	// ErrNoRecipients is returned when a report resolves to nobody.
	ErrNoRecipients = errors.New("pipeline: no recipients")
	// ErrUnrecorded is returned when the ledger could not record the end
	// of a run (the state database went away): the run is still marked
	// running there until the next run takes it over, so its outcome is
	// not one the ledger vouches for.
	ErrUnrecorded = errors.New("pipeline: the ledger did not record the end of the run")
	// ErrTransport wraps an SMTP session failure (server unreachable, TLS,
	// AUTH, sender refused) that stopped a run; the wrapped error matches
	// delivery.ErrSession and, where it applies, delivery.ErrTLS or
	// delivery.ErrAuth.
	ErrTransport = errors.New("pipeline: mail transport failed")
)

// maxTemporaryInARow is how many recipients in a row may fail temporarily
// (after the sender's own retries) before a run stops trying the rest.
const maxTemporaryInARow = 3

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run delivers rep for p. A dry run or a test copy (opts.To) writes nothing
// to the ledger. The error is for the run as a whole (source down, lock
// held); per-recipient failures are in the outcome.
func (r *Runner) Run(ctx context.Context, rep Report, p period.Period, opts Options) (*Outcome, error) {
	start := r.now()
	asOf := opts.AsOf
	if asOf.IsZero() {
		asOf = start
	}
	out := &Outcome{Report: rep.Name, Period: p.Label(), AsOf: asOf}
	log := r.logger().With("report", rep.Name, "period", p.Label())
	record := opts.records()

	if record {
		unlock, err := r.Ledger.Lock(ctx, rep.Name, p.Label())
		if err != nil {
			return out, fmt.Errorf("lock %s %s: %w", rep.Name, p.Label(), err)
		}
		defer func() {
			if err := unlock(); err != nil {
				log.Warn("release run lock", slog.Any("error", err))
			}
		}()
		// Nothing below is abandoned half-way by a cancelled context: a
		// claimed delivery is always marked (see deliver).
		info := ledger.RunInfo{Report: rep.Name, Period: p.Label(), AsOf: asOf, Trigger: opts.Trigger}
		id, err := r.Ledger.StartRun(ctx, info)
		if errors.Is(err, ledger.ErrRunInProgress) && r.takeOver(ctx, rep.Name, p.Label(), log) {
			id, err = r.Ledger.StartRun(ctx, info)
		}
		if err != nil {
			return out, fmt.Errorf("start run: %w", err)
		}
		out.RunID = id
		log = log.With("run_id", id)
	}
	err := r.run(ctx, rep, p, asOf, opts, out, log)
	if record {
		status, text := finalStatus(out, err)
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if ferr := r.Ledger.FinishRun(fctx, out.RunID, status, text, out.counts()); ferr != nil {
			// The state database went away during the run: the ledger
			// still calls it running, so nothing may say it was held or
			// finished. The next run takes it over and tries again.
			log.Error("record the end of the run", slog.Any("error", ferr))
			err = errors.Join(err, fmt.Errorf("%w (it would have been %s): %w", ErrUnrecorded, status, ferr))
			status = report.RunFailed
		}
		if out.GateIgnored != "" {
			if ferr := r.Ledger.NoteRun(fctx, out.RunID, "sent despite the data-quality gate (--ignore-gate): "+out.GateIgnored); ferr != nil {
				log.Error("record the run's note", slog.Any("error", ferr))
			}
		}
		if r.Observer != nil {
			r.Observer.RunFinished(rep.Name, status, r.now().Sub(start))
		}
	}
	log.Info("run finished", "sent", out.Count(report.DeliverySent), "skipped", out.Count(report.DeliverySkipped),
		"failed_temporary", out.Count(report.DeliveryFailedTemporary), "failed_permanent", out.Count(report.DeliveryFailedPermanent),
		"unknown", out.Count(report.DeliveryUnknown), "duration_ms", r.now().Sub(start).Milliseconds(), slog.Any("error", err))
	return out, err
}

// abandonedByLock is the error recorded on a run taken over by takeOver.
const abandonedByLock = "abandoned: its process stopped before finishing (the run lock was free while the run was still marked running)"

// takeOver ends the run of report and period that the ledger still calls
// running although its lease has not passed, and reports whether it did.
// It is called with the run lock held: every process that runs a report
// holds that lock for the whole run, and a killed process releases it (its
// PostgreSQL session ends; its SQLite lease lapses), so a running run
// without the lock belongs to a process that is gone. Without this, a rerun
// right after a crash (a CronJob's retry, an operator) would be refused
// until the run's lease expired. It is safe even if that process were
// still alive: its next claim fails because its run is no longer running,
// and finishing the run records its in-flight delivery as unknown, so
// nothing is sent twice.
func (r *Runner) takeOver(ctx context.Context, name, label string, log *slog.Logger) bool {
	runs, err := r.Ledger.Runs(ctx, name, 20)
	if err != nil {
		log.Warn("read the runs to take over", slog.Any("error", err))
		return false
	}
	took := false
	for _, run := range runs {
		if run.Period != label || run.Status != report.RunRunning {
			continue
		}
		if err := r.Ledger.FinishRun(ctx, run.ID, report.RunFailed, abandonedByLock, run.Counts); err != nil {
			log.Warn("take over an abandoned run", "abandoned_run_id", run.ID, slog.Any("error", err))
			continue
		}
		log.Warn("took over a run whose process stopped; what it was sending is now unknown",
			"abandoned_run_id", run.ID, "owner", run.Owner, "started_at", run.StartedAt)
		took = true
	}
	return took
}

func finalStatus(out *Outcome, err error) (report.RunStatus, string) {
	if errors.Is(err, ErrHeld) {
		return report.RunHeld, out.Held
	}
	if err != nil {
		return report.RunFailed, err.Error()
	}
	bad := len(out.Deliveries) - out.Count(report.DeliverySent) - out.Count(report.DeliverySkipped)
	switch {
	case bad == 0:
		return report.RunSucceeded, ""
	case bad == len(out.Deliveries):
		return report.RunFailed, fmt.Sprintf("%d deliveries failed", bad)
	}
	return report.RunPartial, fmt.Sprintf("%d of %d deliveries failed", bad, len(out.Deliveries))
}

func (r *Runner) run(ctx context.Context, rep Report, p period.Period, asOf time.Time, opts Options, out *Outcome, log *slog.Logger) error {
	b, err := r.Renderer.Build(ctx, rep, p, asOf, r.now())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSource, err)
	}
	defer b.Close()
	if r.Observer != nil {
		if age, ok := gate.SourceAge(b.Snapshot); ok {
			r.Observer.SourceAge(rep.Name, age)
		}
	}
	if reason := r.checkGate(b, opts, out, log); reason != "" {
		if opts.records() {
			c := &copyOf{build: b, opts: opts, runID: out.RunID, log: log}
			out.Notices = r.notifyOwners(ctx, c, reason)
		}
		return fmt.Errorf("%w: %s", ErrHeld, reason)
	}
	if rep.Audience.Personal() {
		return r.runPersonal(ctx, b, opts, out, log)
	}
	var rcpts []Recipient
	if opts.To != "" {
		rcpts = []Recipient{{Email: opts.To}}
	} else {
		rcpts = r.recipients(b, out, log)
	}
	if len(rcpts) == 0 && len(out.Deliveries) == 0 {
		return fmt.Errorf("%w: %s has no recipients (set recipients or recipients_from)", ErrNoRecipients, rep.Name)
	}

	// One rendering per language, shared by every recipient who reads it.
	// The workbooks wait in files of the run's own, removed when it ends.
	dir, err := os.MkdirTemp(r.Renderer.TmpDir, "sameteam-run-")
	if err != nil {
		return fmt.Errorf("workbook directory: %w", err)
	}
	defer os.RemoveAll(dir)
	arts := map[string]*rendered{}
	for _, rc := range rcpts {
		loc := cmp.Or(rc.Locale, rep.Locale)
		if arts[loc] != nil {
			continue
		}
		a, err := r.render(b, loc, filepath.Join(dir, loc+".xlsx"))
		if err != nil {
			return err
		}
		arts[loc] = a
	}
	// Every workbook is written: the snapshot need not stay open while
	// the messages go out.
	b.Close()
	if opts.DryRun {
		out.Artifacts = map[string]int{}
		for loc, a := range arts {
			out.Artifacts["html."+loc] = len(a.digest.HTML)
			out.Artifacts["txt."+loc] = len(a.digest.Text)
			out.Artifacts["xlsx."+loc] = int(a.size)
		}
		for _, rc := range rcpts {
			out.Deliveries = append(out.Deliveries, DeliveryOutcome{Recipient: rc.Email, Status: report.DeliverySkipped, Detail: "dry run"})
		}
		return nil
	}
	c := &copyOf{build: b, arts: arts, opts: opts, runID: out.RunID, log: log}
	if opts.records() {
		rcpts = r.notTriedFirst(ctx, rep.Name, b.Snapshot.Period.Label, rcpts, log)
	}
	return r.deliverInOrder(ctx, c, rcpts, func(i int) DeliveryOutcome { return r.deliver(ctx, c, rcpts[i]) }, out, log)
}

// deliverInOrder sends to rcpts one after the other, deliver(i) sending
// the i-th, and stops early where going on would only hurt: the same rule
// for a team's digests and for personal ones.
func (r *Runner) deliverInOrder(ctx context.Context, c *copyOf, rcpts []Recipient, deliver func(i int) DeliveryOutcome, out *Outcome, log *slog.Logger) error {
	temporary := 0 // recipients in a row that failed temporarily, not for their own address
	for i, rc := range rcpts {
		d := deliver(i)
		out.Deliveries = append(out.Deliveries, d)
		if d.session != nil {
			// Stop here rather than fail every recipient the same way:
			// each would burn its retries, and repeated AUTH failures lock
			// the account. The rest are recorded as not tried, so the next
			// run (after the relay or the configuration is fixed) sends
			// them, first.
			r.notTried(ctx, c, rcpts[i+1:], "the SMTP session failed for "+rc.Email, out)
			return fmt.Errorf("%w: %w", ErrTransport, d.session)
		}
		switch {
		case d.deferred:
			// Neither a sign that the relay is failing nor that it works.
		case d.Status == report.DeliveryFailedTemporary:
			temporary++
		default:
			temporary = 0
		}
		if temporary >= maxTemporaryInARow && i+1 < len(rcpts) {
			// A relay that throttles or defers every message (451 to the
			// data of all) would otherwise cost every remaining recipient
			// its retries and backoff, holding the run for minutes; a
			// cancelled run fails each claim the same way. Stop; the rest
			// are recorded as not tried for the next run, which the exit
			// code (75) asks for and which tries them first.
			log.Warn("stopping: recipients in a row failed temporarily", "in_a_row", temporary, "not_tried", len(rcpts)-i-1)
			r.notTried(ctx, c, rcpts[i+1:], fmt.Sprintf("%d recipients in a row failed temporarily", temporary), out)
			return nil
		}
	}
	return nil
}

// notTriedFirst puts the recipients an earlier run of the period stopped
// before at the head of the list, keeping the order otherwise: whoever
// fails first on every run then cannot keep them waiting forever.
func (r *Runner) notTriedFirst(ctx context.Context, name, label string, rcpts []Recipient, log *slog.Logger) []Recipient {
	waiting, err := r.Ledger.NotTriedRecipients(ctx, name, label)
	if err != nil {
		log.Warn("read the recipients not tried", slog.Any("error", err))
		return rcpts
	}
	if len(waiting) == 0 {
		return rcpts
	}
	first := make(map[string]bool, len(waiting))
	for _, w := range waiting {
		first[w] = true
	}
	ordered := slices.Clone(rcpts)
	slices.SortStableFunc(ordered, func(a, b Recipient) int {
		fa, fb := first[ledger.NormalizeRecipient(a.Email)], first[ledger.NormalizeRecipient(b.Email)]
		switch {
		case fa && !fb:
			return -1
		case fb && !fa:
			return 1
		}
		return 0
	})
	return ordered
}

// notTried records the recipients a run stops before as failed_temporary,
// "not tried: why", so that the ledger shows them and the next run tries
// them first. A recipient the ledger would not let this run send to (sent
// already, unknown, failed permanently) keeps its state.
func (r *Runner) notTried(ctx context.Context, c *copyOf, rest []Recipient, why string, out *Outcome) {
	label := c.build.Snapshot.Period.Label
	mctx := context.WithoutCancel(ctx)
	for _, rc := range rest {
		d := DeliveryOutcome{Recipient: rc.Email, Status: report.DeliveryFailedTemporary, Detail: ledger.NotTried + why}
		if c.opts.records() {
			d = r.recordNotTried(mctx, c, rc, label, d)
		}
		out.Deliveries = append(out.Deliveries, d)
	}
}

func (r *Runner) recordNotTried(ctx context.Context, c *copyOf, rc Recipient, label string, d DeliveryOutcome) DeliveryOutcome {
	name := c.build.Report.Name
	domain, _ := delivery.Domain(r.From)
	msgID := delivery.MessageID(name, label, rc.Email, cmp.Or(domain, "sameteam.invalid"))
	claim, err := r.Ledger.Claim(ctx, name, label, rc.Email, msgID, c.runID, ledger.ClaimOptions{})
	if err != nil {
		c.log.Warn("record a recipient not tried", "recipient_hash", recipientHash(rc.Email), slog.Any("error", err))
		return d
	}
	if !claim.Claimed {
		d.Status, d.Detail = report.DeliverySkipped, claim.Reason.Error()
		switch {
		case errors.Is(claim.Reason, ledger.ErrUnknownOutcome):
			d.Status = report.DeliveryUnknown
		case errors.Is(claim.Reason, ledger.ErrFailedPermanent):
			d.Status = report.DeliveryFailedPermanent
		}
		return d
	}
	if err := r.Ledger.MarkFailed(ctx, claim, report.DeliveryFailedTemporary, d.Detail); err != nil {
		c.log.Warn("record a recipient not tried", "recipient_hash", recipientHash(rc.Email), slog.Any("error", err))
	}
	return d
}

// recipients validates and de-duplicates the report's recipients; invalid
// ones are recorded as permanent failures so they are seen.
func (r *Runner) recipients(b *Build, out *Outcome, log *slog.Logger) []Recipient {
	var raw []string
	locales := map[string]string{}
	// A listed address that is a team member's gets the member's name too.
	names := map[string]string{}
	for _, m := range b.Members {
		if k := delivery.Key(m.Email); k != "" && names[k] == "" {
			names[k] = m.Name
		}
	}
	for rc := range b.Recipients() {
		raw = append(raw, rc.Email)
		k := strings.ToLower(strings.TrimSpace(rc.Email))
		if _, ok := locales[k]; !ok {
			locales[k] = rc.Locale
		}
		if rc.Name != "" && names[k] == "" {
			names[k] = rc.Name
		}
	}
	valid, errs := delivery.Recipients(raw, r.AllowedDomains)
	for _, err := range errs {
		log.Warn("recipient refused", slog.Any("error", err))
		out.Deliveries = append(out.Deliveries, DeliveryOutcome{Recipient: "", Status: report.DeliveryFailedPermanent, Detail: err.Error()})
	}
	rcpts := make([]Recipient, len(valid))
	for i, addr := range valid {
		rcpts[i] = Recipient{Email: addr, Locale: locales[strings.ToLower(addr)], Name: names[delivery.Key(addr)]}
	}
	return rcpts
}

// listID is the List-Id of a report's digests, in the sender's domain.
func (r *Runner) listID(report string) string {
	domain, _ := delivery.Domain(r.From)
	return delivery.ListID(report, cmp.Or(domain, "sameteam.invalid"))
}

// rendered is one language's digest and workbook. The workbook is in a
// file, not in memory: a large period's detail makes it tens of
// megabytes, and a message carries it only when it fits under
// max_attachment_mb (otherwise a link goes instead), so memory never
// holds more than the largest workbook that can be mailed.
type rendered struct {
	digest   *digest.Digest
	workbook string // its file
	size     int64
}

func (r *Runner) render(b *Build, locale, path string) (*rendered, error) {
	d, err := r.Renderer.Digest(b, locale, "")
	if err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("write %s workbook (%s): %w", b.Report.Name, locale, err)
	}
	err = r.Renderer.WriteWorkbook(f, b, locale)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s workbook (%s): %w", b.Report.Name, locale, cerr)
	}
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return &rendered{digest: d, workbook: path, size: fi.Size()}, nil
}

// copyOf is what every recipient's delivery of one run shares.
type copyOf struct {
	build *Build
	arts  map[string]*rendered // by locale
	opts  Options
	runID int64
	log   *slog.Logger
}

// deliver sends one recipient's copy of the digest under a ledger claim.
func (r *Runner) deliver(ctx context.Context, c *copyOf, rc Recipient) DeliveryOutcome {
	b := c.build
	rep, label := b.Report.Name, b.Snapshot.Period.Label
	locale := cmp.Or(rc.Locale, b.Report.Locale)
	return r.dispatch(ctx, c, outgoing{
		ledgerReport: rep,
		recipient:    rc,
		compose: func(msgID string, log *slog.Logger) (delivery.Message, error) {
			a := c.arts[locale]
			msg := delivery.Message{
				From: r.From, ReplyTo: r.ReplyTo, To: rc.Email, ToName: rc.Name,
				Subject: a.digest.Subject, Text: a.digest.Text, HTML: a.digest.HTML,
				MessageID: msgID,
				Date:      r.now(),
				Headers:   map[string]string{"X-Sameteam-Report": rep, "X-Sameteam-Period": label, "List-Id": r.listID(rep)},
			}
			if err := r.unsubscribeHeaders(msg.Headers, rep, locale, rc.Email); err != nil {
				return msg, fmt.Errorf("build message: %w", err)
			}
			// A workbook larger than the limit on its own is not read
			// into memory to find out that the message is too.
			size, over := int(a.size), r.MaxMessageBytes > 0 && a.size > int64(r.MaxMessageBytes)
			what := "the workbook alone"
			if !over {
				what = "the message"
				data, err := os.ReadFile(a.workbook)
				if err != nil {
					return msg, fmt.Errorf("read the workbook: %w", err)
				}
				msg.Attachment = &delivery.Attachment{Name: rep + "-" + label + ".xlsx", ContentType: delivery.ContentTypeXLSX, Data: data}
				if r.MaxMessageBytes > 0 {
					if size, err = delivery.EncodedSize(msg); err != nil {
						return msg, fmt.Errorf("build message: %w", err)
					}
					over = size > r.MaxMessageBytes
				}
			}
			if over {
				if err := r.linkInstead(&msg, b, locale); err != nil {
					return msg, fmt.Errorf("%s is %.1f MB, over max_attachment_mb (%.1f MB), and %w",
						what, float64(size)/1e6, float64(r.MaxMessageBytes)/1e6, err)
				}
				log.Info("workbook replaced by a download link", "bytes", size)
			}
			return msg, nil
		},
		smaller: func(msg *delivery.Message) error {
			if msg.Attachment == nil {
				return errors.New("no attachment to leave out")
			}
			return r.linkInstead(msg, b, locale)
		},
	})
}

// outgoing is one message of a run: the ledger's key for it and how to
// make it.
type outgoing struct {
	// ledgerReport is the report name the ledger records it under: the
	// report's own for its digest, another key for a notice about it.
	ledgerReport string
	recipient    Recipient
	// compose makes the message once the delivery is claimed; an error
	// fails the delivery permanently with that reason.
	compose func(msgID string, log *slog.Logger) (delivery.Message, error)
	// smaller makes msg smaller when the relay refuses its size; nil when
	// there is no smaller form.
	smaller func(msg *delivery.Message) error
	// skip, when set, is why nothing is sent: the delivery is claimed and
	// recorded skipped with it, and compose is not called.
	skip string
}

// dispatch claims, sends and records one message: the one path of every
// message a run sends, so each goes out effectively once.
func (r *Runner) dispatch(ctx context.Context, c *copyOf, o outgoing) DeliveryOutcome {
	rc := o.recipient
	rep, label := o.ledgerReport, c.build.Snapshot.Period.Label
	domain, _ := delivery.Domain(r.From)
	msgID := delivery.MessageID(rep, label, rc.Email, cmp.Or(domain, "sameteam.invalid"))
	if !c.opts.records() {
		// A test copy or a preview must never be mistaken for the real one.
		msgID = "test." + fmt.Sprint(r.now().UnixNano()) + "." + msgID
	}
	res := DeliveryOutcome{Recipient: rc.Email, MessageID: msgID}
	// Logs name the recipient by a hash: the ledger holds the address, and a
	// log line can be matched to its row without spreading addresses. A
	// copy that the ledger does not record is logged all the same.
	log := c.log.With("recipient_hash", recipientHash(rc.Email), "message_id", msgID)
	if c.opts.To != "" {
		log = log.With("test_copy", true)
	}
	if c.opts.Partial {
		log = log.With("partial_period", true)
	}

	var claim ledger.Claim
	record := c.opts.records()
	if record {
		var err error
		claim, err = r.Ledger.Claim(ctx, rep, label, rc.Email, msgID, c.runID, ledger.ClaimOptions{Force: c.opts.Force, ResendUnknown: c.opts.ResendUnknown})
		if err != nil {
			res.Status, res.Detail = report.DeliveryFailedTemporary, "ledger: "+err.Error()
			return res
		}
		if !claim.Claimed {
			res.Status = report.DeliverySkipped
			switch {
			case errors.Is(claim.Reason, ledger.ErrUnknownOutcome):
				// Held back on purpose: SMTP cannot tell whether the earlier
				// attempt arrived, and a silent duplicate is worse.
				res.Status = report.DeliveryUnknown
			case errors.Is(claim.Reason, ledger.ErrFailedPermanent):
				// Still failed: reported on every run until someone acts.
				res.Status = report.DeliveryFailedPermanent
			}
			res.Detail = claim.Reason.Error()
			if claim.Skip != "" {
				res.Detail = string(claim.Skip)
			}
			return res
		}
	}
	// From here the claim is always resolved, even if ctx is cancelled
	// (shutdown): a delivery is never left in "sending" by a live process.
	mctx := context.WithoutCancel(ctx)
	mark := func(status report.DeliveryStatus, detail string) DeliveryOutcome {
		res.Status, res.Detail = status, detail
		if record {
			var err error
			switch status {
			case report.DeliverySent:
				err = r.Ledger.MarkSent(mctx, claim, detail)
			case report.DeliverySkipped:
				err = r.Ledger.MarkSkipped(mctx, claim, detail)
			default:
				err = r.Ledger.MarkFailed(mctx, claim, status, detail)
			}
			if err != nil {
				log.Error("record delivery", slog.Any("error", err), "status", status)
			}
		}
		if r.Observer != nil {
			r.Observer.Delivery(c.build.Report.Name, status)
		}
		// One line per delivery, so the logs alone tell every recipient's
		// outcome.
		log.Info("delivery", "status", status, "detail", withoutAddress(detail, rc.Email))
		return res
	}

	if o.skip != "" {
		// Claimed and recorded like a message, so that every run of the
		// period finds the decision and none sends it later.
		return mark(report.DeliverySkipped, o.skip)
	}
	msg, err := o.compose(msgID, log)
	if err != nil {
		return mark(report.DeliveryFailedPermanent, err.Error())
	}
	result := r.Sender.Send(ctx, msg)
	if tooLarge(result) && o.smaller != nil {
		// The relay accepts less than it advertised or than
		// max_attachment_mb assumed (552, 5.3.4): the message was refused,
		// never delivered, so the smaller form goes once in its place.
		if err := o.smaller(&msg); err == nil {
			log.Info("the relay refused the message as too large; sending the download link instead", "code", result.Code, "enhanced_code", result.EnhancedCode)
			result = r.Sender.Send(ctx, msg)
		}
	}
	detail := result.Response
	if result.Err != nil {
		detail = result.Err.Error()
		if errors.Is(result.Err, delivery.ErrSession) {
			res.session = result.Err
		}
		res.deferred = errors.Is(result.Err, delivery.ErrRecipientDeferred)
	}
	switch result.Status {
	case report.DeliverySent, report.DeliveryFailedPermanent, report.DeliveryUnknown:
		return mark(result.Status, detail)
	}
	return mark(report.DeliveryFailedTemporary, detail)
}

// linkInstead replaces msg's workbook by a signed download link in a digest
// that says so: the one fallback for a message too large to send, whether
// max_attachment_mb or the relay says it is.
func (r *Runner) linkInstead(msg *delivery.Message, b *Build, locale string) error {
	link, err := r.workbookLink(b.Report.Name, b.Snapshot.Period.Label)
	if err != nil {
		return err
	}
	d, err := r.Renderer.Digest(b, locale, link)
	if err != nil {
		return err
	}
	msg.Subject, msg.Text, msg.HTML, msg.Attachment = d.Subject, d.Text, d.HTML, nil
	return nil
}

// tooLarge reports whether a relay refused a message for its size.
func tooLarge(res delivery.Result) bool {
	return res.Status == report.DeliveryFailedPermanent && (res.Code == 552 || strings.HasPrefix(res.EnhancedCode, "5.3.4"))
}

// unsubscribeHeaders adds to h the List-Unsubscribe header of one
// recipient's digest when server.public_url is set: a signed link, per
// report and recipient, that `serve` answers by recording an opt-out. The
// link carries everything serve needs (report, page language, address), as
// a mail provider's one-click POST brings no cookie and no session, and it
// does not expire: a digest may be read, and its sender unsubscribed from,
// months after it was sent. List-Unsubscribe-Post (RFC 8058 one-click) goes
// with it only over https, which the RFC requires of the link.
func (r *Runner) unsubscribeHeaders(h map[string]string, name, locale, email string) error {
	if r.PublicURL == "" || len(r.LinkKey) == 0 {
		return nil
	}
	link, err := signedlink.SignAction(r.LinkKey, signedlink.ActionUnsubscribe, UnsubscribePath(name, locale, email))
	if err != nil {
		return fmt.Errorf("sign the unsubscribe link: %w", err)
	}
	base := strings.TrimSuffix(r.PublicURL, "/")
	h["List-Unsubscribe"] = "<" + base + link + ">"
	if strings.HasPrefix(strings.ToLower(base), "https://") {
		h["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	}
	return nil
}

// UnsubscribePath is the path of a recipient's unsubscribe link:
// /unsubscribe/REPORT/LOCALE/ADDRESS, the address lower-cased and in
// unpadded base64url, so the path needs no escaping and the address does
// not read in clear in an access log.
func UnsubscribePath(name, locale, email string) string {
	addr := base64.RawURLEncoding.EncodeToString([]byte(ledger.NormalizeRecipient(email)))
	// A report's locale is set by the configuration; "" is the default
	// language, as package locale reads it.
	return "/unsubscribe/" + name + "/" + cmp.Or(locale, "es") + "/" + addr
}

// workbookLink signs a download link to the report's workbook.
func (r *Runner) workbookLink(name, label string) (string, error) {
	return r.signedLink("/reports/" + url.PathEscape(name) + "/" + url.PathEscape(label) + ".xlsx")
}

// signedLink signs a download link to path on the public URL.
func (r *Runner) signedLink(path string) (string, error) {
	if r.PublicURL == "" || len(r.LinkKey) == 0 {
		return "", errors.New("server.public_url is not set, so it cannot be replaced by a download link")
	}
	signed, err := signedlink.Sign(r.LinkKey, path, r.now().Add(cmp.Or(r.LinkTTL, signedlink.MaxTTL)))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(r.PublicURL, "/") + signed, nil
}

// recipientHash names a recipient in logs without the address.
func recipientHash(addr string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(addr))))
	return hex.EncodeToString(sum[:6])
}

// withoutAddress removes the recipient's address from a server reply
// ("550 5.1.1 <ana@example.com>: no such user") before it is logged.
func withoutAddress(text, addr string) string {
	if addr == "" {
		return text
	}
	return regexp.MustCompile(`(?i)`+regexp.QuoteMeta(addr)).ReplaceAllString(text, "<recipient>")
}
