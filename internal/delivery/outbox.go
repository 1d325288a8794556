package delivery

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/sameteam/sameteam/internal/report"
)

// Outbox writes each message as an .eml file in a directory instead of
// sending it: for demos, dry runs and environments without a relay. The
// bytes are exactly those SMTP would carry after DATA.
type Outbox struct {
	dir string
}

// NewOutbox returns an outbox writing into dir, creating it if needed.
func NewOutbox(dir string) (*Outbox, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: outbox directory is empty", ErrConfig)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create outbox: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%w: outbox %s is not a directory", ErrConfig, dir)
	}
	return &Outbox{dir: dir}, nil
}

// Path is the file a message with this Message-ID is written to. The name
// depends only on the ID, so a rerun replaces its earlier copy instead of
// adding a second one.
func (o *Outbox) Path(messageID string) string {
	return filepath.Join(o.dir, fileName(messageID))
}

// fileName keeps the readable characters of a Message-ID and, when it had
// to change or shorten anything, appends a hash of the original so that
// two IDs never share a file.
func fileName(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '@', c == '+', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name != id || len(name) > 150 {
		sum := sha256.Sum256([]byte(id))
		name = fmt.Sprintf("%s-%x", name[:min(len(name), 150)], sum[:8])
	}
	return name + ".eml"
}

// Send writes m atomically: into a temporary file in the same directory,
// synced, then renamed over the final name, so a reader never sees half a
// message and a crash leaves either the old file or the new one.
func (o *Outbox) Send(ctx context.Context, m Message) Result {
	if err := ctx.Err(); err != nil {
		return Result{Status: report.DeliveryFailedTemporary, Err: fmt.Errorf("outbox %s: %w", m.To, err)}
	}
	msg, err := Build(m)
	if err != nil {
		return Result{Status: report.DeliveryFailedPermanent, Err: err, Attempts: 1}
	}
	path := o.Path(m.MessageID)
	if err := o.write(msg, path); err != nil {
		return Result{Status: report.DeliveryFailedTemporary, Err: fmt.Errorf("outbox %s: %w", m.To, err), Attempts: 1}
	}
	return Result{Status: report.DeliverySent, Response: "written to " + path, Attempts: 1}
}

func (o *Outbox) write(msg *gomail.Msg, path string) error {
	tmp, err := os.CreateTemp(o.dir, ".outbox-*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	closed := false
	fail := func(what string, err error) error {
		if !closed {
			_ = tmp.Close()
		}
		return errors.Join(fmt.Errorf("%s: %w", what, err), os.Remove(tmp.Name()))
	}
	if _, err := msg.WriteTo(tmp); err != nil {
		return fail("write message", err)
	}
	if err := tmp.Sync(); err != nil {
		return fail("sync message", err)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return fail("close message", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail("publish message", err)
	}
	// The rename is durable only once the directory entry is on disk.
	if d, err := os.Open(o.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
