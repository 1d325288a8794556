package source_test

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/goldentest"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/source"
	"github.com/sameteam/sameteam/internal/testdb"
)

// collect reads a snapshot's MQL detail whole.
func collect(t *testing.T, s *metrics.Snapshot) ([]metrics.MQLRow, error) {
	t.Helper()
	var rows []metrics.MQLRow
	for r, err := range s.MQLDetail(context.Background()) {
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// A streamed MQL detail (read again from the snapshot, row by row) is the
// detail a held snapshot lists, for every golden case, on one connection
// and on connections that share the snapshot; and rows committed after
// the facts were read, before the detail is, do not show in it: the
// detail comes from the same snapshot as the numbers.
func TestStreamedDetailIsTheHeldDetailOfTheSameSnapshot(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	d := load(t, url)
	write := 0
	for _, parallel := range []int{1, 4} {
		src, err := source.New(d, source.Options{Parallel: parallel})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range goldentest.Cases(t, goldenDir) {
			t.Run(c.Name+"/parallel-"+strconv.Itoa(parallel), func(t *testing.T) {
				loc, _ := time.LoadLocation(c.TimeZone)
				p, err := period.Parse(c.Period, loc)
				if err != nil {
					t.Fatal(err)
				}
				in := metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget, Calendar: c.WorkCalendar(t, goldenDir)}
				held, err := src.Load(context.Background(), metrics.Plan(in))
				if err != nil {
					t.Fatal(err)
				}
				want := metrics.Compute(in, held)
				if want.DetailStreamed() || len(want.Detail) != want.Headline.MQLs {
					t.Fatalf("the held snapshot has %d rows (streamed %v)", len(want.Detail), want.DetailStreamed())
				}
				w := metrics.Plan(in)
				w.StreamDetail = true
				facts, err := src.Load(context.Background(), w)
				if err != nil {
					t.Fatal(err)
				}
				defer facts.Close()
				got := metrics.Compute(in, facts)
				if !got.DetailStreamed() || got.Detail != nil || got.DetailCount() != len(want.Detail) {
					t.Fatalf("streamed %v, %d held rows, count %d; want a stream of %d", got.DetailStreamed(), len(got.Detail), got.DetailCount(), len(want.Detail))
				}
				if len(want.Detail) == 0 {
					if rows, err := collect(t, got); err != nil || len(rows) != 0 {
						t.Fatalf("an empty period streams %d rows (%v)", len(rows), err)
					}
					return
				}
				// Committed between the facts and their detail: a new MQL
				// of the period and a changed owner.
				write++
				at := p.Start.Add(time.Hour).UTC().Format(time.RFC3339)
				for _, q := range []string{
					`INSERT INTO leads (id, created_at, source, owner_id, mql_at) VALUES ('L-AFTER-` + strconv.Itoa(write) + `', '` + at + `', 'marketing', 'u001', '` + at + `')`,
					`UPDATE leads SET owner_id = 'u-moved' WHERE id = '` + want.Detail[0].LeadID + `'`,
				} {
					if _, err := d.ExecContext(context.Background(), q); err != nil {
						t.Fatal(err)
					}
				}
				t.Cleanup(func() {
					d.ExecContext(context.Background(), `DELETE FROM leads WHERE id LIKE 'L-AFTER-%'`)
					d.ExecContext(context.Background(), `UPDATE leads SET owner_id = $1 WHERE id = $2`, want.Detail[0].OwnerID, want.Detail[0].LeadID)
				})
				for range 2 { // every read is a new read of the same snapshot
					rows, err := collect(t, got)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(rows, want.Detail) {
						t.Fatalf("the streamed detail differs from the held one: %d rows, want %d", len(rows), len(want.Detail))
					}
				}
				// Two reads at once in one goroutine (the later ones follow
				// the first through its spool): neither waits for the other.
				next1, stop1 := iter.Pull2(got.MQLDetail(context.Background()))
				next2, stop2 := iter.Pull2(got.MQLDetail(context.Background()))
				for i := range len(want.Detail) + 1 {
					r1, err1, ok1 := next1()
					r2, err2, ok2 := next2()
					if err1 != nil || err2 != nil {
						t.Fatalf("row %d read at once: %v, %v", i, err1, err2)
					}
					if i == len(want.Detail) {
						if ok1 || ok2 {
							t.Fatalf("reads at once yield more than %d rows", i)
						}
						break
					}
					if !ok1 || !ok2 || !reflect.DeepEqual(r1, want.Detail[i]) || !reflect.DeepEqual(r2, want.Detail[i]) {
						t.Fatalf("row %d read at once differs from the held one (%v, %v)", i, ok1, ok2)
					}
				}
				stop1()
				stop2()
				facts.Close()
				if _, err := collect(t, got); err == nil {
					t.Error("the detail was read after its snapshot was closed")
				}
			})
		}
	}
	// The control: a new snapshot sees the writes, so the test could fail.
	for _, c := range goldentest.Cases(t, goldenDir)[:1] {
		loc, _ := time.LoadLocation(c.TimeZone)
		p, _ := period.Parse(c.Period, loc)
		in := metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget, Calendar: c.WorkCalendar(t, goldenDir)}
		src, _ := source.New(d, source.Options{})
		if _, err := d.ExecContext(context.Background(), `INSERT INTO leads (id, created_at, source, owner_id, mql_at) VALUES ('L-CONTROL', $1, 'marketing', 'u001', $1)`, p.Start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		w := metrics.Plan(in)
		w.StreamDetail = true
		facts, err := src.Load(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		defer facts.Close()
		rows, err := collect(t, metrics.Compute(in, facts))
		if err != nil || !slicesContainLead(rows, "L-CONTROL") {
			t.Errorf("control: a new snapshot does not list a lead committed before it (%v): the test proves nothing", err)
		}
	}
}

// The facts' own read of the period's MQLs spools them for the detail:
// reading the detail, twice, asks the database nothing more, on one
// connection and on several, and lists what a held snapshot lists.
// Without a temporary file, each read of the detail asks the snapshot
// again, with the same rows.
func TestDetailComesFromTheFactsOwnRead(t *testing.T) {
	d := load(t, testdb.PostgresURL(t))
	c := goldenCase(t, "w47-madrid")
	loc, _ := time.LoadLocation(c.TimeZone)
	p, err := period.Parse(c.Period, loc)
	if err != nil {
		t.Fatal(err)
	}
	in := metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget}
	plain, err := source.New(d, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	held, err := plain.Load(context.Background(), metrics.Plan(in))
	if err != nil {
		t.Fatal(err)
	}
	want := metrics.Compute(in, held).Detail
	if len(want) == 0 {
		t.Fatal("the case has no MQLs in its period")
	}
	for _, tc := range []struct {
		name     string
		tempFile bool
		reads    int // queries of MQLs that reading the detail twice makes
	}{{"spooled by the facts' read", true, 0}, {"without a temporary file", false, 2}} {
		for _, parallel := range []int{1, 4} {
			t.Run(tc.name+"/parallel-"+strconv.Itoa(parallel), func(t *testing.T) {
				if !tc.tempFile {
					t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
				}
				var mu sync.Mutex
				queries := 0
				src, err := source.New(d, source.Options{Parallel: parallel, Observe: func(name string, _ time.Duration) {
					if name == "mqls" {
						mu.Lock()
						queries++
						mu.Unlock()
					}
				}})
				if err != nil {
					t.Fatal(err)
				}
				w := metrics.Plan(in)
				w.StreamDetail = true
				facts, err := src.Load(context.Background(), w)
				if err != nil {
					t.Fatal(err)
				}
				defer facts.Close()
				mu.Lock()
				before := queries
				mu.Unlock()
				got := metrics.Compute(in, facts)
				for range 2 {
					rows, err := collect(t, got)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(rows, want) {
						t.Fatalf("the detail differs from the held one: %d rows, want %d", len(rows), len(want))
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if queries-before != tc.reads {
					t.Errorf("reading the detail twice queried MQLs %d times, want %d", queries-before, tc.reads)
				}
			})
		}
	}
}

func slicesContainLead(rows []metrics.MQLRow, id string) bool {
	for _, r := range rows {
		if r.LeadID == id {
			return true
		}
	}
	return false
}

// A detail read again that does not tie out with the snapshot's count is
// an error, never a silently shorter sheet.
func TestStreamedDetailRefusesAnotherCount(t *testing.T) {
	t.Parallel()
	c := goldenCase(t, "w47-madrid")
	loc, _ := time.LoadLocation(c.TimeZone)
	p, _ := period.Parse(c.Period, loc)
	in := metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget}
	b := metrics.NewBuilder(metrics.Plan(in))
	b.WithoutDetail()
	lead := metrics.Lead{ID: "L1", MQLAt: p.Start.Add(time.Hour), Source: "marketing"}
	b.MQL(lead, nil)
	f, err := b.Facts()
	if err != nil {
		t.Fatal(err)
	}
	f.Reread = func(ctx context.Context, rng metrics.Range, yield func(metrics.Lead, []metrics.Touch) bool) error {
		for _, id := range []string{"L1", "L2"} {
			l := lead
			l.ID = id
			if !yield(l, nil) {
				return nil
			}
		}
		return nil
	}
	rows, err := collect(t, metrics.Compute(in, f))
	if err == nil || !strings.Contains(err.Error(), "2 rows") || len(rows) != 2 {
		t.Errorf("rows %d, error %v; want an error naming the count", len(rows), err)
	}
	f.Reread = func(context.Context, metrics.Range, func(metrics.Lead, []metrics.Touch) bool) error {
		return errors.New("connection reset")
	}
	if _, err := collect(t, metrics.Compute(in, f)); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("a failed read gives %v", err)
	}
}

// A source whose latest activity is older than the quarter before as_of
// (a sync that stopped long ago) still says when that was: the freshness
// query looks in the last day, then the quarter, then at any time.
func TestFreshnessOfAStaleSource(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, url string) {
		d := load(t, url)
		var latest db.NullTime
		if err := d.QueryRowContext(context.Background(), "SELECT max(occurred_at) FROM activities").Scan(&latest); err != nil {
			t.Fatal(err)
		}
		src, err := source.New(d, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, after := range []time.Duration{time.Hour, 40 * 24 * time.Hour, 400 * 24 * time.Hour} {
			asOf := latest.Time.Add(after)
			p, err := period.Parse(asOf.AddDate(0, 0, -7).UTC().Format("2006-01-02"), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			in := metrics.Input{Period: p, AsOf: asOf, SLAHours: 24}
			facts, err := src.Load(context.Background(), metrics.Plan(in))
			if err != nil {
				t.Fatal(err)
			}
			if got := facts.LatestActivityAt; !got.Equal(latest.Time) {
				t.Errorf("as_of %s after the latest activity: freshness %s, want %s", after, got, latest.Time)
			}
		}
	})
}

// Snapshots left open for their detail hold a connection each; past a
// quarter of the pool, a snapshot holds its detail in memory instead, so
// that the open ones never starve the reads of others.
func TestKeptSnapshotsLeaveConnectionsToOthers(t *testing.T) {
	t.Parallel()
	d := load(t, testdb.PostgresURL(t))
	src, err := source.New(d, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := goldenCase(t, "w47-madrid")
	loc, _ := time.LoadLocation(c.TimeZone)
	p, _ := period.Parse(c.Period, loc)
	in := metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget}
	w := metrics.Plan(in)
	w.StreamDetail = true
	var open []*metrics.Facts
	defer func() {
		for _, f := range open {
			f.Close()
		}
	}()
	streamed := func() bool {
		f, err := src.Load(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, f)
		s := metrics.Compute(in, f)
		rows, err := collect(t, s)
		if err != nil || len(rows) != s.Headline.MQLs {
			t.Fatalf("%d rows (%v), want %d", len(rows), err, s.Headline.MQLs)
		}
		return s.DetailStreamed()
	}
	limit := d.Stats().MaxOpenConnections / 4
	for i := range limit {
		if !streamed() {
			t.Fatalf("snapshot %d of %d held its detail", i+1, limit)
		}
	}
	if streamed() {
		t.Fatalf("a snapshot past %d open ones kept a connection", limit)
	}
	open[0].Close()
	if !streamed() {
		t.Error("a closed snapshot did not give its place back")
	}
}

// A snapshot for its figures only (the JSON, check's gate) keeps no MQL
// detail on either engine, gives the same numbers, and says so when asked
// for the detail.
func TestSnapshotWithoutDetail(t *testing.T) {
	c := goldenCase(t, "w47-madrid")
	testdb.Engines(t, func(t *testing.T, url string) {
		d := load(t, url)
		src, err := source.New(d, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := time.LoadLocation(c.TimeZone)
		p, _ := period.Parse(c.Period, loc)
		in := metrics.Input{Period: p, AsOf: c.AsOf, SLAHours: c.SLAHours, MQLTarget: c.MQLTarget}
		held, err := src.Load(context.Background(), metrics.Plan(in))
		if err != nil {
			t.Fatal(err)
		}
		w := metrics.Plan(in)
		w.SkipDetail, w.StreamDetail = true, true
		facts, err := src.Load(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		defer facts.Close()
		want, got := metrics.Compute(in, held), metrics.Compute(in, facts)
		if facts.Reread != nil || got.Detail != nil || got.Headline.MQLs == 0 || !reflect.DeepEqual(want.Headline, got.Headline) {
			t.Fatalf("reread %v, %d rows held, headline %+v", facts.Reread != nil, len(got.Detail), got.Headline)
		}
		if _, err := collect(t, got); !errors.Is(err, metrics.ErrNoDetail) {
			t.Errorf("the detail of a snapshot without it: %v", err)
		}
	})
}
