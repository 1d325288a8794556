package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/smtptest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// roleURL creates a PostgreSQL role with password pw that owns a fresh
// test schema, and returns its URL (password included). The test server
// trusts loopback, so the password is never checked: it is there to be
// kept out of every output.
func roleURL(t *testing.T, pw string) string {
	t.Helper()
	base := testdb.PostgresURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	role := "sameteam_secret_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := db.Open(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN PASSWORD '` + pw + `'`,
		`GRANT ALL ON SCHEMA ` + schema + ` TO ` + role,
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a, err := db.Open(ctx, base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.ExecContext(ctx, `DROP OWNED BY `+role+` CASCADE`)
		_, _ = a.ExecContext(ctx, `DROP ROLE `+role)
	})
	u.User = url.UserPassword(role, pw)
	return u.String()
}

// No secret of the configuration (database password, SMTP password, HTTP
// token, link key) appears in what any command prints or in the ledger,
// whatever fails.
func TestSecretsStayOutOfOutputAndLedger(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"database password": "Db-Secret-7f3a9c1e",
		"smtp password":     "Smtp-Secret-2b8d4e6f",
		"http token":        "Http-Token-5c1a7e3b9d",
		"link key":          "Link-Key-9e2f4a6c8b0d1e3f5a7c9e1b3d5f7a9c",
	}
	good := roleURL(t, secrets["database password"])
	down := "postgres://someone:" + secrets["database password"] + "@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"
	importGolden(t, good)

	// The relay wants another password than the one configured.
	srv := smtptest.Start(t, smtptest.Options{Username: "reports", Password: "the-right-one"})
	smtpKeys := fmt.Sprintf("  host: 127.0.0.1\n  port: %d\n  tls: none\n  timeout: 2s\n  auth: plain\n  username: reports\n  password: ${SAMETEAM_SMTP_PASSWORD}\n", srv.Port())
	top := "max_attachment_mb: 0.001\nserver: {public_url: \"https://reports.example.com\", token: \"${SAMETEAM_HTTP_TOKEN}\", link_key: \"${SAMETEAM_LINK_KEY}\"}\n"
	cfg := writeConfig(t, configYAML(smtpKeys, top, []string{"a@example.com", "b@example.com"}))
	badCfg := writeConfig(t, configYAML(smtpKeys+"  helo: \"two words\"\n", top+"locale: xx\n", []string{"a@example.com"}))
	vars := func(dbURL string) map[string]string {
		return map[string]string{
			"SAMETEAM_DATABASE_URL":  dbURL,
			"SAMETEAM_SMTP_PASSWORD": secrets["smtp password"],
			"SAMETEAM_HTTP_TOKEN":    secrets["http token"],
			"SAMETEAM_LINK_KEY":      secrets["link key"],
		}
	}
	week := []string{"--period", testPeriod, "--as-of", testAsOf}
	outDir := t.TempDir()
	tests := []struct {
		name string
		db   string
		args []string
		code int
	}{
		{"run, smtp password refused", good, append([]string{"run", "--config", cfg, "--report", testReport}, week...), ExitConfig},
		{"run, json logs, smtp password refused", good, append([]string{"run", "--config", cfg, "--report", testReport, "--log-format", "json", "--force"}, week...), ExitConfig},
		{"run, database down", down, append([]string{"run", "--config", cfg, "--report", testReport}, week...), ExitTempFail},
		{"check, smtp password refused", good, []string{"check", "--config", cfg}, ExitConfig},
		{"check, database down", down, []string{"check", "--config", cfg}, 0},
		{"metrics, database down", down, append([]string{"metrics", "--config", cfg}, week...), ExitTempFail},
		{"render, database down", down, append([]string{"render", "--config", cfg, "--report", testReport, "--out", outDir}, week...), ExitTempFail},
		{"render, bad config", good, append([]string{"render", "--config", badCfg, "--report", testReport, "--out", outDir}, week...), ExitConfig},
		{"check, bad config", good, []string{"check", "--config", badCfg}, ExitConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := cli(t, vars(tc.db), tc.args...)
			if res.code == ExitOK || (tc.code != 0 && res.code != tc.code) {
				t.Errorf("exit %d, want %d (a failure)\n%s", res.code, tc.code, res)
			}
			for what, s := range secrets {
				if strings.Contains(res.stdout, s) || strings.Contains(res.stderr, s) {
					t.Errorf("the %s is in the output:\n%s", what, res)
				}
			}
		})
	}

	// What reached the ledger: the refused sends and the runs.
	ds := deliveriesAt(t, good)
	if len(ds) == 0 {
		t.Fatal("the refused sends left no ledger rows to inspect")
	}
	l, _ := openLedger(t, good)
	runs, err := l.Runs(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, d := range ds {
		texts = append(texts, d.LastError, d.Response, d.MessageID)
	}
	for _, r := range runs {
		texts = append(texts, r.Error)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "authentication") {
		t.Errorf("the ledger does not record the refused AUTH:\n%s", all)
	}
	for what, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("the %s is in the ledger:\n%s", what, all)
		}
	}
	// The outbox folder and the rendered files are outputs too.
	entries, _ := os.ReadDir(outDir)
	if len(entries) != 0 {
		t.Errorf("a failed render wrote %d files", len(entries))
	}
}

// A database URL that does not parse (a typo in the port) must not carry
// its password into the error either. internal/db's scrub gives up on an
// unparseable URL and returns the driver's error, which quotes the whole
// URL; config.Secrets cannot find the password in it either, so no
// redactor catches it.
func TestDatabasePasswordOfAMalformedURLIsNotPrinted(t *testing.T) {
	t.Parallel()
	const pw = "Db-Secret-7f3a9c1e"
	cfg := writeConfig(t, configYAML("", "outbox: "+t.TempDir()+"\n", []string{"a@example.com"}))
	vars := map[string]string{"SAMETEAM_DATABASE_URL": "postgres://someone:" + pw + "@127.0.0.1:port/x"}
	week := []string{"--period", testPeriod, "--as-of", testAsOf}
	for _, args := range [][]string{
		append([]string{"run", "--config", cfg, "--report", testReport}, week...),
		append([]string{"metrics", "--config", cfg}, week...),
		{"check", "--config", cfg},
	} {
		res := cli(t, vars, args...)
		if res.code == ExitOK || strings.Contains(res.stdout+res.stderr, pw) {
			t.Errorf("%s: the password is printed (or the command succeeded):\n%s", args[0], res)
		}
	}
}

// The example Secret's placeholders must not work as credentials: check,
// run and serve refuse each of them with exit 78, naming the variable and
// never printing the value.
func TestPlaceholderSecretsAreRefused(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../config/kubernetes/secret.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var example struct {
		StringData map[string]string `json:"stringData"`
	}
	if err := yaml.Unmarshal(b, &example); err != nil {
		t.Fatal(err)
	}
	if len(example.StringData) == 0 {
		t.Fatal("the example Secret has no values")
	}
	dbURL := testdb.SQLiteURL(t)
	for key, placeholder := range example.StringData {
		for _, args := range [][]string{
			{"check"},
			{"run", "--all", "--dry-run"},
			{"serve", "--listen", "127.0.0.1:0"},
		} {
			t.Run(key+"/"+args[0], func(t *testing.T) {
				t.Parallel()
				vars := map[string]string{"SAMETEAM_DATABASE_URL": dbURL, key: placeholder}
				res := cli(t, vars, args...)
				if res.code != ExitConfig {
					t.Fatalf("want exit %d for a placeholder %s: %s", ExitConfig, key, res)
				}
				if !strings.Contains(res.stdout+res.stderr, key) { // check reports on stdout
					t.Errorf("the error does not name %s: %s", key, res)
				}
				if strings.Contains(res.stdout+res.stderr, placeholder) {
					t.Errorf("the placeholder value is printed: %s", res)
				}
			})
		}
	}
}

// X1, every form of a database password: as a URL parameter
// (?password=…), in a key=value string, in a URL that does not parse, and a
// *_FILE variable pointing at the wrong file (the password file instead of
// the URL file). check (even when it succeeds), seed, metrics and run print
// none of them.
func TestReliability_Security_DatabasePasswordForms(t *testing.T) {
	t.Parallel()
	const pw = "CANARY-db-query-4d2e"
	withPW := roleURL(t, pw)
	u, err := url.Parse(withPW)
	if err != nil {
		t.Fatal(err)
	}
	role := u.User.Username()
	u.User = url.User(role)
	q := u.Query()
	q.Set("password", pw)
	u.RawQuery = q.Encode()
	asParam := u.String()
	importGolden(t, asParam)
	pwFile := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, configYAML("", "outbox: "+t.TempDir()+"\n", []string{"a@example.com"}))
	// The URL from the environment alone, as SAMETEAM_DATABASE_URL_FILE gives it.
	envOnly := writeConfig(t, strings.Replace(configYAML("", "outbox: "+t.TempDir()+"\n", []string{"a@example.com"}),
		"source: {url: \"${SAMETEAM_DATABASE_URL}\"}\n", "", 1))
	week := []string{"--period", testPeriod, "--as-of", testAsOf}
	down := "postgres://someone@127.0.0.1:1/x?sslmode=disable&connect_timeout=2&password=" + pw
	tests := []struct {
		name string
		vars map[string]string
		args []string
		ok   bool
	}{
		{"check, password as a parameter", map[string]string{"SAMETEAM_DATABASE_URL": asParam}, []string{"check", "--config", cfg}, true},
		{"metrics, password as a parameter", map[string]string{"SAMETEAM_DATABASE_URL": asParam}, append([]string{"metrics", "--config", cfg}, week...), true},
		{"seed into a database with data", map[string]string{"SAMETEAM_DATABASE_URL": asParam}, []string{"seed", "--leads", "10"}, false},
		{"run, database down", map[string]string{"SAMETEAM_DATABASE_URL": down}, append([]string{"run", "--config", cfg, "--report", testReport}, week...), false},
		{"metrics, database down", map[string]string{"SAMETEAM_DATABASE_URL": down}, append([]string{"metrics", "--config", cfg}, week...), false},
		{"check, database down", map[string]string{"SAMETEAM_DATABASE_URL": down}, []string{"check", "--config", cfg}, false},
		{"seed, database down", map[string]string{"SAMETEAM_DATABASE_URL": down}, []string{"seed", "--leads", "10"}, false},
		{"check, key=value string", map[string]string{"SAMETEAM_DATABASE_URL": "host=127.0.0.1 user=" + role + " password=" + pw}, []string{"check", "--config", cfg}, false},
		{"run, key=value string", map[string]string{"SAMETEAM_DATABASE_URL": "host=127.0.0.1 password='" + pw + "'"}, append([]string{"run", "--config", cfg, "--report", testReport}, week...), false},
		{"check, unparseable URL with a parameter", map[string]string{"SAMETEAM_DATABASE_URL": "postgres://u@127.0.0.1:port/x?password=" + pw}, []string{"check", "--config", cfg}, false},
		{"check, URL file is the password file", map[string]string{"SAMETEAM_DATABASE_URL_FILE": pwFile}, []string{"check", "--config", envOnly}, false},
		{"run, URL file is the password file", map[string]string{"SAMETEAM_DATABASE_URL_FILE": pwFile}, append([]string{"run", "--config", envOnly, "--report", testReport}, week...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := cli(t, tc.vars, tc.args...)
			if (res.code == ExitOK) != tc.ok {
				t.Errorf("exit %d, want success %v\n%s", res.code, tc.ok, res)
			}
			if strings.Contains(res.stdout+res.stderr, pw) {
				t.Errorf("the password is printed:\n%s", res)
			}
			t.Logf("%s", res)
		})
	}
}

// Secret files (*_FILE) are small regular files: /dev/zero (it filled
// memory until the process died), a FIFO (it blocked, deaf to SIGTERM), a
// directory and a 200 MB key are refused at once, exit 78, naming the
// variable and the file and quoting nothing of the contents.
func TestReliability_Security_SecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "link-key")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(200 << 20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	cfg := writeConfig(t, configYAML("", "outbox: "+t.TempDir()+"\n", []string{"a@example.com"}))
	// Four files in turn: each may take a quarter of what is left.
	within := testsupport.Patience(t) / 4
	for _, tc := range []struct{ variable, file string }{
		{"SAMETEAM_SMTP_PASSWORD_FILE", "/dev/zero"},
		{"SAMETEAM_SMTP_PASSWORD_FILE", fifo},
		{"SAMETEAM_HTTP_TOKEN_FILE", dir},
		{"SAMETEAM_LINK_KEY_FILE", big},
	} {
		t.Run(tc.variable+"="+filepath.Base(tc.file), func(t *testing.T) {
			vars := map[string]string{"SAMETEAM_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "x.db"), tc.variable: tc.file}
			done := make(chan result, 1)
			go func() { done <- cli(t, vars, "check", "--config", cfg) }()
			var res result
			select {
			case res = <-done:
			case <-time.After(within):
				t.Fatalf("check still reading %s after %s", tc.file, within)
			}
			if res.code != ExitConfig || !strings.Contains(res.stdout+res.stderr, tc.variable) || !strings.Contains(res.stdout+res.stderr, tc.file) {
				t.Errorf("exit %d, want %d naming %s and %s\n%s", res.code, ExitConfig, tc.variable, tc.file, res)
			}
			if strings.Contains(res.stdout+res.stderr, "\x00") {
				t.Errorf("the output quotes the file's contents:\n%q", res.stdout+res.stderr)
			}
			t.Logf("%s", res)
		})
	}
}
