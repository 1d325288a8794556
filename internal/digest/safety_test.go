package digest_test

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/templates"
)

// TestHostileData renders the golden data's hostile CRM text and checks
// it stays text: escaped in the HTML, never markup, links or formulas.
func TestHostileData(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	s := snapshot(t, "w47-madrid")
	s.ByRep[0].Name = "Ana\xff\r\nBcc: victim@example.com <b onmouseover=alert(1)>x</b>"
	s.ByRep[1].Name = strings.Repeat("Ñ", 500)
	// Rejection reasons are CRM text too, shown campaign by campaign.
	s.ByCampaign[5].RejectionReasons[0].Reason = `<img src=x onerror=alert(1)> =HYPERLINK("x")`
	const defs = "https://reports.example.com/definitions"
	for _, aud := range digest.Audiences() {
		for _, lang := range []string{"es", "en"} {
			t.Run(string(aud)+"."+lang, func(t *testing.T) {
				t.Parallel()
				opts := options(aud, lang)
				opts.DefinitionsURL = defs
				d, err := r.Render(s, opts)
				if err != nil {
					t.Fatal(err)
				}
				for name, part := range map[string]string{"subject": d.Subject, "html": d.HTML, "text": d.Text} {
					if !utf8.ValidString(part) {
						t.Errorf("%s is not valid UTF-8", name)
					}
				}
				if strings.ContainsAny(d.Subject, "\r\n") {
					t.Errorf("subject has a line break: %q", d.Subject)
				}
				if strings.Contains(d.Text, "\nBcc:") || strings.Contains(d.Text, "\r") {
					t.Error("CRM text broke a line of the plain text")
				}
				if strings.Contains(d.Text, strings.Repeat("Ñ", 100)) || strings.Contains(d.HTML, strings.Repeat("Ñ", 100)) {
					t.Error("a 500-character name was not shortened")
				}
				checkMarkup(t, d.HTML, []string{defs})
				texts := visibleText(t, d.HTML)
				if aud == digest.Marketing {
					for _, raw := range []string{`<script>alert('x')</script> & "Q4" push`, `=HYPERLINK("http://evil.example","click")`} {
						if !strings.Contains(texts, raw) {
							t.Errorf("campaign name %q is not shown as text", raw)
						}
						if !strings.Contains(d.Text, raw) {
							t.Errorf("campaign name %q is missing from the plain text", raw)
						}
					}
					if raw := `<img src=x onerror=alert(1)> =HYPERLINK("x")`; !strings.Contains(texts, raw) || !strings.Contains(d.Text, raw) {
						t.Errorf("rejection reason %q is not shown as text", raw)
					}
					if strings.Contains(d.HTML, "<script>alert") {
						t.Error("campaign name reached the HTML unescaped")
					}
				}
				if aud == digest.Sales && !strings.Contains(texts, "<b onmouseover=alert(1)>x</b>") {
					t.Error("rep name is not shown as text")
				}
			})
		}
	}
}

// checkMarkup fails on anything in the HTML that could run, load or
// submit something: scripts, forms, frames, images, event handlers, links
// other than the allowed ones.
func checkMarkup(t *testing.T, doc string, links []string) {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{"script": true, "form": true, "iframe": true, "img": true, "object": true,
		"embed": true, "link": true, "input": true, "button": true, "svg": true, "video": true, "audio": true}
	for n := range root.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if banned[n.Data] {
			t.Errorf("HTML has a <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			switch {
			case strings.HasPrefix(a.Key, "on"):
				t.Errorf("<%s> has an event handler %s", n.Data, a.Key)
			case a.Key == "src":
				t.Errorf("<%s> loads %s", n.Data, a.Val)
			case a.Key == "href":
				ok := false
				for _, l := range links {
					ok = ok || a.Val == l
				}
				if !ok {
					t.Errorf("unexpected link %q", a.Val)
				}
			case a.Key == "style" && strings.Contains(strings.ToLower(a.Val), "url("):
				t.Errorf("<%s> style loads a resource: %s", n.Data, a.Val)
			}
		}
	}
}

func visibleText(t *testing.T, doc string) string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return textOf(root)
}

// TestUnsafeLinks: links come from configuration, but a javascript: URL
// still must not become a link.
func TestUnsafeLinks(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	opts := options(digest.Leadership, "en")
	opts.DefinitionsURL = "javascript:alert(1)"
	opts.WorkbookURL = "https://reports.example.com/d/x?sig=a&exp=1"
	d, err := r.Render(snapshot(t, "w47-madrid"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.HTML, "javascript:") {
		t.Error("javascript: URL reached the HTML")
	}
	if !strings.Contains(d.HTML, `href="https://reports.example.com/d/x?sig=a&amp;exp=1"`) {
		t.Error("workbook link missing or badly escaped")
	}
	if !strings.Contains(d.Text, "https://reports.example.com/d/x?sig=a&exp=1") {
		t.Error("workbook link missing from the text")
	}
}

// TestNoClock renders the same digest twice, a moment apart, and without
// a generation time: the output depends on its arguments only.
func TestNoClock(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	s := snapshot(t, "w47-madrid")
	for _, aud := range digest.Audiences() {
		opts := options(aud, "es")
		opts.GeneratedAt = time.Time{}
		first, err := r.Render(s, opts)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		second, err := r.Render(s, opts)
		if err != nil {
			t.Fatal(err)
		}
		if *first != *second {
			t.Errorf("%s: two renders differ", aud)
		}
		if strings.Contains(first.Text, "generado el") || strings.Contains(first.HTML, "generado el") {
			t.Errorf("%s: a zero GeneratedAt still printed a generation time", aud)
		}
		// Today's date must not appear unless the data itself has it.
		l, _ := locale.Get("es")
		today := l.Date(time.Now())
		asOf := s.AsOf.Time()
		if now := time.Now(); (now.Before(asOf.AddDate(0, 0, -31)) || now.After(asOf.AddDate(0, 0, 1))) &&
			strings.Contains(first.Text, today) {
			t.Errorf("%s: today's date %s appears in the digest", aud, today)
		}
	}
}

// TestRenderErrors covers arguments that cannot be rendered.
func TestRenderErrors(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	s := snapshot(t, "w47-madrid")
	cases := []struct {
		name string
		s    *metrics.Snapshot
		opts digest.Options
		want error
	}{
		{name: "unknown audience", s: s, opts: digest.Options{Audience: "finance", Locale: "es"}, want: digest.ErrAudience},
		{name: "no audience", s: s, opts: digest.Options{Locale: "es"}, want: digest.ErrAudience},
		{name: "unknown locale", s: s, opts: digest.Options{Audience: digest.Sales, Locale: "fr"}, want: locale.ErrUnknown},
		{name: "nil snapshot", s: nil, opts: digest.Options{Audience: digest.Sales}, want: digest.ErrSnapshot},
		{name: "bad zone", s: &metrics.Snapshot{Period: metrics.PeriodInfo{Label: "2026-W47", TimeZone: "Mars/Olympus"}},
			opts: digest.Options{Audience: digest.Sales}, want: digest.ErrSnapshot},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := r.Render(tc.s, tc.opts); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSpanFromJSON: a snapshot read back from JSON has no Span; the
// digest rebuilds it from the label and zone.
func TestSpanFromJSON(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	s := snapshot(t, "w47-madrid")
	want, err := r.Render(s, options(digest.Sales, "es"))
	if err != nil {
		t.Fatal(err)
	}
	bare := *s
	bare.Span.Start, bare.Span.End = time.Time{}, time.Time{}
	got, err := r.Render(&bare, options(digest.Sales, "es"))
	if err != nil {
		t.Fatal(err)
	}
	if *got != *want {
		t.Error("rendering without Span differs")
	}
}

// TestNew checks that New refuses incomplete, unexpected and unused
// templates, and accepts the real set from disk as well as embedded.
func TestNew(t *testing.T) {
	t.Parallel()
	base := fstest.MapFS{}
	err := fs.WalkDir(templates.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.FS, path)
		base[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	with := func(edit func(m fstest.MapFS)) fs.FS {
		m := fstest.MapFS{}
		for k, v := range base {
			m[k] = v
		}
		edit(m)
		return m
	}
	cases := []struct {
		name string
		fsys fs.FS
		want error // nil: must succeed; errAny: any error
	}{
		{name: "embedded", fsys: templates.FS},
		{name: "from disk", fsys: os.DirFS("../../templates")},
		{name: "stray file", fsys: with(func(m fstest.MapFS) { m["notes.md"] = &fstest.MapFile{Data: []byte("x")} }), want: digest.ErrTemplates},
		{name: "unused partial", fsys: with(func(m fstest.MapFS) {
			m["_extra.html"] = &fstest.MapFile{Data: []byte(`{{define "orphan"}}x{{end}}`)}
		}), want: digest.ErrTemplates},
		{name: "content outside define", fsys: with(func(m fstest.MapFS) {
			m["_extra.txt"] = &fstest.MapFile{Data: []byte("lost text\n")}
		}), want: digest.ErrTemplates},
		{name: "undefined call", fsys: with(func(m fstest.MapFS) {
			m["sales.html"] = &fstest.MapFile{Data: []byte(`{{define "body"}}{{template "nowhere" .}}{{end}}`)}
		}), want: digest.ErrTemplates},
		{name: "missing audience", fsys: with(func(m fstest.MapFS) { delete(m, "marketing.txt") }), want: errAny},
		{name: "syntax error", fsys: with(func(m fstest.MapFS) {
			m["leadership.html"] = &fstest.MapFile{Data: []byte(`{{define "body"}}{{if}}{{end}}`)}
		}), want: errAny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := digest.New(tc.fsys)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want == errAny && err == nil, tc.want != nil && tc.want != errAny && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

var errAny = errors.New("any error")

// TestSize keeps every digest under Gmail's 102 KB clipping limit.
func TestSize(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	s := snapshot(t, "w47-madrid")
	for _, aud := range digest.Audiences() {
		d, err := r.Render(s, options(aud, "es"))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(d.HTML); n > 100_000 {
			t.Errorf("%s: HTML is %d bytes; Gmail clips messages over 102 KB", aud, n)
		}
	}
}

// TestNoTrustedTypes is a static check of the security scenarios (the
// README's "Reliability" table): the package never marks a string as safe
// HTML, JS, CSS or URL, so html/template escapes every CRM value.
func TestNoTrustedTypes(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(os.DirFS("."), "*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{"HTML", "HTMLAttr", "JS", "JSStr", "CSS", "URL", "Srcset"} {
			if strings.Contains(string(src), "htmltemplate."+typ+"(") || strings.Contains(string(src), "template."+typ+"(") {
				t.Errorf("%s converts to htmltemplate.%s", f, typ)
			}
		}
	}
}

// TestPreheader: the inbox preview line is the first thing in the body
// and hidden from the rendered message.
func TestPreheader(t *testing.T) {
	t.Parallel()
	d, err := renderer(t).Render(snapshot(t, "w47-madrid"), options(digest.Sales, "es"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := html.Parse(strings.NewReader(d.HTML))
	if err != nil {
		t.Fatal(err)
	}
	for n := range root.Descendants() {
		if n.Type != html.ElementNode || n.Data != "body" {
			continue
		}
		first := n.FirstChild
		for first != nil && first.Type != html.ElementNode {
			first = first.NextSibling
		}
		if first == nil || first.Data != "div" {
			t.Fatal("the body does not start with the preheader")
		}
		style := ""
		for _, a := range first.Attr {
			if a.Key == "style" {
				style = a.Val
			}
		}
		if !strings.Contains(style, "display:none") {
			t.Errorf("preheader is visible: %q", style)
		}
		if got := textOf(first); !strings.HasPrefix(got, "Alineación 71,3/100 · SLA de 24 h cumplido 71,4 % · 31 MQL · pipeline creado 128.845,67 €") {
			t.Errorf("preheader says %q", got)
		}
		return
	}
	t.Fatal("no body")
}
