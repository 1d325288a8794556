package source_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/csvimport"
	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/goldentest"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/source"
	"github.com/sameteam/sameteam/internal/testdb"
)

// importDir creates the contract tables in a fresh database and imports
// the CSV files of dir.
func importDir(t *testing.T, url, dir string) *db.DB {
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
	return d
}

// w47 is the golden week's snapshot as the source reads it.
func w47(t *testing.T, src *source.Source) *metrics.Snapshot {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Madrid")
	p, err := period.Parse("2026-W47", loc)
	if err != nil {
		t.Fatal(err)
	}
	target := 30
	in := metrics.Input{Period: p, AsOf: time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC), SLAHours: 24, MQLTarget: &target}
	facts, err := src.Load(context.Background(), metrics.Plan(in))
	if err != nil {
		t.Fatal(err)
	}
	return metrics.Compute(in, facts)
}

func sameAsGolden(t *testing.T, s *metrics.Snapshot) {
	t.Helper()
	got, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(goldenDir, "w47-madrid.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, diff := range goldentest.Diff(want, got) {
		t.Error(diff)
	}
}

// The optional columns leads.name, leads.company and campaigns.owner_id are
// read where the source has them and change no number; a source without
// them (views of the contract's columns alone, as a company's own mapping
// may be) gives the same snapshot, with the names left empty.
func TestOptionalColumns(t *testing.T) {
	dir := goldentest.WithOptionalColumns(t, goldenDir)
	testdb.Engines(t, func(t *testing.T, url string) {
		ctx := context.Background()
		d := importDir(t, url, dir)

		src, err := source.New(d, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		found, err := src.OptionalColumns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"campaigns.owner_id", "leads.name", "leads.company"}; !slices.Equal(found, want) {
			t.Errorf("optional columns found: %v, want %v", found, want)
		}
		s := w47(t, src)
		sameAsGolden(t, s)
		if len(s.Detail) == 0 || len(s.FollowupBacklog) == 0 {
			t.Fatal("the golden week has MQLs and a backlog")
		}
		for _, r := range s.Detail {
			if r.Name == "" || r.Company == "" {
				t.Errorf("MQL %s: name %q, company %q: want both from the source", r.LeadID, r.Name, r.Company)
			}
		}
		for _, b := range s.FollowupBacklog {
			if b.Name == "" || b.Company == "" {
				t.Errorf("backlog lead %s: name %q, company %q: want both from the source", b.LeadID, b.Name, b.Company)
			}
		}
		for _, c := range s.ByCampaign {
			if c.OwnerID != goldentest.CampaignOwners[c.CampaignID] {
				t.Errorf("campaign %s: owner %q, want %q", c.CampaignID, c.OwnerID, goldentest.CampaignOwners[c.CampaignID])
			}
		}

		// The same data seen through views without the optional columns.
		for _, rel := range source.Contract {
			cols := ""
			for i, c := range rel.Columns {
				if i > 0 {
					cols += ", "
				}
				cols += c.Name
			}
			if _, err := d.ExecContext(ctx, "CREATE VIEW v_"+rel.Name+" AS SELECT "+cols+" FROM "+rel.Name); err != nil {
				t.Fatal(err)
			}
		}
		bare, err := source.New(d, source.Options{Tables: map[string]string{"team_members": "v_team_members",
			"campaigns": "v_campaigns", "leads": "v_leads", "activities": "v_activities", "opportunities": "v_opportunities"}})
		if err != nil {
			t.Fatal(err)
		}
		if found, err := bare.OptionalColumns(ctx); err != nil || len(found) != 0 {
			t.Errorf("optional columns of the views: %v, %v; want none", found, err)
		}
		s = w47(t, bare)
		sameAsGolden(t, s)
		for _, r := range s.Detail {
			if r.Name != "" || r.Company != "" {
				t.Errorf("MQL %s has name %q and company %q from a source without them", r.LeadID, r.Name, r.Company)
			}
		}
	})
}

// init-db on tables an earlier release created adds the optional columns
// (and keeps the rows), so that import can load files that carry them.
func TestCreateContractAddsOptionalColumns(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, url string) {
		ctx := context.Background()
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.ExecContext(ctx, `CREATE TABLE leads (id text PRIMARY KEY, created_at text NOT NULL, source text NOT NULL,
			campaign_id text, owner_id text, mql_at text, accepted_at text, rejected_at text, rejection_reason text, sql_at text)`); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `INSERT INTO leads (id, created_at, source) VALUES ('L1', '2026-11-23T07:00:00.000000Z', 'sales')`); err != nil {
			t.Fatal(err)
		}
		for range 2 { // idempotent
			if err := source.CreateContract(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT count(*) FROM leads WHERE name IS NULL AND company IS NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d rows with the new columns empty, want the one row kept", n)
		}
		if _, err := d.ExecContext(ctx, `SELECT owner_id FROM campaigns`); err != nil {
			t.Errorf("campaigns.owner_id: %v", err)
		}
	})
}
