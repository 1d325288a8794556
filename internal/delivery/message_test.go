package delivery_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
)

var sampleDate = time.Date(2025, 11, 24, 7, 0, 0, 0, time.FixedZone("CET", 3600))

const (
	sampleSubject = "Informe semanal de ventas — 2025-W47"
	sampleText    = "Semana 2025-W47\n\nSLA: 82 % (↑ 4 puntos)\nCampaña: <script>alert('x')</script> & \"Q4\" push\n"
	sampleHTML    = "<!doctype html><html><body><h1>Semana 2025-W47</h1><p>SLA: 82&nbsp;% (↑ 4 puntos)</p>" +
		"<p>Campaña: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;Q4&#34; push</p></body></html>"
)

// workbookBytes stands in for an .xlsx: random bytes of the given size,
// fixed per seed, so base64 and line wrapping are exercised for real.
func workbookBytes(n int, seed uint64) []byte {
	var key [32]byte
	key[0] = byte(seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

func sample(tb testing.TB, to string) delivery.Message {
	tb.Helper()
	return delivery.Message{
		From:       "Sameteam Reports <reports@example.com>",
		ReplyTo:    "revops@example.com",
		To:         to,
		Subject:    sampleSubject,
		Text:       sampleText,
		HTML:       sampleHTML,
		Attachment: &delivery.Attachment{Name: "sameteam-sales-2025-W47.xlsx", Data: workbookBytes(20_000, 1)},
		MessageID:  delivery.MessageID("sales", "2025-W47", to, "example.com"),
		Date:       sampleDate,
		Headers:    map[string]string{"X-Sameteam-Report": "sales", "List-Id": "Sameteam sales digest <sales.sameteam.example.com>"},
	}
}

// part is one leaf of a parsed message.
type part struct {
	contentType string
	params      map[string]string
	disposition string
	dispParams  map[string]string
	body        []byte // transfer-decoded
}

// parseMessage reads raw bytes the way a mail client does and returns the
// header and the multipart tree flattened into leaves, with the nesting
// recorded as the list of container types met on the way.
func parseMessage(tb testing.TB, raw []byte) (*mail.Message, []string, []part) {
	tb.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("read message: %v", err)
	}
	var containers []string
	var leaves []part
	var walk func(ct string, header map[string][]string, body io.Reader)
	walk = func(ct string, header map[string][]string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			tb.Fatalf("content type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			containers = append(containers, mt)
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					tb.Fatalf("next part of %s: %v", mt, err)
				}
				walk(p.Header.Get("Content-Type"), p.Header, p)
			}
		}
		get := func(k string) string {
			if v := header[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		var r io.Reader = body
		switch strings.ToLower(get("Content-Transfer-Encoding")) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, body)
		case "quoted-printable":
			r = quotedprintable.NewReader(body)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			tb.Fatalf("decode %s: %v", mt, err)
		}
		p := part{contentType: mt, params: params, body: data}
		if d := get("Content-Disposition"); d != "" {
			p.disposition, p.dispParams, err = mime.ParseMediaType(d)
			if err != nil {
				tb.Fatalf("content disposition %q: %v", d, err)
			}
		}
		leaves = append(leaves, p)
	}
	walk(msg.Header.Get("Content-Type"), msg.Header, msg.Body)
	return msg, containers, leaves
}

func TestMessageAsAClientSeesIt(t *testing.T) {
	t.Parallel()
	s, srv := setup(t, smtptest.Options{}, nil)
	m := sample(t, "bob@example.com")
	if res := s.Send(context.Background(), m); res.Status != report.DeliverySent {
		t.Fatalf("send: %s %v", res.Status, res.Err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server holds %d messages, want 1", len(got))
	}
	raw := got[0].Data
	msg, containers, leaves := parseMessage(t, raw)

	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	from, _ := msg.Header.AddressList("From")
	to, _ := msg.Header.AddressList("To")
	replyTo, _ := msg.Header.AddressList("Reply-To")
	date, err := msg.Header.Date()
	if err != nil {
		t.Fatalf("date: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"Subject", subject, sampleSubject},
		{"From", addrs(from), "Sameteam Reports <reports@example.com>"},
		{"To", addrs(to), "bob@example.com"},
		{"Reply-To", addrs(replyTo), "revops@example.com"},
		{"Message-ID", msg.Header.Get("Message-ID"), "<" + m.MessageID + ">"},
		{"Date", date.UTC().Format(time.RFC3339), sampleDate.UTC().Format(time.RFC3339)},
		{"Auto-Submitted", msg.Header.Get("Auto-Submitted"), "auto-generated"},
		{"X-Auto-Response-Suppress", msg.Header.Get("X-Auto-Response-Suppress"), "All"},
		{"X-Sameteam-Report", msg.Header.Get("X-Sameteam-Report"), "sales"},
		{"MIME-Version", msg.Header.Get("MIME-Version"), "1.0"},
		{"X-Mailer", msg.Header.Get("X-Mailer"), ""},
		{"User-Agent", msg.Header.Get("User-Agent"), ""},
		{"Bcc", msg.Header.Get("Bcc"), ""},
		{"containers", strings.Join(containers, ","), "multipart/mixed,multipart/alternative"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(leaves) != 3 {
		t.Fatalf("got %d parts, want text, html, attachment", len(leaves))
	}
	text, html, att := leaves[0], leaves[1], leaves[2]
	if text.contentType != "text/plain" || html.contentType != "text/html" {
		t.Errorf("alternative order %s then %s, want text/plain then text/html (the last is preferred)", text.contentType, html.contentType)
	}
	for _, p := range []part{text, html} {
		if !strings.EqualFold(p.params["charset"], "utf-8") {
			t.Errorf("%s charset %q, want UTF-8", p.contentType, p.params["charset"])
		}
	}
	if got := normaliseNewlines(text.body); got != normaliseNewlines([]byte(sampleText)) {
		t.Errorf("text body = %q, want %q", got, sampleText)
	}
	if got := normaliseNewlines(html.body); got != sampleHTML {
		t.Errorf("html body = %q, want %q", got, sampleHTML)
	}
	if att.contentType != delivery.ContentTypeXLSX {
		t.Errorf("attachment type %q, want %q", att.contentType, delivery.ContentTypeXLSX)
	}
	if att.disposition != "attachment" || att.dispParams["filename"] != "sameteam-sales-2025-W47.xlsx" {
		t.Errorf("attachment disposition %q %v", att.disposition, att.dispParams)
	}
	if !bytes.Equal(att.body, m.Attachment.Data) {
		t.Errorf("attachment bytes differ after decoding (%d vs %d bytes)", len(att.body), len(m.Attachment.Data))
	}
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes, over RFC 5322's 998", i, len(line))
		}
	}

	size, err := delivery.EncodedSize(m)
	if err != nil {
		t.Fatalf("EncodedSize: %v", err)
	}
	// The server's copy lacks only the final CRLF that ends the DATA
	// terminator; boundaries are random but always the same length.
	if d := size - len(raw); d < 0 || d > 2 {
		t.Errorf("EncodedSize %d, server received %d bytes", size, len(raw))
	}
}

func addrs(list []*mail.Address) string {
	var out []string
	for _, a := range list {
		if a.Name != "" {
			out = append(out, a.Name+" <"+a.Address+">")
			continue
		}
		out = append(out, a.Address)
	}
	return strings.Join(out, ", ")
}

func normaliseNewlines(b []byte) string {
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestMessageTextOnly(t *testing.T) {
	t.Parallel()
	m := sample(t, "bob@example.com")
	m.HTML, m.Attachment = "", nil
	raw := encode(t, m)
	_, containers, leaves := parseMessage(t, raw)
	if len(containers) != 0 || len(leaves) != 1 || leaves[0].contentType != "text/plain" {
		t.Fatalf("text-only message has containers %v and %d parts", containers, len(leaves))
	}
}

func encode(tb testing.TB, m delivery.Message) []byte {
	tb.Helper()
	msg, err := delivery.Build(m)
	if err != nil {
		tb.Fatalf("Build: %v", err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		tb.Fatalf("WriteTo: %v", err)
	}
	return buf.Bytes()
}

func TestMessageID(t *testing.T) {
	t.Parallel()
	base := delivery.MessageID("sales", "2025-W47", "bob@example.com", "example.com")
	tests := []struct {
		name                         string
		report, period, rcpt, domain string
		same                         bool
	}{
		{name: "same inputs", report: "sales", period: "2025-W47", rcpt: "bob@example.com", domain: "example.com", same: true},
		{name: "recipient case", report: "sales", period: "2025-W47", rcpt: " Bob@EXAMPLE.com", domain: "Example.COM", same: true},
		{name: "other recipient", report: "sales", period: "2025-W47", rcpt: "ann@example.com", domain: "example.com"},
		{name: "other period", report: "sales", period: "2025-W48", rcpt: "bob@example.com", domain: "example.com"},
		{name: "other report", report: "marketing", period: "2025-W47", rcpt: "bob@example.com", domain: "example.com"},
		{name: "report that sanitises alike", report: "sales!", period: "2025-W47", rcpt: "bob@example.com", domain: "example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := delivery.MessageID(tt.report, tt.period, tt.rcpt, tt.domain)
			if (id == base) != tt.same {
				t.Errorf("MessageID = %q, base %q, want same=%v", id, base, tt.same)
			}
			if strings.Contains(strings.ToLower(id), "bob") {
				t.Errorf("MessageID %q reveals the recipient", id)
			}
			// It must be usable as-is in a message.
			m := sample(t, "bob@example.com")
			m.MessageID = id
			if _, err := delivery.Build(m); err != nil {
				t.Errorf("Build with %q: %v", id, err)
			}
		})
	}
	// Two builds of the same message carry the same Message-ID header.
	a, _, _ := parseMessage(t, encode(t, sample(t, "bob@example.com")))
	b, _, _ := parseMessage(t, encode(t, sample(t, "bob@example.com")))
	if a.Header.Get("Message-ID") != b.Header.Get("Message-ID") || a.Header.Get("Message-ID") != "<"+base+">" {
		t.Errorf("Message-ID headers %q and %q, want <%s>", a.Header.Get("Message-ID"), b.Header.Get("Message-ID"), base)
	}
}

func TestBuildRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mod    func(*delivery.Message)
		wantIs error
	}{
		{name: "no from", mod: func(m *delivery.Message) { m.From = "" }},
		{name: "from with a line break", mod: func(m *delivery.Message) { m.From = "a@example.com\r\nBcc: x@evil.example" }},
		{name: "display name in to", mod: func(m *delivery.Message) { m.To = "Bob <bob@example.com>" }, wantIs: delivery.ErrInvalidAddress},
		{name: "header injection in to", mod: func(m *delivery.Message) { m.To = "bob@example.com\r\nBcc: x@evil.example" }, wantIs: delivery.ErrInvalidAddress},
		{name: "subject with a line break", mod: func(m *delivery.Message) { m.Subject = "Report\r\nBcc: x@evil.example" }},
		{name: "empty subject", mod: func(m *delivery.Message) { m.Subject = " " }},
		{name: "no text body", mod: func(m *delivery.Message) { m.Text = "" }},
		{name: "no message id", mod: func(m *delivery.Message) { m.MessageID = "" }},
		{name: "message id in brackets", mod: func(m *delivery.Message) { m.MessageID = "<a@example.com>" }},
		{name: "message id without domain", mod: func(m *delivery.Message) { m.MessageID = "abc" }},
		{name: "reserved header", mod: func(m *delivery.Message) { m.Headers = map[string]string{"bcc": "x@evil.example"} }},
		{name: "header value with a line break", mod: func(m *delivery.Message) { m.Headers = map[string]string{"X-A": "1\r\nBcc: x@evil.example"} }},
		{name: "header name with a colon", mod: func(m *delivery.Message) { m.Headers = map[string]string{"X-A:": "1"} }},
		{name: "attachment name with a path", mod: func(m *delivery.Message) { m.Attachment.Name = "../report.xlsx" }},
		{name: "attachment without a name", mod: func(m *delivery.Message) { m.Attachment.Name = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := sample(t, "bob@example.com")
			tt.mod(&m)
			_, err := delivery.Build(m)
			if !errors.Is(err, delivery.ErrInvalidMessage) {
				t.Fatalf("Build error = %v, want ErrInvalidMessage", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Build error = %v, want it to match %v", err, tt.wantIs)
			}
			if _, serr := delivery.EncodedSize(m); serr == nil {
				t.Error("EncodedSize accepted an invalid message")
			}
		})
	}
}

func TestEncodedSizeCountsTheEncoding(t *testing.T) {
	t.Parallel()
	const n = 600_000
	m := sample(t, "bob@example.com")
	m.Attachment.Data = workbookBytes(n, 2)
	size, err := delivery.EncodedSize(m)
	if err != nil {
		t.Fatal(err)
	}
	// base64 turns 3 bytes into 4, plus a CRLF every 76 characters.
	minSize := n * 4 / 3 * 78 / 76
	if size < minSize || size > minSize+8*1024 {
		t.Errorf("EncodedSize = %d for a %d-byte attachment, want about %d", size, n, minSize)
	}
	if got := len(encode(t, m)); got != size {
		t.Errorf("EncodedSize = %d, written message is %d bytes", size, got)
	}
}
