package app

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/pipeline"
)

// retrySource reads a snapshot again, whole, when the database says the
// failure was transient: a serialization failure or deadlock (on a hot
// standby, a conflict with recovery is reported as 40001), a connection
// killed or lost (administrator shutdown, server restarting, network), or
// too many connections. A snapshot is one read-only transaction, so a new
// attempt is a new, consistent snapshot; never "continue from query 4".
// Nothing has been claimed or sent yet at this point, so retrying is safe.
// Timeouts are not retried: a query that ran past source.query_timeout
// will run past it again.
type retrySource struct {
	src      pipeline.FactSource
	log      *slog.Logger
	attempts int           // in all, the first included
	backoff  time.Duration // before the second attempt; doubled after
}

// retrying wraps src with the project's retry policy: three attempts,
// 500 ms then 1 s apart.
func retrying(src pipeline.FactSource, log *slog.Logger) *retrySource {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &retrySource{src: src, log: log, attempts: 3, backoff: 500 * time.Millisecond}
}

// Load implements pipeline.FactSource.
func (r *retrySource) Load(ctx context.Context, w metrics.Windows) (*metrics.Facts, error) {
	wait := r.backoff
	for attempt := 1; ; attempt++ {
		f, err := r.src.Load(ctx, w)
		if err == nil || attempt >= r.attempts || ctx.Err() != nil {
			return f, err
		}
		state, ok := transient(err)
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

// transient reports whether err is worth a new snapshot, with its SQLSTATE
// ("" when the failure was below SQL: a dropped connection).
func transient(err error) (string, bool) {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "", false
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		code := string(pe.Code)
		switch {
		case pe.Code.Class() == "08", // connection exception
			code == "40001", code == "40P01", // serialization failure, deadlock
			code == "57P01", code == "57P02", code == "57P03", // shutdown, crash shutdown, starting up
			code == "53300": // too many connections
			return code, true
		}
		return code, false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "", true
	}
	return "", false
}

// schemaProblem reports whether err says the source does not have the shape
// the configuration promises: a missing relation or column, a type that
// does not fit, or no right to read it. A retry cannot fix that; a person
// must, so `run` exits 78 rather than 75.
func schemaProblem(err error) bool {
	if e := pq.As(err); e != nil {
		switch e.Code.Class() {
		case "42": // syntax error or access rule violation: 42P01, 42703, 42501…
			return true
		}
		return false
	}
	msg := err.Error()
	for _, s := range []string{"no such table", "no such column", "SQL logic error"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// sourceCode is the exit code of a failed snapshot read.
func sourceCode(err error) int {
	if schemaProblem(err) {
		return ExitConfig
	}
	return ExitTempFail
}
