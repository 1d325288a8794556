package app

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/signedlink"
	"github.com/sameteam/sameteam/internal/testdb"
)

// part is one leaf of a parsed message, its body decoded.
type part struct {
	contentType string
	params      map[string]string
	disposition string
	dparams     map[string]string
	body        []byte
}

// parsed is a message as a mail client reads it.
type parsed struct {
	header mail.Header
	// structure is the tree of content types, e.g.
	// "multipart/mixed[multipart/alternative[text/plain text/html] application/…]".
	structure string
	leaves    []part
}

func parseMessage(t *testing.T, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a mail message: %v", err)
	}
	p := parsed{header: m.Header}
	p.structure = walk(t, m.Header, m.Body, &p.leaves)
	return p
}

// headerGetter is mail.Header and textproto.MIMEHeader.
type headerGetter interface{ Get(string) string }

// walk parses one MIME entity, appending its leaves, and returns its shape.
func walk(t *testing.T, h headerGetter, body io.Reader, leaves *[]part) string {
	t.Helper()
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	if strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		var kids []string
		for {
			pt, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", ct, err)
			}
			kids = append(kids, walk(t, pt.Header, pt, leaves))
		}
		return ct + "[" + strings.Join(kids, " ") + "]"
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	// multipart.Reader undoes quoted-printable itself; base64 is ours.
	if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
		data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
		if err != nil {
			t.Fatalf("%s: base64: %v", ct, err)
		}
	}
	lf := part{contentType: ct, params: params, body: data}
	if d := h.Get("Content-Disposition"); d != "" {
		lf.disposition, lf.dparams, err = mime.ParseMediaType(d)
		if err != nil {
			t.Fatalf("Content-Disposition %q: %v", d, err)
		}
	}
	*leaves = append(*leaves, lf)
	return ct
}

func (p parsed) leaf(ct string) *part {
	for i := range p.leaves {
		if p.leaves[i].contentType == ct {
			return &p.leaves[i]
		}
	}
	return nil
}

// The message as a mail client sees it: headers, structure, the workbook
// attached under its name and type, and a Message-ID that a forced resend
// repeats.
func TestRunMessageAsAMailClientSeesIt(t *testing.T) {
	t.Parallel()
	const to = "rep@example.com"
	w := newWorld(t, testdb.PostgresURL(t), worldOptions{recipients: []string{to}})
	if res := w.run(); res.code != ExitOK {
		t.Fatalf("%s", res)
	}
	if res := w.run("--force"); res.code != ExitOK {
		t.Fatalf("--force: %s", res)
	}
	msgs := w.srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	ledgerID := w.deliveries()[to].MessageID
	var ids []string
	for _, m := range msgs {
		p := parseMessage(t, m.Data)
		ids = append(ids, p.header.Get("Message-ID"))
	}
	if ids[0] != "<"+ledgerID+">" || ids[1] != ids[0] {
		t.Errorf("Message-IDs %v; the ledger has %q", ids, ledgerID)
	}
	if want := "<" + delivery.MessageID(testReport, testPeriod, to, "example.com") + ">"; ids[0] != want {
		t.Errorf("Message-ID %s, want %s", ids[0], want)
	}

	m := msgs[0]
	if m.From != "reports@example.com" || len(m.To) != 1 || m.To[0] != to {
		t.Errorf("envelope from %q to %v", m.From, m.To)
	}
	p := parseMessage(t, m.Data)
	h := p.header
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Address != "reports@example.com" || from.Name != "Sameteam Reports" {
		t.Errorf("From %q: %v %v", h.Get("From"), from, err)
	}
	if tos, err := h.AddressList("To"); err != nil || len(tos) != 1 || tos[0].Address != to {
		t.Errorf("To %q: %v", h.Get("To"), err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || !strings.Contains(subject, "2026") {
		t.Errorf("Subject %q decodes to %q (%v)", h.Get("Subject"), subject, err)
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Hour || time.Until(d) > time.Minute {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if got := h.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if h.Get("Bcc") != "" || h.Get("X-Mailer") != "" {
		t.Errorf("Bcc %q, X-Mailer %q", h.Get("Bcc"), h.Get("X-Mailer"))
	}
	if h.Get("X-Sameteam-Report") != testReport || h.Get("X-Sameteam-Period") != testPeriod {
		t.Errorf("X-Sameteam-Report %q, X-Sameteam-Period %q", h.Get("X-Sameteam-Report"), h.Get("X-Sameteam-Period"))
	}
	wantShape := "multipart/mixed[multipart/alternative[text/plain text/html] " + delivery.ContentTypeXLSX + "]"
	if p.structure != wantShape {
		t.Errorf("structure\n %s\nwant\n %s", p.structure, wantShape)
	}
	text, htm := p.leaf("text/plain"), p.leaf("text/html")
	if text == nil || htm == nil {
		t.Fatal("no text or no html part")
	}
	if !strings.EqualFold(text.params["charset"], "utf-8") || !strings.EqualFold(htm.params["charset"], "utf-8") {
		t.Errorf("charsets %q and %q", text.params["charset"], htm.params["charset"])
	}
	// 31 MQLs is the golden snapshot's figure.
	if !strings.Contains(string(text.body), "MQLs delivered: 31") || !strings.Contains(string(htm.body), "</html>") {
		t.Errorf("bodies do not look like the digest:\n%.300s\n%.300s", text.body, htm.body)
	}
	// The hostile campaign name arrives escaped, never as markup.
	if strings.Contains(string(htm.body), "<script>") {
		t.Error("the HTML carries a <script> from CRM data")
	}

	att := p.leaf(delivery.ContentTypeXLSX)
	if att == nil {
		t.Fatal("no workbook attached")
	}
	if att.disposition != "attachment" || att.dparams["filename"] != "weekly-sales-2026-W47.xlsx" {
		t.Errorf("Content-Disposition %q %v", att.disposition, att.dparams)
	}
	f, err := excelize.OpenReader(bytes.NewReader(att.body))
	if err != nil {
		t.Fatalf("the attached workbook does not open: %v", err)
	}
	defer f.Close()
	if got, _ := f.GetCellValue("Summary", "B3"); got != testPeriod {
		t.Errorf("Summary!B3 = %q, want %s", got, testPeriod)
	}
	rows, err := f.GetRows("Summary", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		if len(r) > 1 && r[0] == "MQLs" {
			found = true
			// The golden snapshot w47-madrid has 31 MQLs.
			if r[1] != "31" {
				t.Errorf("Summary MQLs = %q, want 31 (golden w47-madrid)", r[1])
			}
			break
		}
	}
	if !found {
		t.Errorf("no MQLs row in Summary: %v", rows)
	}
}

// A message over max_attachment_mb is never dropped silently: without a
// public URL it fails permanently and says why; with one, the workbook is
// replaced by a signed, expiring download link.
func TestRunOversizedMessage(t *testing.T) {
	const to = "rep@example.com"
	const key = "an-example-link-key-of-at-least-32-characters"
	t.Run("no public url", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{to}, topYAML: "max_attachment_mb: 0.001\n"})
		res := w.run()
		if res.code != ExitDataErr {
			t.Errorf("exit %d, want %d\n%s", res.code, ExitDataErr, res)
		}
		d := w.deliveries()[to]
		if d.Status != report.DeliveryFailedPermanent || !strings.Contains(d.LastError, "max_attachment_mb") || !strings.Contains(d.LastError, "server.public_url is not set") {
			t.Errorf("ledger: %q %q", d.Status, d.LastError)
		}
		if !strings.Contains(res.stdout, "max_attachment_mb") {
			t.Errorf("stdout does not say why:\n%s", res.stdout)
		}
		if n := len(w.srv.Messages()); n != 0 {
			t.Errorf("%d messages sent", n)
		}
	})
	t.Run("public url", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{to},
			topYAML: "max_attachment_mb: 0.001\nserver: {public_url: \"https://reports.example.com\", link_key: \"" + key + "\"}\n"})
		if res := w.run(); res.code != ExitOK {
			t.Fatalf("%s", res)
		}
		if d := w.deliveries()[to]; d.Status != report.DeliverySent {
			t.Errorf("ledger: %q %q", d.Status, d.LastError)
		}
		msgs := w.srv.Messages()
		if len(msgs) != 1 {
			t.Fatalf("%d messages", len(msgs))
		}
		p := parseMessage(t, msgs[0].Data)
		if p.leaf(delivery.ContentTypeXLSX) != nil || strings.Contains(p.structure, "mixed") {
			t.Errorf("the workbook is still attached: %s", p.structure)
		}
		htm := p.leaf("text/html")
		if htm == nil {
			t.Fatal("no html part")
		}
		link := regexp.MustCompile(`href="(https://reports\.example\.com/reports/weekly-sales/2026-W47\.xlsx\?[^"]+)"`).FindStringSubmatch(string(htm.body))
		if link == nil {
			t.Fatalf("no download link in the HTML:\n%s", htm.body)
		}
		u, err := url.Parse(html.UnescapeString(link[1]))
		if err != nil {
			t.Fatal(err)
		}
		if u.Query().Get("expires") == "" || u.Query().Get("sig") == "" {
			t.Errorf("link %s lacks expires or sig", u)
		}
		if err := signedlink.Verify([]byte(key), u.Path, u.Query(), time.Now()); err != nil {
			t.Errorf("the link does not verify: %v", err)
		}
		if err := signedlink.Verify([]byte(key), u.Path, u.Query(), time.Now().Add(signedlink.MaxTTL+time.Hour)); err == nil {
			t.Error("the link never expires")
		}
		if text := p.leaf("text/plain"); text == nil || !strings.Contains(string(text.body), "https://reports.example.com/reports/weekly-sales/2026-W47.xlsx?") {
			t.Error("the text part has no download link")
		}
	})
}
