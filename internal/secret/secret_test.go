package secret

import "testing"

func TestURLPassword(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, url, want string }{
		{"plain", "postgres://u:s3cret@h:5432/db", "s3cret"},
		{"escaped", "postgres://u:s3cr%40t@h/db", "s3cr@t"},
		{"bad port", "postgres://u:PASSWORD@host:port/x", "PASSWORD"},
		{"at sign in password, bad port", "postgres://u:pa@ss@host:port/x", "pa@ss"},
		{"no password", "postgres://u@h/db", ""},
		{"sqlite", "sqlite:/tmp/x.db", ""},
		{"at sign in path only", "postgres://h:x/db@x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := URLPassword(tc.url); got != tc.want {
				t.Errorf("URLPassword(%q) = %q, want %q", tc.url, got, tc.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	got := Redact(`dial "postgres://u:s3cr%40t@h/db": s3cr@t; short: ab`, "s3cr@t", "ab")
	want := `dial "postgres://u:xxxxx@h/db": xxxxx; short: ab`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
