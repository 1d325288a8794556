package delivery

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/mail"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"
)

// ContentTypeXLSX is the media type of an Excel workbook. It is always set
// explicitly: scratch and distroless images have no mime.types to guess it.
const ContentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Attachment is a file sent with a message, in practice the workbook.
type Attachment struct {
	// Name is the file name the recipient sees; it must not contain a path.
	Name string
	// ContentType defaults to ContentTypeXLSX for a .xlsx name and
	// application/octet-stream otherwise.
	ContentType string
	// Data is the file's content.
	Data []byte
}

// Message is one email to one recipient, already rendered: delivery never
// sees templates or data, only the finished strings and bytes.
type Message struct {
	// From is the author, optionally with a display name
	// ("Sameteam <reports@example.com>"). SMTP fills it from its config.
	From string
	// ReplyTo is optional; SMTP fills it from its config.
	ReplyTo string
	// To is the single recipient, a bare address.
	To string
	// ToName is the recipient's name for the To header ("Ana Pérez"), as
	// team_members has it; without it the header is the address alone.
	// Control characters are dropped; the name is encoded as RFC 2047
	// needs.
	ToName string
	// Subject must be one line.
	Subject string
	// Text is the plain-text body, always sent, first in the alternative.
	Text string
	// HTML is the HTML body, sent as the preferred (last) alternative when set.
	HTML string
	// Attachment is optional.
	Attachment *Attachment
	// MessageID is required and given without angle brackets; MessageID()
	// makes the deterministic one for a (report, period, recipient).
	MessageID string
	// Date is the message's Date header; the current time when zero.
	Date time.Time
	// Headers are extra headers (List-Id, X-Sameteam-Report, …); headers
	// that the builder sets itself cannot be overridden.
	Headers map[string]string
}

// reservedHeaders are written by Build or by go-mail; letting a caller set
// them would produce duplicate or contradictory headers.
var reservedHeaders = []string{
	"auto-submitted", "bcc", "cc", "content-disposition", "content-transfer-encoding",
	"content-type", "date", "from", "message-id", "mime-version", "reply-to",
	"sender", "subject", "to", "x-auto-response-suppress",
}

// unfoldedHeaders are written on one line, as given. Their value is a URI
// in angle brackets, with no whitespace to fold at: go-mail would move it
// whole to a continuation line, leaving the header's first line empty,
// which not every mail client reads as intended. RFC 5322 allows lines of
// 998 characters; checkHeader holds them to that and to printable ASCII,
// as nothing encodes them.
var unfoldedHeaders = []string{"list-unsubscribe", "list-unsubscribe-post"}

// maxHeaderLine is RFC 5322's limit on a line, CRLF excluded.
const maxHeaderLine = 998

// MessageID returns the Message-ID, without angle brackets, for one
// recipient's copy of a report for a period. The same inputs always give
// the same ID, so a copy delivered just before a crash is recognisable in
// the relay's logs and the recipient's mailbox. The readable part is only a
// hint; the hash over the exact inputs is what makes it unique. The
// recipient enters the hash case-insensitively and never appears in clear.
func MessageID(report, periodLabel, recipient, domain string) string {
	sum := sha256.Sum256([]byte(report + "\x00" + periodLabel + "\x00" + Key(recipient)))
	return fmt.Sprintf("sameteam.%s.%s.%x@%s", atom(report), atom(periodLabel), sum[:8], strings.ToLower(strings.TrimSpace(domain)))
}

// atom reduces s to characters that are safe in a Message-ID and in a file
// name, capped in length.
func atom(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// Build turns a Message into a go-mail Msg: text/plain then text/html in a
// multipart/alternative (the last part is the one clients prefer), the
// attachment beside it, a fixed Message-ID, Auto-Submitted so that
// vacation responders stay quiet, and no User-Agent or X-Mailer.
func Build(m Message) (*gomail.Msg, error) {
	bad := func(format string, args ...any) (*gomail.Msg, error) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
	}
	if m.From == "" {
		return bad("from is empty")
	}
	if strings.ContainsAny(m.From, "\r\n") {
		return bad("from %q contains a line break", m.From)
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		return bad("from %q: %v", m.From, err)
	}
	to, err := ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("%w: to: %w", ErrInvalidMessage, err)
	}
	if m.ReplyTo != "" {
		if strings.ContainsAny(m.ReplyTo, "\r\n") {
			return bad("reply-to %q contains a line break", m.ReplyTo)
		}
		if _, err := mail.ParseAddress(m.ReplyTo); err != nil {
			return bad("reply-to %q: %v", m.ReplyTo, err)
		}
	}
	if strings.TrimSpace(m.Subject) == "" {
		return bad("subject is empty")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return bad("subject %q contains a line break", m.Subject)
	}
	if m.Text == "" {
		return bad("text body is empty; every message carries a plain-text alternative")
	}
	if err := checkMessageID(m.MessageID); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m.Headers))
	for name, value := range m.Headers {
		if err := checkHeader(name, value); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	slices.Sort(names)

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("%w: from: %w", ErrInvalidMessage, err)
	}
	if name := displayName(m.ToName); name != "" {
		msg.ToMailAddress(&mail.Address{Name: name, Address: to})
	} else if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("%w: to: %w", ErrInvalidMessage, err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("%w: reply-to: %w", ErrInvalidMessage, err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID)
	if m.Date.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(m.Date)
	}
	// RFC 3834: automatic mail says so, which keeps auto-replies and
	// out-of-office notices from flooding the sending mailbox; Exchange
	// ignores that header and reads its own.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	for _, name := range names {
		if slices.Contains(unfoldedHeaders, strings.ToLower(name)) {
			msg.SetGenHeaderPreformatted(gomail.Header(name), m.Headers[name])
			continue
		}
		msg.SetGenHeader(gomail.Header(name), m.Headers[name])
	}

	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	if a := m.Attachment; a != nil {
		if a.Name == "" || a.Name != path.Base(a.Name) || strings.ContainsAny(a.Name, "\\/\"\r\n\x00") {
			return bad("attachment name %q must be a plain file name", a.Name)
		}
		ct := a.ContentType
		switch {
		case ct != "":
		case strings.EqualFold(path.Ext(a.Name), ".xlsx"):
			ct = ContentTypeXLSX
		default:
			ct = "application/octet-stream"
		}
		if strings.ContainsAny(ct, "\r\n") {
			return bad("attachment content type %q contains a line break", ct)
		}
		msg.AttachReadSeeker(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct)))
	}
	return msg, nil
}

// displayName is a person's name as a To header may carry it: control
// characters (a line break that would start a header of its own) become
// spaces, runs of spaces one, and a name is at most 80 characters.
func displayName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 80 {
		s = strings.TrimSpace(string(r[:80]))
	}
	return s
}

// ListID is the List-Id header (RFC 2919) of a report's digests: the
// report's name, in the namespace of the sender's domain, so that a mail
// admin can filter or route each report ("weekly-sales
// <weekly-sales.example.com>"), and a recipient's client can offer a rule
// for it.
func ListID(report, domain string) string {
	return fmt.Sprintf("%s <%s.%s>", atom(report), atom(report), strings.ToLower(strings.TrimSpace(domain)))
}

func checkMessageID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: message id is empty", ErrInvalidMessage)
	}
	at := strings.IndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.Count(id, "@") != 1 {
		return fmt.Errorf("%w: message id %q is not local@domain", ErrInvalidMessage, id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '<' || c == '>' {
			return fmt.Errorf("%w: message id %q has spaces, brackets or non-ASCII", ErrInvalidMessage, id)
		}
	}
	return nil
}

func checkHeader(name, value string) error {
	if name == "" {
		return fmt.Errorf("%w: empty header name", ErrInvalidMessage)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' || c == ':' {
			return fmt.Errorf("%w: header name %q is not printable ASCII without colons", ErrInvalidMessage, name)
		}
	}
	if slices.Contains(reservedHeaders, strings.ToLower(name)) {
		return fmt.Errorf("%w: header %q is set by the message builder", ErrInvalidMessage, name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("%w: header %q value contains a line break", ErrInvalidMessage, name)
	}
	if slices.Contains(unfoldedHeaders, strings.ToLower(name)) {
		if len(name)+2+len(value) > maxHeaderLine {
			return fmt.Errorf("%w: header %q is longer than a line may be (%d characters)", ErrInvalidMessage, name, maxHeaderLine)
		}
		for i := 0; i < len(value); i++ {
			if c := value[i]; c < ' ' || c > '~' {
				return fmt.Errorf("%w: header %q value is not printable ASCII", ErrInvalidMessage, name)
			}
		}
	}
	return nil
}

// countingWriter counts bytes and keeps none of them.
type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// EncodedSize is the size in bytes of the message as it goes over the wire
// (headers, MIME structure, base64 and line breaks included), which is what
// relays limit and what max_attachment_mb is checked against. go-mail does
// not declare SIZE= on MAIL FROM, so this check is the only one before the
// relay rejects an oversized message after it has been transmitted.
func EncodedSize(m Message) (int, error) {
	msg, err := Build(m)
	if err != nil {
		return 0, err
	}
	var w countingWriter
	if _, err := msg.WriteTo(&w); err != nil {
		return 0, fmt.Errorf("encode message: %w", err)
	}
	return w.n, nil
}
