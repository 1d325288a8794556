package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/signedlink"
)

// indexStyle is the index page's only style sheet. The page's CSP allows
// exactly this text (by hash) and no script at all.
const indexStyle = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#5b6475;--bg:#f6f7f9;--card:#fff;--line:#dde1e8;--ok:#1f7a3d;--warn:#8a5a00;--fail:#b3261e;--run:#1f5fa8}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaef;--muted:#a3abba;--bg:#14171c;--card:#1d2128;--line:#343a45;--ok:#6fcf8e;--warn:#f0b24a;--fail:#ff8a80;--run:#8ab8f0}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:960px;margin:0 auto;padding:0 20px}
header{padding-top:28px}
h1{font-size:22px;margin:0}
h1 span{color:var(--muted);font-weight:400}
header p{color:var(--muted);margin:4px 0 20px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px 20px;margin:0 0 16px}
h2{font-size:17px;margin:0 0 2px}
.meta{color:var(--muted);margin:0 0 12px;font-size:14px}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--bg);padding:1px 5px;border-radius:4px}
.latest{margin:0 0 12px}
a{color:var(--run)}
.dl a{display:inline-block;margin-right:6px;padding:2px 8px;border:1px solid var(--line);border-radius:4px;text-decoration:none;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-top:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em;border-top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.nw{white-space:nowrap}
.st{font-weight:600;white-space:nowrap}
.st-ok{color:var(--ok)}.st-warn{color:var(--warn)}.st-fail{color:var(--fail)}.st-run{color:var(--run)}.st-other{color:var(--muted)}
.empty{color:var(--muted);margin:0}
`

var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>sameteam · reports</title>
<style>{{.Style}}</style>
</head>
<body>
<header>
<h1>sameteam <span>reports</span></h1>
<p>{{len .Reports}} report{{if ne (len .Reports) 1}}s{{end}} · page generated {{.Now}}{{if .LinksExpire}} · links valid until {{.LinksExpire}}{{end}}</p>
</header>
<main>
{{range .Reports}}<section>
<h2>{{.Name}}</h2>
<p class="meta">{{if .Title}}{{.Title}} · {{end}}schedule <code>{{.Schedule}}</code> {{.Zone}} · next run {{if .NextRun}}{{.NextRun}}{{else}}not scheduled{{end}}</p>
{{if .Latest}}<p class="latest dl">Latest period <strong>{{.Latest.Label}}</strong>: <a href="{{.Latest.HTML}}">HTML</a><a href="{{.Latest.XLSX}}">Excel</a><a href="{{.Latest.JSON}}">JSON</a></p>{{end}}
{{if .Recent}}<table>
<thead><tr><th>Period</th><th>Status</th><th>Trigger</th><th>Started</th><th class="num">Duration</th><th>Downloads</th></tr></thead>
<tbody>
{{range .Recent}}<tr><td class="nw">{{.Links.Label}}</td><td><span class="st st-{{.Class}}">{{.Symbol}} {{.Status}}</span></td><td>{{.Trigger}}</td><td class="nw">{{.Started}}</td><td class="num">{{.Duration}}</td><td class="dl nw"><a href="{{.Links.HTML}}">HTML</a><a href="{{.Links.XLSX}}">Excel</a><a href="{{.Links.JSON}}">JSON</a></td></tr>
{{end}}</tbody>
</table>{{else}}<p class="empty">No runs recorded yet.</p>{{end}}
</section>
{{else}}<section><p class="empty">No reports are configured.</p></section>
{{end}}</main>
</body>
</html>
`))

// indexCSP allows the page's one style sheet, by hash, and nothing else.
var indexCSP = func() string {
	sum := sha256.Sum256([]byte(indexStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

type links struct {
	Label            string
	HTML, XLSX, JSON string
}

type indexRun struct {
	Links                      links
	Status, Class, Symbol      string
	Trigger, Started, Duration string
}

type indexReport struct {
	Name, Title, Schedule, Zone, NextRun string
	Latest                               *links
	Recent                               []indexRun
}

type indexPage struct {
	Style       template.CSS
	Now         string
	LinksExpire string
	Reports     []indexReport
}

const stamp = "Mon 2 Jan 2006 15:04 MST"

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	reports, err := s.opts.Reports.Reports(r.Context())
	if err != nil {
		s.log.Error("http: list reports", slog.Any("error", err))
		text(w, http.StatusInternalServerError, "the report list is unavailable; see the server log")
		return
	}
	now := s.now()
	// Links on the page are for a browser, which cannot send the bearer
	// token: they are signed, and never outlive the link that opened the
	// page.
	expires := now.Add(s.opts.LinkTTL)
	if c, ok := r.Context().Value(credentialKey{}).(credential); ok && c.linkExpires.Before(expires) {
		expires = c.linkExpires
	}
	page := indexPage{Style: template.CSS(indexStyle), Now: now.UTC().Format(stamp)}
	if s.opts.LinkKey != nil {
		page.LinksExpire = expires.UTC().Format(stamp)
	}
	for _, rep := range reports {
		if !nameRE.MatchString(rep.Name) {
			continue
		}
		ir := indexReport{Name: rep.Name, Title: rep.Title, Schedule: rep.Schedule, Zone: rep.Zone}
		if !rep.NextRun.IsZero() {
			ir.NextRun = rep.NextRun.Format(stamp)
		}
		if labelRE.MatchString(rep.Latest) {
			l := s.links(rep.Name, rep.Latest, expires)
			ir.Latest = &l
		}
		for _, run := range rep.Recent {
			if !labelRE.MatchString(run.Period) {
				continue
			}
			class, symbol := statusClass(run.Status)
			ir.Recent = append(ir.Recent, indexRun{
				Links:    s.links(rep.Name, run.Period, expires),
				Status:   words(string(run.Status)),
				Class:    class,
				Symbol:   symbol,
				Trigger:  words(string(run.Trigger)),
				Started:  run.StartedAt.Format(stamp),
				Duration: run.Duration.Round(time.Second).String(),
			})
		}
		page.Reports = append(page.Reports, ir)
	}
	var buf bytes.Buffer
	if err := indexTmpl.Execute(&buf, page); err != nil {
		s.log.Error("http: render index", slog.Any("error", err))
		text(w, http.StatusInternalServerError, "the index could not be rendered")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", indexCSP)
	h.Set("Cache-Control", "no-store")
	_, _ = buf.WriteTo(w)
}

// links are a period's three download paths, signed when a key is set.
func (s *Server) links(name, label string, expires time.Time) links {
	sign := func(ext string) string {
		p := "/reports/" + name + "/" + label + "." + ext
		if s.opts.LinkKey == nil {
			return p
		}
		signed, err := signedlink.Sign(s.opts.LinkKey, p, expires)
		if err != nil {
			return p
		}
		return signed
	}
	return links{Label: label, HTML: sign("html"), XLSX: sign("xlsx"), JSON: sign("json")}
}

// statusClass maps a run's status to a colour class and a symbol, so the
// status reads without colour too.
func statusClass(status report.RunStatus) (class, symbol string) {
	switch status {
	case report.RunSucceeded:
		return "ok", "✓"
	case report.RunFailed:
		return "fail", "✗"
	case report.RunPartial:
		return "warn", "!"
	case report.RunHeld:
		// Nothing was sent: the data-quality gate is waiting for the
		// data, and a later run sends it.
		return "warn", "⏸"
	case report.RunRunning:
		return "run", "…"
	}
	return "other", "·"
}

// words writes a stored word for a reader: catch_up as "catch up".
func words(s string) string { return strings.ReplaceAll(s, "_", " ") }
