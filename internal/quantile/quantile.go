// Package quantile finds the values at given ranks of many series at once,
// exactly, in a bounded amount of memory.
//
// A period's medians need every response time of its MQLs, one value per
// MQL and series (the headline, the MQL's owner; wall-clock and working
// minutes), and a large company's quarter has a million MQLs. A Store
// keeps values in memory up to a budget. Beyond it, the values in memory
// are sorted and written to a temporary file as one run, and a rank is
// found by merging that series' part of every run. Memory then stays at
// the budget however many values come.
//
// The answers never depend on the budget or on whether a file could be
// written: where no temporary file can be made or written, the values
// stay in memory, and only the memory is not bounded.
package quantile

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// A Store holds the values of many series. Add them all, then ask for
// ranks; Close it when done. A Store is not safe for use by several
// goroutines at once.
//
// Series are numbered from 0, densely: a Store keeps a slot for every
// number up to the highest used.
type Store struct {
	budget   int
	mem      [][]float64 // by series, the values not written to a run; sorted once asked
	held     int         // values in mem
	sorted   bool        // mem is sorted: the Adds are over
	counts   []int       // values per series, in mem and runs
	f        *os.File    // the runs, one after the other; unlinked
	size     int64       // bytes of whole runs in f
	runs     []run
	inMemory bool // a run could not be written: values stay in memory from then on
}

// run is one spill, sorted: each series' values in ascending order, the
// series in ascending order one after the other.
type run struct {
	off   int64 // where the run starts in the file
	parts []part
}

// part is one series' values in a run: n values, from the run's first-th
// value on.
type part struct {
	series   uint32
	first, n int
}

// valueSize is the bytes of one value in a run: a float64, little-endian.
// The series is in the run's parts, not the file.
const valueSize = 8

// New is an empty Store that keeps at most budget values in memory
// (at least one).
func New(budget int) *Store {
	return &Store{budget: max(budget, 1)}
}

// Add records v in series. It never fails: a run that cannot be written
// leaves the values in memory.
func (s *Store) Add(series uint32, v float64) {
	if s.sorted {
		panic("quantile: Add after a rank was asked")
	}
	if int(series) >= len(s.counts) {
		n := int(series) + 1
		s.counts = slices.Grow(s.counts, n-len(s.counts))[:n]
		s.mem = slices.Grow(s.mem, n-len(s.mem))[:n]
	}
	s.mem[series] = append(s.mem[series], v)
	s.held++
	s.counts[series]++
	if s.held >= s.budget && !s.inMemory {
		if s.spill() != nil {
			s.inMemory = true
		}
	}
}

// Count is the number of values in series.
func (s *Store) Count(series uint32) int {
	if int(series) >= len(s.counts) {
		return 0
	}
	return s.counts[series]
}

// Spilled is the number of values written to runs.
func (s *Store) Spilled() int64 { return s.size / valueSize }

// spill writes the values in memory as one sorted run and lets them go.
// On failure they stay, and the file holds nothing new that a run refers
// to.
func (s *Store) spill() error {
	if s.f == nil {
		f, err := os.CreateTemp("", "sameteam-quantile-*")
		if err != nil {
			return err
		}
		// Unlinked at once: nothing is left behind, even by a crash.
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			return err
		}
		s.f = f
	}
	r := run{off: s.size}
	w := bufio.NewWriterSize(io.NewOffsetWriter(s.f, s.size), 64<<10)
	var b [valueSize]byte
	first := 0
	for series, vs := range s.mem {
		if len(vs) == 0 {
			continue
		}
		slices.Sort(vs)
		r.parts = append(r.parts, part{series: uint32(series), first: first, n: len(vs)})
		first += len(vs)
		for _, v := range vs {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			if _, err := w.Write(b[:]); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	s.runs = append(s.runs, r)
	s.size += int64(first) * valueSize
	// Let the values go: a series' slice grown large in this run would
	// otherwise keep its capacity through the next.
	clear(s.mem)
	s.held = 0
	return nil
}

// Ranks returns the values at the given 0-based ranks of series in
// ascending order of value, in the order the ranks are given; each must
// be below Count. The Adds are over once Ranks is called.
func (s *Store) Ranks(series uint32, ranks ...int) ([]float64, error) {
	n := s.Count(series)
	for _, r := range ranks {
		if r < 0 || r >= n {
			return nil, fmt.Errorf("quantile: rank %d of a series of %d values", r, n)
		}
	}
	if !s.sorted {
		for _, vs := range s.mem {
			slices.Sort(vs)
		}
		s.sorted = true
	}
	var mem []float64
	if int(series) < len(s.mem) {
		mem = s.mem[series]
	}
	out := make([]float64, len(ranks))
	if len(mem) == n { // nothing of it in a run
		for i, r := range ranks {
			out[i] = mem[r]
		}
		return out, nil
	}

	// Merge the series' part of every run with the part in memory, up to
	// the highest rank asked.
	order := make([]int, len(ranks)) // indices of ranks, by rank
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ranks[a], ranks[b]) })
	m := merge{}
	if err := m.add(&cursor{mem: mem}); err != nil {
		return nil, err
	}
	for _, r := range s.runs {
		i, ok := slices.BinarySearchFunc(r.parts, series, func(p part, t uint32) int { return cmp.Compare(p.series, t) })
		if !ok {
			continue
		}
		p := r.parts[i]
		bytes := int64(p.n) * valueSize
		sec := io.NewSectionReader(s.f, r.off+int64(p.first)*valueSize, bytes)
		if err := m.add(&cursor{file: bufio.NewReaderSize(sec, int(min(32<<10, bytes))), left: p.n}); err != nil {
			return nil, err
		}
	}
	for rank, k := 0, 0; k < len(order); rank++ {
		if len(m) == 0 {
			return nil, errors.New("quantile: a run ended early")
		}
		c := m[0]
		for ; k < len(order) && ranks[order[k]] == rank; k++ {
			out[order[k]] = c.v
		}
		if err := c.next(); err != nil {
			return nil, err
		}
		if c.done {
			heap.Pop(&m)
		} else {
			heap.Fix(&m, 0)
		}
	}
	return out, nil
}

// Close releases the file of runs, if any.
func (s *Store) Close() error {
	s.mem, s.runs = nil, nil
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// cursor walks one series' values in ascending order, from memory or a
// run; v is the current one.
type cursor struct {
	v    float64
	done bool
	mem  []float64
	file *bufio.Reader
	left int
	b    [valueSize]byte
}

func (c *cursor) next() error {
	switch {
	case c.file == nil && len(c.mem) > 0:
		c.v, c.mem = c.mem[0], c.mem[1:]
	case c.file != nil && c.left > 0:
		if _, err := io.ReadFull(c.file, c.b[:]); err != nil {
			return fmt.Errorf("quantile: reading a run: %w", err)
		}
		c.v, c.left = math.Float64frombits(binary.LittleEndian.Uint64(c.b[:])), c.left-1
	default:
		c.done = true
	}
	return nil
}

// merge is a min-heap of cursors by current value.
type merge []*cursor

func (m merge) Len() int           { return len(m) }
func (m merge) Less(i, j int) bool { return m[i].v < m[j].v }
func (m merge) Swap(i, j int)      { m[i], m[j] = m[j], m[i] }
func (m *merge) Push(x any)        { *m = append(*m, x.(*cursor)) }
func (m *merge) Pop() any {
	old := *m
	c := old[len(old)-1]
	*m = old[:len(old)-1]
	return c
}

// add moves a new cursor to its first value and puts it into the heap,
// unless it has none.
func (m *merge) add(c *cursor) error {
	if err := c.next(); err != nil {
		return err
	}
	if !c.done {
		heap.Push(m, c)
	}
	return nil
}
