// Package testsupport holds what sameteam's tests share beyond a database
// (package testdb): a log sink safe across goroutines, the path of the
// golden data, and the delivery ledger's rows as a test reads them.
package testsupport

import (
	"bytes"
	"sync"
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
