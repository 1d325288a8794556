package quantile

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// fill adds the same pseudo-random values to s and returns them by
// series, sorted: series of very different sizes, with ties, zeros and
// negative values.
func fill(s *Store, n int) map[uint32][]float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[uint32][]float64{}
	for range n {
		series := uint32(rng.IntN(40) * rng.IntN(40)) // many small series, a few large ones
		var v float64
		switch rng.IntN(4) {
		case 0:
			v = float64(rng.IntN(10)) // ties
		case 1:
			v = -rng.Float64() * 100
		default:
			v = rng.ExpFloat64() * 600
		}
		s.Add(series, v)
		want[series] = append(want[series], v)
	}
	for _, vs := range want {
		slices.Sort(vs)
	}
	return want
}

// check asks s for every rank of every series, one rank at a time and all
// at once, and compares with want.
func check(t *testing.T, s *Store, want map[uint32][]float64) {
	t.Helper()
	for series, vs := range want {
		if got := s.Count(series); got != len(vs) {
			t.Fatalf("series %d: Count %d, want %d", series, got, len(vs))
		}
		all := make([]int, len(vs))
		for i := range all {
			all[i] = i
		}
		got, err := s.Ranks(series, all...)
		if err != nil {
			t.Fatalf("series %d: %v", series, err)
		}
		if !slices.Equal(got, vs) {
			t.Fatalf("series %d: ranks %v, want %v", series, got, vs)
		}
		for _, r := range []int{0, len(vs) / 2, len(vs) - 1} {
			got, err := s.Ranks(series, r)
			if err != nil || got[0] != vs[r] {
				t.Fatalf("series %d rank %d: %v %v, want %v", series, r, got, err, vs[r])
			}
		}
		// Ranks in any order, repeated, answered in the order asked.
		asked := []int{len(vs) - 1, 0, len(vs) / 2, 0}
		got, err = s.Ranks(series, asked...)
		if err != nil {
			t.Fatalf("series %d: %v", series, err)
		}
		for i, r := range asked {
			if got[i] != vs[r] {
				t.Fatalf("series %d: ranks %v gave %v", series, asked, got)
			}
		}
	}
}

func TestRanksAreThoseOfTheSortedSeries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, budget int }{
		{500, 1}, {500, 7}, {20000, 250}, {20000, 19999}, {20000, 20000}, {20000, 200000},
	} {
		n, budget := tc.n, tc.budget
		s := New(budget)
		want := fill(s, n)
		spilled := s.Spilled()
		switch {
		case budget <= n && spilled == 0:
			t.Fatalf("budget %d: %d values and nothing written to a run", budget, n)
		case budget > n && spilled != 0:
			t.Fatalf("budget %d: %d values written for %d values in all", budget, spilled, n)
		}
		if inMemory := int64(n) - spilled; inMemory >= int64(budget) {
			t.Fatalf("budget %d: %d values in memory", budget, inMemory)
		}
		check(t, s, want)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWithoutATemporaryFileTheValuesStayInMemory(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	s := New(10)
	want := fill(s, 5000)
	if s.Spilled() != 0 {
		t.Fatalf("%d values written to a directory that does not exist", s.Spilled())
	}
	check(t, s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRanksOutOfTheSeriesAreRefused(t *testing.T) {
	t.Parallel()
	s := New(2)
	for _, v := range []float64{3, 1, 2} {
		s.Add(7, v)
	}
	defer s.Close()
	for _, ranks := range [][]int{{3}, {-1}, {2, 3}} {
		if got, err := s.Ranks(7, ranks...); err == nil {
			t.Errorf("ranks %v of 3 values: %v and no error", ranks, got)
		}
	}
	if got, err := s.Ranks(8); err != nil || len(got) != 0 {
		t.Errorf("no ranks of an empty series: %v %v", got, err)
	}
}

func BenchmarkMillionValues(b *testing.B) {
	for _, bc := range []struct {
		name   string
		budget int
	}{{"in-memory", 1 << 30}, {"budget-512k", 1 << 19}} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			vs := make([]float64, 1<<20)
			for i := range vs {
				vs[i] = rng.ExpFloat64() * 600
			}
			b.ReportAllocs()
			for b.Loop() {
				s := New(bc.budget)
				for i, v := range vs {
					s.Add(uint32(i%200), v)
					s.Add(1000, v)
				}
				n := s.Count(1000)
				if _, err := s.Ranks(1000, n/2, n*9/10); err != nil {
					b.Fatal(err)
				}
				for o := range uint32(200) {
					if _, err := s.Ranks(o, s.Count(o)/2); err != nil {
						b.Fatal(err)
					}
				}
				s.Close()
			}
		})
	}
}
