package workbook

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// A sales team of 100,000 members has as many rows in the Reps sheet: the
// workbook holds them as a stream, not as a cell map per value, so what it
// allocates stays near the size of the rows themselves (before, excelize's
// cell map and its marshalling allocated about 1 GB for this sheet alone,
// and the process peaked at 908 MB). The sheet is whole: every rep, in
// order, with the header's styles and a number style on the numbers.
func TestReliability_Load_RepsSheetOfAHundredThousandMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100,000-row sheet")
	}
	s, _ := golden(t, "w47-madrid")
	const n = 100_000
	reps := s.ByRep
	s.ByRep = nil
	for i := range n {
		r := reps[i%len(reps)]
		r.RepID = fmt.Sprintf("u%06d", i)
		s.ByRep = append(s.ByRep, r)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b := write(t, s, Options{})
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("workbook of %d reps: %d bytes, %.0f MB allocated", n, len(b), float64(allocated)/1e6)
	if allocated > 600e6 {
		t.Errorf("writing the workbook allocated %.0f MB: the Reps sheet is not streamed", float64(allocated)/1e6)
	}

	// Read the sheet's XML itself: a reader's 100,000-row parse would take
	// longer than the writing.
	sheet := sheetXML(t, b)[sheetPath(t, open(t, b), "Reps")]
	if got := strings.Count(sheet, "<row "); got != n+1 {
		t.Fatalf("Reps has %d rows, want the header and %d reps", got, n)
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		row := fmt.Sprintf(`<row r="%d"`, i+2)
		at := strings.Index(sheet, row)
		if at < 0 || !strings.Contains(sheet[at:min(len(sheet), at+400)], fmt.Sprintf("u%06d", i)) {
			t.Errorf("row %d does not hold rep u%06d", i+2, i)
		}
	}
	// Columns in ascending order, as the format wants them.
	cols := regexp.MustCompile(`<col min="(\d+)"`).FindAllStringSubmatch(sheet, -1)
	if len(cols) < 15 {
		t.Fatalf("Reps has %d column entries, want one per column", len(cols))
	}
	for i, c := range cols {
		if c[1] != fmt.Sprint(i+1) {
			t.Fatalf("Reps's columns are not in ascending order: %v", cols)
		}
	}
	// A streamed number carries its column's style itself.
	if !regexp.MustCompile(fmt.Sprintf(`<c r="C%d" s="[1-9][0-9]*"`, n+1)).MatchString(sheet) {
		t.Errorf("Reps!C%d has no style: a streamed number lost its column's", n+1)
	}
}
