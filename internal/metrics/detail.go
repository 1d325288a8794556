package metrics

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// MQLReader reads again, from the snapshot a Facts was read from, the
// leads with mql_at in rng and not after as_of, each once with its first
// touches (as Builder.MQL takes them), in order of mql_at, calling yield
// for each until it returns false. A source sets it (Facts.Reread) so that
// the period's MQL detail goes from the database to the workbook row by
// row, never held whole: the snapshot keeps only its counts.
type MQLReader func(ctx context.Context, rng Range, yield func(Lead, []Touch) bool) error

// Close ends what the facts keep open for Reread (on PostgreSQL, the
// snapshot's transaction); the snapshots computed from f can no longer
// read their detail. It is a no-op for facts that keep nothing open.
func (f *Facts) Close() {
	if f != nil && f.Release != nil {
		f.Release()
		f.Release = nil
	}
}

// detailStream is the MQL detail of a snapshot whose facts read it again.
type detailStream struct {
	in    Input
	rng   Range // the report's period
	read  MQLReader
	names names
	count int // the period's MQLs as the snapshot counted them
}

// MQLDetail yields the MQL detail of the period, one row per MQL, oldest
// first (ties by lead id), as the workbook's MQL detail sheet lists it.
// Rows held in Detail are yielded from memory; otherwise they are read
// again from the snapshot the numbers came from, as they are consumed, so
// the rows always tie out with the numbers. Every call reads them anew. A
// read that fails, or that finds other MQLs than the snapshot counted,
// yields the error as its last element.
func (s *Snapshot) MQLDetail(ctx context.Context) iter.Seq2[MQLRow, error] {
	if s.stream == nil {
		return func(yield func(MQLRow, error) bool) {
			for _, r := range s.Detail {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
	return s.stream.rows(ctx)
}

// DetailCount is the number of rows MQLDetail yields: the period's MQLs.
func (s *Snapshot) DetailCount() int {
	if s.stream == nil {
		return len(s.Detail)
	}
	return s.stream.count
}

// DetailStreamed reports whether the detail is read again from the source
// rather than held in Detail.
func (s *Snapshot) DetailStreamed() bool { return s.stream != nil }

// ErrNoDetail is yielded by MQLDetail for a snapshot computed without its
// detail (Windows.SkipDetail).
var ErrNoDetail = errors.New("metrics: the snapshot was computed without its MQL detail")

func (d *detailStream) rows(ctx context.Context) iter.Seq2[MQLRow, error] {
	if d.read == nil {
		return func(yield func(MQLRow, error) bool) { yield(MQLRow{}, ErrNoDetail) }
	}
	return func(yield func(MQLRow, error) bool) {
		// The source orders by mql_at; ties go out by lead id in byte
		// order, as the held detail sorts them, whatever the database's
		// collation. A tie group is a handful of rows.
		var group []MQLRow
		n, stopped := 0, false
		flush := func() bool {
			slices.SortFunc(group, func(a, b MQLRow) int { return strings.Compare(a.LeadID, b.LeadID) })
			for _, r := range group {
				n++
				if !yield(r, nil) {
					stopped = true
					return false
				}
			}
			group = group[:0]
			return true
		}
		err := d.read(ctx, d.rng, func(l Lead, touches []Touch) bool {
			if !seen(l.MQLAt, d.in.AsOf) {
				return true
			}
			m := d.in.derive(l, touches)
			if len(group) > 0 && !group[0].MQLAt.Equal(m.at) && !flush() {
				return false
			}
			group = append(group, d.names.row(&m))
			return true
		})
		if stopped {
			return
		}
		if err == nil && !flush() {
			return
		}
		if err == nil && n != d.count {
			err = fmt.Errorf("metrics: the MQL detail read again has %d rows, the snapshot counted %d MQLs", n, d.count)
		}
		if err != nil {
			yield(MQLRow{}, err)
		}
	}
}
