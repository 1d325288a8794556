package workbook

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/metrics"
)

// detailRows sizes BenchmarkWriteDetail; the default keeps
// `go test -bench . -benchtime=1x` under a second. Measure a large period
// with -workbook.rows=1000000.
var detailRowsFlag = flag.Int("workbook.rows", 5000, "MQL detail rows for BenchmarkWriteDetail")

// detailOutFlag, when set, makes BenchmarkWriteDetail write the workbook to
// this file, as a user's run would, instead of counting its bytes; the
// comparison with other tools (.ci/bench-workbook) uses it.
var detailOutFlag = flag.String("workbook.out", "", "file BenchmarkWriteDetail writes the workbook to")

// syntheticDetail yields n plausible MQL rows without holding them: at a
// million rows a []MQLRow alone would be about 230 MB, which is the
// caller's memory, not the workbook's.
func syntheticDetail(n int, start time.Time) iter.Seq[metrics.MQLRow] {
	sources := []string{"marketing", "sales", "other"}
	slas := []string{"met", "breached", "pending"}
	decisions := []string{"accepted", "rejected", "pending"}
	reasons := []string{"", "No budget", "Bad fit", "Competitor customer"}
	owners := []string{"Carlos Pérez", "Elena García", "Lucía Ortiz", "Javier García"}
	campaigns := []string{"Webinar 2026 #1", "Paid Search 2026 #2", `=HYPERLINK("http://evil.example","click")`}
	return func(yield func(metrics.MQLRow) bool) {
		for i := range n {
			r := metrics.MQLRow{
				LeadID:          "L" + strconv.Itoa(1000000+i),
				MQLAt:           start.Add(time.Duration(i) * time.Second),
				Source:          sources[i%3],
				OwnerID:         "u00" + strconv.Itoa(i%4+1),
				OwnerName:       owners[i%4],
				CampaignID:      "c0" + strconv.Itoa(i%3+1),
				CampaignName:    campaigns[i%3],
				SLA:             slas[i%3],
				Decision:        decisions[i%3],
				RejectionReason: reasons[i%4],
			}
			if i%5 != 0 {
				m := float64(i%2000) + 0.5
				r.ResponseMinutes = &m
			}
			if i%7 == 0 {
				r.SQLAt = r.MQLAt.Add(48 * time.Hour)
			}
			if !yield(r) {
				return
			}
		}
	}
}

// countingWriter counts the bytes of the file and remembers the largest
// single write, which shows whether the file was buffered whole.
type countingWriter struct {
	n, largest int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	c.largest = max(c.largest, int64(len(p)))
	return len(p), nil
}

// BenchmarkWriteDetail writes a workbook whose MQL detail has
// -workbook.rows rows of 12 columns, streamed from a generator. It reports
// the file size and the process's peak RSS (VmHWM, Linux only) so far.
func BenchmarkWriteDetail(b *testing.B) {
	s, _ := golden(b, "w47-madrid")
	n := *detailRowsFlag
	b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
		var size int64
		for b.Loop() {
			var cw countingWriter
			var w io.Writer = &cw
			if *detailOutFlag != "" {
				f, err := os.Create(*detailOutFlag)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				w = io.MultiWriter(f, &cw)
			}
			err := Write(w, s, Options{
				TmpDir: b.TempDir(), DetailRows: syntheticDetail(n, s.Span.Start), DetailCount: n,
			})
			if err != nil {
				b.Fatal(err)
			}
			size = cw.n
		}
		b.ReportMetric(float64(size)/(1<<20), "file-MB")
		if hwm, ok := peakRSS(); ok {
			b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MB")
		}
	})
}

// peakRSS is the process's high-water resident set size in bytes.
func peakRSS() (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// TestSaveStreamsToWriter pins the memory behaviour: the file reaches the
// writer in small pieces while it is built, never as one buffer the size of
// the file (which is what excelize's own Write does). If excelize stops
// honouring the ZipWriter hook, the largest write becomes the whole file.
func TestSaveStreamsToWriter(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	const n = 30000
	var cw countingWriter
	err := Write(&cw, s, Options{TmpDir: t.TempDir(), DetailRows: syntheticDetail(n, s.Span.Start), DetailCount: n})
	if err != nil {
		t.Fatal(err)
	}
	if cw.n < 1<<20 {
		t.Fatalf("file is %d bytes; the test needs a file over 1 MiB to mean anything", cw.n)
	}
	if cw.largest > 512<<10 {
		t.Errorf("largest write %d bytes of a %d-byte file: the workbook was buffered, not streamed", cw.largest, cw.n)
	}
}

var _ io.Writer = (*countingWriter)(nil)
