package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(vars map[string]string) Env {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestParseExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../config/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("example.yaml", b, env(map[string]string{
		"SAMETEAM_DATABASE_URL":  "postgres://sameteam:pw@db:5432/crm",
		"SAMETEAM_SMTP_PASSWORD": "smtp-secret",
		"SAMETEAM_HTTP_TOKEN":    "token-token",
		"SAMETEAM_LINK_KEY":      strings.Repeat("k", 32),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Reports) == 0 || cfg.SMTP.Password != "smtp-secret" || cfg.Source.URL == "" {
		t.Errorf("example not loaded: %+v", cfg)
	}
}

// Every problem is reported at once, each with its path.
func TestProblemsHavePaths(t *testing.T) {
	t.Parallel()
	yml := `
time_zone: Europe/Madird
locale: fr
sla_hours: -1
smtp: {host: smtp.example.com, tls: maybe, from: "not an address"}
reports:
  - {name: weekly-sales, audience: sales, period: week, schedule: "0 8 * * MON"}
  - {name: Weekly Sales, audience: finance, period: fortnight, schedule: "61 8 * * MON",
     recipients: [ok@example.com, nobody, {email: x@example.com, locale: de}], recipients_from: "team:finance"}
`
	_, err := Parse("bad.yaml", []byte(yml), env(nil))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	// Each problem found after decoding says its line too: the setting's,
	// or for a setting left out, that of the mapping it belongs in.
	for _, want := range []string{
		"line 2: time_zone:", "line 3: locale:", "line 4: sla_hours:", "line 5: smtp.tls:", "line 5: smtp.from:",
		"line 8: reports[1].name:", "line 8: reports[1].audience:", "line 8: reports[1].period:", "line 8: reports[1].schedule:",
		"line 9: reports[1].recipients[1]:", "line 9: reports[1].recipients[2].locale:", "line 9: reports[1].recipients_from:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "reports[0]") {
		t.Errorf("the valid report is blamed:\n%v", err)
	}
}

// A required key left out is placed at the line of its mapping.
func TestProblemOfAMissingKeyHasTheLineOfItsMapping(t *testing.T) {
	t.Parallel()
	yml := "locale: es\nsmtp:\n  host: smtp.example.com\n"
	_, err := Parse("missing.yaml", []byte(yml), env(nil))
	if err == nil || !strings.Contains(err.Error(), "line 2: smtp.from: required") {
		t.Errorf("want the line of smtp for smtp.from, got:\n%v", err)
	}
}

func TestUnknownKeysAreNamed(t *testing.T) {
	t.Parallel()
	yml := "sla_hour: 24\nsmtp:\n  hots: x\nreports:\n  - name: a\n    audience: sales\n    schedulee: x\n"
	_, err := Parse("typo.yaml", []byte(yml), env(nil))
	if err == nil {
		t.Fatal("unknown keys accepted")
	}
	for _, want := range []string{"line 1: sla_hour: unknown key", "line 3: smtp.hots: unknown key", "line 7: reports[0].schedulee: unknown key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yml := "source: {url: \"${DB_URL}\"}\nsmtp: {host: \"${SMTP_HOST:-mail.example.com}\", from: a@example.com, password: \"x: y\"}\n"
	cfg, err := Parse("env.yaml", []byte(yml), env(map[string]string{
		"DB_URL":                      "sqlite:x.db",
		"SAMETEAM_SMTP_PASSWORD_FILE": pwFile,
		"SAMETEAM_SMTP_PORT":          "2525",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source.URL != "sqlite:x.db" || cfg.SMTP.Host != "mail.example.com" || cfg.SMTP.Password != "from-file" || cfg.SMTP.Port != 2525 {
		t.Errorf("got %+v %+v", cfg.Source, cfg.SMTP)
	}
	_, err = Parse("env.yaml", []byte("source: {url: \"${MISSING}\"}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "source.url: environment variable MISSING is not set") {
		t.Errorf("unset variable: %v", err)
	}
}

// A value from the environment cannot inject YAML structure.
func TestEnvValuesStayValues(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("inj.yaml", []byte("source: {url: \"${V}\"}\n"), env(map[string]string{"V": "sqlite:a\nreports: []\nlocale: xx"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Locale != "es" || !strings.Contains(cfg.Source.URL, "locale: xx") {
		t.Errorf("expansion changed the structure: %+v", cfg)
	}
}

// No file at all: SAMETEAM_DATABASE_URL is enough, and the three weekly
// reports stand in.
func TestNoFile(t *testing.T) {
	t.Parallel()
	cfg, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), false, env(map[string]string{"SAMETEAM_DATABASE_URL": "sqlite:x.db"}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.BuiltinReports || len(cfg.Reports) != 3 || cfg.Source.URL != "sqlite:x.db" || cfg.Reports[1].TimeZone != "UTC" {
		t.Errorf("got %+v", cfg)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), true, env(nil)); err == nil {
		t.Error("an explicit --config that does not exist must fail")
	}
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.Source.URL = "postgres://u:s3cr%40t@h/db"
	cfg.SMTP.Password = "smtp-pass"
	r := NewRedactor(cfg)
	got := r.Redact("dial postgres://u:s3cr%40t@h/db failed; auth smtp-pass; s3cr@t")
	for _, leak := range []string{"s3cr", "smtp-pass"} {
		if strings.Contains(got, leak) {
			t.Errorf("leaked %q: %s", leak, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("time_zone: Europe/Madrid\nreports:\n  - {name: a, audience: sales, schedule: \"0 8 * * MON\"}\n"))
	f.Add([]byte("smtp: {host: x, from: a@b.co}\n"))
	f.Add([]byte("reports: [1, 2]\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse("fuzz.yaml", b, env(nil))
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error that is not ErrInvalid: %v", err)
		}
	})
}

// A secret expanded into a key of the wrong type is not quoted back.
func TestSecretInWrongTypedKeyIsNotQuoted(t *testing.T) {
	t.Parallel()
	_, err := Parse("s.yaml", []byte("smtp: {port: \"${SAMETEAM_SMTP_PASSWORD}\"}\n"), env(map[string]string{"SAMETEAM_SMTP_PASSWORD": "hunter2-very-secret"}))
	if err == nil {
		t.Fatal("a password as a port was accepted")
	}
	if strings.Contains(err.Error(), "hunter") {
		t.Errorf("the secret leaks: %v", err)
	}
}

func TestRecipientsOutsideAllowedDomains(t *testing.T) {
	t.Parallel()
	yml := "allowed_domains: [example.com]\nreports:\n  - {name: a, audience: sales, recipients: [ok@Example.com, leak@evil.example]}\n"
	_, err := Parse("d.yaml", []byte(yml), env(nil))
	if err == nil || !strings.Contains(err.Error(), `reports[0].recipients[1]: "leak@evil.example" is outside allowed_domains`) || strings.Contains(err.Error(), "recipients[0]") {
		t.Errorf("got %v", err)
	}
}
