package delivery

import (
	"fmt"
	"net/mail"
	"strings"
)

// ParseAddress checks one recipient address and returns it normalised: the
// surrounding space trimmed and the domain lower-cased, the local part kept
// as written. Only a bare addr-spec is accepted: a display name, angle
// brackets, a comment or a quoted local part is refused, because addresses
// come from configuration and CRM owner fields, and anything that is not a
// plain address there is a mistake or an attempt to smuggle a second
// recipient or header. Non-ASCII addresses need SMTPUTF8 and are refused.
func ParseAddress(s string) (string, error) {
	bad := func(reason string) (string, error) {
		return "", fmt.Errorf("%q: %w: %s", s, ErrInvalidAddress, reason)
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return bad("contains a line break or NUL")
	}
	trimmed := strings.TrimSpace(s)
	if trimmed == "" {
		return bad("empty")
	}
	for _, r := range trimmed {
		if r > 0x7e || r < 0x21 {
			return bad("only plain ASCII addresses without spaces are supported")
		}
	}
	parsed, err := mail.ParseAddress(trimmed)
	if err != nil {
		return bad(strings.TrimPrefix(err.Error(), "mail: "))
	}
	if parsed.Name != "" || parsed.Address != trimmed {
		return bad("give the bare address, without a display name, angle brackets, comments or quotes")
	}
	at := strings.LastIndexByte(trimmed, '@')
	local, domain := trimmed[:at], trimmed[at+1:]
	if len(local) > 64 {
		return bad("local part longer than 64 characters")
	}
	if reason := checkDomain(domain); reason != "" {
		return bad(reason)
	}
	return local + "@" + strings.ToLower(domain), nil
}

// checkDomain returns why domain is unusable, or "" if it is a host name
// with at least two labels (address literals and single labels are not
// deliverable on the public mail system).
func checkDomain(domain string) string {
	if len(domain) > 253 {
		return "domain longer than 253 characters"
	}
	if !strings.Contains(domain, ".") {
		return "domain has no dot"
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" || len(label) > 63 {
			return "domain has an empty or over-long label"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "domain label starts or ends with a hyphen"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "domain has a character other than letters, digits, hyphens and dots"
			}
		}
	}
	return ""
}

// Key is the form under which an address is de-duplicated and recorded:
// lower-cased throughout. Local parts are case-sensitive in theory, but no
// mail system in use treats Bob@ and bob@ as two people.
func Key(addr string) string {
	return strings.ToLower(strings.TrimSpace(addr))
}

// Domain returns the lower-cased domain of an address that may carry a
// display name ("Reports <reports@example.com>"), for Message-IDs.
func Domain(addr string) (string, error) {
	parsed, err := mail.ParseAddress(addr)
	if err != nil {
		return "", fmt.Errorf("%q: %w: %s", addr, ErrInvalidAddress, strings.TrimPrefix(err.Error(), "mail: "))
	}
	at := strings.LastIndexByte(parsed.Address, '@')
	return strings.ToLower(parsed.Address[at+1:]), nil
}

// Recipients validates, normalises and de-duplicates a recipient list.
// Duplicates are found case-insensitively and the first spelling is kept,
// so each person gets one message. When allowedDomains is not empty, an
// address whose domain is not in it (case-insensitive, exact match) is
// refused. The valid addresses come back in their original order; every
// refused entry has an error naming it, and one bad entry never hides the
// others.
func Recipients(list []string, allowedDomains []string) ([]string, []error) {
	allowed := make(map[string]bool, len(allowedDomains))
	for _, d := range allowedDomains {
		allowed[strings.ToLower(strings.TrimSpace(d))] = true
	}
	seen := make(map[string]bool, len(list))
	var out []string
	var errs []error
	for _, entry := range list {
		addr, err := ParseAddress(entry)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(allowed) > 0 {
			domain := addr[strings.LastIndexByte(addr, '@')+1:]
			if !allowed[domain] {
				errs = append(errs, fmt.Errorf("%q: %w: %s is not in allowed_domains", entry, ErrDomainNotAllowed, domain))
				continue
			}
		}
		if k := Key(addr); !seen[k] {
			seen[k] = true
			out = append(out, addr)
		}
	}
	return out, errs
}
