// Package ledger records sameteam's runs and deliveries in the state database
// (PostgreSQL or SQLite) and decides, per (report, period, recipient), whether
// a message may be sent: the effectively-once rule of the README's delivery
// guarantees.
//
// A run (pipeline.Runner.Run) goes Lock → StartRun → for each recipient
// Claim, send, MarkSent or MarkFailed → FinishRun → unlock. StartRun first
// records the expired runs of its (report, period) as failed and what they
// left in sending as unknown. LastSuccess seeds the last-success gauge, Runs
// feeds the index page, and Record answers the scheduler's catch-up and the
// downloads (which are rendered at the as_of that was mailed).
//
// The guarantee rests on the database, not on locks: a unique key per
// (report, period, recipient) and a conditional UPDATE that moves a row to
// sending, so two runs can never both claim one recipient, and a partial
// unique index that allows one live run per (report, period).
// Lock (an advisory lock on PostgreSQL, a lease row on SQLite) only spares
// the loser the work of rendering a report it will not send.
//
// The row is in sending from before the message's DATA until the outcome is
// written. A process killed in between leaves it there; the next run of that
// (report, period) records it as unknown, because SMTP cannot tell whether
// it arrived, and unknown is resent only on request.
//
// The words it stores (run and delivery statuses, triggers) are package
// report's.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/report"
)

// RunInfo describes a run about to start.
type RunInfo struct {
	Report  string
	Period  string    // the period's label, e.g. 2026-W47
	AsOf    time.Time // the instant the figures describe; zero if not known yet
	Trigger report.Trigger
}

// Counts are a run's delivery outcomes. Failed counts both temporary and
// permanent failures; Skipped counts recipients whose claim was refused.
type Counts struct {
	Sent    int
	Failed  int
	Unknown int
	Skipped int
}

// Run is one row of the run ledger. Zero times mean "not set".
type Run struct {
	ID         int64
	Report     string
	Period     string
	AsOf       time.Time
	Status     report.RunStatus
	Trigger    report.Trigger
	Owner      string // host:pid of the process that ran it
	StartedAt  time.Time
	LeaseUntil time.Time
	FinishedAt time.Time
	Error      string
	Counts     Counts
}

// Options tune a Ledger. Zero values take the defaults.
type Options struct {
	// Now is the clock; default time.Now. Leases are compared with it, so
	// processes sharing a ledger need clocks within a fraction of a lease.
	Now func() time.Time
	// RunLease is how long a run stays alive without a claim or a mark;
	// past it the run is taken for dead. Default 10 minutes.
	RunLease time.Duration
	// LockLease is the lease of a SQLite lock row, renewed every third of
	// it while held. Default 1 minute.
	LockLease time.Duration
	// Owner names this process in runs and lock rows; default host:pid.
	Owner string
}

// Ledger reads and writes the run and delivery ledger.
type Ledger struct {
	db        *db.DB
	now       func() time.Time
	runLease  time.Duration
	lockLease time.Duration
	owner     string
}

// New returns a Ledger on d with default options. Call Migrate first.
func New(d *db.DB) *Ledger { return NewWithOptions(d, Options{}) }

// NewWithOptions returns a Ledger on d.
func NewWithOptions(d *db.DB, o Options) *Ledger {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RunLease <= 0 {
		o.RunLease = 10 * time.Minute
	}
	if o.LockLease <= 0 {
		o.LockLease = time.Minute
	}
	if o.Owner == "" {
		o.Owner = defaultOwner()
	}
	return &Ledger{db: d, now: o.Now, runLease: o.RunLease, lockLease: o.LockLease, owner: o.Owner}
}

// clock is the current instant at the precision both engines store
// (microseconds), so that what is written reads back equal.
func (l *Ledger) clock() time.Time { return l.now().UTC().Truncate(time.Microsecond) }

// q rebinds a query written with ? to the engine's placeholders.
func (l *Ledger) q(query string) string { return l.db.Rebind(query) }

// nullTime binds t, or NULL for the zero time.
func (l *Ledger) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return l.db.Time(t.UTC().Truncate(time.Microsecond))
}

const runColumns = `id, report, period, as_of, status, "trigger", owner, started_at,
	lease_until, finished_at, error, sent_count, failed_count, unknown_count, skipped_count`

type runRow struct {
	ID         int64       `db:"id"`
	Report     string      `db:"report"`
	Period     string      `db:"period"`
	AsOf       db.NullTime `db:"as_of"`
	Status     string      `db:"status"`
	Trigger    string      `db:"trigger"`
	Owner      string      `db:"owner"`
	StartedAt  db.NullTime `db:"started_at"`
	LeaseUntil db.NullTime `db:"lease_until"`
	FinishedAt db.NullTime `db:"finished_at"`
	Error      string      `db:"error"`
	Sent       int         `db:"sent_count"`
	Failed     int         `db:"failed_count"`
	Unknown    int         `db:"unknown_count"`
	Skipped    int         `db:"skipped_count"`
}

func (r runRow) run() Run {
	return Run{
		ID: r.ID, Report: r.Report, Period: r.Period, AsOf: utc(r.AsOf),
		Status: report.RunStatus(r.Status), Trigger: report.Trigger(r.Trigger), Owner: r.Owner,
		StartedAt: utc(r.StartedAt), LeaseUntil: utc(r.LeaseUntil), FinishedAt: utc(r.FinishedAt),
		Error:  r.Error,
		Counts: Counts{Sent: r.Sent, Failed: r.Failed, Unknown: r.Unknown, Skipped: r.Skipped},
	}
}

// utc reads both engines' timestamps in one location, so that runs read from
// PostgreSQL and SQLite compare and print the same.
func utc(t db.NullTime) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Messages written into the ledger when a process is found dead.
const (
	abandonedRunError = "abandoned: the run's lease expired before it finished (the process stopped or lost the database)"
	abandonedSending  = "the run ended while sending: the message may or may not have arrived"
)

// StartRun records a new running run and returns its ID. Runs of the same
// (report, period) whose lease has expired are first recorded as failed, and
// their deliveries left in sending as unknown. If another live run holds the
// (report, period), StartRun returns ErrRunInProgress: the trigger is a
// duplicate (two cron jobs, two replicas) and the caller skips.
func (l *Ledger) StartRun(ctx context.Context, info RunInfo) (int64, error) {
	if info.Report == "" || info.Period == "" {
		return 0, fmt.Errorf("start run: %w: report and period are required", ErrInvalid)
	}
	if !info.Trigger.Valid() {
		return 0, fmt.Errorf("start run: %w: trigger %q", ErrInvalid, info.Trigger)
	}
	now := l.clock()
	tx, err := l.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("start run: begin: %w", err)
	}
	defer tx.Rollback()
	if err := l.abandon(ctx, tx, now, info.Report, info.Period); err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	// The partial unique index on (report, period) WHERE status = 'running'
	// turns a second live run into a conflict: no row comes back.
	var id int64
	err = tx.GetContext(ctx, &id, l.q(`INSERT INTO sameteam_runs
		(report, period, as_of, status, "trigger", owner, started_at, lease_until)
		VALUES (?, ?, ?, 'running', ?, ?, ?, ?)
		ON CONFLICT DO NOTHING
		RETURNING id`),
		info.Report, info.Period, l.nullTime(info.AsOf), string(info.Trigger), l.owner,
		l.db.Time(now), l.db.Time(now.Add(l.runLease)))
	if errors.Is(err, sql.ErrNoRows) {
		var holder runRow
		herr := tx.GetContext(ctx, &holder, l.q(`SELECT `+runColumns+` FROM sameteam_runs
			WHERE report = ? AND period = ? AND status = 'running'`), info.Report, info.Period)
		if herr != nil {
			return 0, fmt.Errorf("start run %s %s: %w", info.Report, info.Period, ErrRunInProgress)
		}
		return 0, fmt.Errorf("start run %s %s: %w (run %d by %s since %s)", info.Report, info.Period,
			ErrRunInProgress, holder.ID, holder.Owner, utc(holder.StartedAt).Format(time.RFC3339))
	}
	if err != nil {
		return 0, fmt.Errorf("start run: insert: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("start run: commit: %w", err)
	}
	return id, nil
}

// abandon records, inside tx, the running runs of one (report, period)
// whose lease has expired as failed, and the deliveries of that (report,
// period) left in sending by a run that is no longer alive as unknown (with
// one more attempt). Runs are updated before deliveries, the order every
// transaction of the ledger takes, so that two never deadlock.
func (l *Ledger) abandon(ctx context.Context, tx *sqlx.Tx, now time.Time, name, period string) error {
	scope, args := ` AND report = ? AND period = ?`, []any{name, period}
	_, err := tx.ExecContext(ctx, l.q(`UPDATE sameteam_runs
		SET status = 'failed', finished_at = ?, error = ?
		WHERE status = 'running' AND lease_until < ?`+scope),
		append([]any{l.db.Time(now), abandonedRunError, l.db.Time(now)}, args...)...)
	if err != nil {
		return fmt.Errorf("abandon expired runs: %w", err)
	}
	// A row in sending whose run is not alive (finished, abandoned, or past
	// its lease) was being sent when its process stopped.
	_, err = tx.ExecContext(ctx, l.q(`UPDATE sameteam_deliveries
		SET status = 'unknown', attempts = attempts + 1, last_error = ?, updated_at = ?
		WHERE status = 'sending'
		  AND NOT EXISTS (SELECT 1 FROM sameteam_runs r
		                  WHERE r.id = sameteam_deliveries.run_id
		                    AND r.status = 'running' AND r.lease_until >= ?)`+scope),
		append([]any{abandonedSending, l.db.Time(now), l.db.Time(now)}, args...)...)
	if err != nil {
		return fmt.Errorf("resolve abandoned deliveries: %w", err)
	}
	return nil
}

// execer is what renew needs from a database or a transaction.
type execer interface {
	sqlx.ExecerContext
	sqlx.QueryerContext
}

// renew checks that runID is running and extends its lease, and says why
// not otherwise. It returns the run's report and period. A lease renewed
// within the last tenth of its length is left alone: that spares the claims
// of one run from queuing on the run's row, and is safe because a run is
// only taken for dead once its lease has passed.
func (l *Ledger) renew(ctx context.Context, x execer, runID int64) (name, period string, err error) {
	now := l.clock()
	var cur runRow
	err = sqlx.GetContext(ctx, x, &cur, l.q(`SELECT `+runColumns+` FROM sameteam_runs WHERE id = ?`), runID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("run %d: %w", runID, ErrNoRun)
	}
	if err != nil {
		return "", "", fmt.Errorf("read run %d: %w", runID, err)
	}
	if report.RunStatus(cur.Status) != report.RunRunning {
		return "", "", notRunning(cur)
	}
	if cur.LeaseUntil.After(now.Add(l.runLease - l.runLease/10)) {
		return cur.Report, cur.Period, nil
	}
	var r runRow
	err = sqlx.GetContext(ctx, x, &r, l.q(`UPDATE sameteam_runs SET lease_until = ?
		WHERE id = ? AND status = 'running'
		RETURNING `+runColumns), l.db.Time(now.Add(l.runLease)), runID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", l.whyNotRunning(ctx, x, runID)
	}
	if err != nil {
		return "", "", fmt.Errorf("renew lease of run %d: %w", runID, err)
	}
	return r.Report, r.Period, nil
}

// whyNotRunning explains why runID is not a running run.
func (l *Ledger) whyNotRunning(ctx context.Context, x sqlx.QueryerContext, runID int64) error {
	var r runRow
	err := sqlx.GetContext(ctx, x, &r, l.q(`SELECT `+runColumns+` FROM sameteam_runs WHERE id = ?`), runID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("run %d: %w", runID, ErrNoRun)
	}
	if err != nil {
		return fmt.Errorf("read run %d: %w", runID, err)
	}
	return notRunning(r)
}

// notRunning is the error for a run that is not running.
func notRunning(r runRow) error {
	if r.Error != "" {
		return fmt.Errorf("run %d is %s (%s): %w", r.ID, r.Status, r.Error, ErrRunNotRunning)
	}
	return fmt.Errorf("run %d is %s: %w", r.ID, r.Status, ErrRunNotRunning)
}

// FinishRun records the end of a run: its status (succeeded, partial or
// failed), an error text for failures, and its counts. Deliveries the run
// left in sending (a send whose outcome it never recorded) become unknown in
// the same transaction, so a finished run leaves nothing in sending.
func (l *Ledger) FinishRun(ctx context.Context, runID int64, status report.RunStatus, errText string, counts Counts) error {
	if !status.Final() {
		return fmt.Errorf("finish run %d: %w: status %q", runID, ErrInvalid, status)
	}
	now := l.clock()
	tx, err := l.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish run %d: begin: %w", runID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, l.q(`UPDATE sameteam_runs
		SET status = ?, finished_at = ?, error = ?,
		    sent_count = ?, failed_count = ?, unknown_count = ?, skipped_count = ?
		WHERE id = ? AND status = 'running'`),
		string(status), l.db.Time(now), errText,
		counts.Sent, counts.Failed, counts.Unknown, counts.Skipped, runID)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", runID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("finish run: %w", l.whyNotRunning(ctx, tx, runID))
	}
	if _, err := tx.ExecContext(ctx, l.q(`UPDATE sameteam_deliveries
		SET status = 'unknown', attempts = attempts + 1, last_error = ?, updated_at = ?
		WHERE run_id = ? AND status = 'sending'`),
		abandonedSending, l.db.Time(now), runID); err != nil {
		return fmt.Errorf("finish run %d: resolve its sending rows: %w", runID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish run %d: commit: %w", runID, err)
	}
	return nil
}

// NoteRun sets the note of a run: what an operator should know of a run
// that its status does not say (it was sent despite the data-quality gate).
func (l *Ledger) NoteRun(ctx context.Context, runID int64, note string) error {
	if _, err := l.db.ExecContext(ctx, l.q(`UPDATE sameteam_runs SET note = ? WHERE id = ?`), note, runID); err != nil {
		return fmt.Errorf("note run %d: %w", runID, err)
	}
	return nil
}

// Runs lists the latest runs of report (of every report if it is empty),
// newest first, at most limit (default 50).
func (l *Ledger) Runs(ctx context.Context, report string, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 50
	}
	where, args := "", []any{}
	if report != "" {
		where, args = `WHERE report = ?`, []any{report}
	}
	var rows []runRow
	if err := l.db.SelectContext(ctx, &rows, l.q(`SELECT `+runColumns+` FROM sameteam_runs `+where+`
		ORDER BY started_at DESC, id DESC LIMIT ?`), append(args, limit)...); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	out := make([]Run, len(rows))
	for i, r := range rows {
		out[i] = r.run()
	}
	return out, nil
}

// LastSuccess returns the run of report that most recently finished with
// status succeeded, and false if there is none. A partial run does not count:
// some of its recipients are still owed the report.
func (l *Ledger) LastSuccess(ctx context.Context, name string) (Run, bool, error) {
	var r runRow
	err := l.db.GetContext(ctx, &r, l.q(`SELECT `+runColumns+` FROM sameteam_runs
		WHERE report = ? AND status = ?
		ORDER BY finished_at DESC, id DESC LIMIT 1`), name, string(report.RunSucceeded))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("last success of %s: %w", name, err)
	}
	return r.run(), true, nil
}

// Run returns one run by ID, or ErrNoRun.
func (l *Ledger) Run(ctx context.Context, runID int64) (Run, error) {
	var r runRow
	err := l.db.GetContext(ctx, &r, l.q(`SELECT `+runColumns+` FROM sameteam_runs WHERE id = ?`), runID)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("run %d: %w", runID, ErrNoRun)
	}
	if err != nil {
		return Run{}, fmt.Errorf("read run %d: %w", runID, err)
	}
	return r.run(), nil
}

// Record is what the ledger holds of one (report, period).
type Record struct {
	// AsOf is the as_of of the period's latest run that did not fail: the
	// instant whose figures its recipients got, at which a download of the
	// period is rendered so that it matches the mail. Zero if no such run.
	AsOf time.Time
	// Succeeded is set when a run of the period finished succeeded.
	Succeeded bool
}

// Record reads what the ledger holds of one (report, period), in one query
// however many runs other periods have.
func (l *Ledger) Record(ctx context.Context, name, period string) (Record, error) {
	var row struct {
		AsOf      db.NullTime `db:"as_of"`
		Succeeded int         `db:"succeeded"`
	}
	err := l.db.GetContext(ctx, &row, l.q(`SELECT
		(SELECT as_of FROM sameteam_runs
		 WHERE report = ? AND period = ? AND status <> ? AND as_of IS NOT NULL
		 ORDER BY started_at DESC, id DESC LIMIT 1) AS as_of,
		(SELECT COUNT(*) FROM sameteam_runs
		 WHERE report = ? AND period = ? AND status = ?) AS succeeded`),
		name, period, string(report.RunFailed), name, period, string(report.RunSucceeded))
	if err != nil {
		return Record{}, fmt.Errorf("ledger record of %s %s: %w", name, period, err)
	}
	return Record{AsOf: utc(row.AsOf), Succeeded: row.Succeeded > 0}, nil
}

// Standing is what the ledger holds of one (report, period) that decides
// whether the report still owes it: the facts, not the rule (the rule is
// the scheduler's Owes, shared by run and serve).
type Standing struct {
	// Runs is how many runs of the period the ledger holds.
	Runs int
	// Succeeded is set when one of them finished succeeded.
	Succeeded bool
	// Latest is the status of the period's latest run ("" without one).
	Latest report.RunStatus
	// Deliveries is how many recipients of the period have a row;
	// Retriable, how many of those a rerun would try (failed_temporary,
	// pending).
	Deliveries, Retriable int
	// FirstAsOf is the earliest as_of of the report's runs, of any
	// period: the report has been producing periods since then. Zero for
	// a report that never ran. (The as_of, not the start, so that a run
	// for a past instant counts where it belongs.)
	FirstAsOf time.Time
}

// Standing reads the Standing of one (report, period) in one query.
func (l *Ledger) Standing(ctx context.Context, name, period string) (Standing, error) {
	var row struct {
		Runs       int         `db:"runs"`
		Succeeded  int         `db:"succeeded"`
		Latest     string      `db:"latest"`
		Deliveries int         `db:"deliveries"`
		Retriable  int         `db:"retriable"`
		FirstAsOf  db.NullTime `db:"first_as_of"`
	}
	err := l.db.GetContext(ctx, &row, l.q(`SELECT
		(SELECT COUNT(*) FROM sameteam_runs WHERE report = ? AND period = ?) AS runs,
		(SELECT COUNT(*) FROM sameteam_runs WHERE report = ? AND period = ? AND status = ?) AS succeeded,
		COALESCE((SELECT status FROM sameteam_runs WHERE report = ? AND period = ?
		          ORDER BY started_at DESC, id DESC LIMIT 1), '') AS latest,
		(SELECT COUNT(*) FROM sameteam_deliveries WHERE report = ? AND period = ?) AS deliveries,
		(SELECT COUNT(*) FROM sameteam_deliveries WHERE report = ? AND period = ? AND status IN (?, ?)) AS retriable,
		(SELECT MIN(as_of) FROM sameteam_runs WHERE report = ? AND as_of IS NOT NULL) AS first_as_of`),
		name, period,
		name, period, string(report.RunSucceeded),
		name, period,
		name, period,
		name, period, string(report.DeliveryFailedTemporary), string(report.DeliveryPending),
		name)
	if err != nil {
		return Standing{}, fmt.Errorf("ledger standing of %s %s: %w", name, period, err)
	}
	return Standing{Runs: row.Runs, Succeeded: row.Succeeded > 0, Latest: report.RunStatus(row.Latest),
		Deliveries: row.Deliveries, Retriable: row.Retriable, FirstAsOf: utc(row.FirstAsOf)}, nil
}
