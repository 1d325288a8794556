package workbook

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/metrics"
)

func TestSheetsPerAudience(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	tests := []struct {
		name     string
		audience string
		locale   string
		want     []string
	}{
		{"leadership en", AudienceLeadership, "en", []string{"Summary", "Trend", "Reps", "Campaigns", "Rejections", "Follow-up backlog", "MQL detail", "Data health", "Definitions"}},
		{"default audience", "", "en", []string{"Summary", "Trend", "Reps", "Campaigns", "Rejections", "Follow-up backlog", "MQL detail", "Data health", "Definitions"}},
		{"sales en", AudienceSales, "en", []string{"Summary", "Follow-up backlog", "Reps", "Rejections", "Trend", "MQL detail", "Data health", "Definitions"}},
		{"marketing en", AudienceMarketing, "en", []string{"Summary", "Campaigns", "Trend", "Rejections", "MQL detail", "Data health", "Definitions"}},
		{"leadership es", AudienceLeadership, "es", []string{"Resumen", "Tendencia", "Comerciales", "Campañas", "Rechazos", "Seguimiento pendiente", "Detalle MQL", "Calidad de los datos", "Definiciones"}},
		{"sales es", AudienceSales, "es", []string{"Resumen", "Seguimiento pendiente", "Comerciales", "Rechazos", "Tendencia", "Detalle MQL", "Calidad de los datos", "Definiciones"}},
		{"marketing es", AudienceMarketing, "es", []string{"Resumen", "Campañas", "Tendencia", "Rechazos", "Detalle MQL", "Calidad de los datos", "Definiciones"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := open(t, write(t, s, Options{Audience: tt.audience, Locale: tt.locale}))
			if got := f.GetSheetList(); !slices.Equal(got, tt.want) {
				t.Fatalf("sheets = %q, want %q", got, tt.want)
			}
			if got := f.GetSheetName(f.GetActiveSheetIndex()); got != tt.want[0] {
				t.Errorf("active sheet = %q, want %q", got, tt.want[0])
			}
		})
	}
}

// jsonPath looks a dotted path up in a decoded snapshot.
func jsonPath(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// sameNumber compares a raw cell value with a JSON number or null.
func sameNumber(t *testing.T, what, got string, want any) {
	t.Helper()
	if want == nil {
		if got != "" {
			t.Errorf("%s = %q, want an empty cell (null)", what, got)
		}
		return
	}
	w := want.(float64)
	g, err := strconv.ParseFloat(got, 64)
	if err != nil {
		t.Errorf("%s = %q, want %v", what, got, w)
		return
	}
	if math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
		t.Errorf("%s = %v, want %v", what, g, w)
	}
}

// sameInstant compares a raw date-time cell (an Excel serial number of the
// wall time in loc) with an RFC 3339 instant from the JSON.
func sameInstant(t *testing.T, what, got, want string, loc *time.Location) {
	t.Helper()
	w, err := time.Parse(time.RFC3339Nano, want)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	serial, err := strconv.ParseFloat(got, 64)
	if err != nil {
		t.Errorf("%s = %q, want the date-time %s", what, got, want)
		return
	}
	g, err := excelize.ExcelDateToTime(serial, false)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	wall := w.In(loc)
	if d := g.Sub(time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), time.UTC)); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("%s = %s (wall time in %s), want %s", what, g.Format(time.DateTime), loc, wall.Format(time.DateTime))
	}
}

// TestSummaryTiesOut reads every headline value back from the Summary sheet
// and compares it with the golden JSON, for every golden case, both
// languages and every audience: the workbook may not change a number.
func TestSummaryTiesOut(t *testing.T) {
	t.Parallel()
	type run struct{ name, locale, audience string }
	var runs []run
	for _, c := range goldenCases(t) {
		for _, locale := range []string{"en", "es"} {
			runs = append(runs, run{c.Name, locale, AudienceLeadership})
		}
	}
	// The other audiences order the same rows differently.
	runs = append(runs, run{"w47-madrid", "es", AudienceSales}, run{"w47-madrid", "en", AudienceMarketing})
	for _, r := range runs {
		c, locale, audience := r, r.locale, r.audience
		t.Run(c.name+"/"+locale+"/"+audience, func(t *testing.T) {
			t.Parallel()
			s, doc := golden(t, c.name)
			w, _ := vocabulary(locale)
			f := open(t, write(t, s, Options{Locale: locale, Audience: audience}))
			rows := rawRows(t, f, w.sheetSummary)
			byLabel := map[string][]string{}
			header := -1
			for i, r := range rows {
				if cell(r, 0) == w.metric && header < 0 {
					header = i
				}
				if _, dup := byLabel[cell(r, 0)]; !dup && header >= 0 {
					byLabel[cell(r, 0)] = r
				}
			}
			if header < 0 {
				t.Fatalf("no header row %q", w.metric)
			}
			if got := rows[header]; cell(got, 1) != s.Period.Label || cell(got, 2) != s.Previous.Label {
				t.Errorf("header = %q, want period %s and previous %s", got, s.Period.Label, s.Previous.Label)
			}
			keys := 0
			for _, g := range summaryGroups(audience, s.SLACalendar != nil) {
				for _, m := range g {
					keys++
					r, ok := byLabel[w.labels[m.key]]
					if !ok {
						t.Errorf("no row %q (%s)", w.labels[m.key], m.key)
						continue
					}
					want, ok := jsonPath(doc, "headline."+m.key)
					if !ok {
						t.Fatalf("golden has no headline.%s", m.key)
					}
					sameNumber(t, m.key, cell(r, 1), want)
					prev, _ := jsonPath(doc, "previous."+m.key)
					sameNumber(t, "previous "+m.key, cell(r, 2), prev)
				}
			}
			if keys < 45 {
				t.Errorf("summary has %d headline metrics, want all of them", keys)
			}
		})
	}
}

func TestSummaryChangesAndComponents(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	f := open(t, write(t, s, Options{}))
	w, _ := vocabulary("en")
	rows := rawRows(t, f, w.sheetSummary)
	find := func(label string, after int) []string {
		for i := after; i < len(rows); i++ {
			if cell(rows[i], 0) == label {
				return rows[i]
			}
		}
		t.Fatalf("no row %q", label)
		return nil
	}
	tests := []struct {
		name  string
		label string
		col   int
		want  any
	}{
		{"count change", "MQLs", 3, 13.0}, // 31 − 18
		{"rate change in points", "SLA compliance", 3, (0.7142857142857143 - 0.7777777777777778) * 100},
		{"money change", "Pipeline created", 3, 74345.67}, // 128845.67 − 54500
		{"score change", "Alignment score", 3, 71.3 - 69.2},
		{"null previous gives no change", "Win rate: sales", 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameNumber(t, tt.label, cell(find(tt.label, 0), tt.col), tt.want)
		})
	}
	// The components block: attainment is capped at 100 % there.
	comp := 0
	for i, r := range rows {
		if cell(r, 0) == w.components {
			comp = i
		}
	}
	if comp == 0 {
		t.Fatal("no components block")
	}
	sameNumber(t, "capped attainment", cell(find(w.labels["mql_target_attainment_capped"], comp), 1), 1.0)
	sameNumber(t, "previous capped attainment", cell(find(w.labels["mql_target_attainment_capped"], comp), 2), 0.6)
	sameNumber(t, "component score", cell(find(w.labels["alignment_score"], comp), 1), 71.3)
}

// TestTablesTieOut compares the breakdown sheets with the snapshot JSON,
// for a wall-clock case and one with a working calendar (whose Reps sheet
// has the working median beside the wall-clock one).
func TestTablesTieOut(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"w47-madrid", "w46-madrid-office-hours"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tablesTieOut(t, name)
		})
	}
}

func tablesTieOut(t *testing.T, name string) {
	s, doc := golden(t, name)
	w, _ := vocabulary("en")
	f := open(t, write(t, s, Options{Calendar: goldenCalendar(t, name)}))
	loc := s.Span.Location()
	list := func(key string) []map[string]any {
		var out []map[string]any
		for _, v := range doc[key].([]any) {
			out = append(out, v.(map[string]any))
		}
		return out
	}
	repFields := []string{"rep_id", "name", "mqls_assigned", "sla_met", "sla_breached", "sla_pending", "sla_compliance",
		"response_minutes_median", "accepted", "rejected", "activities", "opportunities_created", "pipeline_created",
		"won_deals", "won_revenue"}
	repHeader := w.reps
	if s.SLACalendar != nil {
		repFields = slices.Insert(repFields, 8, "response_working_minutes_median")
		repHeader = slices.Insert(slices.Clone(w.reps), 8, w.repsWorking)
	}
	tests := []struct {
		name   string
		sheet  string
		header []string
		key    string
		// fields maps a column to a JSON field; text fields compare as
		// text, instants as date-times in the report's zone.
		fields  map[int]string
		text    map[int]bool
		instant map[int]bool
	}{
		{"reps", w.sheetReps, repHeader, "by_rep", columns(repFields), map[int]bool{0: true, 1: true}, nil},
		{"campaigns", w.sheetCampaigns, w.campaigns, "by_campaign",
			map[int]string{0: "campaign_id", 1: "name", 2: "channel", 3: "leads_created", 4: "mqls", 5: "accepted", 6: "rejected",
				8: "opportunities_created", 9: "pipeline_created", 10: "won_revenue", 11: "cost", 12: "lifetime_mqls",
				13: "lifetime_won_revenue", 14: "roi"},
			map[int]bool{0: true, 1: true, 2: true}, nil},
		{"trend", w.sheetTrend, w.trendHeaders, "trend",
			map[int]string{0: "label", 1: "mqls", 2: "sla_compliance", 3: "acceptance_rate", 4: "pipeline_created_total", 5: "pipeline_created_marketing", 6: "won_revenue_total"},
			map[int]bool{0: true}, nil},
		{"backlog", w.sheetBacklog, w.backlog, "followup_backlog",
			map[int]string{0: "lead_id", 1: "owner_id", 3: "mql_at", 4: "due_at", 5: "age_hours"},
			map[int]bool{0: true, 1: true}, map[int]bool{3: true, 4: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows := rawRows(t, f, tt.sheet)
			if !slices.Equal(rows[0], tt.header) {
				t.Fatalf("header = %q, want %q", rows[0], tt.header)
			}
			want := list(tt.key)
			if len(want) == 0 || len(rows)-1 < len(want) {
				t.Fatalf("%d data rows, want %d", len(rows)-1, len(want))
			}
			if tt.key != "by_campaign" && len(rows)-1 != len(want) {
				// Only the Campaigns sheet has a second table below.
				t.Fatalf("%d data rows, want %d", len(rows)-1, len(want))
			}
			for i, obj := range want {
				for col, field := range tt.fields {
					got := cell(rows[i+1], col)
					switch {
					case tt.text[col]:
						wantText, _ := obj[field].(string)
						if got != wantText {
							t.Errorf("row %d %s = %q, want %q", i+1, field, got, wantText)
						}
					case tt.instant[col]:
						sameInstant(t, fmt.Sprintf("row %d %s", i+1, field), got, obj[field].(string), loc)
					default:
						sameNumber(t, fmt.Sprintf("row %d %s", i+1, field), got, obj[field])
					}
				}
				if tt.key == "by_campaign" {
					// Acceptance = accepted / (accepted + rejected), null
					// when sales decided on none.
					var rate any
					if d := obj["accepted"].(float64) + obj["rejected"].(float64); d > 0 {
						rate = obj["accepted"].(float64) / d
					}
					sameNumber(t, fmt.Sprintf("row %d acceptance", i+1), cell(rows[i+1], 7), rate)
				}
			}
		})
	}
	t.Run("rejections by campaign", func(t *testing.T) {
		t.Parallel()
		rows := rawRows(t, f, w.sheetCampaigns)
		header := slices.IndexFunc(rows, func(r []string) bool { return slices.Equal(r, w.campaignRejections) })
		if header < 0 || cell(rows[header-1], 0) != w.campaignRejectionsTitle {
			t.Fatalf("no table %q with header %q under the campaigns", w.campaignRejectionsTitle, w.campaignRejections)
		}
		var want [][]string
		for _, c := range list("by_campaign") {
			for _, r := range c["rejection_reasons"].([]any) {
				r := r.(map[string]any)
				reason := r["reason"].(string)
				if reason == "unspecified" {
					reason = w.unspecified
				}
				want = append(want, []string{c["campaign_id"].(string), c["name"].(string), reason, fmt.Sprint(r["count"])})
			}
		}
		got := rows[header+1:]
		if len(want) == 0 {
			t.Fatal("the golden case has no campaign rejections to compare")
		}
		if len(got) != len(want) {
			t.Fatalf("%d rows, want %d: %q", len(got), len(want), got)
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("row %d = %q, want %q", i, got[i], want[i])
			}
		}
	})
	t.Run("rejections", func(t *testing.T) {
		t.Parallel()
		rows := rawRows(t, f, w.sheetRejections)
		want := list("rejection_reasons")
		if len(rows)-1 != len(want) {
			t.Fatalf("%d rows, want %d", len(rows)-1, len(want))
		}
		for i, obj := range want {
			reason := obj["reason"].(string)
			if reason == "unspecified" {
				reason = w.unspecified
			}
			if got := cell(rows[i+1], 0); got != reason {
				t.Errorf("reason %d = %q, want %q", i, got, reason)
			}
			sameNumber(t, "count", cell(rows[i+1], 1), obj["count"])
		}
	})
	t.Run("data health", func(t *testing.T) {
		t.Parallel()
		rows := rawRows(t, f, w.sheetHealth)
		dh := doc["data_health"].(map[string]any)
		if len(rows)-1 != len(dh) {
			t.Fatalf("%d rows, want %d", len(rows)-1, len(dh))
		}
		for _, r := range rows[1:] {
			found := false
			for k, v := range dh {
				if w.labels[k] != cell(r, 0) {
					continue
				}
				found = true
				if at, ok := v.(string); ok {
					// A freshness instant: a date-time in the report's zone.
					sameInstant(t, k, cell(r, 1), at, loc)
					continue
				}
				if v == nil {
					if cell(r, 1) != "" {
						t.Errorf("%s = %q, want an empty cell", k, cell(r, 1))
					}
					continue
				}
				sameNumber(t, k, cell(r, 1), v)
			}
			if !found {
				t.Errorf("row %q is no data-health key", cell(r, 0))
			}
		}
	})
}

// columns numbers fields from column 0.
func columns(fields []string) map[int]string {
	m := make(map[int]string, len(fields))
	for i, f := range fields {
		m[i] = f
	}
	return m
}

// TestDetailTiesOut checks the MQL detail against the engine's own rows and
// headline: one row per MQL, states adding up, times in the report's zone;
// with a working calendar, the working minutes beside the wall-clock ones.
func TestDetailTiesOut(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"w47-madrid", "w46-madrid-office-hours"} {
		for _, locale := range []string{"en", "es"} {
			t.Run(name+"/"+locale, func(t *testing.T) {
				t.Parallel()
				s, _ := golden(t, name)
				w, _ := vocabulary(locale)
				f := open(t, write(t, s, Options{Locale: locale}))
				rows, err := f.GetRows(w.sheetDetail)
				if err != nil {
					t.Fatal(err)
				}
				raw := rawRows(t, f, w.sheetDetail)
				header := w.detail
				if s.SLACalendar != nil {
					header = slices.Insert(slices.Clone(w.detail), 8, w.detailWorking)
				}
				if !slices.Equal(rows[0], header) {
					t.Fatalf("header = %q, want %q", rows[0], header)
				}
				col := func(h string) int { return slices.Index(header, h) }
				response, due, sla, decision, sql := col(w.detail[7]), col(w.detail[8]), col(w.detail[9]), col(w.detail[10]), col(w.detail[12])
				if len(rows)-1 != s.Headline.MQLs || len(s.Detail) != s.Headline.MQLs {
					t.Fatalf("%d rows, %d detail, want %d MQLs", len(rows)-1, len(s.Detail), s.Headline.MQLs)
				}
				count := map[string]int{}
				for i, r := range rows[1:] {
					d := s.Detail[i]
					if cell(r, 0) != d.LeadID {
						t.Errorf("row %d lead = %q, want %q", i, cell(r, 0), d.LeadID)
					}
					// Formatted with the locale's date format, in the zone.
					layout := map[string]string{"en": "2006-01-02 15:04", "es": "02/01/2006 15:04"}[locale]
					if want := d.MQLAt.In(s.Span.Location()).Format(layout); cell(r, 1) != want {
						t.Errorf("row %d MQL time = %q, want %q", i, cell(r, 1), want)
					}
					if want := d.DueAt.In(s.Span.Location()).Format(layout); cell(r, due) != want {
						t.Errorf("row %d SLA due = %q, want %q", i, cell(r, due), want)
					}
					var wantResponse any
					if d.ResponseMinutes != nil {
						wantResponse = *d.ResponseMinutes
					}
					sameNumber(t, fmt.Sprintf("row %d response", i), cell(raw[i+1], response), wantResponse)
					if s.SLACalendar != nil {
						var wantWorking any
						if d.ResponseWorkingMinutes != nil {
							wantWorking = *d.ResponseWorkingMinutes
						}
						sameNumber(t, fmt.Sprintf("row %d working response", i), cell(raw[i+1], response+1), wantWorking)
					}
					if d.SQLAt.IsZero() && cell(r, sql) != "" {
						t.Errorf("row %d SQL time = %q, want empty", i, cell(r, sql))
					}
					count["sla "+cell(r, sla)]++
					count["decision "+cell(r, decision)]++
				}
				h := s.Headline
				for k, want := range map[string]int{
					"sla " + w.sla["met"]: h.SLAMet, "sla " + w.sla["breached"]: h.SLABreached,
					"sla " + w.sla["pending"]: h.SLAPending, "decision " + w.decision["accepted"]: h.Accepted,
					"decision " + w.decision["rejected"]: h.Rejected, "decision " + w.decision["pending"]: h.DecisionPending,
				} {
					if count[k] != want {
						t.Errorf("%s: %d rows, headline says %d", k, count[k], want)
					}
				}
			})
		}
	}
}

func TestDetailDimensionAndLayout(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	b := write(t, s, Options{})
	sheets := sheetXML(t, b)
	f := open(t, b)
	path := sheetPath(t, f, "MQL detail")
	x := sheets[path]
	for _, want := range []string{
		fmt.Sprintf(`<dimension ref="A1:M%d">`, len(s.Detail)+1),
		`state="frozen"`,
		fmt.Sprintf(`<autoFilter ref="$A$1:$M$%d">`, len(s.Detail)+1),
	} {
		if !strings.Contains(x, want) {
			t.Errorf("detail sheet XML lacks %s", want)
		}
	}
}

// sheetXML returns every worksheet part of a workbook by path.
func sheetXML(tb testing.TB, b []byte) map[string]string {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") || !strings.HasSuffix(zf.Name, ".xml") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		out[zf.Name] = string(data)
	}
	return out
}

// sheetPath maps a sheet name to its part, through the workbook's order
// (excelize names parts sheet1.xml… in creation order).
func sheetPath(tb testing.TB, f *excelize.File, name string) string {
	tb.Helper()
	for i, n := range f.GetSheetList() {
		if n == name {
			return fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1)
		}
	}
	tb.Fatalf("no sheet %q", name)
	return ""
}

// TestNoFormulas: the workbook is values only. A formula element in any
// sheet would be either a bug or CRM text turned into code.
func TestNoFormulas(t *testing.T) {
	t.Parallel()
	formula := regexp.MustCompile(`<f[ >/]`)
	type run struct{ name, audience string }
	var runs []run
	for _, c := range goldenCases(t) {
		runs = append(runs, run{c.Name, AudienceLeadership}) // every sheet
	}
	runs = append(runs, run{"w47-madrid", AudienceSales}, run{"w47-madrid", AudienceMarketing})
	for _, c := range runs {
		audience := c.audience
		t.Run(c.name+"/"+audience, func(t *testing.T) {
			t.Parallel()
			s, _ := golden(t, c.name)
			sheets := sheetXML(t, write(t, s, Options{Audience: audience, Locale: "es"}))
			if len(sheets) < 7 {
				t.Fatalf("%d sheets", len(sheets))
			}
			for name, x := range sheets {
				if loc := formula.FindStringIndex(x); loc != nil {
					t.Errorf("%s has a formula: %s", name, x[loc[0]:min(len(x), loc[0]+80)])
				}
			}
		})
	}
}

// hostile is CRM text that a spreadsheet could take for code or markup.
var hostileText = []string{
	`=HYPERLINK("http://evil.example","click")`,
	`+SUM(1,2) @risk -leads`,
	`@risk`,
	`-leads`,
	`=1+1`,
	"\t=cmd|' /C calc'!A0",
	`<script>alert('x')</script> & "Q4" push`,
	`0042`,
}

func TestHostileTextStaysText(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	s.ByCampaign = nil
	s.ByRep = nil
	s.Detail = nil
	for i, h := range hostileText {
		id := fmt.Sprintf("c%02d", i)
		s.ByCampaign = append(s.ByCampaign, metrics.CampaignRow{CampaignID: id, Name: h, Channel: h,
			Rejected: 1, RejectionReasons: []metrics.ReasonCount{{Reason: h, Count: 1}}})
		s.ByRep = append(s.ByRep, metrics.RepRow{RepID: h, Name: h})
		s.Detail = append(s.Detail, metrics.MQLRow{
			LeadID: h, MQLAt: s.Span.Start, Source: "marketing", OwnerID: h, OwnerName: h,
			CampaignID: id, CampaignName: h, SLA: "met", Decision: "rejected", RejectionReason: h,
		})
	}
	b := write(t, s, Options{})
	f := open(t, b)
	w, _ := vocabulary("en")
	tests := []struct {
		name  string
		sheet string
		cols  []int
	}{
		{"campaigns", w.sheetCampaigns, []int{2, 3}},
		{"reps", w.sheetReps, []int{1, 2}},
		{"detail", w.sheetDetail, []int{1, 4, 5, 7, 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, h := range hostileText {
				for _, col := range tt.cols {
					ref, _ := excelize.CoordinatesToCellName(col, i+2)
					got, err := f.GetCellValue(tt.sheet, ref)
					if err != nil || got != h {
						t.Errorf("%s = %q (%v), want %q", ref, got, err, h)
					}
					typ, _ := f.GetCellType(tt.sheet, ref)
					if typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
						t.Errorf("%s has type %v, want a string", ref, typ)
					}
					if f, _ := f.GetCellFormula(tt.sheet, ref); f != "" {
						t.Errorf("%s has formula %q", ref, f)
					}
					sid, _ := f.GetCellStyle(tt.sheet, ref)
					if st, err := f.GetStyle(sid); err != nil || st.NumFmt != 49 {
						t.Errorf("%s style NumFmt = %v (%v), want 49 (text)", ref, st.NumFmt, err)
					}
				}
			}
		})
	}
	t.Run("rejections by campaign", func(t *testing.T) {
		// The table under the campaigns: name in B, reason in C.
		rows := rawRows(t, f, w.sheetCampaigns)
		header := slices.IndexFunc(rows, func(r []string) bool { return slices.Equal(r, w.campaignRejections) })
		if header < 0 {
			t.Fatal("no rejections-by-campaign table")
		}
		for i, h := range hostileText {
			for _, col := range []int{2, 3} {
				ref, _ := excelize.CoordinatesToCellName(col, header+2+i)
				got, _ := f.GetCellValue(w.sheetCampaigns, ref)
				typ, _ := f.GetCellType(w.sheetCampaigns, ref)
				if got != h || (typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString) {
					t.Errorf("%s = %q (type %v), want the text %q", ref, got, typ, h)
				}
			}
		}
	})
	for name, x := range sheetXML(t, b) {
		if strings.Contains(x, "<f>") || strings.Contains(x, "<f ") {
			t.Errorf("%s has a formula", name)
		}
	}
}

// TestDefinitionsCalendar: with a working calendar the Definitions sheet
// names the SLA in working hours and explains the calendar (zone, hours of
// each weekday, hours of a week, holidays of the period) and the working
// metrics; without one it names wall-clock hours and has no calendar.
func TestDefinitionsCalendar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, golden, locale string
		want                 map[string]string
		absent               []string
	}{
		{"calendar en", "w46-madrid-office-hours", "en", map[string]string{
			"SLA": "8 working hours, calendar madrid-office", "Working calendar": "madrid-office",
			"Calendar time zone": "Europe/Madrid", "Monday": "09:00–14:00, 15:00–18:30 (8.5 h)",
			"Friday": "08:00–15:00 (7 h)", "Saturday": "not worked", "Sunday": "not worked",
			"Working hours per week": "41", "Holidays in the period": "2026-11-09",
			"SLA in working hours":   mustVocabulary(t, "en").defs["sla_working"],
			"Working response time":  mustVocabulary(t, "en").defs["response_working_time"],
			"Acceptance by campaign": mustVocabulary(t, "en").defs["campaign_acceptance"],
		}, nil},
		{"calendar es", "w46-madrid-office-hours", "es", map[string]string{
			"SLA": "8 horas laborables, calendario madrid-office", "lunes": "09:00–14:00, 15:00–18:30 (8,5 h)",
			"Festivos del periodo": "09/11/2026", "sábado": "no laborable",
		}, nil},
		{"wall clock", "w47-madrid", "en", map[string]string{"SLA": "24 hours (wall-clock time)"},
			[]string{"Working calendar", "Monday", "SLA in working hours", "Working response time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := golden(t, tt.golden)
			w, _ := vocabulary(tt.locale)
			f := open(t, write(t, s, Options{Locale: tt.locale, Calendar: goldenCalendar(t, tt.golden)}))
			rows := rawRows(t, f, w.sheetDefinitions)
			got := map[string]string{}
			for _, r := range rows {
				got[cell(r, 0)] = cell(r, 1)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := got[k]; ok {
					t.Errorf("row %q present without a calendar", k)
				}
			}
		})
	}
}

func TestRowLimitSplitsDetail(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid") // 31 MQLs
	tests := []struct {
		name    string
		maxRows int
		want    []int // data rows per detail sheet
	}{
		{"no split", 32, []int{31}},
		{"exact fit then one", 31, []int{30, 1}},
		{"four sheets", 11, []int{10, 10, 10, 1}},
		{"one row per sheet", 2, slices.Repeat([]int{1}, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := open(t, write(t, s, Options{MaxRows: tt.maxRows}))
			var detail []string
			for _, n := range f.GetSheetList() {
				if strings.HasPrefix(n, "MQL detail") {
					detail = append(detail, n)
				}
			}
			if len(detail) != len(tt.want) {
				t.Fatalf("detail sheets %q, want %d", detail, len(tt.want))
			}
			var leads []string
			for i, n := range detail {
				wantName := "MQL detail"
				if i > 0 {
					wantName = fmt.Sprintf("MQL detail (%d)", i+1)
				}
				if n != wantName {
					t.Errorf("sheet %d = %q, want %q", i, n, wantName)
				}
				rows := rawRows(t, f, n)
				if len(rows) > tt.maxRows {
					t.Errorf("%s has %d rows, limit %d", n, len(rows), tt.maxRows)
				}
				if len(rows)-1 != tt.want[i] || rows[0][0] != "Lead id" {
					t.Errorf("%s: %d data rows (header %q), want %d", n, len(rows)-1, rows[0], tt.want[i])
				}
				for _, r := range rows[1:] {
					leads = append(leads, r[0])
				}
			}
			var want []string
			for _, d := range s.Detail {
				want = append(want, d.LeadID)
			}
			if !slices.Equal(leads, want) {
				t.Errorf("leads across sheets = %q, want %q", leads, want)
			}
			// The sheets after the detail are still in place.
			list := f.GetSheetList()
			if list[len(list)-2] != "Data health" || list[len(list)-1] != "Definitions" {
				t.Errorf("sheets = %q", list)
			}
		})
	}
}

func TestLongTextIsCut(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	tests := []struct {
		name string
		text string
		cut  bool
	}{
		{"exactly at the limit", strings.Repeat("a", maxCellUnits), false},
		{"one over", strings.Repeat("a", maxCellUnits+1), true},
		{"far over", strings.Repeat("lead ", 20000), true},
		{"astral characters count twice", strings.Repeat("😀", maxCellUnits/2+1), true},
		{"multi-byte under the limit", strings.Repeat("ñ", maxCellUnits), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := *s
			s.ByCampaign = []metrics.CampaignRow{{CampaignID: "c1", Name: tt.text}}
			s.Detail = []metrics.MQLRow{{LeadID: "L1", MQLAt: s.Span.Start, CampaignName: tt.text, SLA: "met", Decision: "pending"}}
			f := open(t, write(t, &s, Options{}))
			for _, at := range []struct{ sheet, cell string }{{"Campaigns", "B2"}, {"MQL detail", "G2"}} {
				got, err := f.GetCellValue(at.sheet, at.cell)
				if err != nil {
					t.Fatal(err)
				}
				if n := utf16Len(got); n > maxCellUnits {
					t.Errorf("%s!%s has %d UTF-16 units", at.sheet, at.cell, n)
				}
				marked := strings.HasSuffix(got, "… [truncated]")
				if marked != tt.cut {
					t.Errorf("%s!%s marked = %v, want %v", at.sheet, at.cell, marked, tt.cut)
				}
				if !tt.cut && got != tt.text {
					t.Errorf("%s!%s changed text under the limit", at.sheet, at.cell)
				}
				if tt.cut && (utf16Len(got) < maxCellUnits-1 || !strings.HasPrefix(tt.text, strings.TrimSuffix(got, "… [truncated]"))) {
					t.Errorf("%s!%s is not a prefix of the text cut at the limit (%d units)", at.sheet, at.cell, utf16Len(got))
				}
			}
		})
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Carlos Pérez", "Carlos Pérez"},
		{"invalid UTF-8", "ab\xffcd\xc3", "ab\uFFFDcd\uFFFD"},
		{"C0 controls dropped", "a\x00b\x01c\x1fd\x7f", "abcd\x7f"},
		{"tab, newline, return kept", "a\tb\nc\rd", "a\tb\nc\rd"},
		{"noncharacters dropped", "a\uFFFEb\uFFFFc", "abc"},
		{"astral kept", "a😀b", "a😀b"},
		{"formula text untouched", `=HYPERLINK("x")`, `=HYPERLINK("x")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := clean(tt.in, "…"); got != tt.want {
				t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDirtyTextRoundTrips(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	s.ByCampaign = []metrics.CampaignRow{{CampaignID: "c1", Name: "Spring\x00 \x0bpromo\xff"}}
	s.Detail = []metrics.MQLRow{{LeadID: "L1\x1b", MQLAt: s.Span.Start, OwnerName: "Ana\x08 \uFFFE", SLA: "met", Decision: "pending"}}
	b := write(t, s, Options{})
	f := open(t, b) // the file parses: no XML-illegal character got through
	tests := []struct{ sheet, cell, want string }{
		{"Campaigns", "B2", "Spring promo\uFFFD"},
		{"MQL detail", "A2", "L1"},
		{"MQL detail", "E2", "Ana "},
	}
	for _, tt := range tests {
		if got, _ := f.GetCellValue(tt.sheet, tt.cell); got != tt.want {
			t.Errorf("%s!%s = %q, want %q", tt.sheet, tt.cell, got, tt.want)
		}
	}
}

func TestNullsAreEmptyCells(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	f := open(t, write(t, s, Options{}))
	tests := []struct {
		name, sheet, cell string
	}{
		{"campaign without cost", "Campaigns", "L5"},      // c04: cost null
		{"campaign without ROI", "Campaigns", "O5"},       // c04: roi null
		{"campaign without decisions", "Campaigns", "H2"}, // c01: acceptance null
		{"rep without SLA compliance", "Reps", "G8"},      // u901
		{"rep without response median", "Reps", "H8"},     // u901
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.GetCellValue(tt.sheet, tt.cell)
			if err != nil || got != "" {
				t.Errorf("%s!%s = %q (%v), want empty", tt.sheet, tt.cell, got, err)
			}
			if typ, _ := f.GetCellType(tt.sheet, tt.cell); typ != excelize.CellTypeUnset {
				t.Errorf("%s!%s has type %v, want unset", tt.sheet, tt.cell, typ)
			}
		})
	}
	// And the neighbours that have values are filled, so the addresses above
	// point at the right rows.
	for _, c := range []struct{ sheet, cell, want string }{{"Campaigns", "A5", "c04"}, {"Reps", "A8", "u901"}} {
		if got, _ := f.GetCellValue(c.sheet, c.cell); got != c.want {
			t.Errorf("%s!%s = %q, want %q", c.sheet, c.cell, got, c.want)
		}
	}
}

func TestFormatsAndProperties(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "w47-madrid")
	gen := time.Date(2026, 11, 23, 7, 5, 0, 0, time.UTC)
	tests := []struct {
		name     string
		locale   string
		currency string
		money    string // formatted pipeline_created.total
		rate     string // formatted sla_compliance
		asOf     string
	}{
		{"en EUR", "en", "", "€128,845.67", "71.4%", "2026-11-23 08:00"},
		{"es EUR", "es", "EUR", "128,845.67 €", "71.4%", "23/11/2026 08:00"},
		{"en USD", "en", "USD", "$128,845.67", "71.4%", "2026-11-23 08:00"},
		{"es other currency", "es", "CHF", "128,845.67 CHF ", "71.4%", "23/11/2026 08:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, _ := vocabulary(tt.locale)
			f := open(t, write(t, s, Options{Locale: tt.locale, Currency: tt.currency, ReportName: "Weekly", GeneratedAt: gen}))
			rows, err := f.GetRows(w.sheetSummary)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range rows {
				if _, ok := got[cell(r, 0)]; !ok {
					got[cell(r, 0)] = cell(r, 1)
				}
			}
			if v := got[w.labels["pipeline_created.total"]]; strings.TrimSpace(v) != strings.TrimSpace(tt.money) {
				t.Errorf("pipeline = %q, want %q", v, tt.money)
			}
			if v := got[w.labels["sla_compliance"]]; v != tt.rate {
				t.Errorf("SLA compliance = %q, want %q", v, tt.rate)
			}
			if v := got[w.asOf]; v != tt.asOf { // 07:00Z is 08:00 in Madrid
				t.Errorf("as of = %q, want %q", v, tt.asOf)
			}
			p, err := f.GetDocProps()
			if err != nil {
				t.Fatal(err)
			}
			if p.Creator != "sameteam" || p.Title != "Weekly" || p.Created != "2026-11-23T07:05:00Z" || !strings.Contains(p.Subject, "2026-W47") {
				t.Errorf("properties = %+v", p)
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "empty-week")
	tests := []struct {
		name string
		s    *metrics.Snapshot
		opts Options
		want error
	}{
		{"nil snapshot", nil, Options{}, ErrNoSnapshot},
		{"audience", s, Options{Audience: "finance"}, ErrAudience},
		{"locale", s, Options{Locale: "fr"}, ErrLocale},
		{"currency lower case", s, Options{Currency: "eur"}, ErrCurrency},
		{"currency with quote", s, Options{Currency: `E"R`}, ErrCurrency},
		{"row limit too small", s, Options{MaxRows: 1}, ErrMaxRows},
		{"row limit above Excel", s, Options{MaxRows: excelize.TotalRows + 1}, ErrMaxRows},
		{"more rows than announced", s, Options{DetailCount: 1, DetailRows: func(yield func(metrics.MQLRow) bool) {
			for range 3 {
				if !yield(metrics.MQLRow{LeadID: "L"}) {
					return
				}
			}
		}}, ErrDetailCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.TmpDir = t.TempDir()
			err := Write(io.Discard, tt.s, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("Write = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEmptyPeriod(t *testing.T) {
	t.Parallel()
	s, _ := golden(t, "empty-week")
	f := open(t, write(t, s, Options{Audience: AudienceSales, Locale: "es"}))
	rows := rawRows(t, f, "Detalle MQL")
	if len(rows) != 1 || !slices.Equal(rows[0], mustVocabulary(t, "es").detail) {
		t.Errorf("detail rows = %q, want the header only", rows)
	}
}

// Every word the workbook reads is in package locale, in both languages:
// a key locale lacks comes back as ⟦key⟧.
func TestVocabularyIsComplete(t *testing.T) {
	t.Parallel()
	for _, tag := range []string{"en", "es"} {
		w := mustVocabulary(t, tag)
		if s := fmt.Sprintf("%+v", *w); strings.Contains(s, "⟦") {
			i := strings.Index(s, "⟦")
			t.Errorf("%s: a word is missing from package locale: …%s…", tag, s[max(0, i-40):min(len(s), i+60)])
		}
	}
	if _, err := vocabulary("fr"); !errors.Is(err, ErrLocale) {
		t.Errorf("vocabulary(fr) = %v, want ErrLocale", err)
	}
}
