package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sameteam/sameteam/internal/db"
)

// unlockTimeout bounds the release of a lock. Release runs on a context of
// its own, never the caller's: a run cancelled by SIGTERM must still free its
// lock for the next replica.
const unlockTimeout = 5 * time.Second

// RunLockKey is the key Lock takes for one (report, period).
func RunLockKey(report, period string) string { return fmt.Sprintf("run %q %q", report, period) }

// Lock takes the lock of one (report, period) for the length of a run, so
// that a second process (replica, overlapping cron job) skips instead of
// preparing a report it will not send. It returns ErrLocked when another
// process holds it. Always call unlock, which is safe to call more than once;
// it reports ErrLockLost if the lock was lost while held.
//
// The lock is an optimisation, never the guarantee: Claim keeps a recipient
// from being sent twice even when two runs get past it.
func (l *Ledger) Lock(ctx context.Context, report, period string) (unlock func() error, err error) {
	if report == "" || period == "" {
		return nil, fmt.Errorf("lock: %w: report and period are required", ErrInvalid)
	}
	return l.LockKey(ctx, RunLockKey(report, period))
}

// LockKey takes the lock named key, as Lock does; it serves lockers keyed by
// something else than a run, such as a scheduler's job name.
//
// On PostgreSQL it is a session advisory lock (db.TryAdvisoryLock), held on
// a connection set aside for it until unlock, and released at once if that
// connection drops.
//
// On SQLite it is a row in sameteam_locks with a lease (Options.LockLease),
// renewed in the background while held; a row past its lease belongs to a
// dead process and is taken over.
func (l *Ledger) LockKey(ctx context.Context, key string) (unlock func() error, err error) {
	if key == "" {
		return nil, fmt.Errorf("lock: %w: empty key", ErrInvalid)
	}
	switch l.db.Engine {
	case db.Postgres:
		return l.pgLock(ctx, key)
	case db.SQLite:
		return l.sqliteLock(ctx, key)
	}
	return nil, fmt.Errorf("lock %q: %w: engine %q", key, ErrInvalid, l.db.Engine)
}

// pgLock takes a session advisory lock. The "sameteam:" prefix keeps the
// ledger's keys apart from other lockers' in the same database.
func (l *Ledger) pgLock(ctx context.Context, key string) (func() error, error) {
	unlock, err := l.db.TryAdvisoryLock(ctx, "sameteam:"+key)
	if errors.Is(err, db.ErrLocked) {
		// The holder's session is open, so it is alive.
		return nil, fmt.Errorf("lock %q: %w: %w", key, ErrLocked, ErrHolderAlive)
	}
	if err != nil {
		return nil, err
	}
	base := context.WithoutCancel(ctx)
	return func() error {
		if err := unlock(base); err != nil {
			if errors.Is(err, db.ErrLockLost) {
				return fmt.Errorf("%w: %w", ErrLockLost, err)
			}
			return err
		}
		return nil
	}, nil
}

func (l *Ledger) sqliteLock(ctx context.Context, key string) (func() error, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	if err := l.takeSQLiteLock(ctx, key, token); err != nil {
		return nil, err
	}

	base := context.WithoutCancel(ctx)
	stop, done := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var lost error
	go func() {
		defer close(done)
		every := l.lockLease / 3
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(base, every)
			res, err := l.db.ExecContext(rctx, `UPDATE sameteam_locks SET expires_at = ? WHERE key = ? AND token = ?`,
				l.db.Time(l.clock().Add(l.lockLease)), key, token)
			cancel()
			if err != nil {
				// Retried at the next tick; the lease leaves room for one miss.
				continue
			}
			if n, _ := res.RowsAffected(); n == 0 {
				mu.Lock()
				lost = fmt.Errorf("unlock %q: %w: taken over after the lease expired", key, ErrLockLost)
				mu.Unlock()
				return
			}
		}
	}()

	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			close(stop)
			<-done
			ctx, cancel := context.WithTimeout(base, unlockTimeout)
			defer cancel()
			res, err := l.db.ExecContext(ctx, `DELETE FROM sameteam_locks WHERE key = ? AND token = ?`, key, token)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				uerr = fmt.Errorf("unlock %q: %w", key, err)
			case lost != nil:
				uerr = lost
			default:
				if n, _ := res.RowsAffected(); n == 0 {
					uerr = fmt.Errorf("unlock %q: %w: taken over after the lease expired", key, ErrLockLost)
				}
			}
		})
		return uerr
	}, nil
}

// takeSQLiteLock takes key's row for token: a new row, one whose lease has
// passed, or one whose owner is a process of this host that is gone (killed
// with SIGKILL: no need to wait out its lease, and a cron rerun right after
// must not skip the period). Otherwise it returns ErrLocked, with
// ErrHolderAlive when the owner is a running process of this host.
func (l *Ledger) takeSQLiteLock(ctx context.Context, key, token string) error {
	now := l.clock()
	// One statement, so atomic: insert the row, or take over one whose lease
	// has passed. No row back means a holder within its lease.
	var got string
	err := l.db.GetContext(ctx, &got, `INSERT INTO sameteam_locks (key, owner, token, acquired_at, expires_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE
		SET owner = excluded.owner, token = excluded.token,
		    acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
		WHERE sameteam_locks.expires_at <= ?
		RETURNING token`,
		key, l.owner, token, l.db.Time(now), l.db.Time(now.Add(l.lockLease)), l.db.Time(now))
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lock %q: %w", key, err)
	}
	var holder struct {
		Owner   string      `db:"owner"`
		Token   string      `db:"token"`
		Expires db.NullTime `db:"expires_at"`
	}
	if herr := l.db.GetContext(ctx, &holder, `SELECT owner, token, expires_at FROM sameteam_locks WHERE key = ?`, key); herr != nil {
		return fmt.Errorf("lock %q: %w", key, ErrLocked)
	}
	held := fmt.Sprintf("held by %s until %s", holder.Owner, utc(holder.Expires).Format(time.RFC3339))
	switch holderOf(holder.Owner) {
	case holderAlive:
		return fmt.Errorf("lock %q: %w: %w (%s)", key, ErrLocked, ErrHolderAlive, held)
	case holderGone:
		// Compare-and-set on the holder's token: of two processes taking
		// over the same dead holder, one wins.
		res, err := l.db.ExecContext(ctx, `UPDATE sameteam_locks
			SET owner = ?, token = ?, acquired_at = ?, expires_at = ?
			WHERE key = ? AND token = ?`,
			l.owner, token, l.db.Time(now), l.db.Time(now.Add(l.lockLease)), key, holder.Token)
		if err != nil {
			return fmt.Errorf("lock %q: take over from a stopped process: %w", key, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		return fmt.Errorf("lock %q: %w (taken over by another process just now)", key, ErrLocked)
	}
	return fmt.Errorf("lock %q: %w (%s; whether it is still running cannot be told from here)", key, ErrLocked, held)
}
