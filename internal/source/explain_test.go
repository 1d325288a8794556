package source

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/seed"
	"github.com/sameteam/sameteam/internal/testdb"
)

// explainer runs EXPLAIN for every query a reader sends, keeps the plans,
// and answers with no rows, so the plans are those of the exact SQL and
// arguments a snapshot uses.
type explainer struct {
	tx    *sql.Tx
	plans map[string]any
	names map[string]string // SQL → query name
}

func (e *explainer) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	var plan string
	if err := e.tx.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+q, args...).Scan(&plan); err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal([]byte(plan), &v); err != nil {
		return nil, err
	}
	e.plans[e.names[q]] = v
	return e.tx.QueryContext(ctx, "SELECT 1 WHERE false")
}

// seqScans returns the relations a plan scans sequentially.
func seqScans(v any) []string {
	var out []string
	switch n := v.(type) {
	case map[string]any:
		if n["Node Type"] == "Seq Scan" {
			out = append(out, n["Relation Name"].(string))
		}
		for _, c := range n {
			out = append(out, seqScans(c)...)
		}
	case []any:
		for _, c := range n {
			out = append(out, seqScans(c)...)
		}
	}
	return out
}

// The fact queries of a weekly snapshot read the activity table through its
// indexes only, on a year of seeded data: their cost follows the period,
// not the table.
func TestFactQueriesNeverScanActivities(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 leads")
	}
	ctx := context.Background()
	d := testdb.Postgres(t)
	if err := CreateTables(ctx, d); err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	l, err := NewLoader(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Generate(seed.Options{Leads: 20000, Seed: 7, End: end, Span: 365 * 24 * time.Hour}, l); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := CreateIndexes(ctx, d); err != nil {
		t.Fatal(err)
	}
	src, err := New(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plans := weeklyPlans(t, d, src, end)
	for name, plan := range plans {
		for _, rel := range seqScans(plan) {
			if strings.Trim(rel, `"`) == "activities" {
				b, _ := json.MarshalIndent(plan, "", " ")
				t.Errorf("query %s scans activities sequentially:\n%s", name, b)
			}
		}
	}
	if rels := unboundedScans(plans["freshness"], false); len(rels) > 0 {
		b, _ := json.MarshalIndent(plans["freshness"], "", " ")
		t.Errorf("freshness reads %v beyond one index step:\n%s", rels, b)
	}
}

// weeklyPlans explains every fact query of the 2026-W47 (Europe/Madrid)
// snapshot at as_of end, with its real parameters, by query name.
func weeklyPlans(t *testing.T, d *db.DB, src *Source, end time.Time) map[string]any {
	t.Helper()
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Madrid")
	p, _ := period.Parse("2026-W47", loc)
	in := metrics.Input{Period: p, AsOf: end, SLAHours: 24}
	tx, err := d.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	e := &explainer{tx: tx, plans: map[string]any{}, names: map[string]string{}}
	for name, q := range src.queries {
		e.names[q.sql] = name
	}
	r := &reader{s: src, tx: e, ctx: ctx}
	r.read(metrics.Plan(in), false, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(e.plans) < 10 {
		t.Fatalf("explained only %d queries", len(e.plans))
	}
	return e.plans
}

// unboundedScans returns the relations a plan reads without a bound: not
// under a Limit node (a max() that PostgreSQL turns into one step down the
// end of an index) and not through an index with a condition.
func unboundedScans(v any, limited bool) []string {
	var out []string
	switch n := v.(type) {
	case map[string]any:
		if n["Node Type"] == "Limit" {
			limited = true
		}
		if rel, ok := n["Relation Name"].(string); ok && !limited {
			if _, cond := n["Index Cond"]; !cond {
				out = append(out, rel)
			}
		}
		for _, c := range n {
			out = append(out, unboundedScans(c, limited)...)
		}
	case []any:
		for _, c := range n {
			out = append(out, unboundedScans(c, limited)...)
		}
	}
	return out
}
