package server_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/server"
	"github.com/sameteam/sameteam/internal/signedlink"
	"github.com/sameteam/sameteam/internal/testdb"
)

// ledgerOptOuts records opt-outs in a real ledger.
type ledgerOptOuts struct{ l *ledger.Ledger }

func (o ledgerOptOuts) OptOut(ctx context.Context, report, recipient string) error {
	_, err := o.l.OptOut(ctx, report, recipient)
	return err
}

// optOutServer is a server whose unsubscribe links record in a SQLite
// ledger.
func optOutServer(t *testing.T) (*server.Server, *bundle, *ledger.Ledger, *db.DB) {
	t.Helper()
	d := testdb.Open(t, testdb.SQLiteURL(t))
	if err := ledger.Migrate(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(d)
	s, b := setup(t, func(o *server.Options) { o.OptOuts = ledgerOptOuts{l} })
	return s, b, l, d
}

func unsubscribePath(report, lang, addr string) string {
	return "/unsubscribe/" + report + "/" + lang + "/" + base64.RawURLEncoding.EncodeToString([]byte(addr))
}

func signedUnsubscribe(t *testing.T, path string) string {
	t.Helper()
	link, err := signedlink.SignAction(linkKey, signedlink.ActionUnsubscribe, path)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// post sends what a mail provider's one-click unsubscribe sends (RFC 8058):
// a form body and nothing else, no cookie, no credential.
func post(t *testing.T, b *bundle, u string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{res.StatusCode, res.Header, body.String()}
}

func optOuts(t *testing.T, l *ledger.Ledger) []ledger.OptOut {
	t.Helper()
	list, err := l.OptOuts(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// A GET shows a page whose button posts and records nothing; the one-click
// POST records the opt-out, once however often it comes, and answers in
// the link's language without a redirect.
func TestUnsubscribeOneClick(t *testing.T) {
	t.Parallel()
	s, b, l, _ := optOutServer(t)
	link := s.URL() + signedUnsubscribe(t, unsubscribePath("weekly-sales", "en", "ana@example.com"))

	page := get(t, b, link, "")
	if page.code != http.StatusOK || !strings.Contains(page.body, `<form method="post">`) ||
		!strings.Contains(page.body, "ana@example.com will no longer receive the report weekly-sales.") ||
		!strings.Contains(page.body, `<button type="submit">Unsubscribe</button>`) {
		t.Fatalf("GET: %d\n%s", page.code, page.body)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") || strings.Contains(csp, "script-src") {
		t.Errorf("GET CSP %q", csp)
	}
	if got := optOuts(t, l); len(got) != 0 {
		t.Fatalf("a GET recorded %+v", got)
	}
	for range 2 {
		done := post(t, b, link)
		if done.code != http.StatusOK || !strings.Contains(done.body, "ana@example.com will no longer receive the report weekly-sales.") {
			t.Fatalf("POST: %d %v\n%s", done.code, done.header, done.body)
		}
	}
	got := optOuts(t, l)
	if len(got) != 1 || got[0].Report != "weekly-sales" || got[0].Recipient != "ana@example.com" || got[0].At.IsZero() {
		t.Fatalf("opt-outs after two POSTs: %+v", got)
	}

	es := post(t, b, s.URL()+signedUnsubscribe(t, unsubscribePath("weekly-sales", "es", "Bob@Example.com")))
	if es.code != http.StatusOK || !strings.Contains(es.body, `<html lang="es">`) || !strings.Contains(es.body, "Baja confirmada") {
		t.Errorf("Spanish POST: %d\n%s", es.code, es.body)
	}
	if got := optOuts(t, l); len(got) != 2 || got[1].Recipient != "bob@example.com" {
		t.Errorf("opt-outs: %+v", got)
	}
}

// A link that sameteam did not sign, for this path, is refused with 403
// and records nothing, by GET or POST.
func TestReliability_Security_TamperedUnsubscribeLinks(t *testing.T) {
	t.Parallel()
	s, b, l, _ := optOutServer(t)
	good := signedUnsubscribe(t, unsubscribePath("weekly-sales", "en", "ana@example.com"))
	u, err := url.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	sig := u.Query().Get(signedlink.ParamSig)
	flipped := "A" + sig[1:]
	if flipped == sig {
		flipped = "B" + sig[1:]
	}
	download, err := signedlink.Sign(linkKey, unsubscribePath("weekly-sales", "en", "ana@example.com"), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := signedlink.SignAction([]byte("fedcba9876543210fedcba9876543210"), signedlink.ActionUnsubscribe, u.Path)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"another address":  unsubscribePath("weekly-sales", "en", "boss@example.com") + "?" + u.RawQuery,
		"another report":   unsubscribePath("weekly-leadership", "en", "ana@example.com") + "?" + u.RawQuery,
		"another language": unsubscribePath("weekly-sales", "es", "ana@example.com") + "?" + u.RawQuery,
		"flipped":          u.Path + "?sig=" + flipped,
		"no signature":     u.Path,
		"a download link":  download,
		"another key":      otherKey,
	}
	for name, path := range bad {
		if r := post(t, b, s.URL()+path); r.code != http.StatusForbidden || !strings.Contains(r.body, "not valid") && !strings.Contains(r.body, "no es válido") {
			t.Errorf("%s: POST %d %q", name, r.code, r.body)
		}
		if r := get(t, b, s.URL()+path, ""); r.code != http.StatusForbidden {
			t.Errorf("%s: GET %d", name, r.code)
		}
	}
	if got := optOuts(t, l); len(got) != 0 {
		t.Errorf("refused links recorded %+v", got)
	}
}

// A state database that fails makes the POST answer 503 with Retry-After,
// so the mail provider tries again; and without an opt-out store the paths
// are not served at all.
func TestUnsubscribeUnavailable(t *testing.T) {
	t.Parallel()
	s, b, _, d := optOutServer(t)
	d.Close()
	r := post(t, b, s.URL()+signedUnsubscribe(t, unsubscribePath("weekly-sales", "en", "ana@example.com")))
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || strings.Contains(r.body, "sql") {
		t.Errorf("POST with the database closed: %d %v %q", r.code, r.header, r.body)
	}

	plain, pb := setup(t, nil)
	if r := post(t, pb, plain.URL()+signedUnsubscribe(t, unsubscribePath("weekly-sales", "en", "ana@example.com"))); r.code != http.StatusNotFound && r.code != http.StatusMethodNotAllowed {
		t.Errorf("a server without opt-outs answered %d", r.code)
	}
}
