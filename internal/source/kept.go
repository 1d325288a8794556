package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sameteam/sameteam/internal/metrics"
)

// kept is a snapshot's transaction left open after Load, so that the
// period's MQL detail is read again from the very state of the data the
// numbers came from, row by row into the workbook, instead of being held
// in memory (a quarter of a large company has over a hundred thousand).
//
// The reads of one range share one read of the database, spooled to a
// temporary file that every workbook follows (spool.go). That read imports
// the snapshot on a connection of its own (the exported snapshot stays
// valid while tx is open); where the snapshot was not exported or cannot
// be imported, it reads on tx itself.
type kept struct {
	s        *Source
	tx       *sqlx.Tx
	snapshot string    // pg_export_snapshot's id; "" when not exported
	asOf     time.Time // the snapshot's as_of, which bounds the MQLs and touches read

	mu      sync.Mutex // held by a read on tx, and by release
	closed  bool
	spools  []*spool             // the reads of the detail, by range (spool.go); guarded by mu
	cancels []context.CancelFunc // of the spools' reads, which end with the snapshot
}

// errReleased is returned by a read after the facts were closed.
var errReleased = errors.New("source: the snapshot was closed before its detail was read")

// attach makes f read its detail through k.
func (k *kept) attach(f *metrics.Facts) {
	f.Reread = k.read
	f.Release = k.release
}

// release ends the snapshot, once no read is using its transaction.
func (k *kept) release() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.closed {
		k.closed = true
		k.tx.Rollback()
		k.s.kept.Add(-1)
		for _, cancel := range k.cancels {
			cancel()
		}
		k.spools, k.cancels = nil, nil
	}
}

// reader is a reader on the kept snapshot, and what to call when the read
// is over.
func (k *kept) reader(ctx context.Context) (*reader, func(), error) {
	k.mu.Lock()
	closed := k.closed
	k.mu.Unlock()
	if closed {
		return nil, nil, errReleased
	}
	if k.snapshot != "" {
		// A connection of its own, waiting for one if need be: unlike the
		// spare connections of Load, this read cannot do without it.
		conn, err := k.s.db.Connx(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("read the MQL detail: %w", err)
		}
		tx, err := k.s.begin(ctx, conn, k.snapshot)
		if err == nil {
			return &reader{s: k.s, tx: tx, ctx: ctx}, func() { tx.Rollback(); conn.Close() }, nil
		}
		conn.Close()
		if !errors.Is(err, errNoSharedSnapshot) {
			return nil, nil, fmt.Errorf("read the MQL detail: %w", err)
		}
	}
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil, nil, errReleased
	}
	return &reader{s: k.s, tx: k.tx, ctx: ctx}, k.mu.Unlock, nil
}
