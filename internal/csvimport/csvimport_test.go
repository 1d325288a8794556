package csvimport_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		{"past year 9999 in UTC", "opportunities.csv", func(s string) string {
			return strings.Replace(s, "2026-11-11T17:00:28Z", "9999-12-31T23:59:59-05:00", 1)
		}, `opportunities.csv:2: closed_at: "9999-12-31T23:59:59-05:00": timestamp out of range`},
		{"the zero instant", "opportunities.csv", func(s string) string {
			return strings.Replace(s, "2026-11-11T17:00:28Z", "0001-01-01T00:00:00Z", 1)
		}, `opportunities.csv:2: closed_at: "0001-01-01T00:00:00Z": timestamp out of range`},
		{"before year 1 in UTC", "leads.csv", func(s string) string {
			return strings.Replace(s, "L00001,2026-10-19T00:39:54Z", "L00001,0001-01-01T00:30:00+01:00", 1)
		}, `leads.csv:2: created_at: "0001-01-01T00:30:00+01:00": timestamp out of range`},
		{"offset beyond 15:59", "activities.csv", func(s string) string {
			return strings.Replace(s, "a000002,2026-10-28T21:51:43Z", "a000002,2026-10-28T21:51:43+16:00", 1)
		}, `activities.csv:3: occurred_at: "2026-10-28T21:51:43+16:00": timestamp out of range: the UTC offset is beyond ±15:59`},
		{"negative offset beyond 15:59", "activities.csv", func(s string) string {
			return strings.Replace(s, "a000002,2026-10-28T21:51:43Z", "a000002,2026-10-28T21:51:43-23:59", 1)
		}, `activities.csv:3: occurred_at: "2026-10-28T21:51:43-23:59": timestamp out of range`},
		{"id of spaces", "leads.csv", func(s string) string {
			return strings.Replace(s, "L00001,2026-10-19T00:39:54Z", "   ,2026-10-19T00:39:54Z", 1)
		}, `leads.csv:2: id: "   ": an id must not start or end with spaces`},
		{"id with a trailing space", "team_members.csv", func(s string) string {
			return s + "u001 ,Otra Persona,x@example.com,sales,true\n"
		}, `team_members.csv:13: id: "u001 ": an id must not start or end with spaces`},
		{"reference with a trailing space", "activities.csv", func(s string) string {
			return strings.Replace(s, "a000002,2026-10-28T21:51:43Z,marketing,m003,content_download,L00004", "a000002,2026-10-28T21:51:43Z,marketing,m003,content_download,L00004 ", 1)
		}, `activities.csv:3: lead_id: "L00004 ": an id must not start or end with spaces`},
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

// openEmpty opens url with the contract tables and nothing in them.
func openEmpty(t *testing.T, url string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := source.CreateContract(ctx, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// What only the database finds, its primary key, is refused with the file,
// the line and the key on both engines (a COPY's errors came at its end
// with no line, an SQLite batch fails whole), and nothing is loaded.
func TestDuplicateIDsAreRefusedWithBothLines(t *testing.T) {
	tests := []struct {
		file string
		edit func(string) string
		want string
	}{
		{"team_members.csv", func(s string) string { return s + "u001,Otra Persona,x@example.com,sales,true\n" },
			`team_members.csv:13: id: duplicate id "u001" (first on line 2)`},
		{"activities.csv", func(s string) string {
			return s + "a000003,2026-11-11T14:46:43Z,sales,u002,demo,L00004,,\n"
		}, `activities.csv:1206: id: duplicate id "a000003" (first on line 4)`},
	}
	testdb.Engines(t, func(t *testing.T, url string) {
		for _, tc := range tests {
			d := openEmpty(t, url)
			ctx := context.Background()
			l, err := source.NewLoader(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			_, err = csvimport.Load(ctx, copyGolden(t, tc.file, tc.edit), l)
			l.Rollback()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %q", err, tc.want)
			}
			var n int
			if err := d.GetContext(ctx, &n, "SELECT count(*) FROM team_members"); err != nil || n != 0 {
				t.Errorf("team_members has %d rows after a refused import (%v)", n, err)
			}
			// The next table of a fresh load: the same fresh schema again.
			if _, err := d.ExecContext(ctx, "DELETE FROM team_members"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Digits beyond the microsecond are dropped, the same on both engines
// (PostgreSQL rounded them, SQLite truncated: a response time differed).
func TestSubMicrosecondDigitsAreTruncatedOnBothEngines(t *testing.T) {
	dir := copyGolden(t, "activities.csv", func(s string) string {
		return strings.Replace(s, "a000002,2026-10-28T21:51:43Z", "a000002,2026-10-28T21:51:43.1234567Z", 1)
	})
	testdb.Engines(t, func(t *testing.T, url string) {
		d := openEmpty(t, url)
		ctx := context.Background()
		l, err := source.NewLoader(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Rollback()
		if _, err := csvimport.Load(ctx, dir, l); err != nil {
			t.Fatal(err)
		}
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
		var got db.NullTime
		if err := d.GetContext(ctx, &got, d.Rebind("SELECT occurred_at FROM activities WHERE id = ?"), "a000002"); err != nil {
			t.Fatal(err)
		}
		if want := "2026-10-28T21:51:43.123456Z"; got.UTC().Format(time.RFC3339Nano) != want {
			t.Errorf("stored %s, want %s", got.UTC().Format(time.RFC3339Nano), want)
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
