package workbook

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/metrics"
)

// referenceValues is the MQL detail row as values for excelize's
// StreamWriter, the way the detail was written before it was encoded
// directly: the reference the encoder must match cell for cell.
func (b *builder) referenceValues(r *metrics.MQLRow) []any {
	w := b.w
	opt := func(s string) any {
		if s == "" {
			return nil
		}
		return b.text(s)
	}
	word := func(m map[string]string, k string) any {
		if v, ok := m[k]; ok {
			return v
		}
		return opt(k)
	}
	var minutes any
	if r.ResponseMinutes != nil {
		minutes = *r.ResponseMinutes
	}
	row := []any{
		opt(r.LeadID), b.when(r.MQLAt), word(w.source, r.Source), opt(r.OwnerID), opt(r.OwnerName),
		opt(r.CampaignID), opt(r.CampaignName), minutes, b.when(r.DueAt), word(w.sla, r.SLA), word(w.decision, r.Decision),
		opt(r.RejectionReason), b.when(r.SQLAt),
	}
	if b.working() {
		var working any
		if r.ResponseWorkingMinutes != nil {
			working = *r.ResponseWorkingMinutes
		}
		row = slices.Insert(row, 8, working)
	}
	return row
}

// TestDetailCellsMatchStreamWriter: the detail's own encoder writes the
// same XML as excelize's StreamWriter for the same rows (types, styles,
// escaping, number and date forms), over the awkward cases.
func TestDetailCellsMatchStreamWriter(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	madrid := s.Span.Location()
	minutes := func(v float64) *float64 { return &v }
	texts := []string{
		`=HYPERLINK("http://evil.example","click")`, `<script>alert('x')</script> & "Q4" push`,
		" leading space", "trailing space ", "\tleading tab", "line\nfeed", "carriage\rreturn", "tab\tinside",
		"_x0041_", "a_x005F_b", "_x005F_x0041_", "_x00zz_", "_x0041", "under_score_", "Lucía Ortiz 😀",
		"0042", "-leads", "@risk", "bad\x00byte\xff", strings.Repeat("é", 40000),
	}
	numbers := []float64{0, 0.5, 0.1 + 0.2, 1.0 / 3, -3.25, 1e-7, 1e20, 123456789012345678, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1)}
	times := []time.Time{
		{}, s.Span.Start, time.Date(2026, 3, 29, 1, 59, 59, 999999999, time.UTC), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC),
		time.Date(2026, 11, 23, 7, 0, 0, 123456789, madrid), time.Date(1899, 12, 30, 12, 0, 0, 0, time.UTC),
		time.Date(1900, 2, 28, 23, 0, 0, 0, time.UTC), time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	var rows []metrics.MQLRow
	for i, txt := range texts {
		rows = append(rows, metrics.MQLRow{
			LeadID: txt, MQLAt: times[i%len(times)], Source: []string{"marketing", "sales", "other", "partner", ""}[i%5],
			OwnerID: "u" + txt[:1], OwnerName: txt, CampaignName: txt, SLA: "met", Decision: "rejected", RejectionReason: txt,
		})
	}
	for i, v := range numbers {
		rows = append(rows, metrics.MQLRow{LeadID: "N", MQLAt: times[(i+1)%len(times)], ResponseMinutes: minutes(v),
			ResponseWorkingMinutes: minutes(v / 2), DueAt: times[(i+2)%len(times)], SQLAt: times[i%len(times)]})
	}
	for _, tm := range times {
		rows = append(rows, metrics.MQLRow{LeadID: "T", MQLAt: tm, SQLAt: tm.Add(36 * time.Hour), SLA: "pending", Decision: "pending"})
	}
	rows = append(rows, metrics.MQLRow{}) // every cell empty

	// Spanish with a working calendar: its column too.
	calendar := "madrid-office"
	for _, locale := range []string{"en", "es"} {
		t.Run(locale, func(t *testing.T) {
			t.Parallel()
			s := *s
			if locale == "es" {
				s.SLACalendar = &calendar
			}
			b, err := newBuilder(&s, Options{Locale: locale, TmpDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer b.f.Close()
			cols := b.detailColumns()
			sw, err := b.f.NewStreamWriter("Sheet1")
			if err != nil {
				t.Fatal(err)
			}
			var styles []int
			for i, c := range cols {
				if err := sw.SetColStyle(i+1, i+1, c.style); err != nil {
					t.Fatal(err)
				}
				styles = append(styles, c.style)
			}
			e := newRowEncoder(styles)
			for i := range rows {
				cell, _ := excelize.CoordinatesToCellName(1, i+2)
				if err := sw.SetRow(cell, b.referenceValues(&rows[i])); err != nil {
					t.Fatal(err)
				}
				e.begin(i + 2)
				b.detailRow(e, &rows[i])
				e.end()
			}
			if err := sw.Flush(); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := b.f.Write(&buf); err != nil {
				t.Fatal(err)
			}
			x := sheetXML(t, buf.Bytes())["xl/worksheets/sheet1.xml"]
			from, to := strings.Index(x, `<row r="2">`), strings.LastIndex(x, `</sheetData>`)
			if from < 0 || to < 0 {
				t.Fatalf("no rows in the reference sheet: %.300s", x)
			}
			want, got := x[from:to], string(e.buf)
			if got == want {
				return
			}
			wr, gr := strings.SplitAfter(want, "</row>"), strings.SplitAfter(got, "</row>")
			for i := range min(len(wr), len(gr)) {
				if wr[i] != gr[i] {
					t.Fatalf("row %d differs:\nencoder      %.2000s\nStreamWriter %.2000s", i+2, gr[i], wr[i])
				}
			}
			t.Fatalf("encoder wrote %d rows, StreamWriter %d", len(gr), len(wr))
		})
	}
}

// TestEscapedTextRoundTrips: text that looks like SpreadsheetML's _xHHHH_
// escapes reads back as written, not decoded.
func TestEscapedTextRoundTrips(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	texts := []string{"_x0041_", "_x005F_", "_x005F_x0041_", "a_xD800_b", "_X0041_", "__x0041__"}
	s.Detail = nil
	for _, txt := range texts {
		s.Detail = append(s.Detail, metrics.MQLRow{LeadID: txt, MQLAt: s.Span.Start, SLA: "met", Decision: "pending"})
	}
	f := open(t, write(t, s, Options{}))
	for i, want := range texts {
		ref, _ := excelize.CoordinatesToCellName(1, i+2)
		if got, err := f.GetCellValue("MQL detail", ref); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", ref, got, err, want)
		}
	}
}

func TestAppendColumn(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 12, 26, 27, 52, 53, 702, 703, excelize.MaxColumns} {
		want, _ := excelize.ColumnNumberToName(n)
		if got := string(appendColumn(nil, n-1)); got != want {
			t.Errorf("column %d = %q, want %q", n, got, want)
		}
	}
}

// Every line of the Summary is a metric of the catalog (or the score's
// capped attainment), for every audience, with and without a calendar.
func TestSummaryKeysAreInTheCatalog(t *testing.T) {
	for _, aud := range []string{AudienceLeadership, AudienceSales, AudienceMarketing} {
		for _, working := range []bool{false, true} {
			for _, g := range append(summaryGroups(aud, working), componentSpecs()) {
				for _, m := range g {
					if _, ok := metrics.Lookup(m.key); !ok && m.key != "mql_target_attainment_capped" {
						t.Errorf("%s: %q is not in the metric catalog", aud, m.key)
					}
				}
			}
		}
	}
}

// setTime writes the value and type excelize's SetCellValue writes for the
// same time: across time zones, daylight-saving changes, fractions of a
// second and Excel's epoch.
func TestSetTimeWritesExcelizesCell(t *testing.T) {
	t.Parallel()
	madrid, _ := time.LoadLocation("Europe/Madrid")
	york, _ := time.LoadLocation("America/New_York")
	times := []time.Time{
		time.Date(2026, 11, 23, 8, 0, 0, 0, madrid),
		time.Date(2026, 10, 25, 2, 30, 0, 0, madrid), // the repeated hour
		time.Date(2026, 3, 29, 3, 0, 0, 0, madrid),
		time.Date(2026, 11, 23, 7, 59, 59, 999999999, time.UTC),
		time.Date(2026, 11, 1, 1, 30, 0, 123456789, york),
		time.Date(1900, 2, 28, 23, 0, 0, 0, time.UTC),
		time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC), // before the epoch: text
	}
	ours, theirs := excelize.NewFile(), excelize.NewFile()
	defer ours.Close()
	defer theirs.Close()
	for i, tm := range times {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := setTime(ours, "Sheet1", cell, tm); err != nil {
			t.Fatal(err)
		}
		if err := theirs.SetCellValue("Sheet1", cell, tm); err != nil {
			t.Fatal(err)
		}
		raw := excelize.Options{RawCellValue: true}
		got, _ := ours.GetCellValue("Sheet1", cell, raw)
		want, _ := theirs.GetCellValue("Sheet1", cell, raw)
		gotType, _ := ours.GetCellType("Sheet1", cell)
		wantType, _ := theirs.GetCellType("Sheet1", cell)
		if got != want || gotType != wantType {
			t.Errorf("%v: %q (type %v), excelize writes %q (type %v)", tm, got, gotType, want, wantType)
		}
	}
}
