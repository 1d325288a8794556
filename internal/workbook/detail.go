package workbook

import (
	"fmt"
	"iter"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/metrics"
)

// detailColumns is the MQL detail's layout: header index, style and width.
func (b *builder) detailColumns() []column {
	st, h := b.st, b.w.detail
	return []column{
		{header: h[0], style: st.text, width: 12},
		{header: h[1], style: st.dateTime, width: widthDate},
		{header: h[2], style: st.text, width: 11},
		{header: h[3], style: st.text, width: 14},
		{header: h[4], style: st.text, width: 22},
		{header: h[5], style: st.text, width: 12},
		{header: h[6], style: st.text, width: 30},
		{header: h[7], style: st.decimal, width: 15},
		{header: h[8], style: st.text, width: 11},
		{header: h[9], style: st.text, width: 11},
		{header: h[10], style: st.text, width: 24},
		{header: h[11], style: st.dateTime, width: widthDate},
	}
}

// detail streams the MQL rows over sheets, at most b.rows rows each
// including the header. The StreamWriter spills to a temporary file past
// 16 MiB, so memory stays flat however many rows there are.
func (b *builder) detail(sheets []string) error {
	cols := b.detailColumns()
	per := b.rows - 1
	next, stop := iter.Pull(b.o.DetailRows)
	defer stop()
	remaining := b.o.DetailCount
	for _, sheet := range sheets {
		n := min(per, remaining)
		remaining -= n
		if err := b.detailSheet(sheet, cols, n, next); err != nil {
			return err
		}
	}
	if _, more := next(); more {
		return fmt.Errorf("%w: %d", ErrDetailCount, b.o.DetailCount)
	}
	return nil
}

func (b *builder) detailSheet(sheet string, cols []column, n int, next func() (metrics.MQLRow, bool)) error {
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
	// One slice reused for every row; the column styles format the cells.
	values := make([]any, len(cols))
	for i := range n {
		r, ok := next()
		if !ok {
			break
		}
		b.detailValues(values, &r)
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, values); err != nil {
			return fmt.Errorf("row %d: %w", i+2, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// detailValues fills values with r's cells: text cleaned, times in the
// report's zone, nulls as nil (empty cells).
func (b *builder) detailValues(values []any, r *metrics.MQLRow) {
	w := b.w
	word := func(m map[string]string, k string) any {
		if v, ok := m[k]; ok {
			return v
		}
		return b.optText(k)
	}
	values[0] = b.optText(r.LeadID)
	values[1] = b.when(r.MQLAt)
	values[2] = word(w.source, r.Source)
	values[3] = b.optText(r.OwnerID)
	values[4] = b.optText(r.OwnerName)
	values[5] = b.optText(r.CampaignID)
	values[6] = b.optText(r.CampaignName)
	values[7] = nil
	if r.ResponseMinutes != nil {
		values[7] = *r.ResponseMinutes
	}
	values[8] = word(w.sla, r.SLA)
	values[9] = word(w.decision, r.Decision)
	values[10] = b.optText(r.RejectionReason)
	values[11] = b.when(r.SQLAt)
}

// optText is s cleaned, or nil (an empty cell) when s is empty.
func (b *builder) optText(s string) any {
	if s == "" {
		return nil
	}
	return b.text(s)
}
