// Package csvimport loads the five contract relations from CSV files in the
// form of the golden data set (header row, RFC 3339 timestamps, empty field
// = NULL, true/false). Every file is checked in full before anything is
// written, and the load is one transaction: a bad file is refused with
// file:line: column: what is wrong, and nothing of the import is left.
package csvimport

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/source"
)

// ErrInvalid is returned (joined with the problems found) for files that
// do not follow the contract.
var ErrInvalid = errors.New("csvimport: invalid input")

// maxProblems bounds the problems reported per file.
const maxProblems = 20

// MaxLineBytes is the longest physical line read. encoding/csv holds a
// whole record in memory, so without a limit one runaway line (a file cut
// in the middle of a quoted field, a binary file) would take all memory.
// 16 MB is far beyond any CRM text.
const MaxLineBytes = 16 << 20

// lineLimit fails a read once a physical line runs past max bytes.
type lineLimit struct {
	r         io.Reader
	max       int
	run, line int
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		if c == '\n' {
			l.run = 0
			l.line++
			continue
		}
		if l.run++; l.run > l.max {
			return i, fmt.Errorf("line %d is longer than %d bytes", l.line+1, l.max)
		}
	}
	return n, err
}

// Sink receives the rows; source.Loader is one.
type Sink interface {
	Begin(table string, columns []string) error
	Row(values ...any) error
	End() error
}

// Counts is how many rows each relation got.
type Counts map[string]int

// Check reads every file of dir and reports all problems, writing nothing.
// A duplicate id is the database's to find (its primary key), so that
// memory does not grow with the file: Load reports it, with both lines.
func Check(dir string) (Counts, error) {
	counts := Counts{}
	var errs []error
	for _, rel := range source.Contract {
		n, err := readFile(dir, rel, nil)
		counts[rel.Name] = n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(append([]error{ErrInvalid}, errs...)...)
	}
	return counts, nil
}

// Load reads every file of dir and streams its rows to sink, one file after
// the other, checking as it goes: the first file with a problem stops the
// load, with all of that file's problems. The caller commits, or on an
// error rolls back the sink's transaction, so that a bad file loads
// nothing.
func Load(ctx context.Context, dir string, sink Sink) (Counts, error) {
	counts := Counts{}
	for _, rel := range source.Contract {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := readFile(dir, rel, sink)
		if err != nil {
			return nil, errors.Join(ErrInvalid, err)
		}
		counts[rel.Name] = n
	}
	return counts, nil
}

// readFile parses dir/<relation>.csv; with a sink it also loads the rows.
func readFile(dir string, rel source.Relation, sink Sink) (int, error) {
	name := rel.Name + ".csv"
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	r := csv.NewReader(&lineLimit{r: f, max: MaxLineBytes})
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return 0, fmt.Errorf("%s:1: the file is empty (want a header row: %s)", name, strings.Join(rel.ColumnNames(), ","))
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	cols, err := mapHeader(name, rel, header)
	if err != nil {
		return 0, err
	}
	var probs []string
	problem := func(line int, col, msg string) {
		if len(probs) < maxProblems {
			probs = append(probs, fmt.Sprintf("%s:%d: %s: %s", name, line, col, msg))
		} else if len(probs) == maxProblems {
			probs = append(probs, fmt.Sprintf("%s: more problems not shown", name))
		}
	}
	if sink != nil {
		if err := sink.Begin(rel.Name, header); err != nil {
			return 0, err
		}
	}
	values := make([]any, len(cols))
	n, line := 0, 1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// FieldPos is only valid after a successful Read: a record
			// cut short by the error (an unterminated quote at the end of
			// the file) has no field 0, and FieldPos panics.
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				problem(pe.Line, "csv", pe.Err.Error())
				if errors.Is(pe.Err, csv.ErrFieldCount) {
					continue
				}
			} else {
				problem(line+1, "csv", err.Error())
			}
			break
		}
		line, _ = r.FieldPos(0)
		n++
		ok := true
		for i, c := range cols {
			v, msg := parse(c, rec[i])
			if msg != "" {
				problem(line, c.Name, msg)
				ok = false
			}
			values[i] = v
		}
		if ok && sink != nil && len(probs) == 0 {
			if err := sink.Row(values...); err != nil {
				return n, refused(path, name, header, err, line)
			}
		}
	}
	if len(probs) > 0 {
		return n, errors.New(strings.Join(probs, "\n"))
	}
	if sink != nil {
		if err := sink.End(); err != nil {
			return n, refused(path, name, header, err, 0)
		}
	}
	return n, nil
}

// refused explains a row the database refused, with its file and line.
// The database names the row by its number (a COPY's errors come at its
// end, and an SQLite batch fails whole), so the file is read again to
// find its line, and for a duplicate key the line of the first one: only
// on this error path, so that memory does not grow with the file.
func refused(path, name string, header []string, err error, line int) error {
	var re *source.RowError
	if !errors.As(err, &re) || re.Row <= 0 {
		if line > 0 {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	idCol := slices.Index(header, "id")
	var id string
	found := scan(path, func(row int64, line int, rec []string) bool {
		if row != re.Row {
			return true
		}
		if idCol >= 0 {
			id = rec[idCol]
		}
		err = fmt.Errorf("%s:%d: %w", name, line, err)
		return false
	})
	if !found {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !re.Duplicate() || idCol < 0 {
		return err
	}
	if re.Key != "" {
		id = re.Key
	}
	dup := err
	scan(path, func(row int64, line int, rec []string) bool {
		if rec[idCol] != id {
			return true
		}
		at, _, _ := strings.Cut(dup.Error(), ": ")
		dup = fmt.Errorf("%s: id: duplicate id %q (first on line %d)", at, id, line)
		return false
	})
	return dup
}

// scan calls f with each data record of the CSV file at path, its number
// (from 1) and its line, until f returns false; it reports whether f did.
func scan(path string, f func(row int64, line int, rec []string) bool) bool {
	file, err := os.Open(path)
	if err != nil {
		return false
	}
	defer file.Close()
	r := csv.NewReader(&lineLimit{r: file, max: MaxLineBytes})
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil {
		return false
	}
	for row := int64(1); ; row++ {
		rec, err := r.Read()
		if err != nil {
			return false
		}
		line, _ := r.FieldPos(0)
		if !f(row, line, rec) {
			return true
		}
	}
}

// mapHeader checks the header against the contract: every column present
// once, none unknown, in any order; the optional columns may be there or
// not.
func mapHeader(name string, rel source.Relation, header []string) ([]source.Column, error) {
	var probs []string
	seen := map[string]bool{}
	cols := make([]source.Column, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		header[i] = h
		c, found := rel.Column(h)
		cols[i] = c
		switch {
		case !found:
			want := strings.Join(rel.ColumnNames(), ", ")
			for _, o := range rel.Optional {
				want += ", " + o.Name + " (optional)"
			}
			probs = append(probs, fmt.Sprintf("%s:1: column %q: unknown (want %s)", name, h, want))
		case seen[h]:
			probs = append(probs, fmt.Sprintf("%s:1: column %q: appears twice", name, h))
		}
		seen[h] = true
	}
	for _, c := range rel.Columns {
		if !seen[c.Name] {
			probs = append(probs, fmt.Sprintf("%s:1: column %q: missing", name, c.Name))
		}
	}
	if len(probs) > 0 {
		return nil, errors.New(strings.Join(probs, "\n"))
	}
	return cols, nil
}

// parse converts one field; a non-empty message says what is wrong.
func parse(c source.Column, s string) (any, string) {
	if s == "" {
		if c.Required {
			return nil, "required, but empty"
		}
		return nil, ""
	}
	switch c.Type {
	case "time":
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Sprintf("%q is not an RFC 3339 timestamp (like 2026-11-23T07:00:00Z)", s)
		}
		// Beyond microseconds, digits are dropped, the same on both
		// engines.
		if t, err = db.StorableTime(t); err != nil {
			return nil, fmt.Sprintf("%q: %s", s, strings.TrimPrefix(err.Error(), "db: "))
		}
		return t, ""
	case "bool":
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "t", "1":
			return true, ""
		case "false", "f", "0":
			return false, ""
		}
		return nil, fmt.Sprintf("%q is not true or false", s)
	case "money":
		if strings.ContainsAny(s, "eE") {
			// metrics.ParseMoney reads exponents through a float, and a
			// float beyond int64 cents (1e308) converts to an arbitrary
			// amount. The contract's form is a plain decimal.
			return nil, fmt.Sprintf("%q is not a decimal number (like 1234.56; no exponent)", s)
		}
		m, err := metrics.ParseMoney(s)
		if err != nil {
			return nil, fmt.Sprintf("%q is not a decimal number (like 1234.56)", s)
		}
		return m, ""
	}
	if !utf8.ValidString(s) {
		return nil, "is not valid UTF-8"
	}
	if strings.ContainsRune(s, 0) {
		return nil, "contains a NUL character"
	}
	if isID(c) && strings.TrimSpace(s) != s {
		// Ids are compared exactly: "L1 " and "L1" would be two leads,
		// and an id of spaces alone names nothing.
		return nil, fmt.Sprintf("%q: an id must not start or end with spaces", s)
	}
	return s, ""
}

// isID tells the columns that hold an id or refer to one.
func isID(c source.Column) bool {
	return c.Type == "text" && (c.Name == "id" || strings.HasSuffix(c.Name, "_id"))
}
