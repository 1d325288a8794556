package workbook

import (
	"fmt"
	"iter"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// column describes one column of a table sheet.
type column struct {
	header string
	style  int
	width  float64 // minimum width in characters; text columns grow to fit
	text   bool    // free text: width follows the longest value
}

// Column widths, in Excel's character units.
const (
	widthMin   = 11
	widthMax   = 60
	widthDate  = 19
	widthMoney = 15
)

// table writes a header row and rows starting at A1, freezes the header,
// puts an autofilter over the range and sizes the columns. A nil value is an
// empty cell; strings must already be cleaned.
func (b *builder) table(sheet string, cols []column, rows [][]any) error {
	f := b.f
	for i, c := range cols {
		name, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColStyle(sheet, name, c.style); err != nil {
			return fmt.Errorf("style column %s: %w", name, err)
		}
	}
	widths := make([]float64, len(cols))
	for i, c := range cols {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		if err := f.SetCellStr(sheet, cell, c.header); err != nil {
			return err
		}
		widths[i] = max(c.width, textWidth(c.header)+2, widthMin)
	}
	for r, row := range rows {
		for i, v := range row {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(i+1, r+2)
			var err error
			if t, ok := v.(time.Time); ok {
				err = setTime(f, sheet, cell, t)
			} else {
				err = f.SetCellValue(sheet, cell, v)
			}
			if err != nil {
				return fmt.Errorf("set %s: %w", cell, err)
			}
			if s, ok := v.(string); ok && cols[i].text {
				widths[i] = max(widths[i], textWidth(s)+2)
			}
		}
	}
	// Headers sit over their values: left over text, right over numbers.
	for i, c := range cols {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		style := b.st.headerRight
		if c.style == b.st.text || c.style == b.st.wrap {
			style = b.st.header
		}
		if err := f.SetCellStyle(sheet, cell, cell, style); err != nil {
			return err
		}
	}
	for i, wd := range widths {
		name, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sheet, name, name, min(wd, widthMax)); err != nil {
			return err
		}
	}
	if err := freezeTop(f, sheet, 1); err != nil {
		return err
	}
	end, _ := excelize.CoordinatesToCellName(len(cols), max(2, len(rows)+1))
	if err := f.SetSheetDimension(sheet, "A1:"+end); err != nil {
		return fmt.Errorf("set dimension: %w", err)
	}
	if err := f.AutoFilter(sheet, "A1:"+end, nil); err != nil {
		return fmt.Errorf("autofilter: %w", err)
	}
	return b.pageSetup(sheet, len(cols) > 4, 1)
}

// setTime writes the cell excelize's SetCellValue writes for t, without
// its look-up of the cell's style for a date format on every time (most
// of a table's time): table's time columns have a date style.
func setTime(f *excelize.File, sheet, cell string, t time.Time) error {
	serial, text, ok := excelWall(t)
	if ok {
		text = strconv.FormatFloat(serial, 'f', -1, 64)
	}
	return f.SetCellDefault(sheet, cell, text)
}

// streamTable is table for a sheet of many rows (n of them, given by rows,
// which it reads twice: once for the widths, once to write): the same
// header, styles, frozen header, autofilter, widths and page setup, with
// the rows written through excelize's stream writer, so that memory does
// not grow with a cell map per value.
func (b *builder) streamTable(sheet string, cols []column, n int, rows iter.Seq[[]any]) error {
	f := b.f
	widths := make([]float64, len(cols))
	for i, c := range cols {
		widths[i] = max(c.width, textWidth(c.header)+2, widthMin)
	}
	for row := range rows {
		for i, v := range row {
			if s, ok := v.(string); ok && cols[i].text {
				widths[i] = max(widths[i], textWidth(s)+2)
			}
		}
	}
	// The stream writer copies the worksheet as it is when it is created:
	// dimension, autofilter and page setup go first (see detailSheet).
	end, _ := excelize.CoordinatesToCellName(len(cols), max(2, n+1))
	if err := f.SetSheetDimension(sheet, "A1:"+end); err != nil {
		return fmt.Errorf("set dimension: %w", err)
	}
	if err := f.AutoFilter(sheet, "A1:"+end, nil); err != nil {
		return fmt.Errorf("autofilter: %w", err)
	}
	if err := b.pageSetup(sheet, len(cols) > 4, 1); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	// Last column first: excelize puts each column it is given before
	// those it has, and the stream writer writes them in that order, while
	// the format wants them in ascending order.
	for i := len(cols) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, min(widths[i], widthMax)); err != nil {
			return err
		}
		if err := sw.SetColStyle(i+1, i+1, cols[i].style); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	// Headers sit over their values: left over text, right over numbers.
	header := make([]any, len(cols))
	for i, c := range cols {
		style := b.st.headerRight
		if c.style == b.st.text || c.style == b.st.wrap {
			style = b.st.header
		}
		header[i] = excelize.Cell{StyleID: style, Value: c.header}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	// A streamed cell carries its style itself: a column's style only
	// covers the cells it does not write.
	cells := make([]any, len(cols))
	r := 2
	for row := range rows {
		for i, v := range row {
			cells[i] = nil
			if v != nil {
				cells[i] = excelize.Cell{StyleID: cols[i].style, Value: v}
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, r)
		if err := sw.SetRow(cell, cells); err != nil {
			return fmt.Errorf("row %d: %w", r, err)
		}
		r++
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// pageSetup makes a sheet print (and convert to PDF) one page wide, with
// its header rows repeated on every page. It must follow AutoFilter, which
// replaces the sheet properties.
func (b *builder) pageSetup(sheet string, landscape bool, headerRows int) error {
	orientation := "portrait"
	if landscape {
		orientation = "landscape"
	}
	one, zero, fit := 1, 0, true
	if err := b.f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return fmt.Errorf("sheet properties: %w", err)
	}
	if err := b.f.SetPageLayout(sheet, &excelize.PageLayoutOptions{
		Orientation: &orientation, FitToWidth: &one, FitToHeight: &zero,
	}); err != nil {
		return fmt.Errorf("page layout: %w", err)
	}
	if headerRows == 0 {
		return nil
	}
	err := b.f.SetDefinedName(&excelize.DefinedName{
		Name:     "_xlnm.Print_Titles",
		RefersTo: fmt.Sprintf("'%s'!$1:$%d", sheet, headerRows),
		Scope:    sheet,
	})
	if err != nil {
		return fmt.Errorf("print titles: %w", err)
	}
	return nil
}

// textWidth estimates the width a string needs, in characters.
func textWidth(s string) float64 {
	return float64(utf8.RuneCountInString(s)) * 1.1
}

// freezeTop freezes the top n rows of sheet.
func freezeTop(f *excelize.File, sheet string, n int) error {
	top, _ := excelize.CoordinatesToCellName(1, n+1)
	err := f.SetPanes(sheet, &excelize.Panes{
		Freeze: true, YSplit: n, TopLeftCell: top, ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: top, ActiveCell: top, Pane: "bottomLeft"}},
	})
	if err != nil {
		return fmt.Errorf("freeze header: %w", err)
	}
	return nil
}

// hyperlinks makes the cells of column col (0-based) of a table's data
// rows real hyperlinks to urls[i] ("" for none), in the link style: Excel
// and LibreOffice open them on a click, and a value never becomes a link
// by looking like one.
func (b *builder) hyperlinks(sheet string, col int, urls []string) error {
	for i, u := range urls {
		if u == "" {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(col+1, i+2)
		if err := b.f.SetCellHyperLink(sheet, cell, u, "External"); err != nil {
			return fmt.Errorf("link %s: %w", cell, err)
		}
		if err := b.f.SetCellStyle(sheet, cell, cell, b.st.link); err != nil {
			return err
		}
	}
	return nil
}
