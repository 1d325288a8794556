package delivery_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/smtptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// setup starts a test server and an SMTP sender pointed at it, with tiny
// retry delays. mod adjusts the sender's config.
func setup(tb testing.TB, opts smtptest.Options, mod func(*delivery.SMTPConfig)) (*delivery.SMTP, *smtptest.Server) {
	tb.Helper()
	srv := smtptest.Start(tb, opts)
	cfg := delivery.SMTPConfig{
		Host:          srv.Host(),
		Port:          srv.Port(),
		TLS:           delivery.TLSNone,
		From:          "Sameteam Reports <reports@example.com>",
		HELO:          "sameteam.test",
		Timeout:       2 * time.Second,
		Attempts:      3,
		RetryDelay:    time.Millisecond,
		MaxRetryDelay: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := delivery.NewSMTP(cfg)
	if err != nil {
		tb.Fatalf("NewSMTP: %v", err)
	}
	return s, srv
}

func TestSMTPClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		action       smtptest.Action
		opts         smtptest.Options
		mod          func(*delivery.SMTPConfig)
		wantStatus   report.DeliveryStatus
		wantAttempts int
		wantCode     int
		wantEnhanced string
		wantRcpts    int // RCPT commands the server saw
		wantStored   int // messages the server holds
		wantIs       error
		wantSession  bool // the failure is the session's, not the recipient's
	}{
		{
			name: "accepted is sent", action: smtptest.Accept,
			wantStatus: report.DeliverySent, wantAttempts: 1, wantCode: 250, wantRcpts: 1, wantStored: 1,
		},
		{
			name: "451 at RCPT is retried then temporary, for this recipient only", action: smtptest.Reply451,
			wantStatus: report.DeliveryFailedTemporary, wantAttempts: 3, wantCode: 451, wantEnhanced: "4.7.1", wantRcpts: 3,
			wantIs: delivery.ErrRecipientDeferred,
		},
		{
			name: "421 at RCPT is retried then a temporary session failure", action: smtptest.Reply421,
			wantStatus: report.DeliveryFailedTemporary, wantAttempts: 3, wantCode: 421, wantEnhanced: "4.3.2", wantRcpts: 3,
			wantSession: true,
		},
		{
			name: "550 at RCPT is permanent and not retried", action: smtptest.Reply550,
			wantStatus: report.DeliveryFailedPermanent, wantAttempts: 1, wantCode: 550, wantEnhanced: "5.1.1", wantRcpts: 1,
		},
		{
			name: "stall before DATA past the timeout is temporary", action: smtptest.Stall,
			mod:        func(c *delivery.SMTPConfig) { c.Timeout = 250 * time.Millisecond; c.Attempts = 2 },
			wantStatus: report.DeliveryFailedTemporary, wantAttempts: 2, wantRcpts: 2,
		},
		{
			name: "drop after DATA is unknown and not retried", action: smtptest.DropAfterData,
			wantStatus: report.DeliveryUnknown, wantAttempts: 1, wantRcpts: 1, wantStored: 1, wantIs: delivery.ErrAmbiguous,
		},
		{
			name: "451 after DATA is retried then temporary", action: smtptest.Reply451AfterData,
			wantStatus: report.DeliveryFailedTemporary, wantAttempts: 3, wantCode: 451, wantEnhanced: "4.3.0", wantRcpts: 3,
		},
		{
			name: "554 after DATA is permanent", action: smtptest.Reply554AfterData,
			wantStatus: report.DeliveryFailedPermanent, wantAttempts: 1, wantCode: 554, wantEnhanced: "5.6.0", wantRcpts: 1,
		},
		{
			name: "slow reply within the timeout is sent", action: smtptest.Accept,
			opts:       smtptest.Options{DataDelay: 300 * time.Millisecond},
			wantStatus: report.DeliverySent, wantAttempts: 1, wantCode: 250, wantRcpts: 1, wantStored: 1,
		},
		{
			name: "reply slower than the timeout is unknown", action: smtptest.Accept,
			opts:       smtptest.Options{DataDelay: 2 * time.Second},
			mod:        func(c *delivery.SMTPConfig) { c.Timeout = 700 * time.Millisecond },
			wantStatus: report.DeliveryUnknown, wantAttempts: 1, wantRcpts: 1, wantIs: delivery.ErrAmbiguous,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const rcpt = "bob@example.com"
			opts := tt.opts
			opts.StallFor = 3 * time.Second
			opts.Behavior = smtptest.ByRecipient(map[string]smtptest.Action{rcpt: tt.action})
			s, srv := setup(t, opts, tt.mod)

			res := s.Send(context.Background(), sample(t, rcpt))

			if res.Status != tt.wantStatus {
				t.Fatalf("status = %s, want %s (err: %v)", res.Status, tt.wantStatus, res.Err)
			}
			if res.Attempts != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", res.Attempts, tt.wantAttempts)
			}
			if res.Code != tt.wantCode {
				t.Errorf("code = %d, want %d (err: %v)", res.Code, tt.wantCode, res.Err)
			}
			if res.EnhancedCode != tt.wantEnhanced {
				t.Errorf("enhanced code = %q, want %q", res.EnhancedCode, tt.wantEnhanced)
			}
			if got := srv.RcptCount(rcpt); got != tt.wantRcpts {
				t.Errorf("server saw %d RCPT, want %d", got, tt.wantRcpts)
			}
			if tt.wantStatus == report.DeliveryUnknown && tt.wantStored == 0 {
				// A slow server may still be holding the message; only
				// what arrived so far is known, never more than one copy.
				if got := len(srv.Messages()); got > 1 {
					t.Errorf("server stored %d messages, want at most 1", got)
				}
			} else if got := len(srv.Messages()); got != tt.wantStored {
				t.Errorf("server stored %d messages, want %d", got, tt.wantStored)
			}
			if tt.wantStatus == report.DeliverySent {
				if res.Err != nil {
					t.Errorf("sent with error %v", res.Err)
				}
				if res.Response == "" {
					t.Error("sent without the server's response")
				}
				return
			}
			if res.Err == nil {
				t.Fatal("failure without an error")
			}
			if tt.wantCode != 0 && !strings.HasPrefix(res.Response, fmt.Sprintf("%d %s ", tt.wantCode, tt.wantEnhanced)) {
				t.Errorf("response %q does not carry the %d %s reply", res.Response, tt.wantCode, tt.wantEnhanced)
			}
			if errors.Is(res.Err, delivery.ErrSession) != tt.wantSession {
				t.Errorf("session failure = %v, want %v: %v", errors.Is(res.Err, delivery.ErrSession), tt.wantSession, res.Err)
			}
			if tt.wantIs != delivery.ErrRecipientDeferred && errors.Is(res.Err, delivery.ErrRecipientDeferred) {
				t.Errorf("a failure that is not the recipient's own reported as one: %v", res.Err)
			}
			if tt.wantIs != nil && !errors.Is(res.Err, tt.wantIs) {
				t.Errorf("error %v does not match %v", res.Err, tt.wantIs)
			}
			if !strings.Contains(res.Err.Error(), rcpt) {
				t.Errorf("error %q does not name the recipient", res.Err)
			}
		})
	}
}

func TestSMTPGreylistedThenAccepted(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	s, srv := setup(t, smtptest.Options{Behavior: func(string) smtptest.Action {
		if calls.Add(1) == 1 {
			return smtptest.Reply451
		}
		return smtptest.Accept
	}}, nil)

	res := s.Send(context.Background(), sample(t, "carol@example.com"))
	if res.Status != report.DeliverySent || res.Attempts != 2 {
		t.Fatalf("got %s after %d attempts (err %v), want sent after 2", res.Status, res.Attempts, res.Err)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Fatalf("server stored %d messages, want 1", got)
	}
}

func TestSMTPOneMessagePerRecipient(t *testing.T) {
	t.Parallel()
	// One refused recipient must not stop the others (go-mail drops a
	// whole multi-recipient message when a single RCPT fails).
	rcpts := []string{"a@example.com", "b@example.com", "bad@example.com", "d@example.com", "e@example.com"}
	s, srv := setup(t, smtptest.Options{Behavior: smtptest.ByRecipient(map[string]smtptest.Action{
		"bad@example.com": smtptest.Reply550,
	})}, nil)

	var wg sync.WaitGroup
	results := make([]delivery.Result, len(rcpts))
	for i, r := range rcpts {
		wg.Go(func() { results[i] = s.Send(context.Background(), sample(t, r)) })
	}
	wg.Wait()

	for i, r := range rcpts {
		want := report.DeliverySent
		if r == "bad@example.com" {
			want = report.DeliveryFailedPermanent
		}
		if results[i].Status != want {
			t.Errorf("%s: status %s, want %s (err %v)", r, results[i].Status, want, results[i].Err)
		}
	}
	got := srv.Messages()
	if len(got) != 4 {
		t.Fatalf("server stored %d messages, want 4", len(got))
	}
	for _, m := range got {
		if len(m.To) != 1 {
			t.Errorf("envelope has %d recipients, want 1: %v", len(m.To), m.To)
		}
		if m.From != "reports@example.com" {
			t.Errorf("envelope sender %q, want reports@example.com", m.From)
		}
	}
}

func TestSMTPSession(t *testing.T) {
	t.Parallel()
	const user, pass = "reports", "CANARY-smtp-91c2"
	tests := []struct {
		name       string
		opts       smtptest.Options
		mod        func(*delivery.SMTPConfig, *smtptest.Server)
		wantStatus report.DeliveryStatus
		wantIs     []error
		wantText   string // substring of the error
		attempts   int
		authOK     int
		authFailed int
	}{
		{
			name: "STARTTLS and AUTH PLAIN",
			opts: smtptest.Options{StartTLS: true, Username: user, Password: pass},
			mod: func(c *delivery.SMTPConfig, s *smtptest.Server) {
				c.TLS, c.TLSConfig, c.Auth, c.Username, c.Password = delivery.TLSStartTLS, s.ClientTLSConfig(), delivery.AuthPlain, user, pass
			},
			wantStatus: report.DeliverySent, attempts: 1, authOK: 1,
		},
		{
			name: "implicit TLS and AUTH LOGIN",
			opts: smtptest.Options{ImplicitTLS: true, Username: user, Password: pass},
			mod: func(c *delivery.SMTPConfig, s *smtptest.Server) {
				c.TLS, c.TLSConfig, c.Auth, c.Username, c.Password = delivery.TLSImplicit, s.ClientTLSConfig(), delivery.AuthLogin, user, pass
			},
			wantStatus: report.DeliverySent, attempts: 1, authOK: 1,
		},
		{
			name: "plain AUTH without TLS on loopback",
			opts: smtptest.Options{Username: user, Password: pass},
			mod: func(c *delivery.SMTPConfig, _ *smtptest.Server) {
				c.Auth, c.Username, c.Password = delivery.AuthPlain, user, pass
			},
			wantStatus: report.DeliverySent, attempts: 1, authOK: 1,
		},
		{
			name: "wrong password is an auth error, tried once",
			opts: smtptest.Options{StartTLS: true, Username: user, Password: "the-right-one"},
			mod: func(c *delivery.SMTPConfig, s *smtptest.Server) {
				c.TLS, c.TLSConfig, c.Auth, c.Username, c.Password = delivery.TLSStartTLS, s.ClientTLSConfig(), delivery.AuthPlain, user, pass
			},
			wantStatus: report.DeliveryFailedTemporary, wantIs: []error{delivery.ErrSession, delivery.ErrAuth},
			wantText: "535", attempts: 1, authFailed: 1,
		},
		{
			name: "a mechanism the server lacks is an auth error",
			opts: smtptest.Options{Username: user, Password: pass},
			mod: func(c *delivery.SMTPConfig, _ *smtptest.Server) {
				c.Auth, c.Username, c.Password = delivery.AuthCRAMMD5, user, pass
			},
			wantStatus: report.DeliveryFailedTemporary, wantIs: []error{delivery.ErrSession, delivery.ErrAuth},
			wantText: "CRAM-MD5", attempts: 1,
		},
		{
			name: "STARTTLS required but not offered",
			opts: smtptest.Options{Username: user, Password: pass},
			mod: func(c *delivery.SMTPConfig, _ *smtptest.Server) {
				c.TLS, c.Auth, c.Username, c.Password = delivery.TLSStartTLS, delivery.AuthPlain, user, pass
			},
			wantStatus: report.DeliveryFailedTemporary, wantIs: []error{delivery.ErrSession, delivery.ErrTLS},
			wantText: "does not offer STARTTLS", attempts: 1,
		},
		{
			name: "untrusted certificate fails before AUTH",
			opts: smtptest.Options{StartTLS: true, Username: user, Password: pass},
			mod: func(c *delivery.SMTPConfig, _ *smtptest.Server) {
				c.TLS, c.Auth, c.Username, c.Password = delivery.TLSStartTLS, delivery.AuthPlain, user, pass
			},
			wantStatus: report.DeliveryFailedTemporary, wantIs: []error{delivery.ErrSession, delivery.ErrTLS},
			wantText: "certificate", attempts: 1,
		},
		{
			name: "implicit TLS to a plaintext server",
			mod: func(c *delivery.SMTPConfig, _ *smtptest.Server) {
				c.TLS = delivery.TLSImplicit
			},
			wantStatus: report.DeliveryFailedTemporary, wantIs: []error{delivery.ErrSession, delivery.ErrTLS},
			attempts: 1,
		},
		{
			name:       "MAIL refused without AUTH is a session failure",
			opts:       smtptest.Options{Username: user, Password: pass},
			wantStatus: report.DeliveryFailedTemporary, wantIs: []error{delivery.ErrSession},
			wantText: "530", attempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, tt.opts)
			cfg := delivery.SMTPConfig{
				Host: srv.Host(), Port: srv.Port(), TLS: delivery.TLSNone, From: "reports@example.com",
				Timeout: 2 * time.Second, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond,
			}
			if tt.mod != nil {
				tt.mod(&cfg, srv)
			}
			s, err := delivery.NewSMTP(cfg)
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}

			res := s.Send(context.Background(), sample(t, "bob@example.com"))
			verr := s.Verify(context.Background())

			if res.Status != tt.wantStatus {
				t.Fatalf("status %s, want %s (err %v)", res.Status, tt.wantStatus, res.Err)
			}
			if res.Attempts != tt.attempts {
				t.Errorf("attempts %d, want %d", res.Attempts, tt.attempts)
			}
			wantMsgs := 0
			if tt.wantStatus == report.DeliverySent {
				wantMsgs = 1
			}
			if got := len(srv.Messages()); got != wantMsgs {
				t.Errorf("server stored %d messages, want %d", got, wantMsgs)
			}
			// Verify runs the same session and so authenticates once more.
			wantOK, wantFailed := tt.authOK*2, tt.authFailed*2
			if got := srv.AuthSuccesses(); got != wantOK {
				t.Errorf("AUTH successes %d, want %d", got, wantOK)
			}
			if got := srv.AuthFailures(); got != wantFailed {
				t.Errorf("AUTH failures %d, want %d", got, wantFailed)
			}
			for _, e := range []error{res.Err, verr} {
				if e == nil {
					continue
				}
				assertNoSecret(t, e, pass)
			}
			if tt.wantStatus == report.DeliverySent {
				if res.Err != nil {
					t.Errorf("unexpected error %v", res.Err)
				}
				return
			}
			for _, target := range tt.wantIs {
				if !errors.Is(res.Err, target) {
					t.Errorf("error %q does not match %v", res.Err, target)
				}
			}
			if tt.wantText == "535" && !strings.HasPrefix(res.Response, "535 5.7.8 ") {
				t.Errorf("response %q, want the 535 reply", res.Response)
			}
			if !strings.Contains(res.Err.Error(), tt.wantText) {
				t.Errorf("error %q does not mention %q", res.Err, tt.wantText)
			}
			// Verify fails the same way, except where only MAIL is refused.
			if tt.wantText != "530" {
				if verr == nil {
					t.Fatal("Verify succeeded against a failing session")
				}
				for _, target := range tt.wantIs {
					if !errors.Is(verr, target) {
						t.Errorf("Verify error %q does not match %v", verr, target)
					}
				}
			}
		})
	}
}

func assertNoSecret(tb testing.TB, err error, secret string) {
	tb.Helper()
	text := err.Error()
	for _, s := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret))} {
		if strings.Contains(text, s) {
			tb.Errorf("error text contains the password: %q", text)
		}
	}
	// Nothing in the chain may print it either.
	for e := err; e != nil; {
		if strings.Contains(e.Error(), secret) {
			tb.Errorf("wrapped error contains the password: %q", e.Error())
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if inner != nil && strings.Contains(inner.Error(), secret) {
					tb.Errorf("wrapped error contains the password: %q", inner.Error())
				}
			}
			e = nil
		default:
			e = nil
		}
	}
}

func TestSMTPRedactsPasswordEchoedByServer(t *testing.T) {
	t.Parallel()
	// A password that happens to appear in the server's reply ("535 5.7.8
	// Authentication failed") stands in for a server that echoes what it
	// was sent: whatever the source, the text must not carry it.
	const pass = "Authentication"
	s, srv := setup(t, smtptest.Options{Username: "reports", Password: "other"}, func(c *delivery.SMTPConfig) {
		c.Auth, c.Username, c.Password = delivery.AuthPlain, "reports", pass
	})
	res := s.Send(context.Background(), sample(t, "bob@example.com"))
	if !errors.Is(res.Err, delivery.ErrAuth) {
		t.Fatalf("err %v, want an auth error", res.Err)
	}
	if srv.AuthFailures() != 1 {
		t.Fatalf("server saw %d failed AUTH, want 1", srv.AuthFailures())
	}
	assertNoSecret(t, res.Err, pass)
	if !strings.Contains(res.Err.Error(), "[redacted]") {
		t.Errorf("error %q shows no redaction", res.Err)
	}
}

func TestSMTPConnectionRefusedIsRetried(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s, err := delivery.NewSMTP(delivery.SMTPConfig{
		Host: "127.0.0.1", Port: port, TLS: delivery.TLSNone, From: "reports@example.com",
		Timeout: time.Second, Attempts: 3, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	res := s.Send(context.Background(), sample(t, "bob@example.com"))
	if res.Status != report.DeliveryFailedTemporary || res.Attempts != 3 {
		t.Fatalf("got %s after %d attempts, want failed_temporary after 3 (err %v)", res.Status, res.Attempts, res.Err)
	}
	if !errors.Is(res.Err, delivery.ErrSession) {
		t.Errorf("err %v does not match ErrSession", res.Err)
	}
	if err := s.Verify(context.Background()); !errors.Is(err, delivery.ErrSession) {
		t.Errorf("Verify: %v, want a session error", err)
	}
}

func TestSMTPCancelledContext(t *testing.T) {
	t.Parallel()
	s, srv := setup(t, smtptest.Options{Behavior: func(string) smtptest.Action { return smtptest.Reply451 }},
		func(c *delivery.SMTPConfig) { c.Attempts = 10; c.RetryDelay = time.Hour; c.MaxRetryDelay = time.Hour })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := s.Send(ctx, sample(t, "bob@example.com"))
	if res.Status != report.DeliveryFailedTemporary || res.Attempts != 0 || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("got %s/%d/%v, want failed_temporary without an attempt", res.Status, res.Attempts, res.Err)
	}
	if srv.Connections() != 0 {
		t.Errorf("server saw %d connections, want 0", srv.Connections())
	}

	// Cancelled during the backoff: the attempt made so far is reported
	// at once instead of waiting out the hour.
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res = s.Send(ctx, sample(t, "bob@example.com"))
	if res.Status != report.DeliveryFailedTemporary || res.Attempts != 1 {
		t.Fatalf("got %s after %d attempts, want failed_temporary after 1", res.Status, res.Attempts)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %s after cancellation", d)
	}
}

func TestSMTPInvalidMessageIsPermanent(t *testing.T) {
	t.Parallel()
	s, srv := setup(t, smtptest.Options{}, nil)
	m := sample(t, "bob@example.com")
	m.To = "Bob <bob@example.com>"
	res := s.Send(context.Background(), m)
	if res.Status != report.DeliveryFailedPermanent || !errors.Is(res.Err, delivery.ErrInvalidAddress) {
		t.Fatalf("got %s (%v), want failed_permanent with an invalid address", res.Status, res.Err)
	}
	if srv.Connections() != 0 {
		t.Errorf("an invalid message reached the server (%d connections)", srv.Connections())
	}
}

func TestNewSMTPValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     delivery.SMTPConfig
		setting string // "" means valid
	}{
		{name: "defaults to STARTTLS", cfg: delivery.SMTPConfig{Host: "smtp.example.com"}},
		{name: "implicit TLS", cfg: delivery.SMTPConfig{Host: "smtp.example.com", TLS: "TLS"}},
		{name: "clear to loopback", cfg: delivery.SMTPConfig{Host: "127.0.0.1", TLS: "none", Port: 1025}},
		{name: "clear to localhost", cfg: delivery.SMTPConfig{Host: "localhost", TLS: "none"}},
		{name: "clear to a relay when allowed", cfg: delivery.SMTPConfig{Host: "relay.internal", TLS: "none", AllowInsecure: true, Auth: "plain", Username: "u", Password: "p"}},
		{name: "clear to a relay refused", cfg: delivery.SMTPConfig{Host: "relay.internal", TLS: "none"}, setting: "smtp.tls"},
		{name: "clear to a private address refused", cfg: delivery.SMTPConfig{Host: "10.0.0.5", TLS: "none"}, setting: "smtp.tls"},
		{name: "unknown TLS mode", cfg: delivery.SMTPConfig{Host: "smtp.example.com", TLS: "ssl"}, setting: "smtp.tls"},
		{name: "no host", cfg: delivery.SMTPConfig{}, setting: "smtp.host"},
		{name: "host with port", cfg: delivery.SMTPConfig{Host: "smtp.example.com:587"}, setting: "smtp.host"},
		{name: "port out of range", cfg: delivery.SMTPConfig{Host: "smtp.example.com", Port: 70000}, setting: "smtp.port"},
		{name: "unknown auth", cfg: delivery.SMTPConfig{Host: "smtp.example.com", Auth: "xoauth2", Username: "u", Password: "p"}, setting: "smtp.auth"},
		{name: "auth without username", cfg: delivery.SMTPConfig{Host: "smtp.example.com", Auth: "login", Password: "p"}, setting: "smtp.username"},
		{name: "auth without password", cfg: delivery.SMTPConfig{Host: "smtp.example.com", Auth: "cram-md5", Username: "u"}, setting: "smtp.password"},
		{name: "username without auth", cfg: delivery.SMTPConfig{Host: "smtp.example.com", Username: "u", Password: "p"}, setting: "smtp.auth"},
		{name: "bad from", cfg: delivery.SMTPConfig{Host: "smtp.example.com", From: "reports"}, setting: "smtp.from"},
		{name: "from with a line break", cfg: delivery.SMTPConfig{Host: "smtp.example.com", From: "a@example.com\r\nBcc: x@evil.example"}, setting: "smtp.from"},
		{name: "bad reply-to", cfg: delivery.SMTPConfig{Host: "smtp.example.com", ReplyTo: "nobody"}, setting: "smtp.reply_to"},
		{name: "bad HELO", cfg: delivery.SMTPConfig{Host: "smtp.example.com", HELO: "two words"}, setting: "smtp.helo"},
		{name: "negative attempts", cfg: delivery.SMTPConfig{Host: "smtp.example.com", Attempts: -1}, setting: "smtp.attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := delivery.NewSMTP(tt.cfg)
			if tt.setting == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error naming %s", tt.setting)
			}
			if !errors.Is(err, delivery.ErrConfig) {
				t.Errorf("error %v does not match ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.setting+":") {
				t.Errorf("error %q does not name %s", err, tt.setting)
			}
		})
	}
}

func ExampleMessageID() {
	fmt.Println(delivery.MessageID("sales", "2025-W47", "Bob@Example.com", "example.com"))
	// Output: sameteam.sales.2025-W47.66a6a212a9d9b1dd@example.com
}
