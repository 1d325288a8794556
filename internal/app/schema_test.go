package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sameteam/sameteam/internal/testdb"
)

// A mapping onto a relation that does not exist is a configuration error
// (78), not an outage to retry (75), on both engines.
func TestMissingRelationIsAConfigError(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, url string) {
		importGolden(t, url)
		cfg := filepath.Join(t.TempDir(), "c.yaml")
		yml := "source: {url: \"${SAMETEAM_DATABASE_URL}\", tables: {leads: no_such_leads}}\noutbox: " + t.TempDir() + "\n" +
			"reports:\n  - {name: weekly-sales, audience: sales, recipients: [a@example.com]}\n"
		if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
		for _, args := range [][]string{
			{"run", "--config", cfg, "--report", "weekly-sales", "--period", "2026-W47"},
			{"metrics", "--config", cfg, "--period", "2026-W47"},
		} {
			if r := cli(t, vars, args...); r.code != ExitConfig {
				t.Errorf("%s: %s", args[0], r)
			}
		}
	})
}
