// Package secret finds and hides secrets in text: the password of a
// database URL, even one too malformed to parse, and any known secret value
// in a message about to be printed or logged.
package secret

import (
	"net/url"
	"strings"
)

// Mask is what a secret is replaced with.
const Mask = "xxxxx"

// URLPassword returns the password of a URL such as
// postgres://user:pass@host/db, or "" when it has none. A URL that does not
// parse (a typo in the port, say) still gives up its password, because that
// is exactly the URL a driver will echo in its error.
func URLPassword(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if u.User == nil {
			return ""
		}
		pw, _ := u.User.Password()
		return pw
	}
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	userinfo := rest[:at]
	if i := strings.IndexAny(userinfo, "/?#"); i >= 0 {
		return ""
	}
	_, pw, ok := strings.Cut(userinfo, ":")
	if !ok {
		return ""
	}
	return pw
}

// Forms returns the ways a secret can appear in text: as is, and escaped
// for a URL's query or path.
func Forms(s string) []string {
	out := []string{s}
	for _, f := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		if f != s {
			out = append(out, f)
		}
	}
	if pw, err := url.PathUnescape(s); err == nil && pw != s {
		out = append(out, pw)
	}
	return out
}

// Redact replaces every form of every secret in text with Mask. Secrets
// shorter than 4 characters are left alone: hiding them would mangle
// ordinary words more than it protects.
func Redact(text string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		for _, f := range Forms(s) {
			text = strings.ReplaceAll(text, f, Mask)
		}
	}
	return text
}
