package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/sameteam/sameteam/internal/report"
)

// ClaimOptions widen what Claim may take. With none set, Claim takes only
// new, pending and failed_temporary deliveries.
type ClaimOptions struct {
	// Force claims every delivery not being sent right now: sent,
	// unknown and failed_permanent too (--force).
	Force bool
	// ResendUnknown claims deliveries whose earlier outcome is unknown,
	// including rows left in sending by a dead run (--resend-unknown).
	ResendUnknown bool
}

// Claim is the outcome of claiming one delivery. When Claimed, the row is in
// sending under RunID and the caller sends the message, then calls MarkSent
// or MarkFailed. When not, Reason says why (ErrAlreadySent,
// ErrUnknownOutcome, ErrFailedPermanent, ErrInProgress, ErrUnsubscribed)
// and nothing is sent.
type Claim struct {
	Claimed bool
	Reason  error
	// Skip is set when the claim skipped the recipient on purpose
	// (ErrUnsubscribed): the word the ledger recorded with the skipped
	// delivery.
	Skip report.SkipReason
	// Prior is the delivery's state before the claim: "" for a new one.
	// A row found in sending by a dead run reads as unknown, with Abandoned.
	Prior     report.DeliveryStatus
	Abandoned bool
	ID        int64 // the delivery's row
	Report    string
	Period    string
	Recipient string // lower-cased
	MessageID string
	RunID     int64
	Attempts  int // finished attempts before this claim
}

// NormalizeRecipient is the form a recipient takes in the ledger: trimmed and
// lower-cased, so that two spellings of one address are one delivery.
func NormalizeRecipient(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }

// claimable applies the effectively-once rule to a delivery's current state.
//
//   - new, pending, failed_temporary: yes; nothing arrived, retrying is
//     what a rerun is for.
//   - sent: only with Force.
//   - unknown: only with ResendUnknown or Force; it may have arrived, and a
//     silent duplicate is the complaint we most want to avoid.
//   - failed_permanent: only with Force. The server said 5xx: retrying by
//     itself on every cron run would keep hammering a refusing server (and
//     risk the sender's reputation) for an address that will not work. A
//     corrected address is a new recipient, so it is claimable anyway; a
//     rerun after fixing the configuration asks for it with --force.
//   - skipped as unsubscribed: yes; Claim judges the opt-out afresh, so a
//     recipient restored since gets the period's digest.
//   - skipped for another reason (skip_empty: a personal digest with
//     nothing to read): only with Force; a rerun of the period decides
//     the same, without a new message.
//   - sending (by a live run): never, not even with Force; two sends at once
//     are a duplicate by construction.
func claimable(prior report.DeliveryStatus, skip report.SkipReason, o ClaimOptions) error {
	switch prior {
	case "", report.DeliveryPending, report.DeliveryFailedTemporary:
		return nil
	case report.DeliverySent:
		if o.Force {
			return nil
		}
		return ErrAlreadySent
	case report.DeliveryUnknown:
		if o.Force || o.ResendUnknown {
			return nil
		}
		return ErrUnknownOutcome
	case report.DeliveryFailedPermanent:
		if o.Force {
			return nil
		}
		return ErrFailedPermanent
	case report.DeliverySkipped:
		if skip == report.SkipUnsubscribed || o.Force {
			return nil
		}
		return ErrSkipped
	}
	return ErrInProgress
}

// skippable reports whether a delivery in state prior may be recorded as
// skipped: nothing has reached the recipient. A sent, unknown or refused
// delivery keeps what it says about the message that went out.
func skippable(prior report.DeliveryStatus) bool {
	switch prior {
	case "", report.DeliveryPending, report.DeliveryFailedTemporary, report.DeliverySkipped:
		return true
	}
	return false
}

type currentRow struct {
	ID       int64  `db:"id"`
	Status   string `db:"status"`
	RunID    int64  `db:"run_id"`
	Attempts int    `db:"attempts"`
	// LastError holds a skipped delivery's report.SkipReason.
	LastError string `db:"last_error"`
	// RunAlive is 1 when the row's run is running within its lease.
	RunAlive int `db:"run_alive"`
}

// Claim decides whether runID may send the (report, period) message to
// recipient, and if so moves its delivery to sending. A new recipient gets a
// row (INSERT … ON CONFLICT DO NOTHING); an existing one is judged by
// claimable. The move to sending is a conditional UPDATE on the state just
// read, so of two runs (or goroutines) claiming together exactly one wins;
// the other reads the row again and finds it in sending. A row in sending by
// a run that is no longer alive is first recorded as unknown. A recipient
// who opted out of the report is not claimed: a delivery that nothing has
// reached is recorded as skipped, reason unsubscribed, and one already
// sent (or unknown, or refused) keeps its state.
//
// An error means the ledger could not decide (database, a run that is not
// running); a refusal is a Claim with Claimed false and a Reason.
func (l *Ledger) Claim(ctx context.Context, name, period, recipient, messageID string, runID int64, opts ClaimOptions) (Claim, error) {
	recipient = NormalizeRecipient(recipient)
	if name == "" || period == "" || recipient == "" || messageID == "" {
		return Claim{}, fmt.Errorf("claim: %w: report, period, recipient and Message-ID are required", ErrInvalid)
	}
	c := Claim{Report: name, Period: period, Recipient: recipient, MessageID: messageID, RunID: runID}
	now := l.clock()
	tx, err := l.db.BeginTxx(ctx, nil)
	if err != nil {
		return Claim{}, fmt.Errorf("claim %s: begin: %w", recipient, err)
	}
	defer tx.Rollback()

	// The run first: it must be running, for this report and period, and
	// claiming renews its lease. A ledger transaction that writes both
	// locks the run row before delivery rows, so two never deadlock.
	runReport, runPeriod, err := l.renew(ctx, tx, runID)
	if err != nil {
		return Claim{}, fmt.Errorf("claim %s: %w", recipient, err)
	}
	// A run claims its report's deliveries, and the notices to the
	// report's owners under their own key.
	if (runReport != name && report.GateNotice(runReport) != name) || runPeriod != period {
		return Claim{}, fmt.Errorf("claim %s: run %d is for %s %s: %w", recipient, runID, runReport, runPeriod, ErrRunMismatch)
	}
	res, err := tx.ExecContext(ctx, l.q(`INSERT INTO sameteam_deliveries
		(report, period, recipient, message_id, status, attempts, run_id, updated_at)
		VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)
		ON CONFLICT (report, period, recipient) DO NOTHING`),
		name, period, recipient, messageID, runID, l.db.Time(now))
	if err != nil {
		return Claim{}, fmt.Errorf("claim %s: insert: %w", recipient, err)
	}
	inserted, _ := res.RowsAffected()
	var optedOut int
	if err := tx.GetContext(ctx, &optedOut, l.q(`SELECT COUNT(*) FROM sameteam_opt_outs WHERE report = ? AND recipient = ?`),
		name, recipient); err != nil {
		return Claim{}, fmt.Errorf("claim %s: read opt-outs: %w", recipient, err)
	}

	// A lost race is read again; three rounds are plenty, since after one the
	// winner's row is in sending and the answer is ErrInProgress.
	for range 3 {
		var cur currentRow
		if err := tx.GetContext(ctx, &cur, l.q(`SELECT d.id, d.status, COALESCE(d.run_id, 0) AS run_id, d.attempts, COALESCE(d.last_error, '') AS last_error,
			       CASE WHEN r.status = 'running' AND r.lease_until >= ? THEN 1 ELSE 0 END AS run_alive
			FROM sameteam_deliveries d LEFT JOIN sameteam_runs r ON r.id = d.run_id
			WHERE d.report = ? AND d.period = ? AND d.recipient = ?`),
			l.db.Time(now), name, period, recipient); err != nil {
			return Claim{}, fmt.Errorf("claim %s: read: %w", recipient, err)
		}
		c.ID, c.Prior, c.Attempts = cur.ID, report.DeliveryStatus(cur.Status), cur.Attempts

		if c.Prior == report.DeliverySending && cur.RunID != runID && cur.RunAlive == 0 {
			// Its run stopped between claim and mark: the send may have
			// happened. Record that, then judge the row as unknown.
			res, err := tx.ExecContext(ctx, l.q(`UPDATE sameteam_deliveries
				SET status = 'unknown', attempts = attempts + 1, last_error = ?, updated_at = ?
				WHERE id = ? AND status = 'sending' AND COALESCE(run_id, 0) = ?`),
				abandonedSending, l.db.Time(now), cur.ID, cur.RunID)
			if err != nil {
				return Claim{}, fmt.Errorf("claim %s: record abandoned send: %w", recipient, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				continue
			}
			c.Prior, c.Abandoned, c.Attempts = report.DeliveryUnknown, true, cur.Attempts+1
		}

		reason := claimable(c.Prior, report.SkipReason(cur.LastError), opts)
		if reason == nil && optedOut > 0 {
			c.Reason, c.Skip = ErrUnsubscribed, report.SkipUnsubscribed
			if skippable(c.Prior) {
				res, err := tx.ExecContext(ctx, l.q(`UPDATE sameteam_deliveries
					SET status = 'skipped', run_id = ?, message_id = ?, last_error = ?, updated_at = ?
					WHERE id = ? AND status = ? AND COALESCE(run_id, 0) = ?`),
					runID, messageID, string(report.SkipUnsubscribed), l.db.Time(now), cur.ID, string(c.Prior), cur.RunID)
				if err != nil {
					return Claim{}, fmt.Errorf("claim %s: record the opt-out: %w", recipient, err)
				}
				if n, _ := res.RowsAffected(); n != 1 {
					c.Reason, c.Skip = nil, ""
					continue
				}
				if inserted == 1 {
					c.Prior = ""
				}
			}
			if err := tx.Commit(); err != nil {
				return Claim{}, fmt.Errorf("claim %s: commit: %w", recipient, err)
			}
			return c, nil
		}
		if reason != nil {
			c.Reason = reason
			// Commit all the same, to keep an abandoned send recorded.
			if err := tx.Commit(); err != nil {
				return Claim{}, fmt.Errorf("claim %s: commit: %w", recipient, err)
			}
			return c, nil
		}

		// Compare-and-set on the state just read: on PostgreSQL a concurrent
		// winner's UPDATE holds the row until it commits, after which this
		// WHERE no longer matches and no row comes back.
		prior, priorRun := string(c.Prior), cur.RunID
		var attempts int
		err := tx.GetContext(ctx, &attempts, l.q(`UPDATE sameteam_deliveries
			SET status = 'sending', run_id = ?, message_id = ?, updated_at = ?
			WHERE id = ? AND status = ? AND COALESCE(run_id, 0) = ?
			RETURNING attempts`),
			runID, messageID, l.db.Time(now), cur.ID, prior, priorRun)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return Claim{}, fmt.Errorf("claim %s: %w", recipient, err)
		}
		if err := tx.Commit(); err != nil {
			return Claim{}, fmt.Errorf("claim %s: commit: %w", recipient, err)
		}
		c.Claimed, c.Attempts = true, attempts
		if inserted == 1 {
			c.Prior = ""
		}
		return c, nil
	}
	c.Reason = ErrInProgress
	if err := tx.Commit(); err != nil {
		return Claim{}, fmt.Errorf("claim %s: commit: %w", recipient, err)
	}
	return c, nil
}

// MarkSent records that the server accepted the claimed message, with its
// reply. It is accepted also when the row was meanwhile recorded as unknown
// (the run was taken for dead while it sent): the ledger then learns the
// truth. ErrClaimLost means another run has claimed the row since.
func (l *Ledger) MarkSent(ctx context.Context, c Claim, response string) error {
	return l.mark(ctx, c, report.DeliverySent, response, "")
}

// MarkFailed records a failed send of the claimed message: failed_temporary
// (retried by the next claim), failed_permanent or unknown (the connection
// dropped after DATA).
func (l *Ledger) MarkFailed(ctx context.Context, c Claim, status report.DeliveryStatus, errText string) error {
	switch status {
	case report.DeliveryFailedTemporary, report.DeliveryFailedPermanent, report.DeliveryUnknown:
	default:
		return fmt.Errorf("mark %s: %w: status %q is not a failure", c.Recipient, ErrInvalid, status)
	}
	return l.mark(ctx, c, status, "", errText)
}

// MarkSkipped records that the claimed message is not sent on purpose,
// with the reason ("nothing due and nothing in the period"): the next run
// of the period skips it too (ErrSkipped), unless forced.
func (l *Ledger) MarkSkipped(ctx context.Context, c Claim, reason string) error {
	return l.mark(ctx, c, report.DeliverySkipped, "", reason)
}

func (l *Ledger) mark(ctx context.Context, c Claim, status report.DeliveryStatus, response, errText string) error {
	if !c.Claimed {
		return fmt.Errorf("mark %s %s: %w: the delivery was not claimed", c.Recipient, status, ErrInvalid)
	}
	now := l.clock()
	tx, err := l.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mark %s %s: begin: %w", c.Recipient, status, err)
	}
	defer tx.Rollback()
	// Renew the run's lease, but record the outcome even when the run was
	// taken for dead meanwhile: what the server said is the truth.
	if _, _, err := l.renew(ctx, tx, c.RunID); err != nil && !errors.Is(err, ErrRunNotRunning) {
		return fmt.Errorf("mark %s %s: %w", c.Recipient, status, err)
	}
	// NULL leaves a column as it was: a sent row keeps the previous
	// failure's text ("sent on the third attempt, after 451 …"), and a failed
	// forced resend keeps the first send's time and reply.
	var sentAt, resp, lastErr any
	if status == report.DeliverySent {
		sentAt, resp = l.db.Time(now), response
	} else {
		lastErr = errText
	}
	res, err := tx.ExecContext(ctx, l.q(`UPDATE sameteam_deliveries
		SET status = ?, attempts = attempts + 1, updated_at = ?,
		    sent_at = COALESCE(?, sent_at), response = COALESCE(?, response),
		    last_error = COALESCE(?, last_error)
		WHERE id = ? AND run_id = ? AND status IN ('sending', 'unknown')`),
		string(status), l.db.Time(now), sentAt, resp, lastErr, c.ID, c.RunID)
	if err != nil {
		return fmt.Errorf("mark %s %s: %w", c.Recipient, status, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("mark %s %s: %w", c.Recipient, status, ErrClaimLost)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mark %s %s: commit: %w", c.Recipient, status, err)
	}
	return nil
}

// NotTried begins the last_error of a delivery that a run recorded as
// failed_temporary without sending (it stopped before that recipient): the
// next run tries those first, so that the same few failing recipients
// cannot keep the rest waiting run after run.
const NotTried = "not tried: "

// NotTriedRecipients are the (lower-cased) recipients of a report's period
// whose last outcome is failed_temporary because no run has tried them.
func (l *Ledger) NotTriedRecipients(ctx context.Context, name, period string) ([]string, error) {
	var rcpts []string
	err := l.db.SelectContext(ctx, &rcpts, l.q(`SELECT recipient FROM sameteam_deliveries
		WHERE report = ? AND period = ? AND status = ? AND last_error LIKE ?
		ORDER BY recipient`),
		name, period, string(report.DeliveryFailedTemporary), NotTried+"%")
	if err != nil {
		return nil, fmt.Errorf("ledger: recipients not tried for %s %s: %w", name, period, err)
	}
	return rcpts, nil
}
