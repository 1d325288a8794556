package source_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/source"
	"github.com/sameteam/sameteam/internal/testdb"
)

// D4, the race: the client's deadline and the server's statement_timeout
// are equal, so either may fire first. Here the server's fires first
// (SQLSTATE 57014, "canceling statement due to statement timeout"), and the
// snapshot fails with the same query timeout as when the client's does:
// a deadline error naming the timeout, which the run exits 75 on and does
// not retry.
func TestReliability_Database_ServerStatementTimeoutFirst(t *testing.T) {
	t.Parallel()
	d := load(t, testdb.PostgresURL(t))
	ctx := context.Background()
	for _, q := range []string{
		`CREATE FUNCTION slow_gate() RETURNS boolean LANGUAGE sql VOLATILE AS $$ SELECT pg_sleep(30) IS NOT NULL $$`,
		`CREATE VIEW slow_members AS SELECT * FROM team_members WHERE (SELECT slow_gate())`,
	} {
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	src, err := source.New(d, source.Options{Tables: map[string]string{"team_members": "slow_members"}, QueryTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	source.SetServerTimeout(src, 200*time.Millisecond)
	p, err := period.Parse("2026-W47", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	in := metrics.Input{Period: p, AsOf: p.End.Add(time.Hour), SLAHours: 24}
	start := time.Now()
	_, err = src.Load(ctx, metrics.Plan(in))
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("Load took %s: the server's statement_timeout did not fire", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "query timeout 20s") {
		t.Errorf("Load = %v, want the query timeout (a deadline error naming 20s)", err)
	}
	if err != nil && strings.Contains(err.Error(), "pq:") {
		t.Errorf("the driver's message leaks instead of the query timeout: %v", err)
	}
}
