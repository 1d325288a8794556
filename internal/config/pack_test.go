package config

import (
	"os"
	"strings"
	"testing"
)

// The source pack documented (commented out) in example.yaml is valid as
// written, and a pack points the source at its views.
func TestExamplePackParses(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../config/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "  # views_schema:") {
			in = true
		}
		if in {
			if !strings.HasPrefix(l, "  # ") {
				break
			}
			l = "  " + strings.TrimPrefix(l, "  # ")
			if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
				continue
			}
			lines = append(lines, l)
		}
	}
	if len(lines) < 10 {
		t.Fatalf("no pack block in example.yaml: %q", lines)
	}
	yml := "source:\n  url: postgres://db/crm\n" + strings.Join(lines, "\n") + "\n"
	cfg, err := Parse("pack.yaml", []byte(yml), env(nil))
	if err != nil {
		// The example lists both packs' activity keys; HubSpot's are refused
		// for Salesforce, and the message must say so with the path.
		if !strings.Contains(err.Error(), "source.pack.mapping.activities: engagement_types, email_events and form_submissions are HubSpot settings") {
			t.Fatalf("%v\n%s", err, yml)
		}
		yml = strings.NewReplacer("engagement_types:", "# ", "email_events:", "# ", "form_submissions:", "# ").Replace(yml)
		if cfg, err = Parse("pack.yaml", []byte(yml), env(nil)); err != nil {
			t.Fatalf("%v\n%s", err, yml)
		}
	}
	if cfg.Source.Tables["leads"] != "sameteam.leads" || cfg.Source.Pack.Mapping.Activities.TaskTime != "created_date" {
		t.Errorf("pack not applied: %+v %+v", cfg.Source.Tables, cfg.Source.Pack.Mapping)
	}
}
