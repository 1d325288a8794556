package workbook

import (
	"strings"
	"unicode/utf8"
)

// maxCellUnits is Excel's limit on the text of one cell. Excel counts UTF-16
// code units, so a character outside the Basic Multilingual Plane counts
// twice.
const maxCellUnits = 32767

// clean makes CRM text safe to store: invalid UTF-8 becomes U+FFFD,
// characters that XML 1.0 cannot carry (C0 controls other than tab, line
// feed and carriage return, U+FFFE, U+FFFF) and bidirectional overrides
// (which make text read in another order than it is stored) are dropped, and text longer than
// a cell can hold is cut and ends with marker, so a reader sees it was cut.
func clean(s, marker string) string {
	if !needsCleaning(s) {
		return s
	}
	kept := make([]rune, 0, len(s))
	units := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if keep(r) {
			kept = append(kept, r)
			units += runeUnits(r)
		}
	}
	if units <= maxCellUnits {
		return string(kept)
	}
	limit := maxCellUnits - utf16Len(marker)
	units, n := 0, 0
	for n < len(kept) && units+runeUnits(kept[n]) <= limit {
		units += runeUnits(kept[n])
		n++
	}
	return string(kept[:n]) + marker
}

// needsCleaning is the fast path: most CRM text is short, valid and free of
// control characters.
func needsCleaning(s string) bool {
	if len(s) > maxCellUnits { // UTF-16 units never exceed UTF-8 bytes
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !keep(r) {
			return true
		}
		i += size
	}
	return false
}

func runeUnits(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r)
	}
	return n
}

// keep reports whether clean keeps r: an XML character that is not a
// bidirectional embedding, override or isolate (U+202A–U+202E,
// U+2066–U+2069), the "Trojan Source" characters.
func keep(r rune) bool {
	return xmlChar(r) && !(r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069)
}

// xmlChar reports whether r may appear in an XML 1.0 document.
func xmlChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r <= 0xD7FF:
		return true
	case r < 0xE000:
		return false
	case r <= 0xFFFD:
		return true
	case r < 0x10000:
		return false
	}
	return r <= 0x10FFFF
}
