package config

import (
	"strings"
	"testing"
	"time"
)

func TestGateAndOwners(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("gate.yaml", []byte(`
allowed_domains: [example.com]
gate: {max_source_age: 36h, min_activity_ratio: 0.3, require: [leads, activities]}
owners: [revops@example.com]
reports:
  - {name: a, audience: sales}
  - {name: b, audience: sales, gate: {max_source_age: 2h}, owners: [ops@example.com]}
  - {name: c, audience: sales, gate: {}}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := cfg.ReportGate(&cfg.Reports[0]), cfg.ReportGate(&cfg.Reports[1]), cfg.ReportGate(&cfg.Reports[2])
	if a.MaxSourceAge != 36*time.Hour || a.MinActivityRatio != 0.3 || len(a.Require) != 2 {
		t.Errorf("report a: %+v", a)
	}
	if b.MaxSourceAge != 2*time.Hour || b.MinActivityRatio != 0 || len(b.Require) != 0 {
		t.Errorf("report b's own gate replaces the top-level one: %+v", b)
	}
	if !c.Empty() {
		t.Errorf("gate: {} turns the gate off: %+v", c)
	}
	if o := cfg.ReportOwners(&cfg.Reports[0]); len(o) != 1 || o[0] != "revops@example.com" {
		t.Errorf("owners a: %v", o)
	}
	if o := cfg.ReportOwners(&cfg.Reports[1]); len(o) != 1 || o[0] != "ops@example.com" {
		t.Errorf("owners b: %v", o)
	}
}

// Each bad gate setting is a configuration error with its path and line.
func TestGateProblems(t *testing.T) {
	t.Parallel()
	_, err := Parse("gate.yaml", []byte(`allowed_domains: [example.com]
gate:
  max_source_age: -1h
  min_activity_ratio: 1.5
  require: [leads, campaigns, deals]
owners: [revops@, someone@elsewhere.org]
reports:
  - name: a
    audience: sales
    gate: {max_source_age: 0s, min_activity_ratio: 0}
`), env(nil))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"line 3: gate.max_source_age: -1h0m0s: want a duration above 0",
		"line 4: gate.min_activity_ratio: 1.5: want a ratio above 0 and at most 1",
		`line 5: gate.require[1]: "campaigns": want one of activities, leads, opportunities`,
		`line 5: gate.require[2]: "deals"`,
		`line 6: owners[0]: "revops@" is not an email address`,
		`line 6: owners[1]: "someone@elsewhere.org" is outside allowed_domains`,
		"line 10: reports[0].gate.max_source_age: 0s: want a duration above 0",
		"line 10: reports[0].gate.min_activity_ratio: 0: want a ratio above 0",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
