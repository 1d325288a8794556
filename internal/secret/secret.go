// Package secret reads secrets from files and finds and hides them in
// text: the passwords of a database connection string in every form the
// drivers accept, even a URL too malformed to parse, and any known secret
// value in a message about to be printed or logged.
package secret

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
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

// passwordKeys are the connection parameters that carry a secret, in a
// URL's query (lib/pq takes any parameter there: ?password=…) or in a
// key=value connection string (host=h password=…).
var passwordKeys = `(?:ssl)?password`

var (
	// queryPasswordRE finds ?password=… and &sslpassword=… in a URL,
	// parseable or not.
	queryPasswordRE = regexp.MustCompile(`(?i)([?&]` + passwordKeys + `=)([^&#]*)`)
	// keywordPasswordRE finds password=… in a key=value string: the value
	// is a single-quoted string with backslash escapes, or runs to the next
	// space.
	keywordPasswordRE = regexp.MustCompile(`(?i)((?:^|\s)` + passwordKeys + `\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s']\S*|)`)
)

// DSNSecrets returns the secrets of a database connection string in every
// form the drivers accept: the password of a URL's user information, a
// password parameter in its query, and the password of a key=value
// string. They are unescaped, as a driver would echo them.
func DSNSecrets(dsn string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	if strings.Contains(dsn, "://") {
		add(URLPassword(dsn))
		for _, m := range queryPasswordRE.FindAllStringSubmatch(dsn, -1) {
			add(m[2])
			if v, err := url.QueryUnescape(m[2]); err == nil && v != m[2] {
				add(v)
			}
		}
		return out
	}
	for _, m := range keywordPasswordRE.FindAllStringSubmatch(dsn, -1) {
		v := m[2]
		if strings.HasPrefix(v, "'") {
			add(v)
			v = strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'")
			v = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(v)
		}
		add(v)
	}
	return out
}

// RedactDSN returns a database connection string fit to print: every
// secret it carries (see DSNSecrets) replaced with Mask, however short.
func RedactDSN(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return keywordPasswordRE.ReplaceAllString(dsn, "${1}"+Mask)
	}
	dsn = queryPasswordRE.ReplaceAllString(dsn, "${1}"+Mask)
	scheme, rest, _ := strings.Cut(dsn, "://")
	authority := rest
	if _, err := url.Parse(dsn); err == nil {
		// The user information ends at the authority's last @; an @ in
		// the path or query is not one.
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			authority = rest[:i]
		}
	}
	// In a URL that does not parse, the password may hold an unescaped @
	// or /: as in URLPassword, the user information runs to the last @.
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return dsn
	}
	user, _, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return dsn
	}
	return scheme + "://" + user + ":" + Mask + rest[at:]
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

// MaxFileBytes is the most read from a secret file: a password, a token, a
// key or a URL is a few hundred bytes; a certificate chain a few kilobytes.
const MaxFileBytes = 64 << 10

// ReadFile reads a secret from the regular file at path (a *_FILE
// variable), with the trailing line breaks removed. Anything else is
// refused before it is read: a device (/dev/zero would fill memory), a FIFO
// (opening it blocks until a writer comes), a directory, or a file over
// MaxFileBytes. Symbolic links are followed, as Kubernetes mounts secrets
// through them. Errors name the path, never the contents.
func ReadFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if err := regular(path, fi); err != nil {
		return "", err
	}
	// O_NONBLOCK: should the path become a FIFO between Stat and Open, the
	// open returns at once instead of waiting for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return "", err
	}
	if err := regular(path, fi); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > MaxFileBytes {
		return "", fmt.Errorf("%s: over %d KiB: not a secret file", path, MaxFileBytes>>10)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func regular(path string, fi os.FileInfo) error {
	switch m := fi.Mode(); {
	case m.IsRegular():
		if fi.Size() > MaxFileBytes {
			return fmt.Errorf("%s: %d bytes, over %d KiB: not a secret file", path, fi.Size(), MaxFileBytes>>10)
		}
		return nil
	case m.IsDir():
		return fmt.Errorf("%s is a directory, not a file", path)
	case m&os.ModeNamedPipe != 0:
		return fmt.Errorf("%s is a FIFO, not a regular file", path)
	case m&(os.ModeDevice|os.ModeCharDevice) != 0:
		return fmt.Errorf("%s is a device, not a regular file", path)
	default:
		return fmt.Errorf("%s is not a regular file (%s)", path, m.Type())
	}
}
