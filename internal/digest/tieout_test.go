package digest_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/templates"
)

// keyed is one number of the HTML digest that names its snapshot key.
type keyed struct {
	key, format, text string
}

// keyedValues parses the HTML and returns every element with a data-k
// attribute and its text.
func keyedValues(t *testing.T, doc string) []keyed {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var out []keyed
	for n := range root.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		var k keyed
		for _, a := range n.Attr {
			switch a.Key {
			case "data-k":
				k.key = a.Val
			case "data-f":
				k.format = a.Val
			}
		}
		if k.key != "" {
			k.text = textOf(n)
			out = append(out, k)
		}
	}
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// lookup resolves a dotted path ("by_rep.0.sla_compliance") in the
// snapshot's JSON form, the contract internal/metrics/README.md defines.
func lookup(t *testing.T, doc any, path string) any {
	t.Helper()
	cur := doc
	for _, part := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			x, ok := v[part]
			if !ok {
				t.Fatalf("key %s: no %q in snapshot", path, part)
			}
			cur = x
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v) {
				t.Fatalf("key %s: bad index %q", path, part)
			}
			cur = v[i]
		default:
			t.Fatalf("key %s: cannot descend into %T", path, cur)
		}
	}
	return cur
}

// format renders a snapshot JSON value the way the digest must show it;
// doc is the whole snapshot, for the zone and as_of that instants are
// shown against.
func format(t *testing.T, l *locale.Locale, currency, kind string, v, doc any) string {
	t.Helper()
	if v == nil {
		return locale.Null
	}
	instant := func(v any) time.Time {
		at, err := time.Parse(time.RFC3339Nano, v.(string))
		if err != nil {
			t.Fatalf("instant %v: %v", v, err)
		}
		loc, err := time.LoadLocation(lookup(t, doc, "period.time_zone").(string))
		if err != nil {
			t.Fatal(err)
		}
		return at.In(loc)
	}
	switch kind {
	case "text":
		return v.(string)
	case "when":
		return l.DayTime(instant(v))
	case "due":
		return l.Upcoming(instant(v), instant(lookup(t, doc, "as_of")))
	case "acceptance", "pending":
		// A campaign's row: acceptance = accepted / (accepted + rejected)
		// as internal/metrics/README.md defines acceptance_rate; pending = its MQLs with
		// neither decision.
		row := v.(map[string]any)
		acc, rej, mqls := row["accepted"].(float64), row["rejected"].(float64), row["mqls"].(float64)
		if kind == "pending" {
			return l.Int(int(mqls - acc - rej))
		}
		if acc+rej == 0 {
			return locale.Null
		}
		return l.PercentOf(acc / (acc + rej))
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("value %v is %T, want a number", v, v)
	}
	switch kind {
	case "int":
		return l.Int(int(f))
	case "pct":
		return l.PercentOf(f)
	case "money":
		m, err := metrics.MoneyFromFloat(f)
		if err != nil {
			return err.Error()
		}
		return l.Money(m, currency)
	case "minutes":
		return l.Hours(f / 60)
	case "hours":
		return l.Hours(f)
	case "score":
		return l.Score(&f)
	case "days":
		return l.Days(&f)
	}
	t.Fatalf("unknown format %q", kind)
	return ""
}

// TestTieOut checks that every number the HTML digest ties to a snapshot
// key equals that key's value after locale formatting, that the plain
// text shows the same numbers, and that the numbers every audience must
// carry are there.
func TestTieOut(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	common := []string{"headline.sla_compliance", "headline.mqls", "headline.pipeline_created.total",
		"headline.alignment_score", "headline.acceptance_rate", "headline.decision_rate",
		"data_health.latest_activity_at"}
	cases := []struct {
		name     string
		required map[digest.Audience][]string
	}{
		{"w47-madrid", map[digest.Audience][]string{
			digest.Sales: {"headline.response_minutes_median", "headline.accepted", "headline.untouched_mqls",
				"followup_backlog.0.lead_id", "followup_backlog.13.age_hours", "followup_backlog.0.due_at",
				"followup_backlog.13.due_at", "by_rep.0.sla_compliance", "by_rep.6.mqls_assigned", "by_rep.4.won_revenue"},
			digest.Marketing: {"headline.pipeline_created.marketing", "headline.marketing_influenced_pipeline",
				"headline.rejected", "headline.response_minutes_p90", "rejection_reasons.0.count",
				"by_campaign.1.pipeline_created", "by_campaign.8.roi", "by_campaign.3.cost",
				"by_campaign.5", "by_campaign.5.accepted", "by_campaign.5.rejected",
				"by_campaign.5.rejection_reasons.0.count", "by_campaign.5.rejection_reasons.1.count"},
			digest.Leadership: {"headline.won_revenue.total", "headline.win_rate.total", "headline.win_rate.sales",
				"headline.leads_created", "headline.sqls", "headline.won_deals", "headline.avg_deal_size",
				"headline.sales_cycle_days_median", "data_health.future_activities_ignored"},
		}},
		// A working calendar: working minutes beside wall-clock ones, due
		// times in working hours.
		{"w46-madrid-office-hours", map[digest.Audience][]string{
			digest.Sales: {"headline.response_minutes_median", "headline.response_working_minutes_median",
				"by_rep.0.response_minutes_median", "by_rep.0.response_working_minutes_median",
				"by_rep.4.response_working_minutes_median", "followup_backlog.0.due_at", "followup_backlog.9.due_at",
				"followup_backlog.13.due_at"},
			digest.Marketing: {"headline.response_working_minutes_median", "headline.response_working_minutes_p90",
				"by_campaign.0", "by_campaign.4", "by_campaign.4.rejection_reasons.1.count", "by_campaign.5"},
			digest.Leadership: {"headline.alignment_score"},
		}},
	}
	for _, tc := range cases {
		s := snapshot(t, tc.name)
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		required := tc.required
		for _, aud := range digest.Audiences() {
			for _, lang := range []string{"es", "en"} {
				t.Run(tc.name+"."+string(aud)+"."+lang, func(t *testing.T) {
					t.Parallel()
					l, err := locale.Get(lang)
					if err != nil {
						t.Fatal(err)
					}
					d, err := r.Render(s, options(aud, lang))
					if err != nil {
						t.Fatal(err)
					}
					seen := map[string]bool{}
					for _, k := range keyedValues(t, d.HTML) {
						want := format(t, l, "EUR", k.format, lookup(t, doc, k.key), doc)
						got := k.text
						if k.format == "text" {
							// Names are shown with their channel: "name · channel".
							got, _, _ = strings.Cut(got, " · ")
						}
						if got != want {
							t.Errorf("%s shows %q, snapshot says %q", k.key, got, want)
						}
						if !strings.Contains(d.Text, want) {
							t.Errorf("%s: %q is in the HTML but not in the text", k.key, want)
						}
						seen[k.key] = true
					}
					for _, key := range append(append([]string{}, common...), required[aud]...) {
						if !seen[key] {
							t.Errorf("%s is not shown", key)
						}
					}
				})
			}
		}
	}
}

// TestTieOutLiterals pins a few numbers as a reader sees them, so that the
// tie-out cannot pass with a formatter that is wrong in both places.
func TestTieOutLiterals(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	s := snapshot(t, "w47-madrid")
	cases := []struct {
		name string
		aud  digest.Audience
		lang string
		want []string
	}{
		{name: "leadership es", aud: digest.Leadership, lang: "es",
			want: []string{"71,4 %", "128.845,67 €", "71,3", "31", "▲ +2,1 pts vs semana 46", "16–22 nov 2026"}},
		{name: "leadership en", aud: digest.Leadership, lang: "en",
			want: []string{"71.4%", "€128,845.67", "71.3", "▲ +2.1 pts vs week 46", "16–22 Nov 2026"}},
		{name: "sales es", aud: digest.Sales, lang: "es",
			want: []string{"7 h 49 min", "28 d 22 h", "Javier García", "L00374", "▼ -6,3 pts vs semana 46"}},
		{name: "marketing en", aud: digest.Marketing, lang: "en",
			want: []string{"€91,345.68", "60.5%", "1,134.6%", "No reason given", "▲ +13 (+72.2%) vs week 46",
				"Social 2026 #6 · social", "Bad fit (1)",
				"Data up to Mon 23 Nov, 04:25."}},
		{name: "sales es freshness and due", aud: digest.Sales, lang: "es",
			want: []string{"Datos hasta el lun 23 nov, 04:25.", "Cumplimiento del SLA (24 h)",
				"fuera de plazo desde el lun 26 oct, 09:47"}},
	}
	// A working calendar (madrid-office, 8 working hours).
	office := snapshot(t, "w46-madrid-office-hours")
	working := []struct {
		name string
		aud  digest.Audience
		lang string
		want []string
	}{
		{name: "calendar sales es", aud: digest.Sales, lang: "es",
			want: []string{"SLA 8 h laborables: 72,2 %", "Cumplimiento del SLA (8 h laborables)", "1 h 18 min en horas laborables",
				"vence lun 18:00", "fuera de plazo desde el lun 26 oct, 18:00", "4 h 15 min laborables",
				"calendario «madrid-office»"}},
		{name: "calendar sales en", aud: digest.Sales, lang: "en",
			want: []string{"SLA 8 working hours: 72.2%", "SLA compliance (8 working hours)", "1h 18m in working hours",
				"due Mon 18:00", "overdue since Mon 26 Oct, 18:00", "4h 15m working"}},
		{name: "calendar marketing es", aud: digest.Marketing, lang: "es",
			want: []string{"Cumplimiento del SLA (8 h laborables)", "11 h 54 min en horas laborables",
				"Content 2026 #5 · contenidos", "Competitor customer (1)", "Ventas aún no ha decidido sobre sus MQL."}},
	}
	for _, tc := range working {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := r.Render(office, options(tc.aud, tc.lang))
			if err != nil {
				t.Fatal(err)
			}
			shown := visibleText(t, d.HTML)
			for _, w := range tc.want {
				if !strings.Contains(shown, w) && !strings.Contains(d.Subject, w) {
					t.Errorf("HTML lacks %q", w)
				}
				if !strings.Contains(d.Subject+"\n"+d.Text, w) {
					t.Errorf("text lacks %q", w)
				}
			}
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := r.Render(s, options(tc.aud, tc.lang))
			if err != nil {
				t.Fatal(err)
			}
			shown := visibleText(t, d.HTML)
			for _, w := range tc.want {
				if !strings.Contains(shown, w) {
					t.Errorf("HTML lacks %q", w)
				}
				if !strings.Contains(d.Text, w) {
					t.Errorf("text lacks %q", w)
				}
			}
		})
	}
}

// TestFreshness: every digest's footer says how fresh the data was: the
// later of the newest lead and activity, the other too when it lags a day
// or more, and a plain sentence when the source has neither.
func TestFreshness(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	at := func(s string) *metrics.Instant {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		i := metrics.Instant(tm)
		return &i
	}
	cases := []struct {
		name       string
		lead, act  *metrics.Instant
		lang       string
		want, lack []string
	}{
		{"activity latest, lead close", at("2026-11-22T20:00:00Z"), at("2026-11-23T03:25:27Z"), "es",
			[]string{"Datos hasta el lun 23 nov, 04:25."}, []string{"último lead"}},
		{"lead latest", at("2026-11-23T05:00:00Z"), at("2026-11-23T03:25:27Z"), "en",
			[]string{"Data up to Mon 23 Nov, 06:00."}, []string{"latest activity"}},
		{"leads stalled", at("2026-11-20T17:00:00Z"), at("2026-11-23T03:25:27Z"), "en",
			[]string{"Data up to Mon 23 Nov, 04:25.", "The latest new lead is from Fri 20 Nov, 18:00."}, nil},
		{"activities stalled", at("2026-11-23T03:25:27Z"), at("2026-11-21T09:00:00Z"), "es",
			[]string{"Datos hasta el lun 23 nov, 04:25.", "La última actividad es del sáb 21 nov, 10:00."}, nil},
		{"only leads", at("2026-11-23T03:25:27Z"), nil, "en", []string{"Data up to Mon 23 Nov, 04:25."}, nil},
		{"no data", nil, nil, "es", []string{"El origen no tiene datos todavía"}, []string{"Datos hasta"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := snapshot(t, "w47-madrid")
			s.DataHealth.LatestLeadCreatedAt, s.DataHealth.LatestActivityAt = tc.lead, tc.act
			for _, aud := range digest.Audiences() {
				d, err := r.Render(s, options(aud, tc.lang))
				if err != nil {
					t.Fatal(err)
				}
				shown := visibleText(t, d.HTML)
				for _, w := range tc.want {
					if !strings.Contains(shown, w) || !strings.Contains(d.Text, w) {
						t.Errorf("%s: footer lacks %q", aud, w)
					}
				}
				for _, w := range tc.lack {
					if strings.Contains(shown, w) || strings.Contains(d.Text, w) {
						t.Errorf("%s: footer has %q", aud, w)
					}
				}
			}
		})
	}
}

func ExampleRenderer_Render() {
	r, _ := digest.New(templates.FS)
	s := &metrics.Snapshot{}
	_, err := r.Render(s, digest.Options{Audience: "finance"})
	fmt.Println(err)
	// Output: digest: unknown audience "finance"
}
