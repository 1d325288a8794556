package app

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
)

// allConfig has two reports: weekly-sales to one address, weekly-marketing
// to the marketing team, for `run --all`.
const allConfig = `time_zone: Europe/Madrid
locale: en
sla_hours: 24
targets: {week: {mqls: 30}}
source: {url: "${SAMETEAM_DATABASE_URL}"}
smtp: {host: 127.0.0.1, port: %PORT%, tls: none, timeout: 2s, from: "Reports <reports@example.com>"}
reports:
  - name: weekly-sales
    audience: sales
    period: week
    recipients: [grey@example.com]
  - name: weekly-marketing
    audience: marketing
    period: week
    recipients_from: team:marketing
`

// cronJobAction is what the example CronJob's podFailurePolicy does with
// a container exit code: the first rule whose exit codes match decides, and
// no match is a counted retry.
func cronJobAction(t *testing.T, code int) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "kubernetes", "cronjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cj struct {
		Spec struct {
			JobTemplate struct {
				Spec struct {
					PodFailurePolicy struct {
						Rules []struct {
							Action      string `json:"action"`
							OnExitCodes *struct {
								Operator string `json:"operator"`
								Values   []int  `json:"values"`
							} `json:"onExitCodes"`
						} `json:"rules"`
					} `json:"podFailurePolicy"`
				} `json:"spec"`
			} `json:"jobTemplate"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &cj); err != nil {
		t.Fatal(err)
	}
	for _, r := range cj.Spec.JobTemplate.Spec.PodFailurePolicy.Rules {
		if e := r.OnExitCodes; e != nil && (e.Operator == "In") == slices.Contains(e.Values, code) {
			return r.Action
		}
	}
	return "Count"
}

// One CronJob runs `run --all`. A report that cannot go out this time
// (greylisted) and another that needs a person (nobody in its team) must
// not fail the Job together: the invocation exits 75 so the Job retries,
// the misconfigured report is named in the log, and the retry, with the
// first report sent, exits 78 and fails the Job.
func TestRunAllRetriesWhileAnyReportCan(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	importGolden(t, url)
	mustExec(t, adminDB(t, url), `UPDATE team_members SET active = false WHERE team = 'marketing'`)
	b := newBehaviours(map[string]smtptest.Action{"grey@example.com": smtptest.Reply451})
	srv := smtptest.Start(t, smtptest.Options{Behavior: b.act})
	cfg := writeConfig(t, strings.ReplaceAll(allConfig, "%PORT%", fmt.Sprint(srv.Port())))
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	args := []string{"run", "--config", cfg, "--all", "--period", testPeriod, "--as-of", testAsOf}

	res := cli(t, vars, args...)
	if res.code != ExitTempFail {
		t.Fatalf("first run: want exit 75 while weekly-sales can be retried\n%s", res)
	}
	if !strings.Contains(res.stderr, "report=weekly-marketing") || !strings.Contains(res.stderr, "no recipients") {
		t.Errorf("first run: the log does not name weekly-marketing's permanent problem\n%s", res)
	}
	if got := cronJobAction(t, res.code); got != "Count" {
		t.Errorf("the CronJob's podFailurePolicy answers exit %d with %s, want a counted retry (Count)", res.code, got)
	}

	b.set("grey@example.com", smtptest.Accept)
	res = cli(t, vars, args...)
	if res.code != ExitConfig || !strings.Contains(res.stderr, "no recipients") {
		t.Fatalf("retry: want exit 78 for weekly-marketing once weekly-sales is sent\n%s", res)
	}
	if got := cronJobAction(t, res.code); got != "FailJob" {
		t.Errorf("the CronJob's podFailurePolicy answers exit %d with %s, want FailJob", res.code, got)
	}
	if n := received(srv)["grey@example.com"]; n != 1 {
		t.Errorf("weekly-sales reached its recipient %d times, want once", n)
	}
}

// A configuration problem in any report stops `run --all` before any
// report runs: nothing is sent for the reports that are fine.
func TestRunAllValidatesEveryReportFirst(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	text := strings.ReplaceAll(allConfig, "%PORT%", fmt.Sprint(srv.Port()))
	text = strings.Replace(text, "recipients_from: team:marketing", "recipients_from: team:marketing\n    sla_calendar: nowhere", 1)
	cfg := writeConfig(t, text)
	url := testdb.SQLiteURL(t)
	res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": url}, "run", "--config", cfg, "--all", "--period", testPeriod, "--as-of", testAsOf)
	if res.code != ExitConfig || !strings.Contains(res.stderr, "nowhere") {
		t.Fatalf("want exit 78 naming the unknown calendar\n%s", res)
	}
	if srv.Connections() != 0 {
		t.Errorf("SMTP contacted %d times before the configuration was refused", srv.Connections())
	}
}
