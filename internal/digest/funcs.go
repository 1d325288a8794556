package digest

import (
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"
)

// color is the text colour of a tone; "" is the body text colour. The
// colours read on white and, with the dark-mode overrides in the layout,
// on near-black. Tones only repeat what arrows and words say.
func color(tone string) string {
	switch tone {
	case "good":
		return "#1a7f37"
	case "bad":
		return "#c62828"
	case "flat":
		return "#5b636d"
	}
	return "#1f2328"
}

// barcolor is the fill of a bar segment: a is the main series, b the rest.
func barcolor(tone string) string {
	if tone == "b" {
		return "#93b3ea"
	}
	return "#2f6fdf"
}

// htmlFuncs are the HTML templates' helpers: pure functions of their
// arguments (no clock, no environment), so rendering is reproducible.
func htmlFuncs() htmltemplate.FuncMap {
	return htmltemplate.FuncMap{
		"color":    color,
		"barcolor": barcolor,
		"even":     func(i int) bool { return i%2 == 0 },
		"odd":      func(i int) bool { return i%2 == 1 },
	}
}

// textFuncs are the plain-text templates' helpers, equally pure.
func textFuncs() texttemplate.FuncMap {
	return texttemplate.FuncMap{
		"upper":     strings.ToUpper,
		"underline": func(s string) string { return strings.Repeat("=", utf8.RuneCountInString(s)) },
		"pad":       pad,
		"lpad":      lpad,
		"wrap":      wrap,
		"grid":      grid,
		"bar":       textBar,
		"bar1":      func(width, n int) string { return textBar([]seg{{Tone: "a", Width: width}}, n) },
	}
}

func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

func lpad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return strings.Repeat(" ", n-k) + s
	}
	return s
}

// wrap breaks s into lines of at most width characters, the first
// starting with first and the rest with rest.
func wrap(s string, width int, first, rest string) string {
	var b strings.Builder
	lineLen := 0
	prefix := first
	for _, w := range strings.Fields(s) {
		wl := utf8.RuneCountInString(w)
		if lineLen > 0 && lineLen+1+wl > width {
			b.WriteByte('\n')
			lineLen = 0
			prefix = rest
		}
		if lineLen == 0 {
			b.WriteString(prefix)
			lineLen = utf8.RuneCountInString(prefix)
		} else {
			b.WriteByte(' ')
			lineLen++
		}
		b.WriteString(w)
		lineLen += wl
	}
	return b.String()
}

// grid lays a table out in aligned columns.
func grid(t table) string {
	rows := make([][]string, 0, len(t.Rows)+2)
	rows = append(rows, t.Headers)
	texts := func(cs []cell) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.Plain()
		}
		return out
	}
	for _, r := range t.Rows {
		rows = append(rows, texts(r))
	}
	if len(t.Foot) > 0 {
		rows = append(rows, texts(t.Foot))
	}
	widths := make([]int, len(t.Headers))
	for _, r := range rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	total := 0
	for _, w := range widths {
		total += w + 2
	}
	if total-2 > maxTextWidth {
		return records(t)
	}
	rule := strings.Repeat("-", max(total-2, 0))
	var b strings.Builder
	for ri, r := range rows {
		if ri == 1 || (len(t.Foot) > 0 && ri == len(rows)-1) {
			b.WriteString(rule + "\n")
		}
		for i, c := range r {
			if i >= len(widths) {
				break
			}
			if i > 0 {
				b.WriteString("  ")
			}
			if i < len(t.Num) && t.Num[i] {
				b.WriteString(lpad(c, widths[i]))
			} else {
				b.WriteString(pad(c, widths[i]))
			}
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// maxTextWidth is the widest line the plain-text digest aims for, so that
// clients that wrap at 78 columns leave it intact.
const maxTextWidth = 76

// records lays out a table too wide for columns as one block per row:
// the first cell as a title, the others as "header value" pairs.
func records(t table) string {
	var b strings.Builder
	block := func(cs []cell) {
		if len(cs) == 0 {
			return
		}
		b.WriteString(cs[0].Plain() + "\n")
		pairs := make([]string, 0, len(cs)-1)
		for i, c := range cs[1:] {
			if i+1 < len(t.Headers) {
				// \x00 holds the pair together through wrap.
				pairs = append(pairs, strings.ReplaceAll(t.Headers[i+1]+" "+c.Plain(), " ", "\x00"))
			}
		}
		b.WriteString(strings.ReplaceAll(wrap(strings.Join(pairs, " · "), 72, "  ", "  "), "\x00", " ") + "\n")
	}
	for _, r := range t.Rows {
		block(r)
	}
	block(t.Foot)
	return strings.TrimRight(b.String(), "\n")
}

// textBar draws segments as block characters in n columns.
func textBar(segs []seg, n int) string {
	var b strings.Builder
	used := 0
	for _, s := range segs {
		k := (s.Width*n + 50) / 100
		if k == 0 && s.Width > 0 {
			k = 1
		}
		k = min(k, n-used)
		ch := "█"
		if s.Tone == "b" {
			ch = "▒"
		}
		b.WriteString(strings.Repeat(ch, k))
		used += k
	}
	b.WriteString(strings.Repeat(" ", n-used))
	return b.String()
}
