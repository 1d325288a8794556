package app

import (
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/pipeline"
)

// The README's first command: with no config, no server and no network,
// demo seeds its database, writes one message per recipient with the
// workbook attached and the four previews of each report, and can run
// again without duplicating anything.
func TestDemo(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	messages := 0
	for round := 1; round <= 2; round++ {
		stdout, stderr, err := run(t, nil, "demo", "--dir", dir)
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, stderr)
		}
		// The numbers are in the leadership report's language, Spanish, and
		// the configured currency: no English label beside a Spanish number.
		for _, want := range []string{"Puntuación de alineación", "MQL", "Cumplimiento del SLA", " %", "€", "outbox", "weekly-sales-"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("round %d: the printout lacks %q:\n%s", round, want, stdout)
			}
		}
		for _, english := range []string{"alignment score", "won revenue", "target"} {
			if strings.Contains(strings.ToLower(stdout), strings.ToLower(english)) {
				t.Errorf("round %d: the Spanish printout says %q:\n%s", round, english, stdout)
			}
		}
		emls, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
		// leadership: 3 configured; sales and marketing: the seeded teams.
		if len(emls) < 5 {
			t.Fatalf("round %d: %d messages in the outbox", round, len(emls))
		}
		if round == 2 {
			// The outbox file is named by the Message-ID: a rerun rewrites
			// the same files instead of adding copies.
			if len(emls) != messages {
				t.Errorf("the second run left %d messages, the first %d", len(emls), messages)
			}
			continue
		}
		messages = len(emls)
		for _, path := range emls {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := mail.ReadMessage(f)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			body, err := io.ReadAll(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if m.Header.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(string(body), ".xlsx") {
				t.Errorf("%s: not a digest with its workbook", path)
			}
		}
		previews, _ := filepath.Glob(filepath.Join(dir, "reports", "*"))
		if len(previews) != 12 {
			t.Errorf("%d previews, want 4 for each of 3 reports: %v", len(previews), previews)
		}
	}
}

// The demo's printout uses the configured currency and the report's
// language for every label and number (it used to print English labels
// beside Spanish numbers, and euros whatever the currency).
func TestPrintDemoLocaleAndCurrency(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	p := period.LastComplete(period.Week, time.Date(2026, 11, 25, 12, 0, 0, 0, loc), loc)
	rate := 0.703
	snap := &metrics.Snapshot{AsOf: metrics.Instant(p.End), Headline: metrics.Headline{
		MQLs: 91, SLACompliance: &rate, PipelineCreated: metrics.MoneyBySource{Total: 49875000}}}
	for _, tc := range []struct {
		tag  string
		want []string
		not  []string
	}{
		{"en", []string{"Week 47", "SLA compliance", "70.3%", "$498,750.00"}, []string{"€", "Cumplimiento"}},
		{"es", []string{"Semana 47", "Cumplimiento del SLA", "70,3 %", "498.750,00 $"}, []string{"€", "SLA compliance"}},
	} {
		l, err := locale.Get(tc.tag)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		printDemo(&out, &pipeline.Build{Snapshot: snap}, p, l, "USD", t.TempDir(), nil, time.Second)
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: the printout lacks %q:\n%s", tc.tag, w, out.String())
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out.String(), w) {
				t.Errorf("%s: the printout says %q:\n%s", tc.tag, w, out.String())
			}
		}
	}
}
