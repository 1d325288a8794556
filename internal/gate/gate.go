// Package gate is the data-quality gate: the rules a snapshot must pass
// before any digest made from it is sent. Numbers from a broken sync are
// worse than no email: a CRM sync that stopped on Thursday makes Monday's
// digest say "MQLs −80 %", and leadership acts on it. The gate looks at how
// fresh the source is, at the period's activity against the previous
// period's, and at the relations that must hold rows in the period.
//
// It judges a computed snapshot and nothing else, so `run`, `serve` and
// `check` reach the same verdict from the same numbers.
package gate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/metrics"
)

// Rules are a report's gate. The zero value lets everything through.
type Rules struct {
	// MaxSourceAge: the newest activity and the newest lead must be at
	// most this old at as_of; 0 is no rule.
	MaxSourceAge time.Duration
	// MinActivityRatio: the period's activities against the previous
	// period's, in (0, 1]; 0 is no rule. A period whose previous one had
	// no activity at all passes (there is nothing to compare with).
	MinActivityRatio float64
	// Require lists relations that must hold rows in the period.
	Require []string
}

// Empty reports whether r has no rule.
func (r Rules) Empty() bool {
	return r.MaxSourceAge == 0 && r.MinActivityRatio == 0 && len(r.Require) == 0
}

// The rules by their configuration names.
const (
	RuleMaxSourceAge     = "max_source_age"
	RuleMinActivityRatio = "min_activity_ratio"
	RuleRequire          = "require"
)

// periodRows says how many rows a relation holds in the snapshot's period:
// what "holds rows in the period" means for each relation require accepts.
var periodRows = map[string]func(h metrics.Headline) int{
	"leads":         func(h metrics.Headline) int { return h.LeadsCreated },
	"activities":    func(h metrics.Headline) int { return activities(h) },
	"opportunities": func(h metrics.Headline) int { return h.OpportunitiesCreated + h.WonDeals + h.LostDeals },
}

// Requirable lists the relations require accepts.
func Requirable() []string {
	out := make([]string, 0, len(periodRows))
	for name := range periodRows {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// CheckRelation says whether require may name relation.
func CheckRelation(relation string) error {
	if _, ok := periodRows[relation]; ok {
		return nil
	}
	return fmt.Errorf("%q: want one of %s (team_members and campaigns have no time to put in a period)", relation, strings.Join(Requirable(), ", "))
}

// CheckRatio says whether v is a valid min_activity_ratio.
func CheckRatio(v float64) error {
	if math.IsNaN(v) || v <= 0 || v > 1 {
		return fmt.Errorf("%v: want a ratio above 0 and at most 1 (0.3: at least 30 %% of the previous period's activity)", v)
	}
	return nil
}

// CheckAge says whether d is a valid max_source_age.
func CheckAge(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s: want a duration above 0, like 36h", d)
	}
	return nil
}

func activities(h metrics.Headline) int {
	return h.Activities.Sales + h.Activities.Marketing + h.Activities.Other
}

// Verdict is one rule's finding on a snapshot.
type Verdict struct {
	Rule  string // RuleMaxSourceAge, RuleMinActivityRatio or RuleRequire
	Pass  bool
	Words string // what was measured and, when it fails, against which limit
}

func (v Verdict) String() string {
	if v.Pass {
		return "pass: " + v.Words
	}
	return "held: " + v.Words
}

// Evaluate judges s by r: one verdict per rule (per relation for
// max_source_age and require), in the order of the rules.
func Evaluate(r Rules, s *metrics.Snapshot) []Verdict {
	var out []Verdict
	asOf := s.AsOf.Time()
	if r.MaxSourceAge > 0 {
		for _, f := range []struct {
			what string
			at   *metrics.Instant
		}{{"activity", s.DataHealth.LatestActivityAt}, {"lead", s.DataHealth.LatestLeadCreatedAt}} {
			if f.at == nil {
				out = append(out, Verdict{RuleMaxSourceAge, false, fmt.Sprintf("no %s at all before as_of; %s is %s", f.what, RuleMaxSourceAge, Duration(r.MaxSourceAge))})
				continue
			}
			age := asOf.Sub(f.at.Time())
			words := fmt.Sprintf("newest %s %s, %s before as_of", f.what, f.at.Time().UTC().Format("2006-01-02T15:04Z"), Duration(age))
			pass := age <= r.MaxSourceAge
			if !pass {
				words += fmt.Sprintf("; %s is %s", RuleMaxSourceAge, Duration(r.MaxSourceAge))
			}
			out = append(out, Verdict{RuleMaxSourceAge, pass, words})
		}
	}
	if r.MinActivityRatio > 0 {
		cur, prev := activities(s.Headline), activities(s.Previous.Headline)
		switch {
		case prev == 0:
			out = append(out, Verdict{RuleMinActivityRatio, true, fmt.Sprintf("%d activities; none in %s to compare with", cur, s.Previous.Label)})
		default:
			ratio := float64(cur) / float64(prev)
			words := fmt.Sprintf("%d activities against %d in %s (%.0f %%)", cur, prev, s.Previous.Label, 100*ratio)
			pass := ratio >= r.MinActivityRatio
			if !pass {
				words += fmt.Sprintf("; %s is %g", RuleMinActivityRatio, r.MinActivityRatio)
			}
			out = append(out, Verdict{RuleMinActivityRatio, pass, words})
		}
	}
	for _, rel := range r.Require {
		count := periodRows[rel]
		if count == nil {
			out = append(out, Verdict{RuleRequire, false, fmt.Sprintf("%s: %v", rel, CheckRelation(rel))})
			continue
		}
		n := count(s.Headline)
		words := fmt.Sprintf("%d %s in %s", n, rel, s.Period.Label)
		if n == 0 {
			words += fmt.Sprintf("; %s lists %s", RuleRequire, rel)
		}
		out = append(out, Verdict{RuleRequire, n > 0, words})
	}
	return out
}

// Failed returns the verdicts that hold the report back.
func Failed(vs []Verdict) []Verdict {
	var out []Verdict
	for _, v := range vs {
		if !v.Pass {
			out = append(out, v)
		}
	}
	return out
}

// Reason joins failed verdicts into the words a ledger row, a log line and
// an owner's notice carry.
func Reason(failed []Verdict) string {
	parts := make([]string, len(failed))
	for i, v := range failed {
		parts[i] = v.Words
	}
	return strings.Join(parts, "; and ")
}

// SourceAge is how old the source was at as_of: the age of the staler of
// the newest activity and the newest lead. ok is false when the source
// holds neither.
func SourceAge(s *metrics.Snapshot) (age time.Duration, ok bool) {
	asOf := s.AsOf.Time()
	for _, at := range []*metrics.Instant{s.DataHealth.LatestActivityAt, s.DataHealth.LatestLeadCreatedAt} {
		if at == nil {
			continue
		}
		age, ok = max(age, asOf.Sub(at.Time())), true
	}
	return age, ok
}

// Duration writes d the way an operator reads an age: "3 d 14 h",
// "36 h", "45 min".
func Duration(d time.Duration) string {
	if d < 0 {
		return "-" + Duration(-d)
	}
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		if m := int(d % time.Hour / time.Minute); m != 0 && d < 10*time.Hour {
			return fmt.Sprintf("%d h %d min", int(d/time.Hour), m)
		}
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if hours == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, hours)
}
