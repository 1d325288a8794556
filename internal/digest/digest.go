// Package digest renders the email digest of a snapshot for one audience
// (leadership, sales or marketing) in one locale: a subject line, an
// email-safe HTML body (tables, inline CSS, no images or scripts) and a
// plain-text alternative with the same numbers.
//
// Templates come from an fs.FS (the embedded templates package in
// production, os.DirFS while editing them) and are parsed once by New.
// Rendering reads nothing but its arguments: no clock, no environment, so
// the same snapshot and options always give the same bytes.
package digest

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"sort"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"

	"github.com/sameteam/sameteam/internal/links"
	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
)

// Audience is who a digest is written for; the audiences are package
// report's.
type Audience = report.Audience

// Short names for the audiences in this package's templates and views.
const (
	Leadership = report.AudienceLeadership
	Sales      = report.AudienceSales
	Marketing  = report.AudienceMarketing
)

// Audiences lists the team digests' audiences; the personal ones
// (report.PersonalAudiences) also need the person's slice in Options.
func Audiences() []Audience { return report.Audiences() }

// templated lists every audience with templates: the team digests' and
// the personal ones.
func templated() []Audience { return append(report.Audiences(), report.PersonalAudiences()...) }

// Options say how to render one digest.
type Options struct {
	Audience Audience
	// Locale is "es" or "en" (default "es").
	Locale string
	// Currency is the ISO 4217 code of every amount (default EUR).
	Currency string
	// ReportName is the configured report's name, printed in the footer.
	ReportName string
	// DefinitionsURL links the metric definitions. Empty: the digest points
	// to the Definitions sheet of the attached workbook instead.
	DefinitionsURL string
	// WorkbookURL is a download link for the workbook, set when the
	// attachment was too large and had to be replaced by a link.
	WorkbookURL string
	// GeneratedAt is when the run rendered the digest; zero leaves it out.
	// It is passed in rather than read from a clock so that rendering is
	// reproducible.
	GeneratedAt time.Time
	// Links are the CRM's URL templates: ids become links where set.
	Links links.Templates
	// Rep is the person's slice for a rep digest, Owner for a campaign
	// owner's; the snapshot then only gives the period, as_of and
	// freshness.
	Rep   *metrics.RepDigest
	Owner *metrics.OwnerDigest
}

// Digest is one rendered email.
type Digest struct {
	Subject string
	HTML    string
	Text    string
}

// Renderer holds the parsed templates. It is safe for concurrent use.
type Renderer struct {
	html map[Audience]*htmltemplate.Template
	text map[Audience]*texttemplate.Template
}

// Template file names. Partials are the files whose names start with "_";
// each audience has its own body file.
const (
	layoutHTML = "layout.html"
	layoutText = "layout.txt"
)

// New parses every template in fsys once. It fails when a file is missing,
// does not parse, is not one of the layout, partial or audience files, or
// defines a template that no audience's digest ever uses: a template that
// is never rendered is a mistake waiting to be shipped.
func New(fsys fs.FS) (*Renderer, error) {
	files, err := fs.Glob(fsys, "*")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	var partialsHTML, partialsText []string
	known := map[string]bool{layoutHTML: true, layoutText: true}
	for _, a := range templated() {
		known[string(a)+".html"] = true
		known[string(a)+".txt"] = true
	}
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, ".go"):
			// The templates package's own source, seen through os.DirFS.
		case strings.HasPrefix(f, "_") && path.Ext(f) == ".html":
			partialsHTML = append(partialsHTML, f)
		case strings.HasPrefix(f, "_") && path.Ext(f) == ".txt":
			partialsText = append(partialsText, f)
		case known[f]:
		default:
			return nil, fmt.Errorf("%w: %s is not a layout, partial or audience file", ErrTemplates, f)
		}
	}

	r := &Renderer{
		html: make(map[Audience]*htmltemplate.Template),
		text: make(map[Audience]*texttemplate.Template),
	}
	baseHTML, err := htmltemplate.New(layoutHTML).Funcs(htmlFuncs()).ParseFS(fsys, append([]string{layoutHTML}, partialsHTML...)...)
	if err != nil {
		return nil, fmt.Errorf("parse html templates: %w", err)
	}
	baseText, err := texttemplate.New(layoutText).Funcs(textFuncs()).ParseFS(fsys, append([]string{layoutText}, partialsText...)...)
	if err != nil {
		return nil, fmt.Errorf("parse text templates: %w", err)
	}
	usedHTML, usedText := map[string]bool{}, map[string]bool{}
	for _, a := range templated() {
		h, err := baseHTML.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone html templates: %w", err)
		}
		if h, err = h.ParseFS(fsys, string(a)+".html"); err != nil {
			return nil, fmt.Errorf("parse %s.html: %w", a, err)
		}
		t, err := baseText.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone text templates: %w", err)
		}
		if t, err = t.ParseFS(fsys, string(a)+".txt"); err != nil {
			return nil, fmt.Errorf("parse %s.txt: %w", a, err)
		}
		if err := reach(layoutHTML, htmlTrees(h), usedHTML); err != nil {
			return nil, fmt.Errorf("%s.html: %w", a, err)
		}
		if err := reach(layoutText, textTrees(t), usedText); err != nil {
			return nil, fmt.Errorf("%s.txt: %w", a, err)
		}
		r.html[a], r.text[a] = h, t
	}
	if err := unused(r, usedHTML, usedText); err != nil {
		return nil, err
	}
	return r, nil
}

// unused fails when some set defines a template that no audience
// reaches, or when a partial or audience file has content outside its
// {{define}} blocks: such content would never be rendered.
func unused(r *Renderer, usedHTML, usedText map[string]bool) error {
	var names []string
	check := func(trees map[string]*parse.Tree, used map[string]bool, kind string) {
		for name, tr := range trees {
			if strings.HasSuffix(name, ".html") || strings.HasSuffix(name, ".txt") {
				if !used[name] && !blank(tr.Root) {
					names = append(names, name+" (content outside define)")
				}
				continue
			}
			if !used[name] {
				names = append(names, name+" ("+kind+")")
			}
		}
	}
	for _, a := range templated() {
		check(htmlTrees(r.html[a]), usedHTML, "html")
		check(textTrees(r.text[a]), usedText, "text")
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	names = dedupe(names)
	return fmt.Errorf("%w: never used: %s", ErrTemplates, strings.Join(names, ", "))
}

// blank reports whether a file's top level holds only white space and
// comments.
func blank(n *parse.ListNode) bool {
	if n == nil {
		return true
	}
	for _, c := range n.Nodes {
		switch c := c.(type) {
		case *parse.TextNode:
			if strings.TrimSpace(string(c.Text)) != "" {
				return false
			}
		case *parse.CommentNode:
		default:
			return false
		}
	}
	return true
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func htmlTrees(t *htmltemplate.Template) map[string]*parse.Tree {
	m := make(map[string]*parse.Tree)
	for _, x := range t.Templates() {
		if x.Tree != nil {
			m[x.Name()] = x.Tree
		}
	}
	return m
}

func textTrees(t *texttemplate.Template) map[string]*parse.Tree {
	m := make(map[string]*parse.Tree)
	for _, x := range t.Templates() {
		if x.Tree != nil {
			m[x.Name()] = x.Tree
		}
	}
	return m
}

// reach marks in used every template reachable from root through
// {{template}} calls, and fails on a call to a template that is not
// defined (html/template would only notice when that branch executes).
func reach(root string, trees map[string]*parse.Tree, used map[string]bool) error {
	seen := map[string]bool{}
	var missing []string
	var visit func(name string)
	var walk func(n parse.Node)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		used[name] = true
		tr, ok := trees[name]
		if !ok || tr.Root == nil {
			missing = append(missing, name)
			return
		}
		walk(tr.Root)
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			visit(n.Name)
		}
	}
	visit(root)
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%w: called but not defined: %s", ErrTemplates, strings.Join(missing, ", "))
	}
	return nil
}

// Render renders the digest of s for opts.Audience in opts.Locale.
func (r *Renderer) Render(s *metrics.Snapshot, opts Options) (*Digest, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil snapshot", ErrSnapshot)
	}
	if opts.Audience == "" {
		return nil, fmt.Errorf("%w: empty", ErrAudience)
	}
	h, ok := r.html[opts.Audience]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrAudience, opts.Audience)
	}
	loc, err := locale.Get(opts.Locale)
	if err != nil {
		return nil, fmt.Errorf("render digest: %w", err)
	}
	span, err := spanOf(s)
	if err != nil {
		return nil, err
	}
	v, err := build(s, span, loc, opts)
	if err != nil {
		return nil, err
	}
	var hb, tb bytes.Buffer
	if err := h.ExecuteTemplate(&hb, layoutHTML, v); err != nil {
		return nil, fmt.Errorf("render %s html: %w", opts.Audience, err)
	}
	if err := r.text[opts.Audience].ExecuteTemplate(&tb, layoutText, v); err != nil {
		return nil, fmt.Errorf("render %s text: %w", opts.Audience, err)
	}
	return &Digest{Subject: v.Subject, HTML: hb.String(), Text: tidyText(tb.String())}, nil
}

// spanOf is the snapshot's period; a snapshot read back from JSON has no
// Span, so it is rebuilt from the label and zone the JSON carries.
func spanOf(s *metrics.Snapshot) (period.Period, error) {
	if !s.Span.Start.IsZero() {
		return s.Span, nil
	}
	loc, err := time.LoadLocation(s.Period.TimeZone)
	if err != nil {
		return period.Period{}, fmt.Errorf("%w: time zone %q: %w", ErrSnapshot, s.Period.TimeZone, err)
	}
	p, err := period.Parse(s.Period.Label, loc)
	if err != nil {
		return period.Period{}, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	return p, nil
}

// tidyText trims trailing spaces from every line and collapses runs of
// blank lines that optional sections leave behind.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}
