package digest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/links"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/report"
)

// A rep's subject says what matters first, in each language, one lead or
// several; a rep with nothing waiting is told so. CRM text is escaped,
// and ids are links only where a template is set.
func TestPersonalDigest(t *testing.T) {
	r := renderer(t)
	s := snapshot(t, "w47-madrid")
	p, err := metrics.NewPersonal(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	tm := links.Templates{Lead: "https://crm.example/lead/{id}"}
	render := func(rep *metrics.RepDigest, owner *metrics.OwnerDigest, lang string) *digest.Digest {
		t.Helper()
		aud := report.AudienceRep
		if owner != nil {
			aud = report.AudienceCampaignOwner
		}
		o := options(aud, lang)
		o.Rep, o.Owner, o.Links = rep, owner, tm
		d, err := r.Render(s, o)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		id, name, lang, subject string
	}{
		{"u002", "Elena García", "es", "3 leads esperan tu llamada · 2 fuera de plazo · Semana 47 (16–22 nov 2026)"},
		{"u002", "Elena García", "en", "3 leads waiting for your call · 2 overdue · Week 47 (16–22 Nov 2026)"},
		{"u004", "Lucía Romero", "es", "1 lead espera tu llamada · 1 fuera de plazo"},
		{"u901", "Nuevo Comercial", "es", "Nadie espera tu llamada · 0 MQL en semana 47"},
		{"u901", "Nuevo Comercial", "en", "Nobody waiting for your call · 0 MQLs in week 47"},
	}
	for _, c := range cases {
		d := render(p.Rep(c.id, c.name), nil, c.lang)
		if !strings.HasPrefix(d.Subject, c.subject) {
			t.Errorf("%s (%s): subject %q, want it to start %q", c.id, c.lang, d.Subject, c.subject)
		}
		if !strings.Contains(d.HTML, c.name) || !strings.Contains(d.Text, c.name) {
			t.Errorf("%s: the digest does not greet %s", c.id, c.name)
		}
	}
	d := render(p.Rep("u002", "Elena García"), nil, "es")
	if !strings.Contains(d.HTML, `href="https://crm.example/lead/L00249"`) || !strings.Contains(d.Text, "https://crm.example/lead/L00249") {
		t.Errorf("the backlog lead L00249 is not linked in both parts")
	}
	// The team backlog's other leads are not in Elena's digest.
	for _, other := range []string{"L00374", "E012", "L00221", "L00389", "L00031", "L00362", "E005", "E002"} {
		if strings.Contains(d.HTML, other) || strings.Contains(d.Text, other) {
			t.Errorf("u002's digest names %s, another rep's or nobody's lead", other)
		}
	}

	evil := p.Rep("u002", `<img src=x onerror=alert(1)>`)
	if d := render(evil, nil, "en"); strings.Contains(d.HTML, "<img src=x") {
		t.Errorf("a name in the HTML is not escaped")
	}
	own := p.CampaignOwner("m001", "Sofía López")
	own.Campaigns = append(own.Campaigns, metrics.CampaignRow{CampaignID: "c90", Name: `<script>alert('x')</script>`, Channel: "email"})
	if d := render(nil, own, "en"); strings.Contains(d.HTML, "<script>alert") || !strings.Contains(d.HTML, "&lt;script&gt;") {
		t.Errorf("a campaign name in the HTML is not escaped")
	}

	o := options(report.AudienceRep, "es")
	if _, err := r.Render(s, o); !errors.Is(err, digest.ErrAudience) {
		t.Errorf("a rep digest without the rep's slice: %v, want ErrAudience", err)
	}
}
