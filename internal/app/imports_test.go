package app

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Imports point one way: cmd → app → the steps → metrics/period/workhours/quantile. The pure
// packages import nothing of the project's but each other, no step imports
// the composition root or the pipeline, and only cmd imports app.
func TestImportDirection(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "github.com/sameteam/sameteam/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/sameteam/sameteam/"
	allowed := map[string][]string{
		"internal/period":    {},
		"internal/workhours": {},
		"internal/quantile":  {},
		"internal/metrics":   {"internal/period", "internal/workhours", "internal/quantile"},
		"internal/secret":    {},
		"internal/report":    {},
	}
	forbidden := []string{"internal/app", "internal/pipeline"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		pkg = strings.TrimPrefix(pkg, mod)
		for _, imp := range strings.Fields(imports) {
			if !strings.HasPrefix(imp, mod) {
				// Pure packages stay on the standard library.
				if _, pure := allowed[pkg]; pure && strings.Contains(strings.Split(imp, "/")[0], ".") {
					t.Errorf("%s imports %s: it must stay pure (standard library only)", pkg, imp)
				}
				continue
			}
			imp = strings.TrimPrefix(imp, mod)
			if list, pure := allowed[pkg]; pure && !slices.Contains(list, imp) {
				t.Errorf("%s imports %s", pkg, imp)
			}
			if imp == "internal/app" && pkg != "cmd/sameteam" {
				t.Errorf("%s imports the composition root", pkg)
			}
			if slices.Contains(forbidden, imp) && pkg != "cmd/sameteam" && pkg != "internal/app" {
				t.Errorf("%s imports %s: steps never import the layers above them", pkg, imp)
			}
		}
	}
}
