// Package testsupport holds what sameteam's tests share beyond a database
// (package testdb): a log sink safe across goroutines, the path of the
// golden data, and the delivery ledger's rows as a test reads them.
package testsupport

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// GoldenDir is the module's testdata/golden as a test in a package two
// levels below the module root (internal/x) reaches it.
const GoldenDir = "../../testdata/golden"

// SyncBuffer is a log sink safe for the goroutines of a scheduler or a
// server that write while the test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// deadliner is a test with a deadline: *testing.T (a benchmark or a
// fuzz target has none).
type deadliner interface {
	Deadline() (time.Time, bool)
}

// withoutDeadline is how long a test waits for something when go test runs
// without -timeout (-timeout 0).
const withoutDeadline = 10 * time.Minute

// Patience is how long a test waits for something that is going to
// happen: a run to finish, a log line, a server to answer. It is derived
// from the test binary's own deadline (go test -timeout), never a fixed
// number of seconds: on a machine loaded by other work everything takes
// longer, and a wait only has to end before the binary is killed, early
// enough that the test reports what it was waiting for. A tenth of what
// is left is kept for that.
func Patience(tb testing.TB) time.Duration {
	t, ok := tb.(deadliner)
	if !ok {
		return withoutDeadline
	}
	d, ok := t.Deadline()
	if !ok {
		return withoutDeadline
	}
	left := time.Until(d)
	return max(left-left/10, 0)
}

// Deadline is the instant until which a test waits for something that is
// going to happen, starting now (see Patience).
func Deadline(tb testing.TB) time.Time { return time.Now().Add(Patience(tb)) }

// After is a channel for a select that waits for something that is going
// to happen: it fires when Patience runs out.
func After(tb testing.TB) <-chan time.Time { return time.After(Patience(tb)) }
