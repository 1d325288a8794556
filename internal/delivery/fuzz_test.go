package delivery_test

import (
	"errors"
	"net/mail"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/delivery"
)

// FuzzParseAddress feeds the recipient parser arbitrary text, as it comes
// from configuration and from CRM owner fields. Whatever the input, it must
// not panic, a refusal must be ErrInvalidAddress, and an accepted address
// must be one plain addr-spec that nothing downstream can read as more: no
// line break, space, NUL or non-ASCII byte (header or SMTP command
// injection), no display name, a dotted lower-case domain, stable under a
// second parse, and agreeing with net/mail and with Recipients.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "  Bob@Example.COM ", "alice", "a@b", "alice@exa mple.com",
		"Alice <alice@example.com>", "alice@example.com\r\nBcc: x@evil.example",
		"用户@例子.广告", "alice@example.com.", "\"a b\"@example.com", "a@[127.0.0.1]",
		"a@-x.com", "(comment)a@example.com", "a@b.c\x00d", "a@@example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := delivery.ParseAddress(s)
		if err != nil {
			if !errors.Is(err, delivery.ErrInvalidAddress) {
				t.Fatalf("ParseAddress(%q) error %v is not ErrInvalidAddress", s, err)
			}
			if valid, errs := delivery.Recipients([]string{s}, nil); len(valid) != 0 || len(errs) != 1 {
				t.Fatalf("Recipients(%q) = %q, %v; ParseAddress refused it", s, valid, errs)
			}
			return
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("ParseAddress(%q) = %q holds byte %#x", s, got, c)
			}
		}
		if strings.Count(got, "@") != 1 {
			t.Fatalf("ParseAddress(%q) = %q: want exactly one @", s, got)
		}
		local, domain, _ := strings.Cut(got, "@")
		if local == "" || !strings.Contains(domain, ".") || domain != strings.ToLower(domain) {
			t.Fatalf("ParseAddress(%q) = %q: want a local part and a dotted lower-case domain", s, got)
		}
		if want := strings.TrimSpace(s); !strings.EqualFold(got, want) || !strings.HasPrefix(want, local+"@") {
			t.Fatalf("ParseAddress(%q) = %q: more than trimming and lower-casing the domain", s, got)
		}
		again, err := delivery.ParseAddress(got)
		if err != nil || again != got {
			t.Fatalf("ParseAddress(%q) = %q, %v; not stable", got, again, err)
		}
		m, err := mail.ParseAddress(got)
		if err != nil || m.Name != "" || m.Address != got {
			t.Fatalf("net/mail reads %q as %+v, %v", got, m, err)
		}
		if valid, errs := delivery.Recipients([]string{s, strings.ToUpper(got)}, nil); len(valid) != 1 || valid[0] != got || len(errs) != 0 {
			// The upper-cased copy is the same person (Key) when it parses.
			if _, uerr := delivery.ParseAddress(strings.ToUpper(got)); uerr == nil {
				t.Fatalf("Recipients(%q, upper) = %q, %v; want one %q", s, valid, errs, got)
			}
		}
	})
}
