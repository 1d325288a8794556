package app

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/goldentest"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/server"
	"github.com/sameteam/sameteam/internal/signedlink"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// personalYAML is a configuration with a rep report and a campaign-owner
// report over the golden week, CRM links set.
func personalYAML(smtpKeys string) string {
	return `time_zone: Europe/Madrid
locale: es
sla_hours: 24
source: {url: "${SAMETEAM_DATABASE_URL}"}
smtp:
  from: "` + testFrom + `"
` + smtpKeys + `links:
  lead: "https://crm.example/lead/{id}"
  campaign: "https://crm.example/campaign/{id}"
reports:
  - {name: weekly-rep, audience: rep, period: week, recipients_from: "team:sales", skip_empty: true}
  - {name: weekly-campaigns, audience: campaign_owner, period: week, recipients_from: campaign_owners, locale: en}
  - {name: weekly-sales, audience: sales, period: week, recipients_from: "team:sales"}
`
}

// importPersonal loads the golden data with the optional columns filled
// in (lead names and companies, campaign owners) into url.
func importPersonal(t *testing.T, url string) map[string]string {
	t.Helper()
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	if _, stderr, err := run(t, vars, "init-db"); err != nil {
		t.Fatalf("init-db: %v\n%s", err, stderr)
	}
	if _, stderr, err := run(t, vars, "import", "--dir", goldentest.WithOptionalColumns(t, goldenDir)); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	return vars
}

// goldenLead is a lead of the golden data with what may identify it.
type goldenLead struct {
	id, owner, campaign, name, company string
}

func goldenLeads(t *testing.T) []goldenLead {
	t.Helper()
	f, err := os.Open(filepath.Join(goldenDir, "data", "leads.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenLead
	for i, r := range rows[1:] {
		// id,created_at,source,campaign_id,owner_id,…
		out = append(out, goldenLead{id: r[0], campaign: r[3], owner: r[4], name: goldentest.LeadName(i), company: goldentest.LeadCompany(i)})
	}
	return out
}

// artifactText is everything a person can read in their files: the HTML
// (with its title, the subject), the text, the JSON and every part of the
// workbook (cells, shared strings, hyperlinks, properties).
func artifactText(t *testing.T, base string) string {
	t.Helper()
	var b strings.Builder
	for _, ext := range []string{".html", ".txt", ".json"} {
		data, err := os.ReadFile(base + ext)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	zr, err := zip.OpenReader(base + ".xlsx")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// Every artifact of every personal digest of the golden week holds only
// its person's rows: a rep's files name no lead of another owner (its id,
// name or company), a campaign owner's name no lead at all. And the
// numbers tie out with the team snapshot: a rep's with their by_rep row
// and the backlog items they own (count, order, due times), an owner's
// with the by_campaign rows of their campaigns. Through render, on both
// engines.
func TestPersonalDigestsArePrivateAndTieOut(t *testing.T) {
	t.Parallel()
	var golden metrics.Snapshot
	data, err := os.ReadFile(filepath.Join(goldenDir, "w47-madrid.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	leads := goldenLeads(t)
	testdb.Engines(t, func(t *testing.T, url string) {
		vars := importPersonal(t, url)
		cfg := writeConfig(t, personalYAML(""))
		out := t.TempDir()
		for _, rep := range []string{"weekly-rep", "weekly-campaigns"} {
			if res := cli(t, vars, "render", "--config", cfg, "--report", rep, "--period", testPeriod, "--as-of", testAsOf, "--out", out); res.code != 0 {
				t.Fatalf("render %s: %s", rep, res)
			}
		}

		// The team digest links its backlog's leads too: <a href> in the
		// HTML, a hyperlink (not text) in the workbook's backlog sheet.
		if res := cli(t, vars, "render", "--config", cfg, "--report", "weekly-sales", "--period", testPeriod, "--as-of", testAsOf, "--out", out); res.code != 0 {
			t.Fatalf("render weekly-sales: %s", res)
		}
		first := golden.FollowupBacklog[0].LeadID
		team := filepath.Join(out, "weekly-sales-"+testPeriod)
		if html, _ := os.ReadFile(team + ".html"); !strings.Contains(string(html), `href="https://crm.example/lead/`+first+`"`) {
			t.Errorf("the sales digest does not link backlog lead %s", first)
		}
		if !workbookLinks(t, team+".xlsx", "https://crm.example/lead/"+first) {
			t.Errorf("the sales workbook has no hyperlink to backlog lead %s", first)
		}

		reps := 0
		for _, row := range golden.ByRep {
			base := filepath.Join(out, "weekly-rep-"+testPeriod+"-"+row.RepID)
			if _, err := os.Stat(base + ".json"); err != nil {
				continue // no email, or not active: nobody to write to
			}
			reps++
			var d metrics.RepDigest
			readJSON(t, base+".json", &d)
			if jsonOf(t, d.Numbers) != jsonOf(t, row) {
				t.Errorf("%s: numbers %+v, by_rep row %+v", row.RepID, d.Numbers, row)
			}
			var want []metrics.BacklogItem
			for _, it := range golden.FollowupBacklog {
				if it.OwnerID != nil && *it.OwnerID == row.RepID {
					want = append(want, it)
				}
			}
			if len(d.Backlog) != len(want) {
				t.Errorf("%s: %d backlog leads, the team backlog has %d of theirs", row.RepID, len(d.Backlog), len(want))
			}
			for i := range min(len(d.Backlog), len(want)) {
				g, w := d.Backlog[i], want[i]
				if g.LeadID != w.LeadID || !g.DueAt.Time().Equal(w.DueAt.Time()) || !g.MQLAt.Time().Equal(w.MQLAt.Time()) || g.SLABreached != w.SLABreached {
					t.Errorf("%s: backlog[%d] = %+v, team backlog has %+v", row.RepID, i, g, w)
				}
			}
			if len(d.MQLs) != row.MQLsAssigned {
				t.Errorf("%s: %d MQLs listed, by_rep says %d", row.RepID, len(d.MQLs), row.MQLsAssigned)
			}
			sum := 0
			for _, c := range d.ByCampaign {
				sum += c.MQLs
			}
			if sum != row.MQLsAssigned {
				t.Errorf("%s: MQLs by campaign add up to %d, by_rep says %d", row.RepID, sum, row.MQLsAssigned)
			}
			text := artifactText(t, base)
			if !strings.Contains(text, row.Name) {
				t.Errorf("%s: the digest does not name its reader %q", row.RepID, row.Name)
			}
			for _, it := range want {
				if !workbookLinks(t, base+".xlsx", "https://crm.example/lead/"+it.LeadID) {
					t.Errorf("%s: no hyperlink in their workbook to their backlog lead %s", row.RepID, it.LeadID)
				}
			}
			for _, l := range leads {
				if l.owner == row.RepID {
					continue
				}
				for _, s := range []string{l.id, l.name, l.company} {
					if strings.Contains(text, s) {
						t.Errorf("%s's files hold %q of lead %s, owned by %q", row.RepID, s, l.id, l.owner)
					}
				}
			}
		}
		if reps < 5 {
			t.Errorf("%d rep digests checked, want the golden week's reps with an email", reps)
		}

		owners := 0
		for _, owner := range []string{"m001", "m002", "m003"} {
			base := filepath.Join(out, "weekly-campaigns-"+testPeriod+"-"+owner)
			var d metrics.OwnerDigest
			readJSON(t, base+".json", &d)
			owners++
			var want []metrics.CampaignRow
			for _, c := range golden.ByCampaign {
				if goldentest.CampaignOwners[c.CampaignID] == owner {
					want = append(want, c)
				}
			}
			if len(d.Campaigns) != len(want) {
				t.Errorf("%s: %d campaigns, by_campaign has %d of theirs", owner, len(d.Campaigns), len(want))
			}
			mqls := 0
			for i := range min(len(d.Campaigns), len(want)) {
				g, w := d.Campaigns[i], want[i]
				if jsonOf(t, g) != jsonOf(t, w) {
					t.Errorf("%s: campaign %+v, by_campaign row %+v", owner, g, w)
				}
				mqls += w.MQLs
			}
			if d.Totals.MQLs != mqls {
				t.Errorf("%s: total MQLs %d, their by_campaign rows add up to %d", owner, d.Totals.MQLs, mqls)
			}
			text := artifactText(t, base)
			for _, l := range leads {
				for _, s := range []string{l.id, l.name, l.company} {
					if strings.Contains(text, s) {
						t.Errorf("%s's campaign digest holds %q of lead %s", owner, s, l.id)
					}
				}
			}
		}
		if owners != 3 {
			t.Errorf("%d owner digests", owners)
		}
	})
}

// jsonOf is v as the snapshot's JSON writes it, to compare rows by value.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// workbookLinks reports whether a workbook holds a hyperlink to url: a
// relationship of a sheet, which is what makes a cell a link in Excel.
func workbookLinks(t *testing.T, path, url string) bool {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, "xl/worksheets/_rels/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if strings.Contains(string(data), `Target="`+url+`"`) && strings.Contains(string(data), "relationships/hyperlink") {
			return true
		}
	}
	return false
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// `run` of a rep report over real SMTP: one message per sales rep with an
// email and something to read, the others recorded skipped with the
// reason, and a rerun sends nothing. Then the campaign owners' report: one
// message per owner.
func TestPersonalRunSendsOneMessagePerPerson(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	vars := importPersonal(t, url)
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, personalYAML(fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: 5s\n", srv.Port())))
	runRep := func(name string) result {
		return cli(t, vars, "run", "--config", cfg, "--report", name, "--period", testPeriod, "--as-of", testAsOf)
	}

	res := runRep("weekly-rep")
	if res.code != ExitOK {
		t.Fatalf("run: %s", res)
	}
	_, d := openLedger(t, url)
	rows := map[string]testsupport.Delivery{}
	for _, dl := range testsupport.Deliveries(t, d, "weekly-rep", testPeriod) {
		rows[dl.Recipient] = dl
	}
	// The golden week's sales team: five reps with leads, a new one with
	// nothing yet, and a former one without an email.
	want := map[string]report.DeliveryStatus{
		"rep1@example.com": report.DeliverySent, "rep2@example.com": report.DeliverySent,
		"rep3@example.com": report.DeliverySent, "rep4@example.com": report.DeliverySent,
		"rep5@example.com": report.DeliverySent, "new@example.com": report.DeliverySkipped,
	}
	if len(rows) != len(want) {
		t.Errorf("ledger rows %v, want %v", rows, want)
	}
	for addr, st := range want {
		if rows[addr].Status != st {
			t.Errorf("%s: %s (%s), want %s", addr, rows[addr].Status, rows[addr].LastError, st)
		}
	}
	if r := rows["new@example.com"]; r.LastError != string(report.SkipEmpty) {
		t.Errorf("the skip's reason is %q, want %q", r.LastError, string(report.SkipEmpty))
	}
	got := received(srv)
	for addr, st := range want {
		n := 0
		if st == report.DeliverySent {
			n = 1
		}
		if got[addr] != n {
			t.Errorf("%s got %d messages, want %d", addr, got[addr], n)
		}
	}
	// Each message is its reader's: Elena García's (rep2) names her
	// backlog and none of Carlos Pérez's (rep1).
	for _, m := range srv.Messages() {
		if slices.Contains(m.To, "rep2@example.com") {
			body := string(m.Data)
			if !strings.Contains(body, "Subject:") || !strings.Contains(body, "L00249") {
				t.Errorf("rep2's message lacks her oldest backlog lead L00249")
			}
		}
	}

	before := len(srv.Messages())
	if res := runRep("weekly-rep"); res.code != ExitOK {
		t.Fatalf("rerun: %s", res)
	}
	if n := len(srv.Messages()); n != before {
		t.Errorf("the rerun sent %d more messages", n-before)
	}
	for _, dl := range testsupport.Deliveries(t, d, "weekly-rep", testPeriod) {
		if dl.Status != rows[dl.Recipient].Status {
			t.Errorf("%s: %s after the rerun, was %s", dl.Recipient, dl.Status, rows[dl.Recipient].Status)
		}
	}

	if res := runRep("weekly-campaigns"); res.code != ExitOK {
		t.Fatalf("run weekly-campaigns: %s", res)
	}
	got = received(srv)
	for _, addr := range []string{"mkt1@example.com", "mkt2@example.com", "mkt3@example.com"} {
		if got[addr] != 1 {
			t.Errorf("%s got %d campaign digests, want 1", addr, got[addr])
		}
	}
}

// Bad input of personal reports, each a clear error: listed recipients of
// a rep report who are no sales reps, and a campaign owner without an
// email, are reported per person while the others get theirs (exit 65); a
// campaign_owner report on a source without campaigns.owner_id sends
// nothing and exits 78.
func TestPersonalReportsRefuseWhomTheyCannotServe(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	vars := importPersonal(t, url)
	srv := smtptest.Start(t, smtptest.Options{})
	smtpKeys := fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: 5s\n", srv.Port())
	yml := personalYAML(smtpKeys) + `  - name: listed-reps
    audience: rep
    period: week
    recipients: [rep1@example.com, mkt1@example.com, stranger@example.com]
`
	cfg := writeConfig(t, yml)
	res := cli(t, vars, "run", "--config", cfg, "--report", "listed-reps", "--period", testPeriod, "--as-of", testAsOf)
	if res.code != ExitDataErr {
		t.Errorf("exit %d, want %d\n%s", res.code, ExitDataErr, res)
	}
	for _, want := range []string{"mkt1@example.com is Sofía López's email, who is not in the sales team", "stranger@example.com is not the email of any team member"} {
		if !strings.Contains(res.stdout+res.stderr, want) {
			t.Errorf("the run does not say %q:\n%s", want, res)
		}
	}
	if got := received(srv); got["rep1@example.com"] != 1 || got["mkt1@example.com"] != 0 || got["stranger@example.com"] != 0 {
		t.Errorf("messages received: %v; want rep1's only", got)
	}

	d := testdb.Open(t, url)
	if _, err := d.Exec(`UPDATE team_members SET email = NULL WHERE id = 'm003'`); err != nil {
		t.Fatal(err)
	}
	res = cli(t, vars, "run", "--config", cfg, "--report", "weekly-campaigns", "--period", testPeriod, "--as-of", testAsOf)
	if res.code != ExitDataErr || !strings.Contains(res.stdout+res.stderr, "campaign owner m003 (Elena Navarro, of c07, c08, c92) has no email") {
		t.Errorf("an owner without an email: %s", res)
	}
	if got := received(srv); got["mkt1@example.com"] != 1 || got["mkt2@example.com"] != 1 {
		t.Errorf("messages received: %v; want one each for the owners with an email", got)
	}

	// A source whose campaigns have no owner_id column (views of the
	// contract's columns alone).
	if _, err := d.Exec(`CREATE VIEW bare_campaigns AS SELECT id, name, channel, cost FROM campaigns`); err != nil {
		t.Fatal(err)
	}
	bare := writeConfig(t, strings.Replace(yml, `source: {url: "${SAMETEAM_DATABASE_URL}"}`,
		`source: {url: "${SAMETEAM_DATABASE_URL}", tables: {campaigns: bare_campaigns}}`, 1))
	before := len(srv.Messages())
	res = cli(t, vars, "run", "--config", bare, "--report", "weekly-campaigns", "--period", "2026-W46", "--as-of", testAsOf)
	if res.code != ExitConfig || !strings.Contains(res.stdout+res.stderr, "campaigns.owner_id") {
		t.Errorf("without campaigns.owner_id: %s", res)
	}
	if n := len(srv.Messages()); n != before {
		t.Errorf("%d messages sent without owners", n-before)
	}
	res = cli(t, vars, "check", "--config", bare)
	if !strings.Contains(res.stdout, "optional columns: found leads.name, leads.company; absent campaigns.owner_id") ||
		!strings.Contains(res.stdout, "a campaign_owner report needs the optional column campaigns.owner_id") {
		t.Errorf("check does not name the missing column:\n%s", res)
	}
}

// A rep report to 500 reps killed with SIGKILL in the middle of its batch,
// then run again: every rep gets exactly one message, except the one in
// flight at the kill, which gets at most one and is reported unknown (or,
// when the kill came after its reply was recorded, is sent like the
// rest). The ledger's invariants hold.
func TestPersonalRunKilledMidBatchThenRunAgain(t *testing.T) {
	t.Parallel()
	const n = 500
	url := testdb.PostgresURL(t)
	vars := importPersonal(t, url)
	d := testdb.Open(t, url)
	var rcpts []string
	for i := range n {
		addr := fmt.Sprintf("k%03d@example.com", i)
		rcpts = append(rcpts, addr)
		if _, err := d.Exec(`INSERT INTO team_members (id, name, email, team, active) VALUES ($1, $2, $3, 'sales', true)`,
			fmt.Sprintf("k%03d", i), fmt.Sprintf("Rep %03d", i), addr); err != nil {
			t.Fatal(err)
		}
	}
	victim := rcpts[n/2]
	reached := make(chan struct{}, 1)
	srv := smtptest.Start(t, smtptest.Options{
		DataDelay: 20 * time.Millisecond,
		Behavior: func(rcpt string) smtptest.Action {
			if rcpt == victim {
				select {
				case reached <- struct{}{}:
				default:
				}
			}
			return smtptest.Accept
		},
	})
	// Only the 500 listed reps: the golden ones are not part of this batch.
	yml := personalYAML(fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: 5s\n", srv.Port())) +
		"  - name: all-reps\n    audience: rep\n    period: week\n    recipients:\n"
	for _, r := range rcpts {
		yml += "      - " + r + "\n"
	}
	cfg := writeConfig(t, yml)
	args := []string{"run", "--config", cfg, "--report", "all-reps", "--period", testPeriod, "--as-of", testAsOf}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "SAMETEAM_DATABASE_URL="+url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-testsupport.After(t):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the run never reached %s:\n%s", victim, out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the run was not killed:\n%s", out.String())
	}
	rows := func() map[string]testsupport.Delivery {
		m := map[string]testsupport.Delivery{}
		for _, dl := range testsupport.Deliveries(t, d, "all-reps", testPeriod) {
			m[dl.Recipient] = dl
		}
		return m
	}
	sentBefore := 0
	for _, dl := range rows() {
		if dl.Status == report.DeliverySent {
			sentBefore++
		}
	}
	if sentBefore == 0 || sentBefore >= n-1 {
		t.Fatalf("%d sent before the kill: not mid-batch", sentBefore)
	}

	res := cli(t, vars, args...)
	ds, got := rows(), received(srv)
	if ds[victim].Status == report.DeliveryUnknown {
		if res.code != ExitDataErr || !strings.Contains(res.stdout, "unknown  "+victim) {
			t.Errorf("the second run does not report %s as unknown (exit %d):\n%s", victim, res.code, res.stdout)
		}
	} else if res.code != ExitOK {
		t.Errorf("second run: exit %d\n%s", res.code, res)
	}
	for _, r := range rcpts {
		dl := ds[r]
		switch {
		case r == victim && dl.Status == report.DeliveryUnknown:
			if got[r] > 1 {
				t.Errorf("%s (in flight at the kill): %d messages at the server, want at most 1", r, got[r])
			}
		case dl.Status != report.DeliverySent || got[r] != 1:
			t.Errorf("%s: %q in the ledger, %d messages at the server; want sent and exactly 1", r, dl.Status, got[r])
		}
	}
	checkInvariants(t, url, srv, map[key][]string{{"all-reps", testPeriod}: rcpts})
	if t.Failed() {
		t.Logf("first run:\n%s\nsecond run:\n%s", out.String(), res)
	}
}

// serve's download of a personal report is that person's file, rendered
// at the as_of of the delivery, and opens with that person's signed link
// or the admin token only; the report has no team file.
func TestPersonalDownloadIsThePersonsOwn(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	vars := importPersonal(t, url)
	path := writeConfig(t, personalYAML("")+"outbox: "+filepath.Join(t.TempDir(), "outbox")+"\n"+
		"server: {token: admin-token-of-the-test, link_key: 0123456789abcdef0123456789abcdef}\n")
	if res := cli(t, vars, "run", "--config", path, "--report", "weekly-rep", "--period", testPeriod, "--as-of", testAsOf); res.code != ExitOK {
		t.Fatalf("run: %s", res)
	}
	cfg, err := config.Load(path, true, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	st, err := open(t.Context(), cfg, nil, stackOptions{Ledger: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	reports, err := pipelineReports(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, downloads, _ := httpSide(st, reports, nil)
	srv, err := server.New(server.Options{Listen: "127.0.0.1:0", Token: cfg.Server.Token, LinkKey: []byte(cfg.Server.LinkKey),
		Reports: lister{cfg: cfg, reports: reports}, Renderer: downloads})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	get := func(u, auth string) (int, string) {
		req, _ := http.NewRequest("GET", u, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	sign := func(p string) string {
		q, err := signedlink.Sign([]byte(cfg.Server.LinkKey), p, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	u002 := "/reports/weekly-rep/" + testPeriod + "/u002.json"
	code, body := get(srv.URL()+sign(u002), "")
	var d metrics.RepDigest
	if code != http.StatusOK || json.Unmarshal([]byte(body), &d) != nil || d.Rep.ID != "u002" || len(d.Backlog) != 3 {
		t.Errorf("u002's link: %d, rep %q with %d backlog leads\n%.300s", code, d.Rep.ID, len(d.Backlog), body)
	}
	u001 := sign("/reports/weekly-rep/" + testPeriod + "/u001.json")
	if code, _ := get(srv.URL()+"/reports/weekly-rep/"+testPeriod+"/u002.json"+u001[strings.Index(u001, "?"):], ""); code != http.StatusForbidden {
		t.Errorf("u001's link on u002's file: %d, want 403", code)
	}
	if code, body := get(srv.URL()+"/reports/weekly-rep/"+testPeriod+"/u001.html", "Bearer "+cfg.Server.Token); code != http.StatusOK || !strings.Contains(body, "Carlos Pérez") {
		t.Errorf("the admin token on u001's digest: %d", code)
	}
	if code, _ := get(srv.URL()+"/reports/weekly-rep/"+testPeriod+".json", "Bearer "+cfg.Server.Token); code != http.StatusNotFound {
		t.Errorf("the team file of a personal report: %d, want 404", code)
	}
	if code, _ := get(srv.URL()+"/reports/weekly-rep/"+testPeriod+"/m001.json", "Bearer "+cfg.Server.Token); code != http.StatusNotFound {
		t.Errorf("a marketer's file of the rep report: %d, want 404", code)
	}
}
