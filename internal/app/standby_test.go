package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
)

// D8: a real hot standby as the source, the primary as the state
// database, as the README's least-privilege section advises: run works;
// check explains a standby given as the state database; a recovery
// conflict (replay removing rows a standby query still sees) is retried as
// a transient error; the replica's lag shows in the snapshot's freshness.
func TestReliability_Database_HotStandby(t *testing.T) {
	t.Parallel()
	// A standby that cancels conflicting queries after 100 ms instead of
	// delaying replay, and does not hold back the primary's cleanup.
	r := testdb.StartReplica(t, "max_standby_streaming_delay = 100ms\nhot_standby_feedback = off")
	importGolden(t, r.Primary)
	primary, standby := adminDB(t, r.Primary), adminDB(t, r.Standby)
	view := faultyMembers(t, primary, r.Primary)
	mustExec(t, primary, `CREATE TABLE churn (id int)`)
	r.CaughtUp(t)

	srv := smtptest.Start(t, smtptest.Options{})
	rcpts := []string{"ana@example.com", "ben@example.com"}
	source := fmt.Sprintf("source: {url: %q, tables: {team_members: %s}}\n", r.Standby, view)
	config := func(state string) string {
		text := reportsConfig(smtpKeysFor(srv, "2s"), "state: {url: \""+state+"\"}\n",
			reportYAML{name: testReport, kind: "week", recipients: rcpts})
		return writeConfig(t, strings.Replace(text, "source: {url: \"${SAMETEAM_DATABASE_URL}\"}\n", source, 1))
	}
	good := config(r.Primary)
	vars := map[string]string{}
	runArgs := []string{"run", "--config", good, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf}

	t.Run("check explains a standby as the state database", func(t *testing.T) {
		res := cli(t, vars, "check", "--config", config(r.Standby))
		if res.code == ExitOK || !strings.Contains(res.stdout, "read-only: the ledger must be writable") {
			t.Errorf("check with the standby as state (exit %d):\n%s", res.code, res)
		}
	})

	t.Run("run refuses a standby as the state database", func(t *testing.T) {
		args := append([]string{"run", "--config", config(r.Standby)}, runArgs[3:]...)
		res := cli(t, vars, args...)
		if res.code != ExitConfig || !strings.Contains(res.stderr, "read-only (a hot standby): the ledger must be writable") {
			t.Errorf("run with the standby as state: %s", res)
		}
		if len(srv.Messages()) != 0 {
			t.Errorf("%d messages sent", len(srv.Messages()))
		}
	})

	t.Run("a recovery conflict is retried", func(t *testing.T) {
		setFault(t, primary, 30, false)
		r.CaughtUp(t)
		done := make(chan result, 1)
		go func() { done <- cli(t, vars, runArgs...) }()
		sleeper(t, standby, view) // the snapshot's members query sleeps on the standby
		// Rows deleted and vacuumed on the primary after that snapshot
		// began: replaying the cleanup conflicts with it, and the standby
		// cancels the query (40001) after max_standby_streaming_delay.
		setFault(t, primary, 0, false)
		mustExec(t, primary, `INSERT INTO churn SELECT generate_series(1, 1000)`, `DELETE FROM churn`, `VACUUM churn`)
		res := <-done
		if res.code != ExitOK {
			t.Fatalf("run over the standby: %s", res)
		}
		if !strings.Contains(res.stderr, "conflict with recovery") {
			t.Errorf("no recovery conflict was met and retried; the test proves nothing:\n%s", res.stderr)
		}
		if got := len(srv.Messages()); got != len(rcpts) {
			t.Errorf("%d messages, want %d", got, len(rcpts))
		}
		if again := cli(t, vars, runArgs...); again.code != ExitOK || len(srv.Messages()) != len(rcpts) {
			t.Errorf("rerun: %s; %d messages", again, len(srv.Messages()))
		}
	})

	t.Run("the replica's lag shows in the freshness", func(t *testing.T) {
		mustExec(t, standby, `SELECT pg_wal_replay_pause()`)
		defer mustExec(t, standby, `SELECT pg_wal_replay_resume()`)
		mustExec(t, primary, `INSERT INTO activities (id, occurred_at, team, actor_id, kind) VALUES ('A-NEW', '2026-11-23T06:30:00Z', 'sales', 'u001', 'call')`)
		latest := func(url string) string {
			res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": url}, append([]string{"metrics", "--format", "json"}, goldenCase(t, "w47-madrid").metricsArgs()...)...)
			if res.code != ExitOK {
				t.Fatalf("metrics: %s", res)
			}
			var s struct {
				DataHealth struct {
					LatestActivityAt string `json:"latest_activity_at"`
				} `json:"data_health"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &s); err != nil {
				t.Fatal(err)
			}
			return s.DataHealth.LatestActivityAt
		}
		if got := latest(r.Primary); got != "2026-11-23T06:30:00Z" {
			t.Errorf("primary: latest activity %s", got)
		}
		if got := latest(r.Standby); got != "2026-11-23T03:25:27Z" {
			t.Errorf("paused standby: latest activity %s, want the golden data's 2026-11-23T03:25:27Z", got)
		}
		// Replay resumed, the standby catches up and says so.
		mustExec(t, standby, `SELECT pg_wal_replay_resume()`)
		r.CaughtUp(t)
		if got := latest(r.Standby); got != "2026-11-23T06:30:00Z" {
			t.Errorf("caught-up standby: latest activity %s", got)
		}
	})
}
