package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/gate"
	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/report"
)

// ErrHeld is returned for a run the data-quality gate held back: nothing
// went to any recipient, and a later run that passes sends as usual.
var ErrHeld = errors.New("held by the data-quality gate")

// checkGate judges the run's snapshot by the report's gate. It returns
// the reason when the run must be held; with --ignore-gate it logs the
// reason, keeps it for the ledger's note and lets the run go on.
func (r *Runner) checkGate(b *Build, opts Options, out *Outcome, log *slog.Logger) string {
	failed := gate.Failed(gate.Evaluate(b.Report.Gate, b.Snapshot))
	if len(failed) == 0 {
		return ""
	}
	reason := gate.Reason(failed)
	if opts.IgnoreGate {
		out.GateIgnored = reason
		log.Warn("the data-quality gate failed; sending anyway (--ignore-gate)", "reason", reason)
		return ""
	}
	out.Held = reason
	log.Warn("held by the data-quality gate: nothing sent", "reason", reason)
	return reason
}

// notifyOwners tells the report's owners, once per report and period, that
// it is held and why: each notice is a delivery of the ledger under the
// report's notice key, so a run held again does not notify again, and a
// notice whose outcome is unknown is never resent silently.
func (r *Runner) notifyOwners(ctx context.Context, c *copyOf, reason string) []DeliveryOutcome {
	b := c.build
	var out []DeliveryOutcome
	for _, owner := range b.Report.Owners {
		rc := Recipient{Email: owner}
		out = append(out, r.dispatch(ctx, c, outgoing{
			ledgerReport: report.GateNotice(b.Report.Name),
			recipient:    rc,
			compose: func(msgID string, _ *slog.Logger) (delivery.Message, error) {
				subject, text, err := heldNotice(b, reason)
				if err != nil {
					return delivery.Message{}, err
				}
				return delivery.Message{
					From: r.From, ReplyTo: r.ReplyTo, To: owner,
					Subject: subject, Text: text, MessageID: msgID, Date: r.now(),
					Headers: map[string]string{"X-Sameteam-Report": b.Report.Name, "X-Sameteam-Period": b.Snapshot.Period.Label},
				}, nil
			},
		}))
	}
	return out
}

// heldNotice is the short plain-text notice to an owner, in the report's
// language.
func heldNotice(b *Build, reason string) (subject, text string, err error) {
	l, err := locale.Get(b.Report.Locale)
	if err != nil {
		return "", "", err
	}
	name, label := b.Report.Name, b.Snapshot.Period.Label
	asOf := b.Snapshot.AsOf.Time().UTC().Format("2006-01-02 15:04 UTC")
	var t strings.Builder
	fmt.Fprintf(&t, l.T("notice.held.body"), name, label, asOf)
	t.WriteString("\n\n")
	for _, part := range strings.Split(reason, "; and ") {
		t.WriteString("- " + part + "\n")
	}
	t.WriteString("\n")
	fmt.Fprintf(&t, l.T("notice.held.next"), name, label)
	t.WriteString("\n\n" + l.T("notice.held.once") + "\n")
	return fmt.Sprintf(l.T("notice.held.subject"), name, label), t.String(), nil
}
