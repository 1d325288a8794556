// Package goldentest reads the golden cases of internal/metrics/README.md
// and compares snapshot JSON the way the contract says: every key of the
// golden file present and equal, floats to 1e-9 relative, nulls as null.
// Extra keys in the result are allowed.
package goldentest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/workhours"
)

// Case is one entry of cases.json.
type Case struct {
	Name      string    `json:"name"`
	Period    string    `json:"period"`
	TimeZone  string    `json:"time_zone"`
	AsOf      time.Time `json:"as_of"`
	SLAHours  float64   `json:"sla_hours"`
	MQLTarget *int      `json:"mql_target"`
	// Calendar names a file of dir/calendars (without .json), or is nil
	// for wall-clock hours.
	Calendar *string `json:"calendar"`
}

// CalendarFile is a golden working calendar as the JSON file holds it: the
// keys of a calendar in the configuration, plus its name.
type CalendarFile struct {
	Name     string              `json:"name"`
	TimeZone string              `json:"time_zone"`
	Hours    map[string][]string `json:"hours"`
	Holidays []string            `json:"holidays"`
}

// Calendar reads dir/calendars/name.json.
func Calendar(tb testing.TB, dir, name string) CalendarFile {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "calendars", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var c CalendarFile
	if err := json.Unmarshal(b, &c); err != nil {
		tb.Fatalf("calendars/%s.json: %v", name, err)
	}
	return c
}

// WorkCalendar is the case's working calendar, or nil.
func (c Case) WorkCalendar(tb testing.TB, dir string) *workhours.Calendar {
	tb.Helper()
	if c.Calendar == nil {
		return nil
	}
	f := Calendar(tb, dir, *c.Calendar)
	cal, probs := workhours.New(workhours.Spec{Name: f.Name, TimeZone: f.TimeZone, Hours: f.Hours, Holidays: f.Holidays})
	if probs != nil {
		tb.Fatalf("calendars/%s.json: %v", *c.Calendar, probs)
	}
	return cal
}

// Cases reads dir/cases.json.
func Cases(tb testing.TB, dir string) []Case {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var cs []Case
	if err := json.Unmarshal(b, &cs); err != nil {
		tb.Fatalf("cases.json: %v", err)
	}
	if len(cs) == 0 {
		tb.Fatal("cases.json lists no case")
	}
	return cs
}

// Diff returns the differences between the golden JSON want and got, one
// line per key, with its path.
func Diff(want, got []byte) []string {
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return []string{"golden: " + err.Error()}
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return []string{"result: " + err.Error()}
	}
	var out []string
	compare("$", w, g, &out)
	return out
}

func compare(path string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want an object, got %v", path, got))
			return
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			compare(path+"."+k, w[k], gv, out)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: want %d items, got %s", path, len(w), brief(got)))
			if !ok {
				return
			}
		}
		for i := 0; i < len(w) && i < len(g); i++ {
			compare(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	case float64:
		g, ok := got.(float64)
		if !ok || !close(w, g) {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, w, got))
		}
	default:
		if want != got {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, want, got))
		}
	}
}

func close(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func brief(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		b = append(b[:200], "…"...)
	}
	return string(b)
}
