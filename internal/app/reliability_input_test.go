package app

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
)

// The bad-input scenarios (B1–B11) of the README's "Reliability" table: configuration that
// must be refused before anything connects, and CRM data that must be
// refused with its file, line and column, or made harmless in every
// artifact.

// baseConfig is a valid configuration with one sales report; %PORT% is the
// test SMTP server's port.
const baseConfig = `source: {url: "${SAMETEAM_DATABASE_URL}"}
smtp: {host: 127.0.0.1, port: %PORT%, tls: none, timeout: 2s, from: "Reports <reports@example.com>"}
reports:
  - name: weekly-sales
    audience: sales
    recipients: [ana@example.com]
`

// refusedConfig runs `run` with the config text and checks the scenario's
// promise: exit 78 with every wanted fragment in the message, no SMTP
// connection, and no database touched (the SQLite file is not created).
func refusedConfig(t *testing.T, text string, want ...string) {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Options{})
	text = strings.ReplaceAll(text, "%PORT%", fmt.Sprint(srv.Port()))
	cfg := writeConfig(t, text)
	dbPath := filepath.Join(t.TempDir(), "never.db")
	start := time.Now()
	res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": "sqlite:" + dbPath},
		"run", "--config", cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("refusing took %s", took)
	}
	if res.code != ExitConfig {
		t.Errorf("exit %d, want %d\n%s", res.code, ExitConfig, res)
	}
	for _, w := range want {
		if !strings.Contains(res.stderr, w) {
			t.Errorf("the message does not say %q:\n%s", w, res.stderr)
		}
	}
	if srv.Connections() != 0 {
		t.Errorf("SMTP was contacted %d times", srv.Connections())
	}
	if _, err := os.Stat(dbPath); err == nil {
		t.Error("the database was opened")
	}
}

// B1: malformed or suspicious YAML is refused whole, with the position of
// each problem, before any network or database I/O.
func TestReliability_Input_MalformedYAML(t *testing.T) {
	t.Parallel()
	bomb := "allowed_domains:\n  - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	for i, prev := range "abcdefgh" {
		n := string("bcdefghi"[i])
		bomb += "  - &" + n + " [" + strings.Repeat("*"+string(prev)+", ", 8) + "*" + string(prev) + "]\n"
	}
	big := baseConfig + "# " + strings.Repeat("x", 2<<20) + "\n"
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"tab indentation", strings.Replace(baseConfig, "    audience", "\taudience", 1), []string{"line 4:", "tab character"}},
		{"unknown key", strings.Replace(baseConfig, "recipients:", "recipents:", 1), []string{"line 6:", "reports[0].recipents: unknown key"}},
		{"duplicate key", baseConfig + "    audience: marketing\n", []string{"line 7:", `mapping key "audience" already defined at line 5`}},
		{"string for a number", baseConfig + "sla_hours: \"ten\"\n", []string{"line 7:", "into float64"}},
		{"yes for a string", baseConfig + "locale: yes\n", []string{`locale: "yes": want es or en`}},
		{"alias bomb", baseConfig + bomb, []string{"line 8:", "allowed_domains[0]: want a single value, not a list or mapping"}},
		{"2 MB file", big, []string{"over the limit of 1048576"}},
		{"second document", baseConfig + "---\nsla_hours: 4\n", []string{"line 7:", "a second YAML document"}},
		{"wrong version key", "version: 2\n" + baseConfig, []string{"line 1:", "version: unknown key"}},
		{"unset variable", strings.Replace(baseConfig, "port: %PORT%", "port: %PORT%, password: \"${SAMETEAM_NOT_SET}\"", 1), []string{"line 2:", "smtp.password: environment variable SAMETEAM_NOT_SET is not set"}},
		{"several problems at once", strings.Replace(baseConfig, "audience: sales", "audience: sales-emea", 1) + "currency: euro\nlocale: fr\n",
			[]string{"3 problems", "reports[0].audience", "currency", "locale"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			refusedConfig(t, tc.text, tc.want...)
		})
	}
	t.Run("the base is valid", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"ana@example.com"}})
		w.cfg = writeConfig(t, strings.ReplaceAll(baseConfig, "%PORT%", fmt.Sprint(w.srv.Port())))
		if res := w.run(); res.code != ExitOK || len(w.srv.Messages()) != 1 {
			t.Errorf("the base config does not send: %s", res)
		}
	})
}

// B2: schedules and zones that would misfire are refused with their path;
// a schedule in a DST gap is accepted and `check` warns about it.
func TestReliability_Input_SchedulesAndZones(t *testing.T) {
	t.Parallel()
	sched := func(s string) string {
		return strings.Replace(baseConfig, "    audience: sales\n", "    audience: sales\n    schedule: \""+s+"\"\n", 1)
	}
	zone := func(z string) string { return baseConfig + "time_zone: \"" + z + "\"\n" }
	tests := []struct {
		name, text, want string
	}{
		{"minute 61", sched("61 * * * *"), "reports[0].schedule"},
		{"four fields", sched("* * * *"), "reports[0].schedule"},
		{"six fields", sched("0 9 * * MON-FRI extra"), "reports[0].schedule"},
		{"February 31 never fires", sched("0 9 31 2 *"), "never fires"},
		// An interval is no calendar schedule: serve's scheduler refuses it,
		// so the configuration does too (`@every 2h` used to load and then
		// stop serve).
		{"every 0s", sched("@every 0s"), "@every is an interval"},
		{"every 10s", sched("@every 10s"), "@every is an interval"},
		{"every 2h", sched("@every 2h"), "@every is an interval"},
		{"inline TZ", sched("TZ=Europe/Berlin 0 9 * * 1"), "set the report's time zone in the configuration"},
		{"inline CRON_TZ", sched("CRON_TZ=Mars/Olympus 0 9 * * 1"), "set the report's time zone in the configuration"},
		{"Mars/Olympus", zone("Mars/Olympus"), `time_zone: "Mars/Olympus" is not an IANA time zone`},
		{"empty zone", zone(""), `time_zone: "" is not an IANA time zone`},
		{"Local", zone("Local"), `time_zone: "Local" is not an IANA time zone`},
		{"path traversal", zone("../../etc/passwd"), `time_zone: "../../etc/passwd" is not an IANA time zone`},
		{"absolute path", zone("/etc/localtime"), `time_zone: "/etc/localtime" is not an IANA time zone`},
		{"report zone Local", strings.Replace(baseConfig, "    audience: sales\n", "    audience: sales\n    time_zone: Local\n", 1), `reports[0].time_zone: "Local"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			refusedConfig(t, tc.text, tc.want)
		})
	}
	t.Run("DST gap is warned about", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"ana@example.com"}})
		w.cfg = writeConfig(t, strings.ReplaceAll(strings.Replace(baseConfig, "    audience: sales\n",
			"    audience: sales\n    schedule: \"30 2 * * SUN\"\n    time_zone: Europe/Berlin\n", 1), "%PORT%", fmt.Sprint(w.srv.Port())))
		res := cli(t, w.vars, "check", "--config", w.cfg)
		if !strings.Contains(res.stdout, "warn  schedule weekly-sales:") {
			t.Errorf("no DST warning:\n%s", res)
		}
	})
}

// B3: an undefined audience is a config error; duplicate spellings of one
// address are one delivery and one message; an audience that resolves to
// nobody is an error that says so, not a silent success.
func TestReliability_Input_Audiences(t *testing.T) {
	t.Parallel()
	t.Run("undefined audience", func(t *testing.T) {
		t.Parallel()
		refusedConfig(t, strings.Replace(baseConfig, "audience: sales", "audience: sales-emea", 1), `reports[0].audience: "sales-emea"`)
	})
	t.Run("duplicates", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{`"Bob@Example.com "`, "bob@example.com", "BOB@EXAMPLE.COM", "ana@example.com"}})
		if res := w.run(); res.code != ExitOK {
			t.Fatalf("%s", res)
		}
		got := received(w.srv)
		if len(w.srv.Messages()) != 2 || got["Bob@example.com"]+got["bob@example.com"] != 1 || got["ana@example.com"] != 1 {
			t.Errorf("received %v in %d messages, want one for Bob and one for Ana", got, len(w.srv.Messages()))
		}
		if ds := w.deliveries(); len(ds) != 2 {
			t.Errorf("ledger rows %v, want 2", ds)
		}
	})
	t.Run("nobody to send to", func(t *testing.T) {
		t.Parallel()
		url := testdb.SQLiteURL(t)
		importGolden(t, url)
		mustExec(t, adminDB(t, url), `UPDATE team_members SET active = false WHERE team = 'marketing'`)
		srv := smtptest.Start(t, smtptest.Options{})
		cfg := writeConfig(t, strings.ReplaceAll(strings.Replace(baseConfig, "audience: sales\n    recipients: [ana@example.com]",
			"audience: marketing\n    recipients_from: team:marketing", 1), "%PORT%", fmt.Sprint(srv.Port())))
		res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": url}, "run", "--config", cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf)
		if res.code == ExitOK || !strings.Contains(res.stderr, "no recipients") {
			t.Errorf("exit %d, want a failure that says there are no recipients\n%s", res.code, res)
		}
		if srv.Connections() != 0 {
			t.Errorf("SMTP contacted %d times", srv.Connections())
		}
		runs, ds := ledgerState(t, url)
		if len(ds) != 0 || len(runs) != 1 || !strings.Contains(runs[0].Error, "no recipients") {
			t.Errorf("ledger: runs %+v, deliveries %v; want one failed run naming the cause", runs, ds)
		}
	})
}

// B4: a bad address in the config is refused at load (exit 78); a bad
// address from the CRM fails that recipient only, permanently, with its
// reason, and never reaches RCPT; the others are sent.
func TestReliability_Input_BadAddresses(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{
		"alice", "a@b", "alice@exa mple.com", "Alice <alice@example.com>", `alice@example.com\r\nBcc: x@evil.example`,
		"用户@例子.广告", "alice@example.com.", "(comment)alice@example.com",
	} {
		t.Run("config "+addr, func(t *testing.T) {
			t.Parallel()
			refusedConfig(t, strings.Replace(baseConfig, "[ana@example.com]", `["`+addr+`"]`, 1), "reports[0].recipients[0]")
		})
	}
	t.Run("from the CRM", func(t *testing.T) {
		t.Parallel()
		url := testdb.SQLiteURL(t)
		importGolden(t, url)
		mustExec(t, adminDB(t, url),
			`UPDATE team_members SET email = 'not-an-address' WHERE id = 'u001'`,
			`UPDATE team_members SET email = 'rep2@example.com' || char(13, 10) || 'Bcc: spy@evil.example' WHERE id = 'u002'`,
			`UPDATE team_members SET email = 'rep3@other.example' WHERE id = 'u003'`,
			`UPDATE team_members SET email = 'Rep4 <rep4@example.com>' WHERE id = 'u004'`,
		)
		srv := smtptest.Start(t, smtptest.Options{})
		cfg := writeConfig(t, strings.ReplaceAll(strings.Replace(baseConfig, "recipients: [ana@example.com]",
			"recipients_from: team:sales", 1), "%PORT%", fmt.Sprint(srv.Port()))+"allowed_domains: [example.com]\n")
		res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": url}, "run", "--config", cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf)
		if res.code != ExitDataErr {
			t.Errorf("exit %d, want %d\n%s", res.code, ExitDataErr, res)
		}
		got := received(srv)
		if len(got) != 2 || got["rep5@example.com"] != 1 || got["new@example.com"] != 1 {
			t.Errorf("RCPT reached %v, want rep5 and new once each", got)
		}
		for _, m := range srv.Messages() {
			if bytes.Contains(m.Data, []byte("evil.example")) {
				t.Errorf("a message mentions evil.example:\n%s", m.Data)
			}
		}
		for _, want := range []string{`"not-an-address"`, `rep2@example.com\r\nBcc: spy@evil.example`, "other.example is not in allowed_domains", `"Rep4 <rep4@example.com>"`} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("the outcome does not name %s:\n%s", want, res.stdout)
			}
		}
		if n := strings.Count(res.stdout, "failed_permanent"); n != 4 {
			t.Errorf("%d permanent failures reported, want 4:\n%s", n, res.stdout)
		}
	})
}

// B5: relation names from source.tables are identifiers, validated and
// quoted: a hostile mapping is a config error naming the setting, and no
// statement built from it runs (a canary table survives).
func TestReliability_Input_SQLIdentifiers(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	importGolden(t, url)
	admin := adminDB(t, url)
	mustExec(t, admin, `CREATE TABLE x (a int)`)
	tests := []struct {
		name, mapping, want string
	}{
		{"statement", `leads: "leads; DROP TABLE x"`, "source.tables.leads"},
		{"comment", `leads: "leads --"`, "source.tables.leads"},
		{"quoted parts", `leads: '"a"."b"'`, "source.tables.leads"},
		{"quote inside", `leads: 'lea"ds'`, "source.tables.leads"},
		{"unicode", `campaigns: "cámpañas"`, "source.tables.campaigns"},
		{"64 characters", "opportunities: " + strings.Repeat("o", 64), "source.tables.opportunities"},
		{"NUL", `leads: "lea\0ds"`, "source.tables.leads"},
		{"three parts", `leads: a.b.c`, "source.tables.leads"},
		{"empty", `leads: ""`, "source.tables.leads"},
		{"unknown relation", `leadz: leads`, "source.tables.leadz: unknown relation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, "source: {url: \"${SAMETEAM_DATABASE_URL}\", tables: {"+tc.mapping+"}}\n")
			res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": url}, append([]string{"metrics", "--config", cfg}, goldenCase(t, "w47-madrid").metricsArgs()...)...)
			if res.code != ExitConfig || !strings.Contains(res.stderr, tc.want) || res.stdout != "" {
				t.Errorf("exit %d, want %d naming %s\n%s", res.code, ExitConfig, tc.want, res)
			}
			var n int
			if err := admin.GetContext(context.Background(), &n, `SELECT count(*) FROM x`); err != nil {
				t.Errorf("the canary table is gone: %v", err)
			}
		})
	}
	t.Run("63 characters is a valid name", func(t *testing.T) {
		long := strings.Repeat("l", 63)
		mustExec(t, admin, `CREATE VIEW `+long+` AS SELECT * FROM leads`)
		cfg := writeConfig(t, "source: {url: \"${SAMETEAM_DATABASE_URL}\", tables: {leads: "+long+"}}\n")
		res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": url}, append([]string{"metrics", "--config", cfg}, goldenCase(t, "w47-madrid").metricsArgs()...)...)
		if res.code != ExitOK {
			t.Errorf("%s", res)
		}
	})
}

// B6: dirty numbers and dates in the CSV are refused with file, line and
// column, and the file loads nothing; negative amounts are kept.
func TestReliability_Input_DirtyNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, row, want string
	}{
		{"float overflow", "O-BAD,2026-11-18T10:00:00Z,,marketing,u001,1e308,,", `opportunities.csv:57: amount: "1e308" is not a decimal number`},
		{"NaN", "O-BAD,2026-11-18T10:00:00Z,,marketing,u001,NaN,,", `opportunities.csv:57: amount: "NaN"`},
		{"decimal comma", "O-BAD,2026-11-18T10:00:00Z,,marketing,u001,\"1,5\",,", `opportunities.csv:57: amount: "1,5"`},
		{"int64 overflow", "O-BAD,2026-11-18T10:00:00Z,,marketing,u001,99999999999999999999.99,,", `opportunities.csv:57: amount:`},
		{"infinity date", "O-BAD,infinity,,marketing,u001,1.00,,", `opportunities.csv:57: created_at: "infinity"`},
		{"naive timestamp", "O-BAD,2026-11-18 10:00:00,,marketing,u001,1.00,,", `opportunities.csv:57: created_at:`},
		{"bool", "O-BAD,2026-11-18T10:00:00Z,,marketing,u001,1.00,2026-11-19T10:00:00Z,yes", `opportunities.csv:57: is_won: "yes" is not true or false`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, url := importWith(t, "opportunities.csv", func(s string) string { return s + tc.row + "\n" })
			if res.code == ExitOK || !strings.Contains(res.stderr, tc.want) {
				t.Errorf("exit %d, want a refusal naming %s\n%s", res.code, tc.want, res)
			}
			nothingImported(t, url)
		})
	}
	t.Run("negative amount kept", func(t *testing.T) {
		t.Parallel()
		res, url := importWith(t, "opportunities.csv", func(s string) string {
			return s + "O-REFUND,2026-11-18T10:00:00Z,,marketing,u001,-42.50,2026-11-19T10:00:00Z,true\n"
		})
		if res.code != ExitOK {
			t.Fatalf("%s", res)
		}
		var amount string
		if err := adminDB(t, url).GetContext(context.Background(), &amount, `SELECT CAST(amount AS TEXT) FROM opportunities WHERE id = 'O-REFUND'`); err != nil || !strings.HasPrefix(amount, "-42.5") {
			t.Errorf("refund amount %q (%v)", amount, err)
		}
	})
}

// importWith copies the golden data, changes one file with edit, and runs
// init-db and import into a new SQLite database.
func importWith(t *testing.T, file string, edit func(string) string) (result, string) {
	t.Helper()
	return importWithOn(t, testdb.SQLiteURL(t), file, edit)
}

// importWithOn is importWith into the database at url.
func importWithOn(t *testing.T, url, file string, edit func(string) string) (result, string) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(goldenDir, "data")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == file {
			b = []byte(edit(string(b)))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	if r := cli(t, vars, "init-db"); r.code != ExitOK {
		t.Fatalf("init-db: %s", r)
	}
	return cli(t, vars, "import", "--dir", dir), url
}

// nothingImported checks that a refused import loaded no row at all.
func nothingImported(t *testing.T, url string) {
	t.Helper()
	d := adminDB(t, url)
	for _, rel := range []string{"team_members", "campaigns", "leads", "activities", "opportunities"} {
		var n int
		if err := d.GetContext(context.Background(), &n, `SELECT count(*) FROM `+rel); err != nil || n != 0 {
			t.Errorf("%s holds %d rows after a refused import (%v)", rel, n, err)
		}
	}
}

// B7, B8, B9, B10 with hostile CRM text. The importer refuses what cannot
// be stored faithfully (NUL, invalid UTF-8) with file, line and column.
// Text that arrives anyway (written by another tool, or read from a
// SQL_ASCII database) is made harmless in every artifact: the HTML is
// valid UTF-8 with the markup escaped and no control characters, the
// workbook holds text cells only (no formula), valid UTF-8, no control
// characters, and a 40,000-character value cut with a visible marker; the
// message carries exactly its own headers.
func TestReliability_Input_HostileText(t *testing.T) {
	t.Parallel()
	t.Run("import refuses NUL", func(t *testing.T) {
		t.Parallel()
		res, url := importWith(t, "campaigns.csv", func(s string) string { return s + "c99,We\x00binar,webinar,1.00\n" })
		if res.code == ExitOK || !strings.Contains(res.stderr, "campaigns.csv:13: name: contains a NUL character") {
			t.Errorf("exit %d\n%s", res.code, res)
		}
		nothingImported(t, url)
	})
	t.Run("import refuses invalid UTF-8", func(t *testing.T) {
		t.Parallel()
		res, url := importWith(t, "campaigns.csv", func(s string) string { return s + "c99,We\xff\xfebinar,webinar,1.00\n" })
		if res.code == ExitOK || !strings.Contains(res.stderr, "campaigns.csv:13: name: is not valid UTF-8") {
			t.Errorf("exit %d\n%s", res.code, res)
		}
		nothingImported(t, url)
	})
	t.Run("import takes a BOM and CRLF", func(t *testing.T) {
		t.Parallel()
		res, url := importWith(t, "campaigns.csv", func(s string) string {
			return "\ufeff" + strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
		})
		if res.code != ExitOK {
			t.Fatalf("%s", res)
		}
		var name string
		if err := adminDB(t, url).GetContext(context.Background(), &name, `SELECT name FROM campaigns WHERE id = 'c01'`); err != nil || strings.ContainsAny(name, "\r\ufeff") {
			t.Errorf("c01 name %q (%v)", name, err)
		}
	})
	t.Run("import reports an unterminated quote", func(t *testing.T) {
		t.Parallel()
		res, url := importWith(t, "campaigns.csv", func(s string) string { return s + "c99,\"never closed,webinar,1.00" })
		if res.code == ExitOK || !strings.Contains(res.stderr, "campaigns.csv:13: csv:") {
			t.Errorf("exit %d\n%s", res.code, res)
		}
		nothingImported(t, url)
	})

	t.Run("artifacts", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"ana@example.com"}})
		// Within the digest's 80 characters, so every hazard reaches it.
		hazards := "\u202eevil\xff\xfe\x07\x1b[31m<img src=x onerror=alert(1)></td></tr></table><form action=//evil.example>"
		prefixes := []string{"=1+1 ", "\t=1+1 ", "\r=1+1 ", "@SUM(A1) ", "-2+3 ", "+1 ", "=cmd|' /C calc'!A0 ", ""}
		d := adminDB(t, w.url)
		var ids []string
		if err := d.SelectContext(context.Background(), &ids, `SELECT id FROM campaigns ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			if _, err := d.ExecContext(context.Background(), `UPDATE campaigns SET name = ? WHERE id = ?`, prefixes[i%len(prefixes)]+id+" "+hazards, id); err != nil {
				t.Fatal(err)
			}
		}
		long := strings.Repeat("reason \x1b ", 5000) // 45,000 bytes, control characters included
		if _, err := d.ExecContext(context.Background(), `UPDATE leads SET rejection_reason = ? WHERE rejection_reason IS NOT NULL`, long); err != nil {
			t.Fatal(err)
		}
		mustExec(t, d, `UPDATE team_members SET name = 'Carlos <script>alert(1)</script>' || char(27) || '[2J' WHERE id = 'u001'`)

		for _, audience := range []string{"leadership", "sales", "marketing"} {
			for _, loc := range []string{"en", "es"} {
				t.Run(audience+"."+loc, func(t *testing.T) {
					files := renderAll(t, w.url, audience, loc, goldenCase(t, "w47-madrid"))
					html := string(files[".html"])
					checkText(t, "html", html)
					checkText(t, "txt", string(files[".txt"]))
					for _, bad := range []string{"<img", "<form", "<script", "onerror=alert(1)>", "javascript:"} {
						if strings.Contains(strings.ToLower(html), bad) {
							t.Errorf("the HTML holds %q unescaped", bad)
						}
					}
					if audience == "marketing" && !strings.Contains(html, "&lt;img src=x onerror=alert(1)&gt;") {
						t.Error("the hostile campaign names are not in the marketing digest: the test proves nothing")
					}
					sheets := workbookParts(t, files[".xlsx"])
					for name, xml := range sheets {
						checkText(t, name, xml)
					}
					checkFormulas(t, sheets)
					if audience == "marketing" {
						ss := sheets["xl/sharedStrings.xml"]
						if !strings.Contains(ss, "=1+1 ") || !strings.Contains(ss, "@SUM(A1) ") {
							t.Error("the formula-like names are not stored as text in the workbook")
						}
						cut := regexp.MustCompile(`(reason\s+){1000,}[^<]*\[trunca`).FindString(ss)
						if cut == "" {
							t.Error("the 40,000-character reason is not cut with a visible marker")
						} else if n := utf8.RuneCountInString(cut); n > 32767 {
							t.Errorf("a cell holds %d characters", n)
						}
					}
				})
			}
		}

		res := w.run()
		if res.code != ExitOK || len(w.srv.Messages()) != 1 {
			t.Fatalf("send: %s", res)
		}
		m, err := mail.ReadMessage(bytes.NewReader(w.srv.Messages()[0].Data))
		if err != nil {
			t.Fatal(err)
		}
		for k := range m.Header {
			switch strings.ToLower(k) {
			case "bcc", "cc":
				t.Errorf("the message has a %s header", k)
			}
		}
		if to := m.Header.Get("To"); to != "<ana@example.com>" && to != "ana@example.com" {
			t.Errorf("To: %q", to)
		}
		if s := m.Header.Get("Subject"); strings.ContainsAny(s, "\r\n") {
			t.Errorf("Subject %q", s)
		}
		if !bytes.Contains(w.srv.Messages()[0].Data, []byte(`filename="weekly-sales-2026-W47.xlsx"`)) &&
			!bytes.Contains(w.srv.Messages()[0].Data, []byte(`filename=weekly-sales-2026-W47.xlsx`)) {
			t.Error("the attachment is not named weekly-sales-2026-W47.xlsx")
		}
	})
	t.Run("report name with a line break", func(t *testing.T) {
		t.Parallel()
		refusedConfig(t, strings.Replace(baseConfig, "name: weekly-sales", `name: "weekly-sales\r\nBcc: spy@evil.example"`, 1), "reports[0].name")
	})
}

// formulaRE finds a cell formula in sheet XML.
var formulaRE = regexp.MustCompile(`<f[ >/]`)

// chartRefRE is the one formula the project writes itself: a chart
// series pointing at a range of one of its sheets ('Trend'!$B$2:$B$13).
var chartRefRE = regexp.MustCompile(`^'?[A-Za-z][A-Za-z ]*'?!\$[A-Z]+\$[0-9]+(:\$[A-Z]+\$[0-9]+)?$`)

// checkFormulas fails on any formula in a worksheet cell, and on any chart
// formula that is more than a reference to a range of the workbook.
func checkFormulas(t *testing.T, parts map[string]string) {
	t.Helper()
	fRE := regexp.MustCompile(`<(?:c:)?f>([^<]*)</(?:c:)?f>`)
	for name, xml := range parts {
		switch {
		case strings.HasPrefix(name, "xl/worksheets/"):
			if formulaRE.MatchString(xml) {
				t.Errorf("%s holds a formula: %s", name, formulaRE.FindString(xml))
			}
		case strings.HasPrefix(name, "xl/charts/"):
			for _, m := range fRE.FindAllStringSubmatch(xml, -1) {
				if ref := strings.NewReplacer("&apos;", "'", "&#39;", "'").Replace(m[1]); !chartRefRE.MatchString(ref) {
					t.Errorf("%s holds a formula that is not a range reference: %q", name, m[1])
				}
			}
		}
	}
}

// checkText fails when an artifact is not valid UTF-8 or holds a control
// character other than tab and line breaks (an escape sequence, a bell) or
// a bidi override.
func checkText(t *testing.T, name, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8", name)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f || bidiControl(r) {
			t.Errorf("%s holds control character %U", name, r)
			return
		}
	}
}

// bidiControl reports the explicit directional formatting characters,
// which can make "evil.example\u202e" read as something else (CVE-2021-42574).
func bidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// renderAll runs `render` for one audience and locale of a golden case
// and returns the artifacts by extension.
func renderAll(t *testing.T, url, audience, loc string, c gcase) map[string][]byte {
	t.Helper()
	out := t.TempDir()
	cfg := writeConfig(t, "source: {url: \"${SAMETEAM_DATABASE_URL}\"}\ntargets: {week: {mqls: 30}, month: {mqls: 120}, day: {mqls: 5}}\nreports:\n  - {name: r, audience: "+audience+", period: "+string(c.kind())+"}\n")
	args := []string{"render", "--config", cfg, "--report", "r", "--locale", loc, "--out", out,
		"--period", c.Period, "--time-zone", c.TimeZone, "--as-of", c.AsOf.Format(time.RFC3339), "--sla-hours", fmt.Sprint(c.SLAHours)}
	if res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": url}, args...); res.code != ExitOK {
		t.Fatalf("render: %s", res)
	}
	files := map[string][]byte{}
	for _, ext := range []string{".html", ".txt", ".xlsx", ".json"} {
		b, err := os.ReadFile(filepath.Join(out, "r-"+c.Period+ext))
		if err != nil {
			t.Fatal(err)
		}
		files[ext] = b
	}
	return files
}

// kind is the period kind of the case's label.
func (c gcase) kind() period.Kind {
	p, err := period.Parse(c.Period, time.UTC)
	if err != nil {
		panic(err)
	}
	return p.Kind
}

// workbookParts returns every XML part of an xlsx, by name.
func workbookParts(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".xml") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = string(data)
	}
	return out
}

// B9: every cell of every sheet of every workbook the project writes for
// the golden data (6 cases, 3 audiences, 2 languages) holds no formula;
// the golden data's own formula-like campaign name is there, as text.
func TestReliability_Input_NoFormulaInAnyWorkbook(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	importGolden(t, url)
	cells := regexp.MustCompile(`<c [^>]*>`)
	for _, c := range goldentest_cases(t) {
		for _, audience := range []string{"leadership", "sales", "marketing"} {
			for _, loc := range []string{"en", "es"} {
				t.Run(c.Name+"."+audience+"."+loc, func(t *testing.T) {
					parts := workbookParts(t, renderAll(t, url, audience, loc, c)[".xlsx"])
					checkFormulas(t, parts)
					sheets := 0
					for name, xml := range parts {
						if !strings.HasPrefix(name, "xl/worksheets/") {
							continue
						}
						sheets++
						if len(cells.FindAllString(xml, 2)) == 0 {
							t.Errorf("%s has no cell at all", name)
						}
					}
					if sheets < 5 {
						t.Errorf("%d sheets", sheets)
					}
					if audience == "marketing" && c.Name == "w47-madrid" && !strings.Contains(parts["xl/sharedStrings.xml"], "=HYPERLINK(") {
						t.Error("the golden =HYPERLINK campaign is not in the workbook: the walk proves nothing")
					}
				})
			}
		}
	}
}

func goldentest_cases(t *testing.T) []gcase {
	t.Helper()
	var out []gcase
	for _, name := range []string{"w47-madrid", "w43-madrid-dst", "month-utc", "q4-new-york-partial", "day-madrid", "empty-week"} {
		out = append(out, goldenCase(t, name))
	}
	return out
}

// B11: calendar edges, against an oracle: ISO weeks tile 2020–2040 with
// no gap or overlap, a year has a week 53 exactly when 28 December falls
// in one, the year boundary belongs to the ISO year, leap days exist only
// in leap years, and labels with other digits are refused.
func TestReliability_Input_Calendar(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	var long []int
	p, err := period.Parse("2020-W01", loc)
	if err != nil {
		t.Fatal(err)
	}
	for p.Start.Year() < 2041 {
		next := p.Next()
		if !next.Start.Equal(p.End) {
			t.Fatalf("%s ends at %s but %s starts at %s", p.Label(), p.End, next.Label(), next.Start)
		}
		y, w := p.Start.ISOWeek()
		if want := fmt.Sprintf("%04d-W%02d", y, w); p.Label() != want {
			t.Errorf("label %s, ISO says %s", p.Label(), want)
		}
		if w == 53 {
			long = append(long, y)
		}
		p = next
	}
	for y := 2020; y <= 2040; y++ {
		_, w := time.Date(y, 12, 28, 12, 0, 0, 0, time.UTC).ISOWeek()
		_, err := period.Parse(fmt.Sprintf("%d-W53", y), loc)
		if (w == 53) != (err == nil) {
			t.Errorf("%d-W53: parse error %v, but 28 Dec is in week %d", y, err, w)
		}
	}
	if got := fmt.Sprint(long); got != "[2020 2026 2032 2037]" {
		t.Errorf("53-week years %s", got)
	}
	w53, _ := period.Parse("2026-W53", loc)
	if w53.Start.Format("2006-01-02") != "2026-12-28" || w53.End.Format("2006-01-02") != "2027-01-04" || w53.Next().Label() != "2027-W01" {
		t.Errorf("2026-W53 is %s to %s, then %s", w53.Start, w53.End, w53.Next().Label())
	}
	if got := period.Containing(period.Week, time.Date(2024, 12, 30, 12, 0, 0, 0, loc), loc).Label(); got != "2025-W01" {
		t.Errorf("30 Dec 2024 is in %s, want 2025-W01", got)
	}
	for label, ok := range map[string]bool{
		"2028-02-29": true, "2026-02-29": false, "2026-04-31": false, "2027-W53": false, "2026-W00": false,
		"２０２６-W47": false, "2026-W٤٧": false, "+2026-W47": false, " 2026-W47": false, "2026-W047": false, "2026-Q5": false, "2026-13": false,
	} {
		if _, err := period.Parse(label, loc); (err == nil) != ok {
			t.Errorf("Parse(%q) error %v, want ok=%v", label, err, ok)
		}
	}

	// End to end: the snapshot of week 53 is labelled so, in JSON and in
	// the workbook, and a far-away as_of or period does not break the run.
	url := testdb.SQLiteURL(t)
	importGolden(t, url)
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	for _, args := range [][]string{
		{"--period", "2026-W53", "--time-zone", "Europe/Madrid"},
		{"--period", "2026-W53", "--time-zone", "Pacific/Kiritimati"},
		{"--as-of", "9999-12-31T23:59:59Z", "--time-zone", "UTC"},
		{"--period", "0001-W01", "--time-zone", "UTC"},
	} {
		res := cli(t, vars, append([]string{"metrics", "--format", "json"}, args...)...)
		if res.code != ExitOK || !strings.Contains(res.stdout, `"label"`) {
			t.Errorf("metrics %v: %s", args, res)
		}
		if args[0] == "--period" && !strings.Contains(res.stdout, `"`+args[1]+`"`) {
			t.Errorf("metrics %v is not labelled %s", args, args[1])
		}
	}
	res := cli(t, vars, "metrics", "--period", "2027-W53", "--time-zone", "UTC")
	if res.code != ExitUsage || !strings.Contains(res.stderr, "no week 53") {
		t.Errorf("2027-W53: %s", res)
	}
}

// sla_hours accepts more than 0 and at most a year (8760 hours), in the
// config and on the command line. .nan passed check and then panicked
// run; 0 and -5 became 24 without a word; 2562048 overflowed into an SLA
// compliance of 0. The config refuses each with 78, naming the setting and
// its line; --sla-hours refuses each with 64.
func TestReliability_Input_SLAHours(t *testing.T) {
	t.Parallel()
	report := func(v string) string {
		return strings.Replace(baseConfig, "    audience: sales\n", "    audience: sales\n    sla_hours: "+v+"\n", 1)
	}
	for _, v := range []string{".nan", ".inf", "-.inf", "0", "-5", "8760.5", "2562048"} {
		t.Run("sla_hours "+v, func(t *testing.T) {
			t.Parallel()
			refusedConfig(t, baseConfig+"sla_hours: "+v+"\n", "line 7: sla_hours: ", "above 0 and at most 8760")
		})
		t.Run("reports[0].sla_hours "+v, func(t *testing.T) {
			t.Parallel()
			refusedConfig(t, report(v), "line 6: reports[0].sla_hours: ", "above 0 and at most 8760")
		})
	}
	t.Run("check refuses .nan", func(t *testing.T) {
		t.Parallel()
		cfg := writeConfig(t, strings.ReplaceAll(baseConfig, "%PORT%", "2525")+"sla_hours: .nan\n")
		res := cli(t, map[string]string{"SAMETEAM_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "x.db")}, "check", "--config", cfg)
		if res.code != ExitConfig || !strings.Contains(res.stdout, "line 7: sla_hours: NaN") {
			t.Errorf("exit %d, want %d naming line 7\n%s", res.code, ExitConfig, res)
		}
	})
	url := testdb.SQLiteURL(t)
	importGolden(t, url)
	cfg := writeConfig(t, configYAML("", "outbox: "+t.TempDir()+"\n", []string{"a@example.com"}))
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	for _, v := range []string{"NaN", "Inf", "-Inf", "0", "-5", "8761", "2562048", "ten"} {
		t.Run("--sla-hours "+v, func(t *testing.T) {
			for _, cmd := range []string{"metrics", "render"} {
				args := []string{cmd, "--config", cfg, "--period", testPeriod, "--as-of", testAsOf, "--sla-hours", v}
				if cmd == "render" {
					args = append(args, "--report", testReport, "--out", t.TempDir())
				}
				res := cli(t, vars, args...)
				if res.code != ExitUsage || !strings.Contains(res.stderr, "-sla-hours") {
					t.Errorf("%s: exit %d, want %d naming --sla-hours\n%s", cmd, res.code, ExitUsage, res)
				}
			}
		})
	}
	for _, v := range []string{"0.5", "8760"} {
		t.Run("--sla-hours "+v+" is accepted", func(t *testing.T) {
			res := cli(t, vars, "metrics", "--config", cfg, "--period", testPeriod, "--as-of", testAsOf, "--sla-hours", v, "--format", "json")
			if res.code != ExitOK || !regexp.MustCompile(`"sla_hours":\s*`+v+`\b`).MatchString(res.stdout) {
				t.Errorf("exit %d\n%s", res.code, res)
			}
		})
	}
}

// B6, timestamps and ids the two engines would not keep alike: a closed_at
// past year 9999 in UTC imported, then failed every SQLite report while
// check said ok; the zero instant became NULL; an offset beyond ±15:59
// failed PostgreSQL's COPY at its end with no line; ids of spaces, or with
// a trailing space, made two leads of one. Each is refused by import on
// both engines, exit 65, naming the file, the line and the column, and
// nothing is loaded; a duplicate id (found by the database) names both
// lines.
func TestReliability_Input_ImportTimestampsAndIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, from, to, want string
	}{
		{"past year 9999 in UTC", "opportunities.csv", "2026-11-11T17:00:28Z", "9999-12-31T23:59:59-05:00",
			`opportunities.csv:2: closed_at: "9999-12-31T23:59:59-05:00": timestamp out of range`},
		{"the zero instant", "opportunities.csv", "2026-11-11T17:00:28Z", "0001-01-01T00:00:00Z",
			`opportunities.csv:2: closed_at: "0001-01-01T00:00:00Z": timestamp out of range`},
		{"offset beyond 15:59", "activities.csv", "a000002,2026-10-28T21:51:43Z", "a000002,2026-10-28T21:51:43+16:30",
			`activities.csv:3: occurred_at: "2026-10-28T21:51:43+16:30": timestamp out of range: the UTC offset is beyond ±15:59`},
		{"id of spaces", "leads.csv", "L00001,2026-10-19T00:39:54Z", "  ,2026-10-19T00:39:54Z",
			`leads.csv:2: id: "  ": an id must not start or end with spaces`},
		{"ids differing by a trailing space", "leads.csv", "L00002,", "L00001 ,",
			`leads.csv:3: id: "L00001 ": an id must not start or end with spaces`},
		{"duplicate id", "leads.csv", "L00002,", "L00001,",
			`leads.csv:3: id: duplicate id "L00001" (first on line 2)`},
	}
	engines := map[string]func(testing.TB) string{"sqlite": testdb.SQLiteURL, "postgres": testdb.PostgresURL}
	for engine, newURL := range engines {
		for _, tc := range tests {
			t.Run(engine+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				res, url := importWithOn(t, newURL(t), tc.file, func(s string) string {
					if !strings.Contains(s, tc.from) {
						t.Fatalf("%s has no %q", tc.file, tc.from)
					}
					return strings.Replace(s, tc.from, tc.to, 1)
				})
				if res.code != ExitDataErr || !strings.Contains(res.stderr, tc.want) {
					t.Errorf("exit %d, want %d saying %s\n%s", res.code, ExitDataErr, tc.want, res)
				}
				nothingImported(t, url)
			})
		}
	}
}
