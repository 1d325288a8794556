package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/sameteam/sameteam/internal/db"
)

// OptOut is a recipient's request to stop receiving a report, made through
// the unsubscribe link of one of its digests. While it stands, Claim skips
// the recipient with ErrUnsubscribed.
type OptOut struct {
	Report    string
	Recipient string    // lower-cased
	At        time.Time // when the first request arrived
}

type optOutRow struct {
	Report    string      `db:"report"`
	Recipient string      `db:"recipient"`
	At        db.NullTime `db:"opted_out_at"`
}

// OptOut records that recipient asked to stop receiving report, and returns
// the standing opt-out: a repeated request (a mail provider retrying, a
// second click) keeps the first one's time. It changes no delivery: the
// next run skips the recipient.
func (l *Ledger) OptOut(ctx context.Context, name, recipient string) (OptOut, error) {
	recipient = NormalizeRecipient(recipient)
	if name == "" || recipient == "" {
		return OptOut{}, fmt.Errorf("opt out: %w: report and recipient are required", ErrInvalid)
	}
	if _, err := l.db.ExecContext(ctx, l.q(`INSERT INTO sameteam_opt_outs (report, recipient, opted_out_at)
		VALUES (?, ?, ?) ON CONFLICT (report, recipient) DO NOTHING`),
		name, recipient, l.db.Time(l.clock())); err != nil {
		return OptOut{}, fmt.Errorf("opt out of %s: %w", name, err)
	}
	var r optOutRow
	if err := l.db.GetContext(ctx, &r, l.q(`SELECT report, recipient, opted_out_at FROM sameteam_opt_outs
		WHERE report = ? AND recipient = ?`), name, recipient); err != nil {
		return OptOut{}, fmt.Errorf("opt out of %s: read it back: %w", name, err)
	}
	return OptOut{Report: r.Report, Recipient: r.Recipient, At: utc(r.At)}, nil
}

// OptOuts lists the standing opt-outs of report (of every report if it is
// empty), by report and recipient.
func (l *Ledger) OptOuts(ctx context.Context, name string) ([]OptOut, error) {
	where, args := "", []any{}
	if name != "" {
		where, args = `WHERE report = ?`, []any{name}
	}
	var rows []optOutRow
	if err := l.db.SelectContext(ctx, &rows, l.q(`SELECT report, recipient, opted_out_at FROM sameteam_opt_outs `+where+`
		ORDER BY report, recipient`), args...); err != nil {
		return nil, fmt.Errorf("list opt-outs: %w", err)
	}
	out := make([]OptOut, len(rows))
	for i, r := range rows {
		out[i] = OptOut{Report: r.Report, Recipient: r.Recipient, At: utc(r.At)}
	}
	return out, nil
}

// Restore removes recipient's opt-out of report, so the next run sends to
// them again, and reports whether there was one.
func (l *Ledger) Restore(ctx context.Context, name, recipient string) (bool, error) {
	recipient = NormalizeRecipient(recipient)
	res, err := l.db.ExecContext(ctx, l.q(`DELETE FROM sameteam_opt_outs WHERE report = ? AND recipient = ?`), name, recipient)
	if err != nil {
		return false, fmt.Errorf("restore %s to %s: %w", recipient, name, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
