package seed

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"slices"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/metrics"
)

// tableRows is one table as a sink received it.
type tableRows struct {
	name    string
	columns []string
	rows    [][]any
}

// memSink keeps every row, checking the Begin/Row/End protocol as it goes.
type memSink struct {
	tables []*tableRows
	open   bool
}

func (m *memSink) Begin(table string, columns []string) error {
	if m.open {
		return fmt.Errorf("begin %s inside another table", table)
	}
	m.open = true
	m.tables = append(m.tables, &tableRows{name: table, columns: slices.Clone(columns)})
	return nil
}

func (m *memSink) Row(values ...any) error {
	if !m.open {
		return fmt.Errorf("row outside a table")
	}
	t := m.tables[len(m.tables)-1]
	if len(values) != len(t.columns) {
		return fmt.Errorf("%s: %d values for %d columns", t.name, len(values), len(t.columns))
	}
	t.rows = append(t.rows, slices.Clone(values))
	return nil
}

func (m *memSink) End() error {
	if !m.open {
		return fmt.Errorf("end outside a table")
	}
	m.open = false
	return nil
}

func (m *memSink) table(tb testing.TB, name string) *tableRows {
	tb.Helper()
	for _, t := range m.tables {
		if t.name == name {
			return t
		}
	}
	tb.Fatalf("no table %s", name)
	return nil
}

// hashSink digests the stream, type by type, without keeping it.
type hashSink struct {
	h    hash.Hash
	rows int
	b    []byte
}

func newHashSink() *hashSink { return &hashSink{h: sha256.New()} }

func (s *hashSink) Begin(table string, columns []string) error {
	s.h.Write([]byte("B" + table))
	for _, c := range columns {
		s.h.Write([]byte("," + c))
	}
	return nil
}

func (s *hashSink) Row(values ...any) error {
	s.rows++
	b := append(s.b[:0], 'R')
	for _, v := range values {
		switch v := v.(type) {
		case nil:
			b = append(b, 'N')
		case string:
			b = append(b, 'S')
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case time.Time:
			b = append(b, 'T')
			b = binary.AppendVarint(b, v.Unix())
		case bool:
			b = append(b, 'B')
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case metrics.Money:
			b = append(b, 'M')
			b = binary.AppendVarint(b, int64(v))
		default:
			return fmt.Errorf("unexpected value %T", v)
		}
	}
	s.b = b
	s.h.Write(b)
	return nil
}

func (s *hashSink) End() error { s.h.Write([]byte("E")); return nil }

func (s *hashSink) sum() string { return fmt.Sprintf("%x", s.h.Sum(nil)) }

// discard is the cheapest possible sink, for benchmarks.
type discard struct{ rows int }

func (d *discard) Begin(string, []string) error { return nil }
func (d *discard) Row(...any) error             { d.rows++; return nil }
func (d *discard) End() error                   { return nil }
