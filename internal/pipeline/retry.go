package pipeline

import (
	"context"
	"log/slog"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/metrics"
)

// retrySource reads a snapshot again, whole, when the database says the
// failure was transient (db.Transient). A snapshot is one read-only
// transaction, so a new attempt is a new, consistent snapshot; never
// "continue from query 4". Nothing has been claimed or sent yet at this
// point, so retrying is safe.
type retrySource struct {
	src      FactSource
	log      *slog.Logger
	attempts int           // in all, the first included
	backoff  time.Duration // before the second attempt; doubled after
}

// Retrying wraps src with sameteam's retry policy: three attempts, 500 ms
// then 1 s apart. log gets a line per retry; nil discards them.
func Retrying(src FactSource, log *slog.Logger) FactSource {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &retrySource{src: src, log: log, attempts: 3, backoff: 500 * time.Millisecond}
}

// Load implements FactSource.
func (r *retrySource) Load(ctx context.Context, w metrics.Windows) (*metrics.Facts, error) {
	wait := r.backoff
	for attempt := 1; ; attempt++ {
		f, err := r.src.Load(ctx, w)
		if err == nil || attempt >= r.attempts || ctx.Err() != nil {
			return f, err
		}
		state, ok := db.Transient(err)
		if !ok {
			return nil, err
		}
		r.log.Warn("snapshot failed; reading a new one", "attempt", attempt, "sqlstate", state,
			"retry_in_ms", wait.Milliseconds(), slog.Any("error", err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait *= 2
	}
}
