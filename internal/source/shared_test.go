package source_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/goldentest"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/source"
	"github.com/sameteam/sameteam/internal/testdb"
)

// The connections that read a snapshot side by side read one snapshot:
// rows committed after the first connection exported it, before any fact
// query ran on any connection, show in no number. Without the import (the
// control) the same writes change the numbers, so the test can fail.
func TestSharedSnapshotIsOneSnapshot(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	d := load(t, url)
	c := goldenCase(t, "w47-madrid")
	loc, _ := time.LoadLocation(c.TimeZone)
	p, err := period.Parse(c.Period, loc)
	if err != nil {
		t.Fatal(err)
	}
	in := metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget}
	want, err := os.ReadFile(filepath.Join(goldenDir, "w47-madrid.json"))
	if err != nil {
		t.Fatal(err)
	}
	writes := []string{
		`INSERT INTO leads (id, created_at, source, owner_id, mql_at) VALUES ('L-LATE-%d', '2026-11-18T10:00:00Z', 'marketing', 'u001', '2026-11-18T11:00:00Z')`,
		`INSERT INTO activities (id, occurred_at, team, actor_id, kind) VALUES ('A-LATE-%d', '2026-11-18T12:00:00Z', 'sales', 'u001', 'call')`,
		`UPDATE opportunities SET amount = amount + 1000 WHERE is_won`,
	}
	for i, unshared := range []bool{false, true} {
		src, err := source.New(d, source.Options{Parallel: 4})
		if err != nil {
			t.Fatal(err)
		}
		source.WhenImported(src, func() {
			for _, w := range writes {
				if _, err := d.ExecContext(context.Background(), strings.ReplaceAll(w, "%d", strconv.Itoa(i))); err != nil {
					t.Error(err)
				}
			}
		}, unshared)
		facts, err := src.Load(context.Background(), metrics.Plan(in))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(metrics.Compute(in, facts))
		if err != nil {
			t.Fatal(err)
		}
		diffs := goldentest.Diff(want, got)
		switch {
		case !unshared:
			for _, diff := range diffs {
				t.Errorf("a write committed after the snapshot shows in it: %s", diff)
			}
		case len(diffs) == 0:
			t.Error("control: connections with snapshots of their own did not see the writes; the test proves nothing")
		}
	}
}

// A pool with no connection to spare reads the snapshot on the one it has,
// without waiting for more: reports running at once must never hold some
// connections each and wait for the others'.
func TestSharedSnapshotNeverWaitsForConnections(t *testing.T) {
	t.Parallel()
	d := load(t, testdb.PostgresURL(t))
	d.SetMaxOpenConns(1)
	src, err := source.New(d, source.Options{Parallel: 4, QueryTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := goldenCase(t, "w47-madrid")
	loc, _ := time.LoadLocation(c.TimeZone)
	p, _ := period.Parse(c.Period, loc)
	in := metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget}
	facts, err := src.Load(context.Background(), metrics.Plan(in))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(metrics.Compute(in, facts))
	want, err := os.ReadFile(filepath.Join(goldenDir, c.Name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, diff := range goldentest.Diff(want, got) {
		t.Error(diff)
	}
}

func goldenCase(t *testing.T, name string) goldentest.Case {
	t.Helper()
	for _, c := range goldentest.Cases(t, goldenDir) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no golden case %s", name)
	return goldentest.Case{}
}
