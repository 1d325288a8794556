package workbook

import (
	"fmt"

	"github.com/xuri/excelize/v2"
)

// fontFamily is named on every font a style sets: a font without a name
// falls back to the reader's default, a serif face in LibreOffice.
const fontFamily = "Calibri"

// styles holds the workbook's cell style ids, created once per file.
type styles struct {
	title, subtitle, header, headerRight, label, labelWrap, note               int
	text, wrap                                                                 int // free text: always stored and shown as text
	link                                                                       int // text that is a link into the CRM
	count, decimal, percent, money, dateTime, dateTimeLeft, decimalLeft, score int
	changeCount, changeDecimal, changePoints                                   int
	changeMoney, changeScore                                                   int
}

// currencySymbol is the symbol shown for the currencies a B2B report is
// most likely to use; any other ISO code is shown as the code itself.
func currencySymbol(code string) string {
	switch code {
	case "EUR":
		return "€"
	case "USD":
		return "$"
	case "GBP":
		return "£"
	case "JPY":
		return "¥"
	}
	return code + " "
}

// moneyFormat returns an Excel number format for amounts in code. Spanish
// writes the symbol after the amount, English before it; the separators come
// from the reader's own Excel settings.
func moneyFormat(locale, code string, signed bool) string {
	sym := `"` + currencySymbol(code) + `"`
	plus := ""
	if signed {
		plus = "+"
	}
	if locale == "es" {
		return fmt.Sprintf(`%s#,##0.00 %s;-#,##0.00 %s;#,##0.00 %s`, plus, sym, sym, sym)
	}
	return fmt.Sprintf(`%s%s#,##0.00;-%s#,##0.00;%s#,##0.00`, plus, sym, sym, sym)
}

func newStyles(f *excelize.File, w *words, locale, currency string) (styles, error) {
	var st styles
	var err error
	headerFill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DCE6F1"}}
	bottom := []excelize.Border{{Type: "bottom", Color: "8EA9C1", Style: 1}}
	add := func(dst *int, s *excelize.Style) {
		if err != nil {
			return
		}
		*dst, err = f.NewStyle(s)
	}
	custom := func(dst *int, format string) {
		add(dst, &excelize.Style{CustomNumFmt: &format})
	}
	add(&st.title, &excelize.Style{Font: &excelize.Font{Bold: true, Size: 14, Family: fontFamily}, NumFmt: 49})
	add(&st.link, &excelize.Style{Font: &excelize.Font{Color: "1F5FC4", Underline: "single", Family: fontFamily}, NumFmt: 49})
	add(&st.subtitle, &excelize.Style{Font: &excelize.Font{Bold: true, Size: 11, Family: fontFamily}, NumFmt: 49})
	add(&st.header, &excelize.Style{
		Font: &excelize.Font{Bold: true, Family: fontFamily}, Fill: headerFill, Border: bottom, NumFmt: 49,
		Alignment: &excelize.Alignment{Vertical: "center", Horizontal: "left", Indent: 1},
	})
	add(&st.headerRight, &excelize.Style{
		Font: &excelize.Font{Bold: true, Family: fontFamily}, Fill: headerFill, Border: bottom, NumFmt: 49,
		Alignment: &excelize.Alignment{Vertical: "center", Horizontal: "right"},
	})
	add(&st.label, &excelize.Style{Font: &excelize.Font{Bold: true, Family: fontFamily}, NumFmt: 49})
	add(&st.labelWrap, &excelize.Style{
		Font: &excelize.Font{Bold: true, Family: fontFamily}, NumFmt: 49,
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"},
	})
	add(&st.note, &excelize.Style{Font: &excelize.Font{Italic: true, Color: "595959", Family: fontFamily}, NumFmt: 49})
	// NumFmt 49 ("@") keeps a cell text even if someone edits it in Excel
	// later; without it, F2+Enter on "=HYPERLINK(…)" would make a formula.
	// Text is indented one step so it never touches a right-aligned
	// number in the column to its left.
	add(&st.text, &excelize.Style{NumFmt: 49, Alignment: &excelize.Alignment{Horizontal: "left", Indent: 1}})
	add(&st.wrap, &excelize.Style{NumFmt: 49, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top", Horizontal: "left", Indent: 1}})
	custom(&st.count, "#,##0")
	custom(&st.decimal, "#,##0.0")
	custom(&st.percent, "0.0%")
	custom(&st.money, moneyFormat(locale, currency, false))
	custom(&st.dateTime, w.dateTime)
	add(&st.dateTimeLeft, &excelize.Style{CustomNumFmt: &w.dateTime, Alignment: &excelize.Alignment{Horizontal: "left", Indent: 1}})
	decimal := "#,##0.0"
	add(&st.decimalLeft, &excelize.Style{CustomNumFmt: &decimal, Alignment: &excelize.Alignment{Horizontal: "left", Indent: 1}})
	custom(&st.score, "0.0")
	custom(&st.changeCount, "+#,##0;-#,##0;0")
	custom(&st.changeDecimal, "+#,##0.0;-#,##0.0;0.0")
	custom(&st.changePoints, fmt.Sprintf(`+0.0" %[1]s";-0.0" %[1]s";0.0" %[1]s"`, w.points))
	custom(&st.changeMoney, moneyFormat(locale, currency, true))
	custom(&st.changeScore, "+0.0;-0.0;0.0")
	if err != nil {
		return st, fmt.Errorf("create styles: %w", err)
	}
	return st, nil
}
