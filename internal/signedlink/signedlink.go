// Package signedlink makes and checks expiring download links: an
// HMAC-SHA256 over a URL path and an expiry instant, carried in the query as
// ?expires=UNIX&sig=BASE64URL. It follows S3's presigned URLs: the signature
// covers exactly what it grants (one path) and when it stops granting it, and a
// link never lives longer than seven days, so a leaked link is a bounded
// leak.
//
// SignAction and VerifyAction sign links that do not expire, for one named
// action (an unsubscribe link must work in a message read months later).
// Their signatures are made over a different message, so a link of one
// kind never passes as the other.
package signedlink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// MaxTTL is the longest a link may live. Verify refuses a link whose expiry
// lies further ahead than this, even when its signature is good: the key
// holder may have made it, but not through a path sameteam offers.
const MaxTTL = 7 * 24 * time.Hour

// MinKeyLen is the shortest key Sign and Verify accept, in bytes.
const MinKeyLen = 32

// The query parameters of a signed link.
const (
	ParamExpires = "expires"
	ParamSig     = "sig"
)

var (
	// ErrExpired is returned for a link whose expiry has passed.
	ErrExpired = errors.New("signedlink: link expired")
	// ErrBadSignature is returned for a link that is malformed, unsigned or
	// whose signature does not match its path and expiry.
	ErrBadSignature = errors.New("signedlink: bad signature")
	// ErrTooLong is returned for a link that expires more than MaxTTL ahead.
	ErrTooLong = errors.New("signedlink: expiry too far ahead")
	// ErrKey is returned for a key shorter than MinKeyLen.
	ErrKey = errors.New("signedlink: key too short")
)

// Sign returns path with the query that grants access to it until expires:
// "/reports/weekly-sales/2026-W47.xlsx?expires=1764000000&sig=…". The caller
// prefixes the public base URL. The seven-day bound is enforced by Verify, so
// expires should be at most MaxTTL after the moment the link is handed out.
func Sign(key []byte, path string, expires time.Time) (string, error) {
	if len(key) < MinKeyLen {
		return "", ErrKey
	}
	exp := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{}
	q.Set(ParamExpires, exp)
	q.Set(ParamSig, base64.RawURLEncoding.EncodeToString(mac(key, path, exp)))
	return path + "?" + q.Encode(), nil
}

// Verify checks that query carries a valid signature for path at now. It
// returns nil, ErrExpired, ErrTooLong, ErrBadSignature or ErrKey. The
// signature is checked before the expiry, so a tampered expiry is reported as
// a bad signature, never as expired.
func Verify(key []byte, path string, query url.Values, now time.Time) error {
	if len(key) < MinKeyLen {
		return ErrKey
	}
	exps, sigs := query[ParamExpires], query[ParamSig]
	if len(exps) != 1 || len(sigs) != 1 {
		return ErrBadSignature
	}
	exp, sig := exps[0], sigs[0]
	unix, err := strconv.ParseInt(exp, 10, 64)
	// Only the canonical decimal form is accepted, so one expiry has one
	// spelling ("+17", "017" are refused).
	if err != nil || strconv.FormatInt(unix, 10) != exp {
		return ErrBadSignature
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	// The decoder skips line breaks; only the canonical encoding is
	// accepted, so one signature has one spelling.
	if err != nil || base64.RawURLEncoding.EncodeToString(got) != sig {
		return ErrBadSignature
	}
	if !hmac.Equal(got, mac(key, path, exp)) {
		return ErrBadSignature
	}
	expires := time.Unix(unix, 0)
	if !now.Before(expires) {
		return fmt.Errorf("%w at %s", ErrExpired, expires.UTC().Format(time.RFC3339))
	}
	if expires.Sub(now) > MaxTTL {
		return ErrTooLong
	}
	return nil
}

// mac signs a versioned, newline-separated message. The expiry is digits
// only, so the last newline splits path from expiry unambiguously and no two
// (path, expiry) pairs share a message.
func mac(key []byte, path, exp string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("sameteam-link-v1\n"))
	h.Write([]byte(path))
	h.Write([]byte("\n"))
	h.Write([]byte(exp))
	return h.Sum(nil)
}

// ActionUnsubscribe is the action of a digest's unsubscribe link: it lets
// whoever holds it stop one recipient's copies of one report, which is all
// the link can do, so it need not expire.
const ActionUnsubscribe = "unsubscribe"

// SignAction returns path with the query that grants action on it for as
// long as key is the key: "/unsubscribe/…?sig=…". action must be one of
// the package's Action constants.
func SignAction(key []byte, action, path string) (string, error) {
	if len(key) < MinKeyLen {
		return "", ErrKey
	}
	q := url.Values{}
	q.Set(ParamSig, base64.RawURLEncoding.EncodeToString(actionMAC(key, action, path)))
	return path + "?" + q.Encode(), nil
}

// VerifyAction checks that query carries a valid signature of action for
// path. It returns nil, ErrBadSignature or ErrKey. A query that also
// carries an expiry is refused: it is a download link, not this kind.
func VerifyAction(key []byte, action, path string, query url.Values) error {
	if len(key) < MinKeyLen {
		return ErrKey
	}
	sigs := query[ParamSig]
	if len(sigs) != 1 || query.Has(ParamExpires) {
		return ErrBadSignature
	}
	got, err := base64.RawURLEncoding.DecodeString(sigs[0])
	if err != nil || base64.RawURLEncoding.EncodeToString(got) != sigs[0] {
		return ErrBadSignature
	}
	if !hmac.Equal(got, actionMAC(key, action, path)) {
		return ErrBadSignature
	}
	return nil
}

// actionMAC signs "sameteam-action-v1", the action and the path, each on
// its own line. An action is a constant without a newline, so the first
// two newlines split the message unambiguously, and the prefix keeps it
// apart from a download link's.
func actionMAC(key []byte, action, path string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("sameteam-action-v1\n"))
	h.Write([]byte(action))
	h.Write([]byte("\n"))
	h.Write([]byte(path))
	return h.Sum(nil)
}
