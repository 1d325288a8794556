package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/sameteam/sameteam/internal/db"
)

// DefaultMinHold is AdvisoryLocker's default minimum hold time.
const DefaultMinHold = 30 * time.Second

// AdvisoryLockerOptions configures an AdvisoryLocker.
type AdvisoryLockerOptions struct {
	// DB is the PostgreSQL state database (the ledger's), never a read
	// replica: advisory locks are local to one server.
	DB *db.DB
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
	db      *db.DB
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
	if opts.DB.Engine != db.Postgres {
		return nil, fmt.Errorf("%w: advisory locks need PostgreSQL, not %s", ErrJob, opts.DB.Engine)
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
	unlock, err := l.db.TryAdvisoryLock(ctx, l.ns+key)
	if errors.Is(err, db.ErrLocked) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, key)
	}
	if err != nil {
		return nil, err
	}
	return &advisoryLock{l: l, unlock: unlock, key: l.ns + key, since: time.Now()}, nil
}

type advisoryLock struct {
	l      *AdvisoryLocker
	unlock func(context.Context) error
	key    string
	since  time.Time
}

// Unlock waits out the rest of the minimum hold time, then releases the
// lock. gocron passes the job's context, which shutdown has already
// cancelled: the release itself does not depend on it (see
// db.TryAdvisoryLock). On shutdown the minimum hold is cut short, since this
// replica is leaving and its run is over.
func (a *advisoryLock) Unlock(ctx context.Context) error {
	if wait := a.l.minHold - time.Since(a.since); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if err := a.unlock(ctx); err != nil {
		a.l.log.Warn("advisory unlock failed; the lock went with the connection", "key", a.key, slog.Any("error", err))
		return err
	}
	return nil
}
