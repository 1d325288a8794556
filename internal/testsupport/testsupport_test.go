package testsupport

import (
	"testing"
	"time"
)

// A wait ends before the test binary's deadline, with time left to report
// what it waited for; without a deadline it is bounded all the same.
func TestPatienceFollowsTheTestDeadline(t *testing.T) {
	p := Patience(t)
	if d, ok := t.Deadline(); ok {
		left := time.Until(d)
		if p <= 0 || p >= left {
			t.Errorf("Patience = %v with %v left, want between 0 and what is left", p, left)
		}
	} else if p != withoutDeadline {
		t.Errorf("Patience = %v without a deadline, want %v", p, withoutDeadline)
	}
	if p := Patience(&testing.B{}); p != withoutDeadline {
		t.Errorf("Patience of a benchmark = %v, want %v", p, withoutDeadline)
	}
}
