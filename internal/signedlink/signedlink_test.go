package signedlink_test

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/signedlink"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func split(t testing.TB, link string) (string, url.Values) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("parse %q: %v", link, err)
	}
	return u.Path, u.Query()
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	const path = "/reports/weekly-sales/2026-W47.xlsx"
	good, err := signedlink.Sign(key, path, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(good, path+"?") {
		t.Fatalf("Sign = %q, want the path and a query", good)
	}
	_, goodQ := split(t, good)

	tamper := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range goodQ {
			q[kk] = append([]string(nil), vv...)
		}
		q.Set(k, v)
		return q
	}
	tooLong, _ := signedlink.Sign(key, path, now.Add(signedlink.MaxTTL+time.Second))
	_, tooLongQ := split(t, tooLong)
	exactMax, _ := signedlink.Sign(key, path, now.Add(signedlink.MaxTTL))
	_, exactMaxQ := split(t, exactMax)
	sig := goodQ.Get("sig")
	flipped := "A" + sig[1:]
	if flipped == sig {
		flipped = "B" + sig[1:]
	}

	tests := []struct {
		name  string
		key   []byte
		path  string
		query url.Values
		now   time.Time
		want  error
	}{
		{name: "valid", key: key, path: path, query: goodQ, now: now},
		{name: "valid at exactly seven days", key: key, path: path, query: exactMaxQ, now: now},
		{name: "one second before expiry", key: key, path: path, query: goodQ, now: now.Add(24*time.Hour - time.Second)},
		{name: "at expiry", key: key, path: path, query: goodQ, now: now.Add(24 * time.Hour), want: signedlink.ErrExpired},
		{name: "after expiry", key: key, path: path, query: goodQ, now: now.Add(48 * time.Hour), want: signedlink.ErrExpired},
		{name: "other report", key: key, path: "/reports/weekly-marketing/2026-W47.xlsx", query: goodQ, now: now, want: signedlink.ErrBadSignature},
		{name: "other period", key: key, path: "/reports/weekly-sales/2026-W46.xlsx", query: goodQ, now: now, want: signedlink.ErrBadSignature},
		{name: "other format", key: key, path: "/reports/weekly-sales/2026-W47.json", query: goodQ, now: now, want: signedlink.ErrBadSignature},
		{name: "other key", key: []byte("ffffffffffffffffffffffffffffffff"), path: path, query: goodQ, now: now, want: signedlink.ErrBadSignature},
		{name: "expiry pushed later", key: key, path: path, query: tamper("expires", "1900000000"), now: now, want: signedlink.ErrBadSignature},
		{name: "expiry with plus sign", key: key, path: path, query: tamper("expires", "+"+goodQ.Get("expires")), now: now, want: signedlink.ErrBadSignature},
		{name: "expiry with leading zero", key: key, path: path, query: tamper("expires", "0"+goodQ.Get("expires")), now: now, want: signedlink.ErrBadSignature},
		{name: "signature changed", key: key, path: path, query: tamper("sig", flipped), now: now, want: signedlink.ErrBadSignature},
		{name: "signature truncated", key: key, path: path, query: tamper("sig", sig[:10]), now: now, want: signedlink.ErrBadSignature},
		{name: "signature not base64", key: key, path: path, query: tamper("sig", "!!!"), now: now, want: signedlink.ErrBadSignature},
		{name: "no query", key: key, path: path, query: url.Values{}, now: now, want: signedlink.ErrBadSignature},
		{name: "two signatures", key: key, path: path, query: url.Values{"expires": goodQ["expires"], "sig": {sig, sig}}, now: now, want: signedlink.ErrBadSignature},
		{name: "beyond seven days", key: key, path: path, query: tooLongQ, now: now, want: signedlink.ErrTooLong},
		{name: "empty key", key: nil, path: path, query: goodQ, now: now, want: signedlink.ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := signedlink.Verify(tt.key, tt.path, tt.query, tt.now)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignShortKey(t *testing.T) {
	t.Parallel()
	if _, err := signedlink.Sign([]byte("short"), "/", time.Now()); !errors.Is(err, signedlink.ErrKey) {
		t.Fatalf("Sign with a short key = %v, want ErrKey", err)
	}
}

// FuzzVerify feeds Verify arbitrary paths and query strings. Whatever the
// input, it must not panic, and it may accept a link only when the link is
// exactly what Sign produces for that path and expiry, within MaxTTL.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	good, _ := signedlink.Sign(key, "/reports/weekly-sales/2026-W47.xlsx", now.Add(time.Hour))
	_, q := split(f, good)
	f.Add("/reports/weekly-sales/2026-W47.xlsx", q.Encode())
	f.Add("/reports/weekly-sales/2026-W47.xlsx", "expires=1764000000&sig=")
	f.Add("/", "expires=-1&sig=AAAA")
	f.Add("/reports/../etc/passwd", "expires=99999999999999999999&sig=%00")
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		query, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		if err := signedlink.Verify(key, path, query, now); err != nil {
			return
		}
		unix, err := strconv.ParseInt(query.Get("expires"), 10, 64)
		if err != nil {
			t.Fatalf("Verify accepted an unparsable expiry %q", query.Get("expires"))
		}
		expires := time.Unix(unix, 0)
		want, err := signedlink.Sign(key, path, expires)
		if err != nil {
			t.Fatal(err)
		}
		// Sign ends with "&sig=" and unpadded base64url, which needs no escaping.
		wantSig := want[strings.LastIndex(want, "&sig=")+len("&sig="):]
		if query.Get("sig") != wantSig {
			t.Fatalf("Verify accepted %q for %q, but Sign gives sig %q", rawQuery, path, wantSig)
		}
		if !expires.After(now) || expires.Sub(now) > signedlink.MaxTTL {
			t.Fatalf("Verify accepted expiry %s at %s", expires, now)
		}
	})
}

// An action link works for its action and path only, never expires, and
// is never taken for a download link or the other way round.
func TestSignVerifyAction(t *testing.T) {
	t.Parallel()
	const path = "/unsubscribe/weekly-sales/en/YW5hQGV4YW1wbGUuY29t"
	good, err := signedlink.SignAction(key, signedlink.ActionUnsubscribe, path)
	if err != nil {
		t.Fatal(err)
	}
	p, q := split(t, good)
	if p != path {
		t.Fatalf("SignAction path %q, want %q", p, path)
	}
	if err := signedlink.VerifyAction(key, signedlink.ActionUnsubscribe, path, q); err != nil {
		t.Fatalf("a good link: %v", err)
	}
	download, err := signedlink.Sign(key, path, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, downloadQ := split(t, download)
	sig := q.Get(signedlink.ParamSig)
	flipped := "A" + sig[1:]
	if flipped == sig {
		flipped = "B" + sig[1:]
	}
	withExpiry := url.Values{signedlink.ParamSig: {sig}, signedlink.ParamExpires: {"4102444800"}}
	tests := []struct {
		name   string
		key    []byte
		action string
		path   string
		query  url.Values
		want   error
	}{
		{"another path", key, signedlink.ActionUnsubscribe, "/unsubscribe/weekly-sales/en/Ym9iQGV4YW1wbGUuY29t", q, signedlink.ErrBadSignature},
		{"another action", key, "download", path, q, signedlink.ErrBadSignature},
		{"another key", []byte("fedcba9876543210fedcba9876543210"), signedlink.ActionUnsubscribe, path, q, signedlink.ErrBadSignature},
		{"flipped signature", key, signedlink.ActionUnsubscribe, path, url.Values{signedlink.ParamSig: {flipped}}, signedlink.ErrBadSignature},
		{"padded signature", key, signedlink.ActionUnsubscribe, path, url.Values{signedlink.ParamSig: {sig + "="}}, signedlink.ErrBadSignature},
		{"two signatures", key, signedlink.ActionUnsubscribe, path, url.Values{signedlink.ParamSig: {sig, sig}}, signedlink.ErrBadSignature},
		{"no signature", key, signedlink.ActionUnsubscribe, path, url.Values{}, signedlink.ErrBadSignature},
		{"with an expiry", key, signedlink.ActionUnsubscribe, path, withExpiry, signedlink.ErrBadSignature},
		{"a download link's signature", key, signedlink.ActionUnsubscribe, path, downloadQ, signedlink.ErrBadSignature},
		{"short key", key[:8], signedlink.ActionUnsubscribe, path, q, signedlink.ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := signedlink.VerifyAction(tt.key, tt.action, tt.path, tt.query); !errors.Is(err, tt.want) {
				t.Errorf("VerifyAction = %v, want %v", err, tt.want)
			}
		})
	}
	// The other way round: an action link is no download link.
	if err := signedlink.Verify(key, path, q, time.Now()); !errors.Is(err, signedlink.ErrBadSignature) {
		t.Errorf("Verify of an action link = %v, want ErrBadSignature", err)
	}
	if _, err := signedlink.SignAction(key[:8], signedlink.ActionUnsubscribe, path); !errors.Is(err, signedlink.ErrKey) {
		t.Errorf("SignAction with a short key = %v, want ErrKey", err)
	}
}
