package csvimport_test

import (
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/csvimport"
)

// A runaway line (an unterminated quote followed by megabytes, a binary
// file) is refused with its line number instead of being held in memory
// whole; lines up to the limit are read.
func TestCheckRefusesARunawayLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field string
		ok    bool
	}{
		{"at the limit", strings.Repeat("x", csvimport.MaxLineBytes-len("c99,,webinar,1.00")), true},
		{"past the limit", strings.Repeat("x", csvimport.MaxLineBytes+1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyGolden(t, "campaigns.csv", func(s string) string {
				return strings.ReplaceAll(s, "\r\n", "\n") + "c99," + tc.field + ",webinar,1.00\n"
			})
			_, err := csvimport.Check(dir)
			if tc.ok && err != nil {
				t.Fatalf("a line at the limit: %v", err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "campaigns.csv:13: csv: line 13 is longer than")) {
				t.Fatalf("a line past the limit: %v", err)
			}
		})
	}
}
