package workbook

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/goldentest"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/testsupport"
	"github.com/sameteam/sameteam/internal/workhours"
)

const goldenDir = testsupport.GoldenDir

// goldenCase is one entry of testdata/golden/cases.json.
type goldenCase struct {
	Name      string  `json:"name"`
	Period    string  `json:"period"`
	TimeZone  string  `json:"time_zone"`
	AsOf      string  `json:"as_of"`
	SLAHours  float64 `json:"sla_hours"`
	MQLTarget *int    `json:"mql_target"`
}

func goldenCases(tb testing.TB) []goldenCase {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "cases.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var cs []goldenCase
	if err := json.Unmarshal(b, &cs); err != nil {
		tb.Fatal(err)
	}
	return cs
}

// golden returns the snapshot of a golden case, as the metrics engine
// would hand it over, and its JSON as generic values for tie-outs. Detail
// is computed from the golden CSV data by the metrics engine itself (only
// the facts the detail needs are loaded), so it is the real per-MQL list.
func golden(tb testing.TB, name string) (*metrics.Snapshot, map[string]any) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(goldenDir, name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var s metrics.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatal(err)
	}
	loc, err := time.LoadLocation(s.Period.TimeZone)
	if err != nil {
		tb.Fatal(err)
	}
	if s.Span, err = period.Parse(s.Period.Label, loc); err != nil {
		tb.Fatal(err)
	}
	var c *goldenCase
	for _, gc := range goldenCases(tb) {
		if gc.Name == name {
			c = &gc
		}
	}
	if c == nil {
		tb.Fatalf("no golden case %s", name)
	}
	in := metrics.Input{Period: s.Span, AsOf: s.AsOf.Time(), SLAHours: c.SLAHours, MQLTarget: c.MQLTarget,
		Calendar: goldenCalendar(tb, name)}
	s.Detail = metrics.Compute(in, detailFacts(tb, in.AsOf)).Detail
	return &s, doc
}

// goldenCalendar is the working calendar of a golden case, or nil.
func goldenCalendar(tb testing.TB, name string) *workhours.Calendar {
	tb.Helper()
	for _, c := range goldentest.Cases(tb, goldenDir) {
		if c.Name == name {
			return c.WorkCalendar(tb, goldenDir)
		}
	}
	tb.Fatalf("no golden case %s", name)
	return nil
}

// detailFacts loads the facts the engine needs for the MQL detail: members,
// campaigns, MQL leads and first touches.
func detailFacts(tb testing.TB, asOf time.Time) *metrics.Facts {
	tb.Helper()
	var f metrics.Facts
	for _, r := range readCSV(tb, "team_members") {
		f.Members = append(f.Members, metrics.Member{ID: r["id"], Name: r["name"], Team: r["team"], Active: r["active"] == "true"})
	}
	for _, r := range readCSV(tb, "campaigns") {
		f.Campaigns = append(f.Campaigns, metrics.Campaign{ID: r["id"], Name: r["name"], Channel: r["channel"]})
	}
	ts := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			tb.Fatal(err)
		}
		return t
	}
	mqlAt := map[string]time.Time{}
	for _, r := range readCSV(tb, "leads") {
		l := metrics.Lead{
			ID: r["id"], CreatedAt: ts(r["created_at"]), Source: r["source"], CampaignID: r["campaign_id"],
			OwnerID: r["owner_id"], MQLAt: ts(r["mql_at"]), AcceptedAt: ts(r["accepted_at"]),
			RejectedAt: ts(r["rejected_at"]), RejectionReason: r["rejection_reason"], SQLAt: ts(r["sql_at"]),
		}
		if !l.MQLAt.IsZero() && !l.MQLAt.After(asOf) {
			f.MQLs = append(f.MQLs, l)
			mqlAt[l.ID] = l.MQLAt
		}
	}
	first := map[[2]string]time.Time{}
	for _, r := range readCSV(tb, "activities") {
		m, ok := mqlAt[r["lead_id"]]
		at := ts(r["occurred_at"])
		if !ok || at.Before(m) || at.After(asOf) {
			continue
		}
		k := [2]string{r["lead_id"], r["team"]}
		if cur, ok := first[k]; !ok || at.Before(cur) {
			first[k] = at
		}
	}
	for k, at := range first {
		f.FirstTouches = append(f.FirstTouches, metrics.Touch{Ref: k[0], Team: k[1], At: at})
	}
	return &f
}

func readCSV(tb testing.TB, name string) []map[string]string {
	tb.Helper()
	fh, err := os.Open(filepath.Join(goldenDir, "data", name+".csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// write writes s with opts and returns the bytes.
func write(tb testing.TB, s *metrics.Snapshot, opts Options) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if opts.TmpDir == "" {
		opts.TmpDir = tb.TempDir()
	}
	if err := Write(&buf, s, opts); err != nil {
		tb.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// open reopens workbook bytes the way a reader would.
func open(tb testing.TB, b []byte) *excelize.File {
	tb.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("OpenReader: %v", err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// rawRows returns a sheet's rows with unformatted values.
func rawRows(tb testing.TB, f *excelize.File, sheet string) [][]string {
	tb.Helper()
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		tb.Fatalf("GetRows(%q): %v", sheet, err)
	}
	return rows
}

// cell returns row[i] or "" past the end (GetRows trims trailing empties).
func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

// mustVocabulary is the workbook's words for a tag the test names.
func mustVocabulary(tb testing.TB, tag string) *words {
	tb.Helper()
	w, err := vocabulary(tag)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}
