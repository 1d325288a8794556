package locale_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
)

func get(tb testing.TB, tag string) *locale.Locale {
	tb.Helper()
	l, err := locale.Get(tag)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func ptr[T any](v T) *T { return &v }

func TestGet(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, tag, want string
		err             error
	}{
		{name: "spanish", tag: "es", want: "es"},
		{name: "english", tag: "en", want: "en"},
		{name: "default", tag: "", want: "es"},
		{name: "region", tag: "en-GB", want: "en"},
		{name: "underscore region", tag: "es_ES", want: "es"},
		{name: "upper case", tag: "EN", want: "en"},
		{name: "unknown", tag: "fr", err: locale.ErrUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := locale.Get(tc.tag)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Tag() != tc.want {
				t.Errorf("tag %q, want %q", l.Tag(), tc.want)
			}
		})
	}
}

func TestNumbers(t *testing.T) {
	t.Parallel()
	es, en := get(t, "es"), get(t, "en")
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"percent es", es.Percent(ptr(0.125)), "12,5 %"},
		{"percent en", en.Percent(ptr(0.125)), "12.5%"},
		{"percent rounds", es.Percent(ptr(0.7142857142857143)), "71,4 %"},
		{"percent null", es.Percent(nil), "—"},
		{"percent large", en.PercentOf(12.444233320187859), "1,244.4%"},
		{"percent negative", es.PercentOf(-0.5680594350217409), "-56,8 %"},
		{"percent tiny negative", es.PercentOf(-0.0001), "0,0 %"},
		{"money es", es.Money(123456, "EUR"), "1.234,56 €"},
		{"money en", en.Money(123456, "EUR"), "€1,234.56"},
		{"money default EUR", en.Money(5, ""), "€0.05"},
		{"money USD es", es.Money(123456, "usd"), "1.234,56 $"},
		{"money USD en", en.Money(123456, "USD"), "$1,234.56"},
		{"money GBP en", en.Money(-123456, "GBP"), "-£1,234.56"},
		{"money other es", es.Money(123456, "CHF"), "1.234,56 CHF"},
		{"money other en", en.Money(123456, "CHF"), "CHF 1,234.56"},
		{"money millions", es.Money(12345678901, "EUR"), "123.456.789,01 €"},
		{"money null", es.MoneyPtr(nil, "EUR"), "—"},
		{"signed money", es.SignedMoney(7434567, "EUR"), "+74.345,67 €"},
		{"int es", es.Int(1234), "1.234"},
		{"int en", en.Int(1234), "1,234"},
		{"int small", es.Int(999), "999"},
		{"int negative", en.Int(-1234567), "-1,234,567"},
		{"int null", es.IntPtr(nil), "—"},
		{"signed int", es.SignedInt(13), "+13"},
		{"signed int negative", es.SignedInt(-3), "-3"},
		{"points es", es.Points(5.2), "+5,2 pts"},
		{"points en", en.Points(-34.06), "-34.1 pts"},
		{"points zero", en.Points(0.04), "0.0 pts"},
		{"signed percent", es.SignedPercent(0.7222), "+72,2 %"},
		{"signed percent en", en.SignedPercent(-0.795), "-79.5%"},
		{"score", es.Score(ptr(71.3)), "71,3"},
		{"score null", en.Score(nil), "—"},
		{"decimal", en.Decimal(1234.5678, 2), "1,234.57"},
		{"symbol", locale.Symbol("gbp"), "£"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	t.Parallel()
	es, en := get(t, "es"), get(t, "en")
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"minutes es", es.Hours(0.75), "45 min"},
		{"minutes en", en.Hours(0.75), "45m"},
		{"hours es", es.Hours(7.8), "7 h 48 min"},
		{"hours en", en.Hours(7.8), "7h 48m"},
		{"whole hours", es.Hours(10), "10 h"},
		{"rounds to the minute", es.Hours(468.5 / 60), "7 h 49 min"},
		{"days es", es.Hours(694.2166666666667), "28 d 22 h"},
		{"days en", en.Hours(48), "2d"},
		{"just under two days", en.Hours(47.99), "47h 59m"},
		{"negative", en.Hours(-0.5), "-30m"},
		{"sla hours es", es.HoursMinutes(48), "48 h"},
		{"sla hours en", en.HoursMinutes(1.5), "1h 30m"},
		{"working hours es", es.WorkingHours(8), "8 h laborables"},
		{"working hour es", es.WorkingHours(1), "1 h laborable"},
		{"working hours en", en.WorkingHours(8), "8 working hours"},
		{"working hour en", en.WorkingHours(1), "1 working hour"},
		{"working fraction en", en.WorkingHours(1.5), "1h 30m of working time"},
		{"working fraction es", es.WorkingHours(0.5), "30 min laborables"},
		{"response minutes", es.Minutes(ptr(2115.991666666667)), "35 h 16 min"},
		{"response null", es.Minutes(nil), "—"},
		{"cycle days es", es.Days(ptr(2.458321759259259)), "2,5 días"},
		{"cycle days en", en.Days(ptr(52.5)), "52.5 days"},
		{"cycle null", en.Days(nil), "—"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	es, en := get(t, "es"), get(t, "en")
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	p := func(label string) period.Period {
		t.Helper()
		pp, err := period.Parse(label, madrid)
		if err != nil {
			t.Fatal(err)
		}
		return pp
	}
	day := time.Date(2026, 11, 16, 8, 5, 0, 0, madrid)
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"date es", es.Date(day), "16/11/2026"},
		{"date en", en.Date(day), "16 Nov 2026"},
		{"datetime es", es.DateTime(day), "16/11/2026 08:05"},
		{"datetime en", en.DateTime(day), "16 Nov 2026 08:05"},
		{"month es", es.Month(time.September), "septiembre"},
		{"month en", en.Month(time.September), "September"},
		{"month short es", es.MonthShort(time.September), "sept"},
		{"week range es", es.DateRange(p("2026-W47")), "16–22 nov 2026"},
		{"week range en", en.DateRange(p("2026-W47")), "16–22 Nov 2026"},
		{"week across months", es.DateRange(p("2026-W49")), "30 nov – 6 dic 2026"},
		{"week across years", en.DateRange(p("2026-W53")), "28 Dec 2026 – 3 Jan 2027"},
		{"dst week", es.DateRange(p("2026-W43")), "19–25 oct 2026"},
		{"month range", en.DateRange(p("2026-02")), "1–28 Feb 2026"},
		{"quarter range", es.DateRange(p("2026-Q4")), "1 oct – 31 dic 2026"},
		{"day range", en.DateRange(p("2026-11-18")), "18 Nov 2026"},
		{"week name es", es.PeriodName(p("2026-W47")), "semana 47"},
		{"week name en", en.PeriodName(p("2026-W01")), "week 1"},
		{"month name es", es.PeriodName(p("2026-11")), "noviembre de 2026"},
		{"month name en", en.PeriodName(p("2026-11")), "November 2026"},
		{"quarter name es", es.PeriodName(p("2026-Q4")), "T4 2026"},
		{"quarter name en", en.PeriodName(p("2026-Q4")), "Q4 2026"},
		{"day name es", es.PeriodName(p("2026-11-18")), "18/11/2026"},
		{"week short es", es.PeriodShort(p("2026-W07")), "S7"},
		{"week short en", en.PeriodShort(p("2026-W47")), "W47"},
		{"month short", en.PeriodShort(p("2026-01")), "Jan 26"},
		{"quarter short", es.PeriodShort(p("2027-Q1")), "T1 27"},
		{"day short es", es.PeriodShort(p("2026-11-18")), "18/11"},
		{"day time es", es.DayTime(time.Date(2026, 11, 23, 4, 25, 0, 0, madrid)), "lun 23 nov, 04:25"},
		{"day time en", en.DayTime(time.Date(2026, 11, 23, 4, 25, 0, 0, madrid)), "Mon 23 Nov, 04:25"},
		{"weekday time es", es.WeekdayTime(time.Date(2026, 11, 25, 17, 0, 0, 0, madrid)), "mié 17:00"},
		{"weekday time en", en.WeekdayTime(time.Date(2026, 11, 29, 9, 0, 0, 0, madrid)), "Sun 09:00"},
		{"upcoming same day", es.Upcoming(time.Date(2026, 11, 23, 17, 0, 0, 0, madrid), day.AddDate(0, 0, 7)), "lun 17:00"},
		{"upcoming in six days", en.Upcoming(time.Date(2026, 11, 22, 23, 0, 0, 0, madrid), day), "Sun 23:00"},
		{"upcoming a week on has its date", en.Upcoming(time.Date(2026, 11, 23, 7, 0, 0, 0, madrid), day), "Mon 23 Nov, 07:00"},
		{"past has its date", es.Upcoming(time.Date(2026, 11, 16, 8, 0, 0, 0, madrid), day), "lun 16 nov, 08:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// TestWordTables checks that both languages have the same keys in every
// word table (the shared words and the workbook's), that no entry is empty
// and that the fmt verbs of each key agree, so a phrase formats the same
// arguments in either language.
func TestWordTables(t *testing.T) {
	t.Parallel()
	es, en := get(t, "es"), get(t, "en")
	if a, b := strings.Join(es.Keys(), ","), strings.Join(en.Keys(), ","); a != b {
		for _, k := range es.Keys() {
			if !en.Has(k) {
				t.Errorf("en lacks %q", k)
			}
		}
		for _, k := range en.Keys() {
			if !es.Has(k) {
				t.Errorf("es lacks %q", k)
			}
		}
	}
	for _, k := range es.Keys() {
		if strings.TrimSpace(es.T(k)) == "" || strings.TrimSpace(en.T(k)) == "" {
			t.Errorf("%q is empty in a language", k)
		}
		ve, vn := verb.FindAllString(es.T(k), -1), verb.FindAllString(en.T(k), -1)
		if strings.Join(ve, " ") != strings.Join(vn, " ") {
			t.Errorf("%q: es verbs %v, en verbs %v", k, ve, vn)
		}
		if strings.Contains(k, "_") && !strings.Contains(k, ".") && len(ve) > 0 {
			// Template words are printed as they are: a verb there would
			// show up literally.
			for _, v := range ve {
				if v != "%" {
					t.Errorf("template word %q has a fmt verb %s", k, v)
				}
			}
		}
	}
	if a, b := strings.Join(es.SubjectKeys(), ","), strings.Join(en.SubjectKeys(), ","); a != b {
		t.Errorf("subject keys differ:\nes %s\nen %s", a, b)
	}
	for _, k := range []string{"metric.mqls", "wb.sheet.summary", "wb.label.mql_cohort"} {
		if !es.Has(k) || !en.Has(k) {
			t.Errorf("%q is not among the words checked", k)
		}
	}
	if got := es.T("no.such.key"); got != "⟦no.such.key⟧" {
		t.Errorf("missing key prints %q", got)
	}
	if got := es.Subject("mqls"); got.Text != "Los MQL" || !got.Plural {
		t.Errorf("subject mqls = %+v", got)
	}
}

// TestGlossary pins the Spanish variant the glossary asks for: Spain's
// "cualificado" and "coste", consistently.
func TestGlossary(t *testing.T) {
	t.Parallel()
	es := get(t, "es")
	for _, k := range es.Keys() {
		w := strings.ToLower(es.T(k))
		for _, bad := range []string{"calificado", "costo"} {
			if strings.Contains(w, bad) {
				t.Errorf("%q uses %q; Spain writes cualificado and coste", k, bad)
			}
		}
	}
	if !strings.Contains(es.T("glossary"), "lead cualificado por marketing") {
		t.Error("the glossary does not explain MQL")
	}
}

// TestMoneyExact: no amount loses a cent on its way to text.
func TestMoneyExact(t *testing.T) {
	t.Parallel()
	en := get(t, "en")
	for _, c := range []metrics.Money{0, 1, 99, 100, 101, 128845_67, -5, 1<<53 + 1} {
		got := en.Money(c, "EUR")
		digits := strings.NewReplacer("€", "", ",", "", "-", "").Replace(got)
		want := strings.TrimPrefix(c.String(), "-")
		if digits != want || (c < 0) != strings.HasPrefix(got, "-") {
			t.Errorf("Money(%d) = %q, want the digits %s", c, got, want)
		}
	}
}

// Every metric of the catalog has its name in every language: adding a
// metric is its catalog entry plus these words.
func TestCatalogHasWords(t *testing.T) {
	t.Parallel()
	for _, tag := range []string{"es", "en"} {
		l := get(t, tag)
		for _, m := range metrics.Catalog() {
			if !l.Has(m.Label()) {
				t.Errorf("%s: no word for %s (%s)", tag, m.Key, m.Label())
			}
			if h := l.MetricHeading(m); strings.Contains(h, "⟦") {
				t.Errorf("%s: %s heading %q lacks a word", tag, m.Key, h)
			}
		}
		// Callouts name a metric by its catalog key.
		for _, k := range l.SubjectKeys() {
			if _, ok := metrics.Lookup(k); !ok {
				t.Errorf("%s: subject %q is not a catalog key", tag, k)
			}
		}
	}
}

// A metric has one name; where its value stands as a bare number the name
// of a duration carries the unit.
func TestMetricHeading(t *testing.T) {
	t.Parallel()
	es, en := get(t, "es"), get(t, "en")
	for _, tc := range []struct {
		l          *locale.Locale
		key        string
		name, head string
	}{
		{en, "response_minutes_median", "Median response time", "Median response time (min)"},
		{es, "response_minutes_median", "Mediana del tiempo de respuesta", "Mediana del tiempo de respuesta (min)"},
		{es, "sales_cycle_days_median", "Duración mediana del ciclo de venta", "Duración mediana del ciclo de venta (días)"},
		{en, "sla_compliance", "SLA compliance", "SLA compliance"},
	} {
		m := metrics.MustLookup(tc.key)
		if got := tc.l.MetricName(m); got != tc.name {
			t.Errorf("%s %s name = %q, want %q", tc.l.Tag(), tc.key, got, tc.name)
		}
		if got := tc.l.MetricHeading(m); got != tc.head {
			t.Errorf("%s %s heading = %q, want %q", tc.l.Tag(), tc.key, got, tc.head)
		}
	}
}

// A catalog metric is written the way its unit's own formatter writes it,
// and a missing value as Null.
func TestMetricByUnit(t *testing.T) {
	t.Parallel()
	es, en := get(t, "es"), get(t, "en")
	rate, score := 0.703, 71.25
	minutes, days := 194.4, 12.26
	h := metrics.Headline{MQLs: 1234, SLACompliance: &rate, AlignmentScore: &score, WonRevenue: metrics.MoneyBySource{Total: 1234567},
		ResponseMinutesMedian: &minutes, SalesCycleDaysMedian: &days}
	for _, tc := range []struct {
		l    *locale.Locale
		key  string
		want string
	}{
		{es, "mqls", es.Int(1234)},
		{en, "sla_compliance", "70.3%"},
		{es, "sla_compliance", "70,3 %"},
		{es, "alignment_score", es.Score(&score)},
		{en, "won_revenue.total", en.Money(1234567, "USD")},
		{en, "mql_target_attainment", locale.Null},
		// The names say the unit: "Median response time (min)".
		{en, "response_minutes_median", "194"},
		{es, "sales_cycle_days_median", "12,3"},
	} {
		m, _ := metrics.Lookup(tc.key)
		if got := tc.l.Metric(m, m.Read(&h), "USD"); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.l.Tag(), tc.key, got, tc.want)
		}
	}
}
