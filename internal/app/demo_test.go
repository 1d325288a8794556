package app

import (
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		for _, want := range []string{"alignment score", "MQLs", "outbox", "weekly-sales-"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("round %d: the printout lacks %q:\n%s", round, want, stdout)
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
