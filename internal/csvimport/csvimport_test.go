package csvimport_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/csvimport"
	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/source"
	"github.com/sameteam/sameteam/internal/testdb"
)

const golden = "../../testdata/golden/data"

// copyGolden copies the golden data set to a temporary folder and applies
// edit to one of its files.
func copyGolden(t *testing.T, file string, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	for _, rel := range source.Contract {
		b, err := os.ReadFile(filepath.Join(golden, rel.Name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if rel.Name+".csv" == file {
			s = edit(s)
		}
		if err := os.WriteFile(filepath.Join(dir, rel.Name+".csv"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBadFilesAreRefusedWithTheirPlace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		edit func(string) string
		want string
	}{
		{"missing column", "leads.csv", func(s string) string {
			return strings.Replace(s, ",sql_at", "", 1)
		}, `leads.csv:1: column "sql_at": missing`},
		{"unknown column", "campaigns.csv", func(s string) string {
			return strings.Replace(s, "id,name,channel,cost", "id,name,channel,cost,budget", 1)
		}, `campaigns.csv:1: column "budget": unknown`},
		{"malformed timestamp", "activities.csv", func(s string) string {
			return strings.Replace(s, "a000002,2026-10-28T21:51:43Z", "a000002,2026-10-28 21:51", 1)
		}, `activities.csv:3: occurred_at: "2026-10-28 21:51" is not an RFC 3339 timestamp`},
		{"malformed number", "opportunities.csv", func(s string) string {
			return strings.Replace(s, "30000.00", `"30.000,00"`, 1)
		}, `opportunities.csv:2: amount: "30.000,00" is not a decimal number`},
		{"duplicate id", "team_members.csv", func(s string) string {
			return s + "u001,Otra Persona,x@example.com,sales,true\n"
		}, `team_members.csv:13: id: duplicate id "u001" (first on line 2)`},
		{"bad boolean", "team_members.csv", func(s string) string {
			return strings.Replace(s, "rep1@example.com,sales,true", "rep1@example.com,sales,yes", 1)
		}, `team_members.csv:2: active: "yes" is not true or false`},
		{"required empty", "leads.csv", func(s string) string {
			return strings.Replace(s, "L00001,2026-10-19T00:39:54Z", "L00001,", 1)
		}, `leads.csv:2: created_at: required, but empty`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copyGolden(t, tc.file, tc.edit)
			_, err := csvimport.Check(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}

// A bad file leaves nothing of the import behind, on both engines, even
// when the other four files were fine.
func TestBadImportLoadsNothing(t *testing.T) {
	dir := copyGolden(t, "opportunities.csv", func(s string) string { return s + "O99999,not-a-time,,,,,,\n" })
	testdb.Engines(t, func(t *testing.T, url string) {
		ctx := context.Background()
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := source.CreateContract(ctx, d); err != nil {
			t.Fatal(err)
		}
		l, err := source.NewLoader(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		_, err = csvimport.Load(ctx, dir, l)
		l.Rollback()
		if err == nil || !strings.Contains(err.Error(), "opportunities.csv:57: created_at") {
			t.Fatalf("got %v", err)
		}
		for _, rel := range source.Contract {
			var n int
			if err := d.GetContext(ctx, &n, "SELECT count(*) FROM "+rel.Name); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s has %d rows after a refused import", rel.Name, n)
			}
		}
	})
}

// Importing into a database that already has the same ids fails as a whole.
func TestSecondImportOfTheSameIDsFails(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, url string) {
		ctx := context.Background()
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := source.CreateContract(ctx, d); err != nil {
			t.Fatal(err)
		}
		load := func() error {
			l, err := source.NewLoader(ctx, d)
			if err != nil {
				return err
			}
			defer l.Rollback()
			if _, err := csvimport.Load(ctx, golden, l); err != nil {
				return err
			}
			return l.Commit()
		}
		if err := load(); err != nil {
			t.Fatal(err)
		}
		if err := load(); err == nil {
			t.Fatal("a second import of the same ids succeeded")
		}
		var n int
		if err := d.GetContext(ctx, &n, "SELECT count(*) FROM leads"); err != nil || n != 413 {
			t.Errorf("leads = %d (%v), want 413", n, err)
		}
	})
}

func FuzzCheck(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(golden, "campaigns.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add("id,name,channel,cost\nc1,\"x\"\"y\",,1e3\n")
	f.Add("id,name\n")
	f.Fuzz(func(t *testing.T, campaigns string) {
		dir := copyGolden(t, "campaigns.csv", func(string) string { return campaigns })
		counts, err := csvimport.Check(dir)
		if err == nil && counts["campaigns"] < 0 {
			t.Fatal("negative count")
		}
	})
}
