package locale_test

import (
	"testing"

	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/report"
)

// Every reason a run skips a recipient has its words in both languages,
// under skip.REASON.
func TestSkipReasonsHaveWords(t *testing.T) {
	t.Parallel()
	for _, tag := range locale.Tags() {
		l, err := locale.Get(tag)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range report.SkipReasons() {
			if !l.Has("skip." + string(r)) {
				t.Errorf("%s lacks skip.%s", tag, r)
			}
		}
	}
}
