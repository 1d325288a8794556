package ledger_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/report"
)

// The ledger's SQL writes statuses and triggers as literals (in CHECK
// constraints, partial indexes and conditional UPDATEs, where a bound
// parameter cannot stand). Each must be a word of package report, so that a
// misspelling there fails here instead of matching no row.
func TestSQLSpeaksTheVocabulary(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	sql, err := filepath.Glob(filepath.Join("schema", "*", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	// A quoted word after status or "trigger" (=, IN (…)), or in a
	// VALUES list.
	context := regexp.MustCompile(`(?s)(?:status|"trigger")\s*(?:=|IN\s*\()[^)]*?'[a-z_]+'[^)]*|VALUES\s*\([^)]*\)`)
	word := regexp.MustCompile(`'([a-z_]+)'`)
	known := func(w string) bool {
		return report.RunStatus(w).Valid() || report.DeliveryStatus(w).Valid() || report.Trigger(w).Valid()
	}
	seen := 0
	for _, f := range append(files, sql...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range context.FindAllString(string(b), -1) {
			for _, m := range word.FindAllStringSubmatch(c, -1) {
				seen++
				if !known(m[1]) {
					t.Errorf("%s: %q is no status or trigger of package report", f, m[1])
				}
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found only %d status words in the ledger's SQL: the pattern no longer reads it", seen)
	}
}
