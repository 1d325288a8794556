package workbook

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/metrics"
)

// detailColumns is the MQL detail's layout: header index, style and width.
func (b *builder) detailColumns() []column {
	st, h := b.st, b.w.detail
	cols := []column{
		{header: h[0], style: st.text, width: 12},
		{header: h[1], style: st.dateTime, width: widthDate},
		{header: h[2], style: st.text, width: 11},
		{header: h[3], style: st.text, width: 14},
		{header: h[4], style: st.text, width: 22},
		{header: h[5], style: st.text, width: 12},
		{header: h[6], style: st.text, width: 30},
		{header: h[7], style: st.decimal, width: 15},
		{header: h[8], style: st.dateTime, width: widthDate},
		{header: h[9], style: st.text, width: 11},
		{header: h[10], style: st.text, width: 11},
		{header: h[11], style: st.text, width: 24},
		{header: h[12], style: st.dateTime, width: widthDate},
	}
	if b.working() {
		// Working minutes right beside the wall-clock response.
		cols = slices.Insert(cols, 8, column{header: b.w.detailWorking, style: st.decimal, width: 15})
	}
	return cols
}

// detail lays out the MQL detail sheets, at most b.rows rows each
// including the header. Only their frame is built here (widths, styles,
// frozen header, filter, header row); the rows are written by
// writeDetail straight into the zip when the file is saved, so they are
// neither held in memory nor spilled to a temporary file and read back.
func (b *builder) detail(sheets []string) error {
	cols := b.detailColumns()
	ids := map[string]int{}
	for id, name := range b.f.GetSheetMap() {
		ids[name] = id
	}
	per := b.rows - 1
	remaining := b.o.DetailCount
	for _, sheet := range sheets {
		n := min(per, remaining)
		remaining -= n
		if err := b.detailSheet(sheet, cols, n); err != nil {
			return err
		}
		// excelize names a worksheet's part after its sheet id.
		b.parts = append(b.parts, detailPart{
			sheet: sheet, path: fmt.Sprintf("xl/worksheets/sheet%d.xml", ids[sheet]), rows: n,
		})
	}
	for _, c := range cols {
		b.detailStyles = append(b.detailStyles, c.style)
	}
	return nil
}

// detailPart is one MQL detail sheet whose rows are written at save time.
type detailPart struct {
	sheet string
	path  string // the worksheet's part in the package
	rows  int    // data rows under the header
}

func (b *builder) detailSheet(sheet string, cols []column, n int) error {
	f := b.f
	// Readers that trust <dimension> (openpyxl read-only, some BI tools)
	// would otherwise see one cell: the stream writer leaves it at A1, and
	// it can only be set before the writer is created. The autofilter is
	// part of the worksheet the writer copies, so it goes first too.
	end, _ := excelize.CoordinatesToCellName(len(cols), max(2, n+1))
	if err := f.SetSheetDimension(sheet, "A1:"+end); err != nil {
		return fmt.Errorf("set dimension: %w", err)
	}
	if err := f.AutoFilter(sheet, "A1:"+end, nil); err != nil {
		return fmt.Errorf("autofilter: %w", err)
	}
	if err := b.pageSetup(sheet, true, 1); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	for i, c := range cols {
		if err := sw.SetColWidth(i+1, i+1, max(c.width, textWidth(c.header)+3)); err != nil {
			return err
		}
		if err := sw.SetColStyle(i+1, i+1, c.style); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	header := make([]any, len(cols))
	for i, c := range cols {
		style := b.st.headerRight
		if c.style == b.st.text {
			style = b.st.header
		}
		header[i] = excelize.Cell{StyleID: style, Value: c.header}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// writeDetail writes the MQL detail parts into zw. frames holds each
// part's worksheet XML as excelize saved it, header row only; the rows go
// in before its </sheetData>, encoded as they are pulled from the source,
// in the order of the sheets.
func (b *builder) writeDetail(zw *zip.Writer, frames map[string][]byte) error {
	next, stop := iter.Pull(b.o.DetailRows)
	defer stop()
	e := newRowEncoder(b.detailStyles)
	for _, p := range b.parts {
		frame := frames[p.path]
		at := bytes.LastIndex(frame, []byte("</sheetData>"))
		if at < 0 {
			return fmt.Errorf("sheet %q: %w", p.sheet, errNoFrame)
		}
		w, err := zw.Create(p.path)
		if err != nil {
			return fmt.Errorf("sheet %q: %w", p.sheet, err)
		}
		e.buf = append(e.buf[:0], frame[:at]...)
		for i := range p.rows {
			r, ok := next()
			if !ok {
				break
			}
			e.begin(i + 2)
			b.detailRow(e, &r)
			e.end()
			if len(e.buf) >= encoderFlush {
				if _, err := w.Write(e.buf); err != nil {
					return fmt.Errorf("sheet %q: %w", p.sheet, err)
				}
				e.buf = e.buf[:0]
			}
		}
		e.buf = append(e.buf, frame[at:]...)
		if _, err := w.Write(e.buf); err != nil {
			return fmt.Errorf("sheet %q: %w", p.sheet, err)
		}
		e.buf = e.buf[:0]
	}
	if _, more := next(); more {
		return fmt.Errorf("%w: %d", ErrDetailCount, b.o.DetailCount)
	}
	return nil
}

// errNoFrame means excelize did not save a detail sheet the way writeDetail
// expects: through the zip writer, as a streamed part with a sheetData.
var errNoFrame = errors.New("workbook: detail sheet frame missing")

// detailRow encodes r's cells: text cleaned, times in the report's zone,
// nulls as empty cells.
func (b *builder) detailRow(e *rowEncoder, r *metrics.MQLRow) {
	w := b.w
	e.text(b.text(r.LeadID))
	e.time(r.MQLAt, b.loc)
	e.text(b.word(w.source, r.Source))
	e.text(b.text(r.OwnerID))
	e.text(b.text(r.OwnerName))
	e.text(b.text(r.CampaignID))
	e.text(b.text(r.CampaignName))
	number := func(v *float64) {
		if v != nil {
			e.number(*v)
		} else {
			e.skip()
		}
	}
	number(r.ResponseMinutes)
	if b.working() {
		number(r.ResponseWorkingMinutes)
	}
	e.time(r.DueAt, b.loc)
	e.text(b.word(w.sla, r.SLA))
	e.text(b.word(w.decision, r.Decision))
	e.text(b.text(r.RejectionReason))
	e.time(r.SQLAt, b.loc)
}

// word is the locale's word for an engine state, or the state itself,
// cleaned, when the vocabulary has none.
func (b *builder) word(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return b.text(k)
}
