package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/report"
)

// dirEntries lists the names in dir, hidden temporary files included.
func dirEntries(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestOutboxWritesOneFilePerMessageID(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := delivery.NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := sample(t, "bob@example.com")

	res := o.Send(context.Background(), m)
	if res.Status != report.DeliverySent || res.Attempts != 1 {
		t.Fatalf("Send: %s %v", res.Status, res.Err)
	}
	path := o.Path(m.MessageID)
	if !strings.Contains(res.Response, path) {
		t.Errorf("response %q does not say where the message went", res.Response)
	}
	if want := []string{filepath.Base(path)}; !equalNames(dirEntries(t, dir), want) {
		t.Fatalf("outbox holds %v, want %v", dirEntries(t, dir), want)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, _, leaves := parseMessage(t, raw)
	if got := msg.Header.Get("Message-ID"); got != "<"+m.MessageID+">" {
		t.Errorf("Message-ID %q, want <%s>", got, m.MessageID)
	}
	if len(leaves) != 3 || !bytes.Equal(leaves[2].body, m.Attachment.Data) {
		t.Errorf("the stored message does not carry the attachment intact")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("message file mode %v is readable by others; reports hold personal data", perm)
	}

	// A rerun with the same Message-ID replaces the file.
	m.Subject = "Second run"
	if res := o.Send(context.Background(), m); res.Status != report.DeliverySent {
		t.Fatalf("second Send: %s %v", res.Status, res.Err)
	}
	if names := dirEntries(t, dir); len(names) != 1 {
		t.Fatalf("outbox holds %v after a rerun, want one file", names)
	}
	raw, _ = os.ReadFile(path)
	if !bytes.Contains(raw, []byte("Subject: Second run")) {
		t.Error("the rerun did not replace the earlier copy")
	}

	// Another recipient gets a file of its own.
	if res := o.Send(context.Background(), sample(t, "ann@example.com")); res.Status != report.DeliverySent {
		t.Fatalf("Send to ann: %s %v", res.Status, res.Err)
	}
	if names := dirEntries(t, dir); len(names) != 2 {
		t.Fatalf("outbox holds %v, want two files", names)
	}
}

func equalNames(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

func TestOutboxNeverShowsAHalfFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o, err := delivery.NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := sample(t, "bob@example.com")
	m.Attachment.Data = workbookBytes(200_000, 3)
	path := o.Path(m.MessageID)
	want, err := delivery.EncodedSize(m)
	if err != nil {
		t.Fatal(err)
	}

	// A reader polls the file while a writer replaces it again and again:
	// every read must be a whole message (boundaries are random but of a
	// fixed length, so every complete copy has the same size).
	var wg sync.WaitGroup
	stop := make(chan struct{})
	reads := 0
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			raw, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Errorf("read: %v", err)
				return
			}
			reads++
			if len(raw) != want {
				t.Errorf("read a partial message: %d bytes of %d", len(raw), want)
				return
			}
		}
	})
	for range 10 {
		if res := o.Send(context.Background(), m); res.Status != report.DeliverySent {
			t.Errorf("Send: %s %v", res.Status, res.Err)
			break
		}
	}
	close(stop)
	wg.Wait()
	if reads == 0 {
		t.Error("the reader never saw the file")
	}
	if names := dirEntries(t, dir); len(names) != 1 {
		t.Errorf("outbox holds %v, want only the message", names)
	}
}

func TestOutboxFailureLeavesNoTemporaryFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o, err := delivery.NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := sample(t, "bob@example.com")
	// A non-empty directory where the message should go makes the final
	// rename fail after the temporary file has been written.
	blocker := o.Path(m.MessageID)
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o750); err != nil {
		t.Fatal(err)
	}
	res := o.Send(context.Background(), m)
	if res.Status != report.DeliveryFailedTemporary || res.Err == nil {
		t.Fatalf("Send over a directory: %s %v, want failed_temporary", res.Status, res.Err)
	}
	if names := dirEntries(t, dir); len(names) != 1 || names[0] != filepath.Base(blocker) {
		t.Errorf("outbox holds %v after a failed write, want only the blocking directory", names)
	}

	// An invalid message is permanent and writes nothing.
	bad := sample(t, "ann@example.com")
	bad.Text = ""
	if res := o.Send(context.Background(), bad); res.Status != report.DeliveryFailedPermanent || !errors.Is(res.Err, delivery.ErrInvalidMessage) {
		t.Errorf("invalid message: %s %v, want failed_permanent", res.Status, res.Err)
	}
	if names := dirEntries(t, dir); len(names) != 1 {
		t.Errorf("outbox holds %v after an invalid message", names)
	}
}

func TestOutboxPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o, err := delivery.NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
	}{
		{name: "deterministic id", id: delivery.MessageID("sales", "2025-W47", "bob@example.com", "example.com")},
		{name: "traversal", id: "../../etc/passwd@example.com"},
		{name: "separators", id: `a/b\c@example.com`},
		{name: "leading dot", id: ".hidden@example.com"},
		{name: "very long", id: strings.Repeat("x", 400) + "@example.com"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		p := o.Path(tt.id)
		if filepath.Dir(p) != dir {
			t.Errorf("%s: Path(%q) = %q escapes the outbox", tt.name, tt.id, p)
		}
		base := filepath.Base(p)
		if strings.HasPrefix(base, ".") || !strings.HasSuffix(base, ".eml") || len(base) > 200 {
			t.Errorf("%s: file name %q is hidden, not .eml or too long", tt.name, base)
		}
		if other, dup := seen[base]; dup {
			t.Errorf("%q and %q share the file %s", tt.id, other, base)
		}
		seen[base] = tt.id
		if o.Path(tt.id) != p {
			t.Errorf("%s: Path is not stable", tt.name)
		}
	}
	// Names that sanitise alike still get distinct files.
	if o.Path("a/b@example.com") == o.Path("a_b@example.com") {
		t.Error("two Message-IDs map to one file")
	}
	if _, err := delivery.NewOutbox(""); !errors.Is(err, delivery.ErrConfig) {
		t.Errorf("NewOutbox(\"\") = %v, want ErrConfig", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := delivery.NewOutbox(file); err == nil {
		t.Error("NewOutbox accepted a regular file")
	}
}
