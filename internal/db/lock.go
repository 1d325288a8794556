package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Errors of advisory locks.
var (
	// ErrLocked is returned by TryAdvisoryLock when another session holds
	// the lock.
	ErrLocked = errors.New("db: advisory lock held by another session")
	// ErrLockLost is returned by an unlock that found the lock no longer
	// held by its session (the connection dropped, the server restarted).
	ErrLockLost = errors.New("db: advisory lock lost while held")
	// ErrNoAdvisoryLocks is returned by TryAdvisoryLock on an engine that
	// has no advisory locks (SQLite).
	ErrNoAdvisoryLocks = errors.New("db: advisory locks need PostgreSQL")
)

// unlockTimeout bounds the release of an advisory lock.
const unlockTimeout = 5 * time.Second

// advisoryHash is the 64-bit advisory lock key of $1 in the session's
// schema. Advisory locks are database-wide: with the schema in the key, two
// installations in two schemas of one database never block each other.
// hashtextextended gives a 64-bit key from any text; a collision between two
// keys would only make them take turns.
const advisoryHash = `hashtextextended(COALESCE(current_schema(), '') || ':' || $1, 0)`

// TryAdvisoryLock takes the PostgreSQL session advisory lock named key
// without waiting, or returns ErrLocked. A session lock belongs to its
// connection, so one connection is taken out of the pool until unlock (keep
// the pool larger than the number of locks held at once); a dropped
// connection releases the lock at once. Session locks do not survive
// PgBouncer's transaction pooling, and must be taken on the primary.
//
// unlock releases the lock and returns the connection. It runs on a context
// that keeps ctx's values but not its cancellation, bounded by a few
// seconds: a run cancelled by SIGTERM must still free its lock for the next
// replica. It may be called more than once; it returns ErrLockLost if the
// session no longer held the lock, and the connection, whatever its session
// holds, never goes back to the pool with a lock.
func (d *DB) TryAdvisoryLock(ctx context.Context, key string) (unlock func(context.Context) error, err error) {
	if d.Engine != Postgres {
		return nil, fmt.Errorf("lock %q: %w, not %s", key, ErrNoAdvisoryLocks, d.Engine)
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %q: connect: %w", key, err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+advisoryHash+`)`, key).Scan(&ok); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock %q: %w", key, err)
	}
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("lock %q: %w", key, ErrLocked)
	}
	var once sync.Once
	var uerr error
	return func(ctx context.Context) error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
			defer cancel()
			var released bool
			err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock(`+advisoryHash+`)`, key).Scan(&released)
			if err == nil && released {
				uerr = conn.Close()
				return
			}
			// Whatever the session holds now, it must not go back to the
			// pool with a lock: discard it, which ends the session.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			conn.Close()
			if err != nil {
				uerr = fmt.Errorf("unlock %q: %w: %w", key, ErrLockLost, err)
			} else {
				uerr = fmt.Errorf("unlock %q: %w", key, ErrLockLost)
			}
		})
		return uerr
	}, nil
}
