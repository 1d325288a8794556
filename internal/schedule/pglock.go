package schedule

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jmoiron/sqlx"
)

// DefaultMinHold is AdvisoryLocker's default minimum hold time.
const DefaultMinHold = 30 * time.Second

// lockHash is the 64-bit advisory lock key of $1 in the session's schema.
const lockHash = `hashtextextended(COALESCE(current_schema(), '') || ':' || $1, 0)`

// AdvisoryLockerOptions configures an AdvisoryLocker.
type AdvisoryLockerOptions struct {
	// DB is the PostgreSQL state database (the ledger's), never a read
	// replica: advisory locks are local to one server.
	DB *sqlx.DB
	// MinHold is the least time a lock is held, however fast the run. gocron
	// fires each replica on its own clock; without it, a replica whose clock
	// runs a little behind takes the lock right after a fast run released it
	// and runs the same slot again (gocron issue #841). It must exceed the
	// clock skew between replicas. Default DefaultMinHold; negative: none.
	MinHold time.Duration
	// Namespace prefixes every key. Advisory locks are database-wide; the
	// key already includes the session's schema, so two sameteam
	// deployments in two schemas never meet, but two sharing one schema
	// with different schedules, or another application's locks, need
	// different namespaces. Default "sameteam/schedule/".
	Namespace string
	// Logger gets unlock failures; default discard.
	Logger *slog.Logger
}

// AdvisoryLocker is a gocron.Locker on PostgreSQL session advisory locks.
// Each lock holds one pooled connection for the length of the run (a session
// lock belongs to its connection), so the pool needs a connection per
// concurrent run plus one. It does not work through PgBouncer in transaction
// pooling mode. If the connection drops mid-run, PostgreSQL releases the lock
// silently: the lock prevents concurrent runs, while the ledger prevents
// duplicate sends.
type AdvisoryLocker struct {
	db      *sqlx.DB
	minHold time.Duration
	ns      string
	log     *slog.Logger
}

var _ gocron.Locker = (*AdvisoryLocker)(nil)

// NewAdvisoryLocker returns a locker on opts.DB.
func NewAdvisoryLocker(opts AdvisoryLockerOptions) (*AdvisoryLocker, error) {
	if opts.DB == nil {
		return nil, fmt.Errorf("%w: advisory locker needs a database", ErrJob)
	}
	if opts.DB.DriverName() != "postgres" {
		return nil, fmt.Errorf("%w: advisory locks need PostgreSQL, not %s", ErrJob, opts.DB.DriverName())
	}
	l := &AdvisoryLocker{db: opts.DB, minHold: opts.MinHold, ns: opts.Namespace, log: opts.Logger}
	if l.minHold == 0 {
		l.minHold = DefaultMinHold
	}
	if l.ns == "" {
		l.ns = "sameteam/schedule/"
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l, nil
}

// Lock takes the advisory lock for key without waiting: ErrLocked when
// another session holds it.
func (l *AdvisoryLocker) Lock(ctx context.Context, key string) (gocron.Lock, error) {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	var ok bool
	// hashtextextended gives a 64-bit key from any text; a collision between
	// two report names would only make them take turns. Advisory locks are
	// database-wide, so the key includes the session's schema, as the
	// ledger's run locks do: two installations in two schemas of one
	// database must not skip each other's runs.
	err = conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+lockHash+`)`, l.ns+key).Scan(&ok)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("%w: %s", ErrLocked, key)
	}
	return &advisoryLock{l: l, conn: conn, key: l.ns + key, since: time.Now()}, nil
}

type advisoryLock struct {
	l     *AdvisoryLocker
	conn  *sql.Conn
	key   string
	since time.Time
}

// Unlock waits out the rest of the minimum hold time, then releases the lock
// and returns the connection. gocron passes the job's context, which
// shutdown has already cancelled: the release runs on a context that keeps
// its values but not its cancellation, or the lock would outlive the run
// until the connection closed. On shutdown the minimum hold is cut short,
// since this replica is leaving and its run is over.
func (a *advisoryLock) Unlock(ctx context.Context) error {
	if wait := a.l.minHold - time.Since(a.since); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	defer a.conn.Close()
	var released bool
	if err := a.conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock(`+lockHash+`)`, a.key).Scan(&released); err != nil {
		a.l.log.Warn("advisory unlock failed; the lock goes with the connection", "key", a.key, slog.Any("error", err))
		// Closing a connection whose session may still hold the lock would put
		// it back in the pool holding it: discard it instead.
		_ = a.conn.Raw(func(any) error { return driver.ErrBadConn })
		return fmt.Errorf("unlock %s: %w", a.key, err)
	}
	if !released {
		return fmt.Errorf("unlock %s: not held by this session", a.key)
	}
	return nil
}
