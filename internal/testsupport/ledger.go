package testsupport

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/report"
)

// Delivery is one row of the delivery ledger as a test reads it. Zero
// times mean "not set".
type Delivery struct {
	ID        int64
	Report    string
	Period    string
	Recipient string
	MessageID string
	Status    report.DeliveryStatus
	Attempts  int
	LastError string
	Response  string // the SMTP server's reply to the accepted message
	RunID     int64
	UpdatedAt time.Time
	SentAt    time.Time
}

// Deliveries reads the delivery ledger's rows of one (report, period) from
// d, by recipient. The product never lists deliveries (it claims and marks
// them one by one), so this read lives with the tests that check the rows.
func Deliveries(tb testing.TB, d *db.DB, name, period string) []Delivery {
	tb.Helper()
	var rows []struct {
		ID        int64         `db:"id"`
		Report    string        `db:"report"`
		Period    string        `db:"period"`
		Recipient string        `db:"recipient"`
		MessageID string        `db:"message_id"`
		Status    string        `db:"status"`
		Attempts  int           `db:"attempts"`
		LastError string        `db:"last_error"`
		Response  string        `db:"response"`
		RunID     sql.NullInt64 `db:"run_id"`
		UpdatedAt db.NullTime   `db:"updated_at"`
		SentAt    db.NullTime   `db:"sent_at"`
	}
	if err := d.SelectContext(context.Background(), &rows, d.Rebind(`SELECT id, report, period, recipient,
		       message_id, status, attempts, last_error, response, run_id, updated_at, sent_at
		FROM sameteam_deliveries WHERE report = ? AND period = ?
		ORDER BY recipient`), name, period); err != nil {
		tb.Fatalf("list deliveries of %s %s: %v", name, period, err)
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = Delivery{
			ID: r.ID, Report: r.Report, Period: r.Period, Recipient: r.Recipient,
			MessageID: r.MessageID, Status: report.DeliveryStatus(r.Status), Attempts: r.Attempts,
			LastError: r.LastError, Response: r.Response, RunID: r.RunID.Int64,
			UpdatedAt: utc(r.UpdatedAt), SentAt: utc(r.SentAt),
		}
	}
	return out
}

func utc(t db.NullTime) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
