package delivery_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/delivery"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // "" means refused
	}{
		{name: "plain", in: "alice@example.com", want: "alice@example.com"},
		{name: "trimmed, domain lower-cased", in: "  Bob@Example.COM ", want: "Bob@example.com"},
		{name: "plus tag", in: "alice+reports@sub.example.co.uk", want: "alice+reports@sub.example.co.uk"},
		{name: "no at", in: "alice"},
		{name: "domain without a dot", in: "a@b"},
		{name: "space in domain", in: "alice@exa mple.com"},
		{name: "display name", in: "Alice <alice@example.com>"},
		{name: "angle brackets", in: "<alice@example.com>"},
		{name: "comment", in: "alice@example.com (Alice)"},
		{name: "quoted local part", in: `"alice smith"@example.com`},
		{name: "header injection", in: "alice@example.com\r\nBcc: x@evil.example"},
		{name: "bare newline", in: "alice@example.com\n"},
		{name: "NUL", in: "alice@example.com\x00"},
		{name: "needs SMTPUTF8", in: "用户@例子.广告"},
		{name: "trailing dot", in: "alice@example.com."},
		{name: "two addresses", in: "a@example.com,b@example.com"},
		{name: "address literal", in: "alice@[127.0.0.1]"},
		{name: "hyphen-led label", in: "alice@-example.com"},
		{name: "empty", in: "   "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := delivery.ParseAddress(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseAddress(%q) = %q, want an error", tt.in, got)
				}
				if !errors.Is(err, delivery.ErrInvalidAddress) {
					t.Errorf("error %v does not match ErrInvalidAddress", err)
				}
				if strings.ContainsAny(err.Error(), "\r\n") {
					t.Errorf("error text carries the raw line break: %q", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseAddress(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRecipients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		list     []string
		allowed  []string
		want     []string
		wantErrs []string // an entry each error must quote
	}{
		{
			name: "duplicates keep the first spelling",
			list: []string{"Bob@Example.com ", "bob@example.com", "BOB@EXAMPLE.COM", "ann@example.com"},
			want: []string{"Bob@example.com", "ann@example.com"},
		},
		{
			name:     "bad entries are named and do not hide good ones",
			list:     []string{"alice", "carol@example.com", "Alice <alice@example.com>", "dave@example.com\r\nBcc: x@evil.example"},
			want:     []string{"carol@example.com"},
			wantErrs: []string{`"alice"`, `"Alice <alice@example.com>"`, `"dave@example.com\r\nBcc: x@evil.example"`},
		},
		{
			name:     "allowed domains",
			list:     []string{"ann@example.com", "eve@evil.example", "Bob@EXAMPLE.com", "sub@mail.example.com"},
			allowed:  []string{"Example.com"},
			want:     []string{"ann@example.com", "Bob@example.com"},
			wantErrs: []string{`"eve@evil.example"`, `"sub@mail.example.com"`},
		},
		{
			name: "empty list",
			list: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, errs := delivery.Recipients(tt.list, tt.allowed)
			if !slices.Equal(got, tt.want) {
				t.Errorf("recipients = %q, want %q", got, tt.want)
			}
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tt.wantErrs))
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), tt.wantErrs[i]) {
					t.Errorf("error %q does not name %s", err, tt.wantErrs[i])
				}
				if !errors.Is(err, delivery.ErrInvalidAddress) && !errors.Is(err, delivery.ErrDomainNotAllowed) {
					t.Errorf("error %v matches no sentinel", err)
				}
			}
		})
	}
}

func TestDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Sameteam Reports <reports@Example.com>": "example.com",
		"reports@mail.example.org":               "mail.example.org",
	} {
		got, err := delivery.Domain(in)
		if err != nil || got != want {
			t.Errorf("Domain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := delivery.Domain("reports"); !errors.Is(err, delivery.ErrInvalidAddress) {
		t.Errorf("Domain(\"reports\") error = %v, want ErrInvalidAddress", err)
	}
}
