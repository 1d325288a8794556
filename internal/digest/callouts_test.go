package digest_test

import (
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/metrics"
)

func ptr[T any](v T) *T { return &v }

// calm is the w47 snapshot with a previous period equal to the current
// one and nothing overdue or breached: no move to call out.
func calm(t *testing.T) *metrics.Snapshot {
	t.Helper()
	s := snapshot(t, "w47-madrid")
	s.Headline.SLABreached = 0
	s.Previous.Headline = s.Headline
	s.FollowupBacklog = nil
	return s
}

// calloutText is the callouts section of the plain-text digest.
func calloutText(t *testing.T, s *metrics.Snapshot, aud digest.Audience, lang string) string {
	t.Helper()
	d, err := renderer(t).Render(s, options(aud, lang))
	if err != nil {
		t.Fatal(err)
	}
	head := map[string]string{"es": "LO MÁS DESTACADO", "en": "WHAT MOVED"}[lang]
	_, after, ok := strings.Cut(d.Text, head+"\n")
	if !ok {
		t.Fatalf("no callouts section in:\n%s", d.Text)
	}
	// The underline, then "- " items with indented continuations.
	lines := strings.Split(after, "\n")[1:]
	var out []string
	for _, l := range lines {
		if l != "" && !strings.HasPrefix(l, "- ") && !strings.HasPrefix(l, "  ") {
			break
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestCallouts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		aud    digest.Audience
		lang   string
		edit   func(s *metrics.Snapshot)
		want   []string
		absent []string
	}{
		{name: "nothing moved", aud: digest.Leadership, lang: "es", edit: func(*metrics.Snapshot) {},
			want: []string{"Sin grandes cambios frente a semana 46: ninguna tasa se movió 5 puntos ni ningún recuento un 20 %."}},
		{name: "rate under five points", aud: digest.Marketing, lang: "en",
			edit: func(s *metrics.Snapshot) {
				s.Previous.Headline.SLACompliance = ptr(0.80)
				s.Headline.SLACompliance = ptr(0.751)
			},
			want: []string{"No large moves"}, absent: []string{"SLA compliance fell"}},
		{name: "rate over five points", aud: digest.Marketing, lang: "en",
			edit: func(s *metrics.Snapshot) {
				s.Previous.Headline.SLACompliance = ptr(0.80)
				s.Headline.SLACompliance = ptr(0.749)
			},
			want: []string{"SLA compliance fell 5.1 pts, from 80.0% to 74.9%."}},
		{name: "rate up in spanish", aud: digest.Sales, lang: "es",
			edit: func(s *metrics.Snapshot) { s.Previous.Headline.DecisionRate = ptr(0.40) },
			want: []string{"La tasa de decisión subió 14,8 pts, del 40,0 % al 54,8 %."}},
		{name: "count under twenty percent", aud: digest.Marketing, lang: "en",
			edit:   func(s *metrics.Snapshot) { s.Previous.Headline.MQLs = 26 },
			absent: []string{"MQLs rose"}},
		{name: "count over twenty percent, plural", aud: digest.Marketing, lang: "es",
			edit: func(s *metrics.Snapshot) { s.Previous.Headline.MQLs = 25 },
			want: []string{"Los MQL subieron un 24,0 %, de 25 a 31."}},
		{name: "from zero", aud: digest.Leadership, lang: "en",
			edit: func(s *metrics.Snapshot) { s.Previous.Headline.MQLs = 0 },
			want: []string{"MQLs went from 0 to 31."}},
		{name: "money down", aud: digest.Leadership, lang: "es",
			edit: func(s *metrics.Snapshot) { s.Previous.Headline.WonRevenue.Total = 2000000 },
			want: []string{"Los ingresos ganados bajaron un 30,8 %, de 20.000,00 € a 13.845,67 €."}},
		{name: "score moved", aud: digest.Leadership, lang: "en",
			edit: func(s *metrics.Snapshot) { s.Previous.Headline.AlignmentScore = ptr(60.0) },
			want: []string{"The alignment score rose 11.3 pts, from 60.0 to 71.3."}},
		{name: "null previous is not a move", aud: digest.Leadership, lang: "en",
			edit: func(s *metrics.Snapshot) {
				s.Previous.Headline.WinRate.Total = nil
				s.Headline.WinRate.Total = ptr(0.9)
			},
			want: []string{"No large moves"}},
		{name: "breaches and backlog lead for sales", aud: digest.Sales, lang: "es",
			edit: func(s *metrics.Snapshot) {
				w := snapshot(t, "w47-madrid")
				s.Headline.SLABreached = w.Headline.SLABreached
				s.FollowupBacklog = w.FollowupBacklog
				s.Previous.Headline.MQLs = 10
			},
			want: []string{
				"10 leads de los últimos 30 días siguen sin contacto y fuera de plazo; el más antiguo lleva 28 d 22 h esperando (L00374, Javier García).",
				"8 MQL del periodo superaron el SLA de 24 h sin una respuesta de ventas a tiempo.",
				"Los MQL pasaron de 10 a 31.",
			}},
		{name: "one overdue lead, singular, unassigned", aud: digest.Sales, lang: "en",
			edit: func(s *metrics.Snapshot) {
				s.FollowupBacklog = []metrics.BacklogItem{{LeadID: "L1", AgeHours: 30, SLABreached: true}}
			},
			want: []string{"1 lead from the last 30 days is past the SLA with no contact yet: it has waited 30h (L1, Unassigned)."}},
		{name: "at most three", aud: digest.Leadership, lang: "en",
			edit: func(s *metrics.Snapshot) {
				s.Previous.Headline.MQLs = 10
				s.Previous.Headline.PipelineCreated.Total = 100
				s.Previous.Headline.WonRevenue.Total = 100
				s.Previous.Headline.WinRate.Total = ptr(0.1)
				s.Previous.Headline.SLACompliance = ptr(0.1)
			},
			// SLA moved most; then pipeline, won revenue and MQLs tie at
			// the cap and the audience's order of importance decides.
			want:   []string{"SLA compliance rose 61.4 pts", "Pipeline created went from €1.00 to €128,845.67.", "Won revenue went from €1.00 to €13,845.67."},
			absent: []string{"The win rate rose", "MQLs rose"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := calm(t)
			tc.edit(s)
			got := strings.Join(strings.Fields(calloutText(t, s, tc.aud, tc.lang)), " ")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("callouts lack %q:\n%s", w, got)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("callouts should not say %q:\n%s", a, got)
				}
			}
		})
	}
}

// TestBacklogLimit: the email lists the oldest leads and points to the
// workbook for the rest.
func TestBacklogLimit(t *testing.T) {
	t.Parallel()
	s := snapshot(t, "w47-madrid")
	for i := range 6 {
		s.FollowupBacklog = append(s.FollowupBacklog, metrics.BacklogItem{
			LeadID: "X" + string(rune('A'+i)), AgeHours: 1, MQLAt: s.AsOf})
	}
	d, err := renderer(t).Render(s, options(digest.Sales, "es"))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{d.Text, visibleText(t, d.HTML)} {
		if !strings.Contains(part, "… y 5 más en la hoja «Seguimiento pendiente» del libro de Excel.") {
			t.Error("no pointer to the rest of the backlog")
		}
		if !strings.Contains(part, "20 leads de los últimos 30 días") {
			t.Error("the summary does not count every waiting lead")
		}
		if strings.Contains(part, "XF") || !strings.Contains(part, "XA") {
			t.Error("the list is not cut at 15 rows, oldest first")
		}
	}
}
