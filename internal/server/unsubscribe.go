package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/signedlink"
)

// OptOutRecorder records that a recipient asked, through a digest's
// unsubscribe link, to stop receiving a report; *ledger.Ledger is one (by
// an adapter). It must be idempotent: a mail provider may send the same
// one-click request twice.
type OptOutRecorder interface {
	OptOut(ctx context.Context, report, recipient string) error
}

// maxUnsubscribeBody bounds the body of a one-click POST: RFC 8058's is
// "List-Unsubscribe=One-Click", and nothing in it is read.
const maxUnsubscribeBody = 4 << 10

// unsubscribeStyle is the pages' only style sheet, allowed by hash.
const unsubscribeStyle = `
:root{color-scheme:light dark}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:520px;margin:48px auto;padding:0 20px}
h1{font-size:22px}
button{font:inherit;padding:8px 18px;border-radius:6px;border:1px solid #1f5fa8;background:#1f5fa8;color:#fff;cursor:pointer}
`

var unsubscribeTmpl = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>{{.Style}}</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Button}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">{{.Button}}</button></form>{{end}}
</main>
</body>
</html>
`))

// unsubscribeCSP allows the style sheet by hash, no script, and a form
// that posts back to this server only.
var unsubscribeCSP = func() string {
	sum := sha256.Sum256([]byte(unsubscribeStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}()

type unsubscribePage struct {
	Lang, Title, Text, Button string
	Style                     template.CSS
}

// unsubscribe answers /unsubscribe/REPORT/LOCALE/ADDRESS?sig=…, the link
// of a digest's List-Unsubscribe header. The signature is the whole
// credential (a one-click POST brings no cookie and no token), and it is
// checked before anything else: a link that is not ours is refused with
// 403 and records nothing. A GET only shows a page whose button posts,
// since mail scanners and previews follow links; a POST, the mail
// provider's one-click (RFC 8058) or that button, records the opt-out and
// says so, with no redirect.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	name, lang, enc := r.PathValue("name"), r.PathValue("locale"), r.PathValue("addr")
	loc, err := locale.Get(lang)
	if err != nil || loc.Tag() != lang {
		loc, _ = locale.Get("")
	}
	if err := signedlink.VerifyAction(s.opts.LinkKey, signedlink.ActionUnsubscribe, r.URL.Path, r.URL.Query()); err != nil {
		s.log.Info("http: refused unsubscribe link", "report", name, "remote", r.RemoteAddr, slog.Any("error", err))
		text(w, http.StatusForbidden, loc.T("unsubscribe.invalid"))
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	addr := string(raw)
	if err != nil || !nameRE.MatchString(name) || !strings.Contains(addr, "@") {
		// Signed by this key, yet not a link sameteam makes.
		s.log.Warn("http: a signed unsubscribe link that sameteam does not make", "report", name, "remote", r.RemoteAddr)
		text(w, http.StatusForbidden, loc.T("unsubscribe.invalid"))
		return
	}
	page := unsubscribePage{Lang: loc.Tag(), Style: template.CSS(unsubscribeStyle)}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxUnsubscribeBody)
		oneClick := r.ParseForm() == nil && r.PostForm.Get("List-Unsubscribe") == "One-Click"
		if err := s.opts.OptOuts.OptOut(r.Context(), name, addr); err != nil {
			// The cause goes to the log: it may name hosts. A mail
			// provider retries a failed one-click request.
			s.log.Error("http: record an opt-out", "report", name, "recipient_hash", addressHash(addr), slog.Any("error", err))
			w.Header().Set("Retry-After", "60")
			text(w, http.StatusServiceUnavailable, loc.T("unsubscribe.unavailable"))
			return
		}
		s.log.Info("http: unsubscribed", "report", name, "recipient_hash", addressHash(addr), "one_click", oneClick)
		page.Title, page.Text = loc.T("unsubscribe.done.title"), loc.Tf("unsubscribe.done", addr, name)
	} else {
		page.Title, page.Text, page.Button = loc.Tf("unsubscribe.title", name), loc.Tf("unsubscribe.confirm", addr, name), loc.T("unsubscribe.button")
	}
	var buf bytes.Buffer
	if err := unsubscribeTmpl.Execute(&buf, page); err != nil {
		s.log.Error("http: render the unsubscribe page", slog.Any("error", err))
		text(w, http.StatusInternalServerError, "the page could not be rendered")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", unsubscribeCSP)
	h.Set("Cache-Control", "no-store")
	_, _ = buf.WriteTo(w)
}

// addressHash names a recipient in logs without the address, as the
// pipeline's delivery lines do, so the two can be matched.
func addressHash(addr string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(addr))))
	return hex.EncodeToString(sum[:6])
}
