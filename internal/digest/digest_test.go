package digest_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// snapshot reads one of the project's golden snapshots.
func snapshot(tb testing.TB, name string) *metrics.Snapshot {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var s metrics.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		tb.Fatal(err)
	}
	loc, err := time.LoadLocation(s.Period.TimeZone)
	if err != nil {
		tb.Fatal(err)
	}
	if s.Span, err = period.Parse(s.Period.Label, loc); err != nil {
		tb.Fatal(err)
	}
	return &s
}

func renderer(tb testing.TB) *digest.Renderer {
	tb.Helper()
	r, err := digest.New(templates.FS)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// generated is a fixed generation time: tests never read the clock.
var generated = time.Date(2026, 11, 23, 7, 0, 12, 0, time.UTC)

func options(aud digest.Audience, lang string) digest.Options {
	return digest.Options{
		Audience:    aud,
		Locale:      lang,
		Currency:    "EUR",
		ReportName:  "weekly-" + string(aud),
		GeneratedAt: generated,
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	cases := []struct {
		name     string
		snapshot string
		currency string
		defs     string
		workbook string
	}{
		{name: "w47-madrid", snapshot: "w47-madrid", currency: "EUR"},
		{name: "empty-week", snapshot: "empty-week", currency: "EUR",
			defs: "https://reports.example.com/definitions", workbook: "https://reports.example.com/d/abc?sig=1&exp=2"},
		{name: "q4-new-york-partial", snapshot: "q4-new-york-partial", currency: "USD"},
		{name: "w46-madrid-office-hours", snapshot: "w46-madrid-office-hours", currency: "EUR"},
	}
	for _, tc := range cases {
		s := snapshot(t, tc.snapshot)
		for _, aud := range digest.Audiences() {
			for _, lang := range []string{"es", "en"} {
				name := tc.name + "." + string(aud) + "." + lang
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					opts := options(aud, lang)
					opts.Currency = tc.currency
					opts.DefinitionsURL = tc.defs
					opts.WorkbookURL = tc.workbook
					d, err := r.Render(s, opts)
					if err != nil {
						t.Fatal(err)
					}
					for _, out := range []struct{ ext, got string }{
						{"html", d.HTML},
						{"txt", "Subject: " + d.Subject + "\n\n" + d.Text},
					} {
						golden(t, filepath.Join("testdata", name+"."+out.ext+".golden"), out.got)
					}
					for _, part := range []string{d.Subject, d.HTML, d.Text} {
						if strings.Contains(part, "⟦") || strings.Contains(part, "%!") {
							t.Errorf("untranslated key or bad format verb in output: %.200q", part[strings.IndexAny(part, "⟦%"):])
						}
					}
				})
			}
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/digest -update)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %q\nwant: %q\n(run go test ./internal/digest -update after checking the change)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d", path, len(gl), len(wl))
	}
}
