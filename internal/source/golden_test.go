package source_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/goldentest"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/source"
	"github.com/sameteam/sameteam/internal/testdb"
	"github.com/sameteam/sameteam/internal/testsupport"
)

const goldenDir = testsupport.GoldenDir

// load creates the contract tables in a fresh database and imports the
// golden data set into it.
func load(t *testing.T, url string) *db.DB {
	t.Helper()
	return importDir(t, url, filepath.Join(goldenDir, "data"))
}

// Every case of the golden set gives its JSON file, on both engines.
func TestGoldenSnapshots(t *testing.T) {
	cases := goldentest.Cases(t, goldenDir)
	testdb.Engines(t, func(t *testing.T, url string) {
		d := load(t, url)
		src, err := source.New(d, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				loc, err := time.LoadLocation(c.TimeZone)
				if err != nil {
					t.Fatal(err)
				}
				p, err := period.Parse(c.Period, loc)
				if err != nil {
					t.Fatal(err)
				}
				in := metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget, Calendar: c.WorkCalendar(t, goldenDir)}
				facts, err := src.Load(context.Background(), metrics.Plan(in))
				if err != nil {
					t.Fatal(err)
				}
				got, err := json.Marshal(metrics.Compute(in, facts))
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(filepath.Join(goldenDir, c.Name+".json"))
				if err != nil {
					t.Fatal(err)
				}
				for _, diff := range goldentest.Diff(want, got) {
					t.Error(diff)
				}
			})
		}
	})
}
