package pipeline_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/templates"
)

// BenchmarkPersonalMessage makes one rep's message of the golden week:
// their slice of the snapshot, the digest (HTML and text) and the
// workbook, what a personal run does per recipient.
func BenchmarkPersonalMessage(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "w47-madrid.json"))
	if err != nil {
		b.Fatal(err)
	}
	var s metrics.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		b.Fatal(err)
	}
	loc, _ := time.LoadLocation(s.Period.TimeZone)
	if s.Span, err = period.Parse(s.Period.Label, loc); err != nil {
		b.Fatal(err)
	}
	d, err := digest.New(templates.FS)
	if err != nil {
		b.Fatal(err)
	}
	r := &pipeline.Renderer{Digests: d, Currency: "EUR"}
	build := &pipeline.Build{Report: pipeline.Report{Name: "daily-rep", Audience: report.AudienceRep, Locale: "es"}, Snapshot: &s, Made: s.AsOf.Time()}
	person := pipeline.Person{ID: "u002", Recipient: pipeline.Recipient{Email: "rep2@example.com", Name: "Elena García"}}
	b.ReportAllocs()
	for b.Loop() {
		sl, err := build.Slice(person)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.PersonalDigest(build, sl, "es", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := r.PersonalWorkbook(build, sl, "es"); err != nil {
			b.Fatal(err)
		}
	}
}
