// Package locale formats sameteam's numbers, money, dates and durations the
// way Spanish and English readers expect them, and holds the translated
// vocabulary that digests, workbooks and the command line share.
//
// A Locale is immutable: Get builds a fresh one per call, so callers may keep
// and share it across goroutines without locking.
package locale

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
)

// ErrUnknown is returned by Get for a tag that has no translation.
var ErrUnknown = errors.New("locale: unknown locale")

// Tags lists the supported locale tags.
func Tags() []string { return []string{"es", "en"} }

// Null is how every locale prints a missing value.
const Null = "—"

// Locale formats values for one language.
type Locale struct {
	tag      string
	decimal  byte // decimal separator
	group    byte // thousands separator
	months   [12]string
	short    [12]string
	weekdays [7]string // abbreviated, Sunday first as time.Weekday counts
	words    map[string]string
	subjects map[string]Subject
}

// Subject is a metric named as the subject of a sentence ("Los MQL",
// "SLA compliance"), with its grammatical number, so callout sentences can
// agree their verb with it.
type Subject struct {
	Text   string
	Plural bool
}

// Get returns the locale for tag ("es" or "en"; "" means "es", the
// project's default). Region suffixes such as "es-ES" or "en_GB" are
// accepted and ignored.
func Get(tag string) (*Locale, error) {
	base := strings.ToLower(tag)
	if i := strings.IndexAny(base, "-_"); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "", "es":
		return &Locale{tag: "es", decimal: ',', group: '.',
			months: monthsES(), short: shortES(), weekdays: weekdaysES(), words: join(wordsES(), workbookES(), unsubscribeES(), personalES()), subjects: subjectsES()}, nil
	case "en":
		return &Locale{tag: "en", decimal: '.', group: ',',
			months: monthsEN(), short: shortEN(), weekdays: weekdaysEN(), words: join(wordsEN(), workbookEN(), unsubscribeEN(), personalEN()), subjects: subjectsEN()}, nil
	}
	return nil, fmt.Errorf("%w %q (want es or en)", ErrUnknown, tag)
}

// join puts a language's word tables into one. The tables are kept apart
// by who reads them; a key in two of them is a programming error, caught
// the first time any locale is built.
func join(tables ...map[string]string) map[string]string {
	out := make(map[string]string)
	for _, t := range tables {
		for k, v := range t {
			if _, dup := out[k]; dup {
				panic(fmt.Sprintf("locale: key %q is in two word tables", k))
			}
			out[k] = v
		}
	}
	return out
}

// Tag is the locale's language tag: "es" or "en".
func (l *Locale) Tag() string { return l.tag }

// T returns the word or phrase for key. A missing key comes back as
// ⟦key⟧ so that a forgotten translation shows up in tests and previews
// instead of as an empty string.
func (l *Locale) T(key string) string {
	if w, ok := l.words[key]; ok {
		return w
	}
	return "⟦" + key + "⟧"
}

// Tf formats the phrase for key with fmt verbs.
func (l *Locale) Tf(key string, args ...any) string {
	return fmt.Sprintf(l.T(key), args...)
}

// Has reports whether key has a translation.
func (l *Locale) Has(key string) bool {
	_, ok := l.words[key]
	return ok
}

// Keys lists every word key of the locale, sorted.
func (l *Locale) Keys() []string {
	keys := make([]string, 0, len(l.words))
	for k := range l.words {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Subject returns the metric key as a sentence subject. Unknown keys fall
// back to the key itself, singular.
func (l *Locale) Subject(key string) Subject {
	if s, ok := l.subjects[key]; ok {
		return s
	}
	return Subject{Text: "⟦" + key + "⟧"}
}

// SubjectKeys lists the metric keys that have a sentence subject, sorted.
func (l *Locale) SubjectKeys() []string {
	keys := make([]string, 0, len(l.subjects))
	for k := range l.subjects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// number writes v with the given decimals and the locale's separators.
func (l *Locale) number(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Null
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	out := l.grouped(whole)
	if frac != "" {
		out += string(l.decimal) + frac
	}
	// A value that rounds to zero prints without a sign: "-0,0" reads as
	// a loss where there is none.
	if neg && strings.Trim(whole+frac, "0") != "" {
		out = "-" + out
	}
	return out
}

// grouped inserts thousands separators into a string of digits.
func (l *Locale) grouped(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	first := len(digits) % 3
	if first > 0 {
		b.WriteString(digits[:first])
	}
	for i := first; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(l.group)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Int formats a count with thousands separators: es 1.234, en 1,234.
func (l *Locale) Int(n int) string { return l.number(float64(n), 0) }

// IntPtr formats a nullable count.
func (l *Locale) IntPtr(n *int) string {
	if n == nil {
		return Null
	}
	return l.Int(*n)
}

// Decimal formats v with the given number of decimals.
func (l *Locale) Decimal(v float64, decimals int) string { return l.number(v, decimals) }

// Percent formats a fraction (0.125) as a percentage with one decimal:
// es "12,5 %", en "12.5%". Null prints as —.
func (l *Locale) Percent(f *float64) string {
	if f == nil {
		return Null
	}
	return l.PercentOf(*f)
}

// PercentOf formats a non-null fraction as a percentage.
func (l *Locale) PercentOf(f float64) string {
	if l.tag == "es" {
		return l.number(f*100, 1) + " %"
	}
	return l.number(f*100, 1) + "%"
}

// SignedPercent formats a relative change (0.722) with its sign: "+72,2 %".
func (l *Locale) SignedPercent(f float64) string {
	return signed(f*100, 1) + strings.TrimPrefix(l.PercentOf(math.Abs(f)), "-")
}

// Points formats a change of a rate in percentage points (5.2 means +5.2
// points): es "+5,2 pts", en "+5.2 pts".
func (l *Locale) Points(points float64) string {
	return signed(points, 1) + l.number(math.Abs(points), 1) + " " + l.T("unit.points")
}

// Score formats the alignment score (0–100) with one decimal; null is —.
func (l *Locale) Score(v *float64) string {
	if v == nil {
		return Null
	}
	return l.number(*v, 1)
}

// SignedInt formats a change in a count with its sign: "+13", "-3", "0".
func (l *Locale) SignedInt(n int) string {
	if n > 0 {
		return "+" + l.Int(n)
	}
	return l.Int(n)
}

// signed is the sign to print before the absolute value of v rounded to
// the given decimals: "+", "-" or "" when it rounds to zero.
func signed(v float64, decimals int) string {
	p := math.Pow(10, float64(decimals))
	switch r := math.Round(math.Abs(v) * p); {
	case r == 0:
		return ""
	case v > 0:
		return "+"
	}
	return "-"
}

// Symbol is the currency sign for an ISO 4217 code: € for EUR (and for an
// empty code), $ for USD, £ for GBP, the code itself otherwise.
func Symbol(code string) string {
	switch strings.ToUpper(code) {
	case "", "EUR":
		return "€"
	case "USD":
		return "$"
	case "GBP":
		return "£"
	}
	return strings.ToUpper(code)
}

// Money formats an amount in cents in the currency code (EUR when empty):
// es "1.234,56 €", en "€1,234.56". Codes without a sign print as the
// code: es "1.234,56 CHF", en "CHF 1,234.56".
func (l *Locale) Money(m metrics.Money, currency string) string {
	c := int64(m)
	neg := c < 0
	if neg {
		c = -c
	}
	body := l.grouped(strconv.FormatInt(c/100, 10)) + string(l.decimal) + fmt.Sprintf("%02d", c%100)
	sym := Symbol(currency)
	var out string
	switch {
	case l.tag == "es":
		out = body + " " + sym
	case utf8.RuneCountInString(sym) > 1:
		out = sym + " " + body
	default:
		out = sym + body
	}
	if neg {
		out = "-" + out
	}
	return out
}

// MoneyPtr formats a nullable amount.
func (l *Locale) MoneyPtr(m *metrics.Money, currency string) string {
	if m == nil {
		return Null
	}
	return l.Money(*m, currency)
}

// SignedMoney formats a change in an amount with its sign: "+74.345,67 €".
func (l *Locale) SignedMoney(m metrics.Money, currency string) string {
	switch {
	case m > 0:
		return "+" + l.Money(m, currency)
	case m < 0:
		return l.Money(m, currency)
	}
	return l.Money(0, currency)
}

// Hours formats a duration in hours readably: es "45 min", "7 h 48 min",
// "28 d 22 h"; en "45m", "7h 48m", "28d 22h". Durations of two days or
// more drop the minutes, which nobody acts on at that age.
func (l *Locale) Hours(h float64) string { return l.hours(h, true) }

// HoursMinutes formats a duration like Hours but never in days: "48 h",
// "1 h 30 min" (en "48h", "1h 30m"). Agreements are stated in hours.
func (l *Locale) HoursMinutes(h float64) string { return l.hours(h, false) }

func (l *Locale) hours(h float64, days bool) string {
	if math.IsNaN(h) || math.IsInf(h, 0) {
		return Null
	}
	sign := ""
	if h < 0 {
		sign, h = "-", -h
	}
	u := func(n int64, es, en string) string {
		if l.tag == "es" {
			return strconv.FormatInt(n, 10) + " " + es
		}
		return strconv.FormatInt(n, 10) + en
	}
	mins := int64(math.Round(h * 60))
	switch {
	case mins < 60:
		return sign + u(mins, "min", "m")
	case mins < 48*60 || !days:
		hh, mm := mins/60, mins%60
		if mm == 0 {
			return sign + u(hh, "h", "h")
		}
		return sign + u(hh, "h", "h") + " " + u(mm, "min", "m")
	}
	hours := int64(math.Round(h))
	d, hh := hours/24, hours%24
	if hh == 0 {
		return sign + u(d, "d", "d")
	}
	return sign + u(d, "d", "d") + " " + u(hh, "h", "h")
}

// Minutes formats a nullable duration given in minutes, as Hours does.
func (l *Locale) Minutes(m *float64) string {
	if m == nil {
		return Null
	}
	return l.Hours(*m / 60)
}

// Days formats a nullable number of days with one decimal: es "2,5 días",
// en "2.5 days".
func (l *Locale) Days(d *float64) string {
	if d == nil {
		return Null
	}
	return l.number(*d, 1) + " " + l.T("unit.days")
}

// WorkingHours names an SLA counted in working time: es "8 h laborables",
// "1 h laborable", "1 h 30 min laborables"; en "8 working hours", "1
// working hour", "1h 30m of working time".
func (l *Locale) WorkingHours(h float64) string {
	whole := h == math.Trunc(h) && h >= 1
	switch {
	case l.tag == "es" && h == 1:
		return l.HoursMinutes(h) + " laborable"
	case l.tag == "es":
		return l.HoursMinutes(h) + " laborables"
	case whole && h == 1:
		return "1 working hour"
	case whole:
		return l.number(h, 0) + " working hours"
	}
	return l.HoursMinutes(h) + " of working time"
}

// Weekday is the weekday's abbreviation: es "lun", en "Mon".
func (l *Locale) Weekday(d time.Weekday) string { return l.weekdays[d] }

// DayTime names an instant by weekday, day, month and time, without the
// year: es "lun 23 nov, 04:25", en "Mon 23 Nov, 04:25". The date is the
// one on t's own clock; convert t to the report's zone first.
func (l *Locale) DayTime(t time.Time) string {
	return fmt.Sprintf("%s %d %s, %s", l.Weekday(t.Weekday()), t.Day(), l.MonthShort(t.Month()), t.Format("15:04"))
}

// WeekdayTime is an instant by weekday and time only: es "lun 17:00",
// en "Mon 17:00".
func (l *Locale) WeekdayTime(t time.Time) string {
	return l.Weekday(t.Weekday()) + " " + t.Format("15:04")
}

// Upcoming names an instant relative to ref, both on the same clock: by
// weekday and time when it falls on ref's day or one of the six that
// follow, so the weekday cannot be mistaken ("lun 17:00"); with its date
// otherwise, past instants included ("lun 26 oct, 17:00").
func (l *Locale) Upcoming(t, ref time.Time) string {
	day := func(x time.Time) time.Time { return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC) }
	if !t.Before(ref) && day(t).Sub(day(ref)) < 7*24*time.Hour {
		return l.WeekdayTime(t)
	}
	return l.DayTime(t)
}

// Month is the month's full name: es "noviembre", en "November".
func (l *Locale) Month(m time.Month) string { return l.months[m-1] }

// MonthShort is the month's abbreviation: es "nov", en "Nov".
func (l *Locale) MonthShort(m time.Month) string { return l.short[m-1] }

// Date formats a calendar date: es "16/11/2026", en "16 Nov 2026". The
// date is the one on t's own clock; convert t to the report's zone first.
func (l *Locale) Date(t time.Time) string {
	if l.tag == "es" {
		return t.Format("02/01/2006")
	}
	return fmt.Sprintf("%d %s %d", t.Day(), l.MonthShort(t.Month()), t.Year())
}

// DateTime formats a date and a 24-hour time: es "16/11/2026 08:00",
// en "16 Nov 2026 08:00".
func (l *Locale) DateTime(t time.Time) string {
	return l.Date(t) + " " + t.Format("15:04")
}

// dayMonth is "16 nov" / "16 Nov".
func (l *Locale) dayMonth(t time.Time) string {
	return fmt.Sprintf("%d %s", t.Day(), l.MonthShort(t.Month()))
}

// DateRange names the days a period covers, its exclusive end excluded:
// "16–22 nov 2026", "30 nov – 6 dic 2026", "29 dic 2025 – 4 ene 2026",
// or one date for a day.
func (l *Locale) DateRange(p period.Period) string {
	first := p.Start
	last := p.End.AddDate(0, 0, -1)
	switch {
	case !last.After(first):
		return fmt.Sprintf("%s %d", l.dayMonth(first), first.Year())
	case first.Year() != last.Year():
		return fmt.Sprintf("%s %d – %s %d", l.dayMonth(first), first.Year(), l.dayMonth(last), last.Year())
	case first.Month() != last.Month():
		return fmt.Sprintf("%s – %s %d", l.dayMonth(first), l.dayMonth(last), last.Year())
	}
	return fmt.Sprintf("%d–%d %s %d", first.Day(), last.Day(), l.MonthShort(last.Month()), last.Year())
}

// PeriodName names a period in words: es "semana 47", "noviembre de
// 2026", "T4 2026", "18/11/2026"; en "week 47", "November 2026",
// "Q4 2026", "18 Nov 2026".
func (l *Locale) PeriodName(p period.Period) string {
	s := p.Start
	switch p.Kind {
	case period.Week:
		_, w := s.ISOWeek()
		return l.Tf("period.week", w)
	case period.Month:
		return l.Tf("period.month", l.Month(s.Month()), s.Year())
	case period.Quarter:
		return l.Tf("period.quarter", (int(s.Month())-1)/3+1, s.Year())
	}
	return l.Date(s)
}

// PeriodShort names a period compactly for trend rows: "S47", "nov 26",
// "T4 26", "18/11" (en: "W47", "Nov 26", "Q4 26", "18 Nov").
func (l *Locale) PeriodShort(p period.Period) string {
	s := p.Start
	switch p.Kind {
	case period.Week:
		_, w := s.ISOWeek()
		return l.Tf("period.week.short", w)
	case period.Month:
		return fmt.Sprintf("%s %02d", l.MonthShort(s.Month()), s.Year()%100)
	case period.Quarter:
		return l.Tf("period.quarter.short", (int(s.Month())-1)/3+1, s.Year()%100)
	}
	if l.tag == "es" {
		return s.Format("02/01")
	}
	return l.dayMonth(s)
}

// Month names. Spanish writes them in lower case; its abbreviation of
// September is "sept" (RAE, CLDR).
func monthsES() [12]string {
	return [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio",
		"julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}
}

func shortES() [12]string {
	return [12]string{"ene", "feb", "mar", "abr", "may", "jun",
		"jul", "ago", "sept", "oct", "nov", "dic"}
}

// Weekday abbreviations, Sunday first (time.Weekday's order). Spanish
// writes them in lower case (RAE: "lun", "mar", "mié"…).
func weekdaysES() [7]string {
	return [7]string{"dom", "lun", "mar", "mié", "jue", "vie", "sáb"}
}

func weekdaysEN() [7]string {
	return [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
}

func monthsEN() [12]string {
	return [12]string{"January", "February", "March", "April", "May", "June",
		"July", "August", "September", "October", "November", "December"}
}

func shortEN() [12]string {
	return [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
}

// MetricText writes a catalog metric's value as running text shows it,
// beside its MetricName: a duration with its unit ("3 h 16 min", "2,5
// días"), every other unit as Metric writes it. A metric without a value
// prints as Null.
func (l *Locale) MetricText(m metrics.Metric, v metrics.Value, currency string) string {
	if !v.Valid {
		return Null
	}
	switch m.Unit {
	case metrics.UnitMinutes:
		return l.Hours(v.Number / 60)
	case metrics.UnitHours:
		return l.Hours(v.Number)
	case metrics.UnitDays:
		return l.Days(&v.Number)
	}
	return l.Metric(m, v, currency)
}

// MetricName is a catalog metric's name: "Median response time". It is
// the name where the value is written with its unit ("3 h 16 min"), as in
// the digest.
func (l *Locale) MetricName(m metrics.Metric) string { return l.T(m.Label()) }

// MetricHeading is a catalog metric's name where its value stands as a
// bare number, as Metric writes it (a workbook cell, a column of the
// metrics table): a duration's name carries its unit, "Median response
// time (min)".
func (l *Locale) MetricHeading(m metrics.Metric) string {
	switch m.Unit {
	case metrics.UnitMinutes, metrics.UnitHours, metrics.UnitDays:
		return l.MetricName(m) + " " + l.T("unit."+string(m.Unit)+".heading")
	}
	return l.MetricName(m)
}

// Metric formats a catalog metric's value by its unit, money in currency:
// the one way a headline number is written as a bare number beside its
// MetricHeading, which names a duration's unit, so minutes are written as
// whole minutes, hours and days with one decimal. A metric without a value
// prints as Null.
func (l *Locale) Metric(m metrics.Metric, v metrics.Value, currency string) string {
	if !v.Valid {
		return Null
	}
	switch m.Unit {
	case metrics.UnitCount:
		return l.Int(v.Int())
	case metrics.UnitRate:
		return l.PercentOf(v.Number)
	case metrics.UnitMoney:
		return l.Money(v.Money, currency)
	case metrics.UnitMinutes:
		return l.Decimal(v.Number, 0)
	case metrics.UnitScore:
		return l.Score(&v.Number)
	}
	return l.Decimal(v.Number, 1) // hours, days
}
