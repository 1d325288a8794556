package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/goldentest"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

const goldenDir = testsupport.GoldenDir

// run runs a command line with the environment vars and returns its output.
func run(t *testing.T, vars map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), Env{
		Args:   args,
		Stdout: &out,
		Stderr: &errOut,
		Getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
	})
	return out.String(), errOut.String(), err
}

// calendarsConfig writes a configuration holding every golden working
// calendar under calendars: (a calendar file is JSON, which is YAML, less
// its name key) and returns its path.
func calendarsConfig(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, "calendars", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden calendars: %v", err)
	}
	var b strings.Builder
	b.WriteString("calendars:\n")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		var cal map[string]any
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &cal); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		delete(cal, "name")
		j, _ := json.Marshal(cal)
		fmt.Fprintf(&b, "  %s: %s\n", name, j)
	}
	path := filepath.Join(t.TempDir(), "sameteam.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The contract's own check, as a user would do it: init-db, import the
// golden data, then `metrics --format json` for every case, on both
// engines, with the case's working calendar from the configuration.
func TestMetricsCommandGivesTheGoldenFiles(t *testing.T) {
	cases := goldentest.Cases(t, goldenDir)
	cfg := calendarsConfig(t)
	testdb.Engines(t, func(t *testing.T, url string) {
		vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
		if _, stderr, err := run(t, vars, "init-db"); err != nil {
			t.Fatalf("init-db: %v\n%s", err, stderr)
		}
		if _, stderr, err := run(t, vars, "import", "--dir", filepath.Join(goldenDir, "data")); err != nil {
			t.Fatalf("import: %v\n%s", err, stderr)
		}
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				args := []string{"metrics", "--config", cfg, "--format", "json", "--period", c.Period, "--time-zone", c.TimeZone,
					"--as-of", c.AsOf.Format("2006-01-02T15:04:05Z07:00"), "--sla-hours", fmt.Sprint(c.SLAHours)}
				if c.Calendar != nil {
					args = append(args, "--sla-calendar", *c.Calendar)
				}
				if c.MQLTarget != nil {
					args = append(args, "--mql-target", fmt.Sprint(*c.MQLTarget))
				}
				out, stderr, err := run(t, vars, args...)
				if err != nil {
					t.Fatalf("%v\n%s", err, stderr)
				}
				want, err := os.ReadFile(filepath.Join(goldenDir, c.Name+".json"))
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range goldentest.Diff(want, []byte(out)) {
					t.Error(d)
				}
			})
		}
	})
}

// The project's copy of the golden set is the shared one, when the shared
// one is beside the repository.
func TestGoldenCopyIsCurrent(t *testing.T) {
	shared := "../../../shared/golden"
	if _, err := os.Stat(shared); err != nil {
		t.Skip("no ../shared/golden beside the repository")
	}
	err := filepath.WalkDir(shared, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(shared, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join(goldenDir, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("testdata/golden/%s differs from ../shared/golden (copy it again)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	url := testdb.SQLiteURL(t)
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad zone", []string{"metrics", "--period", "2026-W47", "--time-zone", "Europe/Madird"}, ExitUsage, `"Europe/Madird" is not an IANA time zone`},
		{"week 54", []string{"metrics", "--period", "2026-W54", "--time-zone", "UTC"}, ExitUsage, "ISO year 2026 has no week 54"},
		{"month 13", []string{"metrics", "--period", "2026-13", "--time-zone", "UTC"}, ExitUsage, "month must be 01 to 12"},
		{"unknown command", []string{"metricz"}, ExitUsage, `unknown command "metricz"`},
		{"unknown flag", []string{"metrics", "--perod", "x"}, ExitUsage, "perod"},
		{"import without dir", []string{"import"}, ExitUsage, "--dir is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, vars, tc.args...)
			var msg strings.Builder
			code := ExitCode(err, &msg)
			if code != tc.code || !strings.Contains(msg.String(), tc.want) {
				t.Errorf("exit %d %q, want %d and %q", code, msg.String(), tc.code, tc.want)
			}
		})
	}
	if _, err := os.Stat(strings.TrimPrefix(url, "sqlite:")); err == nil {
		t.Error("a refused command created the database")
	}
}

func TestUnknownConfigKeyExits78(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("source: {url: sqlite:x.db}\nsla_hourz: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, nil, "metrics", "--config", cfg)
	var msg strings.Builder
	if code := ExitCode(err, &msg); code != ExitConfig || !strings.Contains(msg.String(), "sla_hourz: unknown key") {
		t.Errorf("exit %d: %s", code, msg.String())
	}
}
