package secret

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

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

// Every form of a database password the drivers accept is found and
// masked: in the user information, as a query parameter, in a key=value
// string (quoted or not), in a URL that does not parse.
func TestDSNSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dsn, redacted string
		secrets             []string
	}{
		{"user information", "postgres://u:s3cret@h:5432/db", "postgres://u:xxxxx@h:5432/db", []string{"s3cret"}},
		{"query parameter", "postgres://u@host/db?sslmode=disable&password=s3cr%40t", "postgres://u@host/db?sslmode=disable&password=xxxxx", []string{"s3cr%40t", "s3cr@t"}},
		{"query parameter first", "postgresql://host/db?password=pw&user=u", "postgresql://host/db?password=xxxxx&user=u", []string{"pw"}},
		{"sslpassword", "postgres://h/db?sslpassword=keypass", "postgres://h/db?sslpassword=xxxxx", []string{"keypass"}},
		{"both", "postgres://u:one@h/db?password=two", "postgres://u:xxxxx@h/db?password=xxxxx", []string{"one", "two"}},
		{"keyword", "host=h dbname=d password=s3cret sslmode=disable", "host=h dbname=d password=xxxxx sslmode=disable", []string{"s3cret"}},
		{"keyword, spaces and case", "host=h PASSWORD = s3cret", "host=h PASSWORD = xxxxx", []string{"s3cret"}},
		{"keyword, quoted", `host=h password='it\'s a secret' user=u`, "host=h password=xxxxx user=u", []string{`'it\'s a secret'`, "it's a secret"}},
		{"keyword first", "password=s3cret host=h", "password=xxxxx host=h", []string{"s3cret"}},
		{"unparseable, at sign in password", "postgres://u:pa@ss@host:port/x", "postgres://u:xxxxx@host:port/x", []string{"pa@ss"}},
		{"at sign in the query only", "postgres://u:pw@h/db?application_name=a@b", "postgres://u:xxxxx@h/db?application_name=a@b", []string{"pw"}},
		{"no password", "postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", nil},
		{"sqlite", "sqlite:/tmp/x.db", "sqlite:/tmp/x.db", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := RedactDSN(tc.dsn); got != tc.redacted {
				t.Errorf("RedactDSN(%q) = %q, want %q", tc.dsn, got, tc.redacted)
			}
			got := DSNSecrets(tc.dsn)
			if strings.Join(got, "|") != strings.Join(tc.secrets, "|") {
				t.Errorf("DSNSecrets(%q) = %q, want %q", tc.dsn, got, tc.secrets)
			}
		})
	}
}

// A secret file is a small regular file; anything else is refused before
// it is read, with the path in the error and none of the contents.
func TestReadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "password")
	if err := os.WriteFile(good, []byte("s3cret-value\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("k", MaxFileBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{good, link} {
		if v, err := ReadFile(path); err != nil || v != "s3cret-value" {
			t.Errorf("ReadFile(%s) = %q, %v", path, v, err)
		}
	}
	for path, want := range map[string]string{
		"/dev/zero":                   "is a device",
		fifo:                          "is a FIFO",
		dir:                           "is a directory",
		big:                           "over 64 KiB",
		filepath.Join(dir, "missing"): "no such file",
	} {
		done := make(chan struct{})
		var v string
		var err error
		go func() { v, err = ReadFile(path); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadFile(%s) blocks", path)
		}
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadFile(%s) = %q, %v; want an error naming the file: %s", path, v, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "kkkk") {
			t.Errorf("the error quotes the contents: %v", err)
		}
	}
}
