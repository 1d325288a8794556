package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// TestLockExcludes: on both engines, a held lock refuses a second holder
// (another connection, another process on the SQLite file), other keys are
// free, and after unlock the lock can be taken again.
func TestLockExcludes(t *testing.T) {
	t.Parallel()
	testdb.Engines(t, func(t *testing.T, url string) {
		t.Parallel()
		a, _ := setup(t, url)
		bl, _ := setup(t, url)
		ctx, cancel := context.WithCancel(context.Background())
		unlock, err := a.Lock(ctx, rep, per)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []*ledger.Ledger{a, bl} {
			if _, err := l.Lock(context.Background(), rep, per); !errors.Is(err, ledger.ErrLocked) {
				t.Fatalf("second lock: %v, want ErrLocked", err)
			}
		}
		other, err := bl.Lock(context.Background(), rep, "2026-W48")
		if err != nil {
			t.Fatalf("lock of another period: %v", err)
		}
		// A run cancelled by SIGTERM still releases its lock.
		cancel()
		if err := unlock(); err != nil {
			t.Fatalf("unlock: %v", err)
		}
		if err := unlock(); err != nil {
			t.Errorf("second unlock: %v", err)
		}
		again, err := bl.Lock(context.Background(), rep, per)
		if err != nil {
			t.Fatalf("lock after unlock: %v", err)
		}
		for _, u := range []func() error{again, other} {
			if err := u(); err != nil {
				t.Error(err)
			}
		}
		if _, err := a.Lock(context.Background(), "", per); !errors.Is(err, ledger.ErrInvalid) {
			t.Errorf("lock without report: %v", err)
		}
	})
}

// TestPostgresLockIsPerSchema: two installations in two schemas of one
// database take the same report's lock independently.
func TestPostgresLockIsPerSchema(t *testing.T) {
	t.Parallel()
	a, _ := setup(t, testdb.PostgresURL(t))
	b, _ := setup(t, testdb.PostgresURL(t))
	ua, err := a.LockKey(context.Background(), "job leadership")
	if err != nil {
		t.Fatal(err)
	}
	defer ua()
	ub, err := b.LockKey(context.Background(), "job leadership")
	if err != nil {
		t.Fatalf("lock in the second schema: %v", err)
	}
	defer ub()
}

// TestPostgresLockLostWithConnection: the lock dies with its session; the
// next process gets it, and the first one's unlock says it was lost.
func TestPostgresLockLostWithConnection(t *testing.T) {
	t.Parallel()
	l, b := setup(t, testdb.PostgresURL(t))
	ctx := context.Background()
	unlock, err := l.Lock(ctx, rep, per)
	if err != nil {
		t.Fatal(err)
	}
	// Find the holder's backend by the lock itself.
	var pid int
	if err := b.db.GetContext(ctx, &pid, `SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 1 AND granted
		  AND ((classid::bigint << 32) | objid::bigint) =
		      hashtextextended(COALESCE(current_schema(), '') || ':sameteam:' || $1, 0)`,
		ledger.RunLockKey(rep, per)); err != nil {
		t.Fatalf("find the lock holder: %v", err)
	}
	if _, err := b.db.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	deadline := testsupport.Deadline(t)
	for {
		u, err := l.Lock(ctx, rep, per)
		if err == nil {
			if err := u(); err != nil {
				t.Error(err)
			}
			break
		}
		if !errors.Is(err, ledger.ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("lock after the holder's session ended: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := unlock(); !errors.Is(err, ledger.ErrLockLost) {
		t.Errorf("unlock of the lost lock: %v, want ErrLockLost", err)
	}
}

// TestSQLiteLockLease: two processes on one SQLite file. The second takes
// over a lock whose lease has passed (its holder died); the first then learns
// it lost it.
func TestSQLiteLockLease(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	a, ab := setup(t, url)
	b, bb := setup(t, url)
	ctx := context.Background()
	unlockA, err := a.Lock(ctx, rep, per)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx, rep, per)
	if !errors.Is(err, ledger.ErrLocked) || !strings.Contains(err.Error(), "test-host:1") {
		t.Fatalf("lock while held: %v, want ErrLocked naming the holder", err)
	}
	// The default lease is a minute; just before it ends the lock holds.
	bb.clock.Advance(time.Minute - time.Second)
	if _, err := b.Lock(ctx, rep, per); !errors.Is(err, ledger.ErrLocked) {
		t.Fatalf("lock within the lease: %v", err)
	}
	bb.clock.Advance(time.Second)
	unlockB, err := b.Lock(ctx, rep, per)
	if err != nil {
		t.Fatalf("take over an expired lease: %v", err)
	}
	if err := unlockA(); !errors.Is(err, ledger.ErrLockLost) {
		t.Errorf("unlock by the former holder: %v, want ErrLockLost", err)
	}
	// The former holder's unlock must not have freed the new holder's lock.
	ab.clock.Advance(time.Minute - time.Second)
	if _, err := a.Lock(ctx, rep, per); !errors.Is(err, ledger.ErrLocked) {
		t.Fatalf("lock while the new holder has it: %v", err)
	}
	if err := unlockB(); err != nil {
		t.Fatal(err)
	}
	u, err := a.Lock(ctx, rep, per)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	if err := u(); err != nil {
		t.Error(err)
	}
}

// TestSQLiteLockRenewal: a holder that lives past its lease keeps the lock,
// because it renews it while held.
func TestSQLiteLockRenewal(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	d1, d2 := testdb.Open(t, url), testdb.Open(t, url)
	if err := ledger.Migrate(context.Background(), d1); err != nil {
		t.Fatal(err)
	}
	const lease = 150 * time.Millisecond
	a := ledger.NewWithOptions(d1, ledger.Options{LockLease: lease, Owner: "a"})
	b := ledger.NewWithOptions(d2, ledger.Options{LockLease: lease, Owner: "b"})
	ctx := context.Background()
	unlock, err := a.LockKey(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * lease)
	if _, err := b.LockKey(ctx, "job"); !errors.Is(err, ledger.ErrLocked) {
		t.Fatalf("lock past the first lease of a live holder: %v, want ErrLocked", err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	u, err := b.LockKey(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	if err := u(); err != nil {
		t.Error(err)
	}
}
