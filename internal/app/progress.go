package app

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a progress bar with its rate and the time left on a
// terminal, and nothing elsewhere (a log file or CI has no use for
// carriage returns).
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	unit  string // "rows", "reports": the rate's unit; none when the steps are not countable things
	tty   bool
	start time.Time
	last  int
	shown bool
	line  string // the bar as last drawn
}

func newProgress(w io.Writer, label, unit string) *progress {
	p := &progress{w: w, label: label, unit: unit, last: -1, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(done, total int) {
	if !p.tty || total <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pct := done * 100 / total
	if pct == p.last {
		return
	}
	p.last, p.shown = pct, true
	n := pct * 30 / 100
	line := fmt.Sprintf("\r%s [%s%s] %3d%%", p.label, strings.Repeat("=", n), strings.Repeat(" ", 30-n), pct)
	if elapsed := time.Since(p.start); done > 0 && elapsed > 0 {
		if p.unit != "" {
			line += fmt.Sprintf("  %d %s/s", int(float64(done)/elapsed.Seconds()), p.unit)
		}
		left := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
		line += "  ETA " + left.Round(time.Second).String()
	}
	// Clear what a longer earlier line left behind.
	p.line = line + "\x1b[K"
	io.WriteString(p.w, p.line)
}

// Write writes a log line above the bar: the bar's row is cleared, the
// line written, and the bar drawn again under it. Log lines go through
// the bar while it is shown, so that the two do not share a row.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty || p.line == "" {
		return p.w.Write(b)
	}
	io.WriteString(p.w, "\r\x1b[K")
	n, err := p.w.Write(b)
	io.WriteString(p.w, p.line)
	return n, err
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprintln(p.w)
	}
	p.line = ""
}
