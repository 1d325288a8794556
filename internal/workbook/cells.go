package workbook

import (
	"math"
	"strconv"
	"time"
)

// rowEncoder appends worksheet rows as SpreadsheetML, cell for cell what
// excelize's StreamWriter writes for the same values (inline strings, column
// styles on every cell, dates as serial numbers), without an allocation per
// cell: at a million rows the MQL detail is twelve million cells.
type rowEncoder struct {
	buf    []byte
	styles []string // ` s="N"` per column, or "" for the default style
	row    []byte   // the current row number, in decimal
	col    int      // the next column, from 0
}

func newRowEncoder(styles []int) *rowEncoder {
	e := &rowEncoder{buf: make([]byte, 0, encoderFlush+4<<10)}
	for _, s := range styles {
		attr := ""
		if s != 0 {
			attr = ` s="` + strconv.Itoa(s) + `"`
		}
		e.styles = append(e.styles, attr)
	}
	return e
}

// encoderFlush is the size past which the caller hands the encoded rows on.
const encoderFlush = 64 << 10

// begin opens row n (1-based).
func (e *rowEncoder) begin(n int) {
	e.row = strconv.AppendInt(e.row[:0], int64(n), 10)
	e.col = 0
	e.buf = append(e.buf, `<row r="`...)
	e.buf = append(e.buf, e.row...)
	e.buf = append(e.buf, `">`...)
}

func (e *rowEncoder) end() { e.buf = append(e.buf, `</row>`...) }

// skip leaves the next cell empty: no element at all, as for a nil value.
func (e *rowEncoder) skip() { e.col++ }

// open starts the next cell's element up to its type.
func (e *rowEncoder) open() {
	e.buf = append(e.buf, `<c r="`...)
	e.buf = appendColumn(e.buf, e.col)
	e.buf = append(e.buf, e.row...)
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, e.styles[e.col]...)
	e.col++
}

// text writes s as an inline string; an empty s is an empty cell. s must
// already be clean (see clean): valid UTF-8 of XML characters, short enough
// for a cell.
func (e *rowEncoder) text(s string) {
	if s == "" {
		e.skip()
		return
	}
	e.open()
	e.buf = append(e.buf, ` t="inlineStr"><is><t`...)
	if first, last := s[0], s[len(s)-1]; isSpace(first) || isSpace(last) {
		e.buf = append(e.buf, ` xml:space="preserve"`...)
	}
	e.buf = append(e.buf, '>')
	e.buf = appendEscaped(e.buf, s)
	e.buf = append(e.buf, `</t></is></c>`...)
}

// number writes v the way excelize does: at most 15 significant digits, and
// NaN or an infinity (which a cell cannot hold as a number) as text.
func (e *rowEncoder) number(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		e.text(strconv.FormatFloat(v, 'f', -1, 64)) // NaN, +Inf, -Inf as fmt.Sprint writes them
		return
	}
	e.open()
	e.buf = append(e.buf, `><v>`...)
	e.buf = appendFloat(e.buf, v)
	e.buf = append(e.buf, `</v></c>`...)
}

// time writes t, seen in loc, as an Excel serial date; a zero t is an empty
// cell. Like excelize, a time before Excel's epoch is written as RFC 3339
// text.
func (e *rowEncoder) time(t time.Time, loc *time.Location) {
	if t.IsZero() {
		e.skip()
		return
	}
	serial, text, ok := excelWall(t.In(loc))
	if !ok {
		e.text(text)
		return
	}
	e.open()
	e.buf = append(e.buf, `><v>`...)
	e.buf = strconv.AppendFloat(e.buf, serial, 'f', -1, 64)
	e.buf = append(e.buf, `</v></c>`...)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendColumn appends the letters of column i (from 0).
func appendColumn(b []byte, i int) []byte {
	if i < 26 {
		return append(b, byte('A'+i))
	}
	var tmp [4]byte
	n := len(tmp)
	for i++; i > 0; i = (i - 1) / 26 {
		n--
		tmp[n] = byte('A' + (i-1)%26)
	}
	return append(b, tmp[n:]...)
}

// appendEscaped appends s escaped as encoding/xml's EscapeText does, except
// that line feeds stay literal (as excelize keeps them), and with every
// underscore that starts an _xHHHH_ sequence written as _x005F_, so that a
// reader does not decode CRM text such as "_x0041_" into "A".
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '\t':
			esc = "&#x9;"
		case '\r':
			esc = "&#xD;"
		case '_':
			if !escapedUnicode(s[i:]) {
				continue
			}
			esc = "_x005F_"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// escapedUnicode reports whether s starts with _xHHHH_, the form
// SpreadsheetML uses to escape a character in text.
func escapedUnicode(s string) bool {
	if len(s) < 7 || s[1] != 'x' || s[6] != '_' {
		return false
	}
	for _, c := range []byte(s[2:6]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// appendFloat appends v with at most 15 significant digits, Excel's
// precision, as excelize formats numbers.
func appendFloat(b []byte, v float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, v, 'f', -1, 64)
	if math.Abs(v) == math.MaxFloat64 {
		return b
	}
	str := b[start:]
	decimal := -1
	for i, c := range str {
		if c == '.' {
			decimal = i
			break
		}
	}
	significant := 0
	for i, c := range str {
		if c < '0' || c > '9' || significant == 0 && c == '0' {
			continue
		}
		significant++
		if significant <= 15 {
			continue
		}
		if decimal >= 0 && i > decimal {
			out := b[:start+i]
			if out[len(out)-1] == '.' {
				out = out[:len(out)-1]
			}
			return out
		}
		if decimal < 0 {
			decimal = len(str)
		}
		for j := i; j < decimal; j++ {
			str[j] = '0'
		}
		return b[:start+decimal]
	}
	return b
}

// Excel's 1900 date system, as excelize converts times to it.
var (
	excelMinTime1900      = time.Date(1899, time.December, 31, 0, 0, 0, 0, time.UTC)
	excelBuggyPeriodStart = time.Date(1900, time.March, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)
)

const (
	dayNanoseconds = 24 * time.Hour
	maxDuration    = 290 * 364 * dayNanoseconds
)

// excelWall is t as excelize writes a time.Time: t's wall clock in its
// own location as an Excel serial date, or, before Excel's epoch (not
// ok), RFC 3339 text.
func excelWall(t time.Time) (serial float64, text string, ok bool) {
	_, offset := t.Zone()
	t = t.Add(time.Duration(offset) * time.Second)
	if serial, ok := excelTime(t); ok {
		return serial, "", true
	}
	return 0, t.Format(time.RFC3339Nano), false
}

// excelTime is t (wall clock already shifted to UTC) as a serial date of
// Excel's 1900 system; false before the system's first day. Excel counts
// 29 February 1900, which did not exist, so later dates are one day on.
func excelTime(t time.Time) (float64, bool) {
	if t.Before(excelMinTime1900) {
		return 0, false
	}
	tt, diff, result := t, t.Sub(excelMinTime1900), 0.0
	for diff >= maxDuration {
		result += float64(maxDuration / dayNanoseconds)
		tt = tt.Add(-maxDuration)
		diff = tt.Sub(excelMinTime1900)
	}
	rem := diff % dayNanoseconds
	result += float64(diff-rem)/float64(dayNanoseconds) + float64(rem)/float64(dayNanoseconds)
	if t.After(excelBuggyPeriodStart) {
		result++
	}
	return result, result > 0
}
