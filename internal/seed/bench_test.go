package seed

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkGenerate measures generation alone, into a sink that only counts
// rows; run it with -benchtime=1x for one pass per size, e.g.
// go test -run "^$" -bench Generate/1000000 -benchtime=1x ./internal/seed
func BenchmarkGenerate(b *testing.B) {
	end := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				d := &discard{}
				if err := Generate(Options{Leads: n, End: end}, d); err != nil {
					b.Fatal(err)
				}
				rows = d.rows
			}
			b.ReportMetric(float64(rows), "rows/op")
		})
	}
}
