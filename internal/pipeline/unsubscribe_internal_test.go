package pipeline

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/signedlink"
)

// The unsubscribe headers: none without a public URL; the link alone over
// http; the link and RFC 8058's one-click over https. The link is signed
// for its report, language and lower-cased address.
func TestUnsubscribeHeaders(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, tt := range []struct {
		base     string
		link     bool
		oneClick bool
	}{
		{base: "", link: false},
		{base: "http://reports.internal:8080", link: true},
		{base: "https://reports.example.com/", link: true, oneClick: true},
		{base: "HTTPS://Reports.example.com", link: true, oneClick: true},
	} {
		r := &Runner{PublicURL: tt.base, LinkKey: key}
		h := map[string]string{}
		if err := r.unsubscribeHeaders(h, "weekly-sales", "en", " Ana@Example.com"); err != nil {
			t.Fatal(err)
		}
		v, ok := h["List-Unsubscribe"]
		if ok != tt.link {
			t.Errorf("%q: List-Unsubscribe %q", tt.base, v)
		}
		if _, ok := h["List-Unsubscribe-Post"]; ok != tt.oneClick {
			t.Errorf("%q: List-Unsubscribe-Post %q", tt.base, h["List-Unsubscribe-Post"])
		} else if ok && h["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
			t.Errorf("%q: List-Unsubscribe-Post %q", tt.base, h["List-Unsubscribe-Post"])
		}
		if !tt.link {
			continue
		}
		if !strings.HasPrefix(v, "<"+strings.TrimSuffix(tt.base, "/")+"/unsubscribe/") || !strings.HasSuffix(v, ">") {
			t.Fatalf("%q: List-Unsubscribe %q", tt.base, v)
		}
		u, err := url.Parse(strings.Trim(v, "<>"))
		if err != nil {
			t.Fatal(err)
		}
		want := "/unsubscribe/weekly-sales/en/" + base64.RawURLEncoding.EncodeToString([]byte("ana@example.com"))
		if u.Path != want {
			t.Errorf("path %q, want %q", u.Path, want)
		}
		if err := signedlink.VerifyAction(key, signedlink.ActionUnsubscribe, u.Path, u.Query()); err != nil {
			t.Errorf("the link does not verify: %v", err)
		}
	}
	// Without a key (public_url unset lets it be empty) nothing is added.
	h := map[string]string{}
	if err := (&Runner{PublicURL: "https://reports.example.com"}).unsubscribeHeaders(h, "r", "es", "a@x.com"); err != nil || len(h) != 0 {
		t.Errorf("no key: %v %v", h, err)
	}
}
