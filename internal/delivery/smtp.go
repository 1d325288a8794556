package delivery

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/sameteam/sameteam/internal/report"
)

// TLS modes for SMTPConfig.TLS.
const (
	// TLSStartTLS upgrades with STARTTLS and refuses a server that does not
	// offer it (the default; port 587).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS; port 465).
	TLSImplicit = "tls"
	// TLSNone sends in clear; allowed only to a loopback host unless
	// AllowInsecure is set (port 25).
	TLSNone = "none"
)

// Authentication mechanisms for SMTPConfig.Auth.
const (
	AuthNone    = "none"
	AuthPlain   = "plain"
	AuthLogin   = "login"
	AuthCRAMMD5 = "cram-md5"
)

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	// Host is the relay's host name or IP address, without a port.
	Host string
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int
	// TLS is "starttls" (default), "tls" or "none".
	TLS string
	// AllowInsecure permits TLS "none" to a host that is not loopback.
	AllowInsecure bool
	// Auth is "plain", "login", "cram-md5", or "none"/"" for no AUTH.
	Auth     string
	Username string
	Password string
	// From and ReplyTo fill a Message that leaves them empty.
	From    string
	ReplyTo string
	// HELO is the name sent in EHLO; go-mail's default is the machine's
	// host name, which in a container is a random id some relays refuse.
	HELO string
	// Timeout bounds each network step of one attempt, including the wait
	// for the reply to the message data (default 60 s). Relays that scan
	// attachments can take tens of seconds; a timeout there is an unknown
	// outcome, so a generous value avoids ambiguity.
	Timeout time.Duration
	// Attempts is how many times Send tries a transient failure (default 3).
	Attempts int
	// RetryDelay is the first backoff (default 2 s); it doubles per attempt,
	// capped at MaxRetryDelay (default 30 s), with jitter.
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// TLSConfig overrides the TLS client configuration (tests trust a
	// self-signed certificate with it). ServerName defaults to Host.
	TLSConfig *tls.Config
}

// SMTP sends each message in its own SMTP transaction on its own
// connection. It is safe for concurrent use.
type SMTP struct {
	cfg     SMTPConfig
	client  *gomail.Client
	addr    string
	secrets []string
}

// NewSMTP validates cfg, fills its defaults and returns a sender. It does
// not connect; Verify does.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	cfg.TLS = strings.ToLower(strings.TrimSpace(cmp.Or(cfg.TLS, TLSStartTLS)))
	cfg.Auth = strings.ToLower(strings.TrimSpace(cmp.Or(cfg.Auth, AuthNone)))
	cfg.Timeout = cmp.Or(cfg.Timeout, 60*time.Second)
	cfg.Attempts = cmp.Or(cfg.Attempts, 3)
	cfg.RetryDelay = cmp.Or(cfg.RetryDelay, 2*time.Second)
	cfg.MaxRetryDelay = cmp.Or(cfg.MaxRetryDelay, 30*time.Second)
	if err := validate(&cfg); err != nil {
		return nil, err
	}

	tc := &tls.Config{}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	tc.ServerName = cmp.Or(tc.ServerName, cfg.Host)
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)

	opts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tc),
		gomail.WithDialContextFunc(dialer(cfg.TLS == TLSImplicit, tc)),
	}
	switch cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		// The dialer does the handshake; WithSSL stops go-mail from also
		// trying STARTTLS inside the TLS connection.
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.Auth != AuthNone {
		// validate has already accepted clear-text credentials for TLS
		// "none"; everywhere else go-mail's own refusal to send them
		// unencrypted stays on as a second line of defence.
		clear := cfg.TLS == TLSNone
		mech := map[string]gomail.SMTPAuthType{
			AuthPlain:   pick(clear, gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthPlain),
			AuthLogin:   pick(clear, gomail.SMTPAuthLoginNoEnc, gomail.SMTPAuthLogin),
			AuthCRAMMD5: gomail.SMTPAuthCramMD5,
		}[cfg.Auth]
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: smtp client: %w", ErrConfig, err)
	}

	s := &SMTP{cfg: cfg, client: client, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	if cfg.Password != "" {
		// The password itself, and the base64 forms in which PLAIN and
		// LOGIN put it on the wire, in case a server echoes them back.
		s.secrets = []string{
			cfg.Password,
			base64.StdEncoding.EncodeToString([]byte(cfg.Password)),
			base64.StdEncoding.EncodeToString([]byte("\x00" + cfg.Username + "\x00" + cfg.Password)),
		}
	}
	return s, nil
}

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

func validate(cfg *SMTPConfig) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	host := strings.TrimSpace(cfg.Host)
	switch {
	case host == "":
		return bad("smtp.host: required")
	case net.ParseIP(host) == nil && strings.ContainsAny(host, ":/ \t\r\n"):
		return bad("smtp.host: %q must be a host name or IP address only (the port goes in smtp.port)", cfg.Host)
	}
	cfg.Host = host
	switch cfg.TLS {
	case TLSStartTLS:
		cfg.Port = cmp.Or(cfg.Port, 587)
	case TLSImplicit:
		cfg.Port = cmp.Or(cfg.Port, 465)
	case TLSNone:
		cfg.Port = cmp.Or(cfg.Port, 25)
		if !isLoopback(host) && !cfg.AllowInsecure {
			return bad("smtp.tls: %q sends mail and credentials in clear to %s; it is allowed only for a loopback host or with smtp.allow_insecure", TLSNone, host)
		}
	default:
		return bad("smtp.tls: unknown value %q (want %s, %s or %s)", cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return bad("smtp.port: %d is out of range", cfg.Port)
	}
	switch cfg.Auth {
	case AuthNone:
		if cfg.Username != "" {
			return bad("smtp.auth: smtp.username is set but smtp.auth is %q; choose %s, %s or %s", AuthNone, AuthPlain, AuthLogin, AuthCRAMMD5)
		}
	case AuthPlain, AuthLogin, AuthCRAMMD5:
		if cfg.Username == "" {
			return bad("smtp.username: required with smtp.auth %q", cfg.Auth)
		}
		if cfg.Password == "" {
			return bad("smtp.password: required with smtp.auth %q", cfg.Auth)
		}
	default:
		return bad("smtp.auth: unknown value %q (want %s, %s, %s or %s)", cfg.Auth, AuthPlain, AuthLogin, AuthCRAMMD5, AuthNone)
	}
	for _, f := range []struct{ name, value string }{{"smtp.from", cfg.From}, {"smtp.reply_to", cfg.ReplyTo}} {
		if f.value == "" {
			continue
		}
		if strings.ContainsAny(f.value, "\r\n") {
			return bad("%s: %q contains a line break", f.name, f.value)
		}
		if _, err := mail.ParseAddress(f.value); err != nil {
			return bad("%s: %q: %s", f.name, f.value, strings.TrimPrefix(err.Error(), "mail: "))
		}
	}
	if strings.ContainsAny(cfg.HELO, " \t\r\n") {
		return bad("smtp.helo: %q must be a single host name", cfg.HELO)
	}
	if cfg.Timeout < 0 {
		return bad("smtp.timeout: %s is negative", cfg.Timeout)
	}
	if cfg.Attempts < 1 {
		return bad("smtp.attempts: %d must be at least 1", cfg.Attempts)
	}
	if cfg.RetryDelay < 0 || cfg.MaxRetryDelay < 0 {
		return bad("smtp.retry_delay: must not be negative")
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// connSlot receives the connection an attempt dialled, so it can be closed
// when go-mail gives up during EHLO, STARTTLS or AUTH: go-mail returns
// those errors without closing the socket.
type connSlot struct{ conn net.Conn }

type connSlotKey struct{}

func dialer(implicitTLS bool, tc *tls.Config) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := &net.Dialer{}
		var c net.Conn
		var err error
		if implicitTLS {
			c, err = (&tls.Dialer{NetDialer: nd, Config: tc}).DialContext(ctx, network, addr)
		} else {
			c, err = nd.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		if slot, ok := ctx.Value(connSlotKey{}).(*connSlot); ok {
			slot.conn = c
		}
		return c, nil
	}
}

// connect dials, greets, secures and authenticates one connection.
func (s *SMTP) connect(ctx context.Context) (*gosmtp.Client, func(), error) {
	slot := &connSlot{}
	sc, err := s.client.DialToSMTPClientWithContext(context.WithValue(ctx, connSlotKey{}, slot))
	closeConn := func() {
		if slot.conn != nil {
			_ = slot.conn.Close()
		}
	}
	if err != nil {
		closeConn()
		return nil, nil, err
	}
	hangUp := func() {
		// QUIT is a courtesy; the socket is closed whatever it answers.
		_ = s.client.CloseWithSMTPClient(sc)
		closeConn()
	}
	return sc, hangUp, nil
}

// Verify connects, negotiates TLS and authenticates as a send would, then
// quits without sending anything.
func (s *SMTP) Verify(ctx context.Context) error {
	_, hangUp, err := s.connect(ctx)
	if err != nil {
		res, _ := s.sessionFailure(ctx, err)
		return res.Err
	}
	hangUp()
	return nil
}

// Send delivers m to m.To in its own transaction, retrying transient
// failures with backoff. Permanent, ambiguous and configuration failures
// return at once. A cancelled ctx stops further attempts but never cuts a
// transaction in progress: abandoning one mid-DATA would turn a clean
// outcome into an unknown one.
func (s *SMTP) Send(ctx context.Context, m Message) Result {
	m.From = cmp.Or(m.From, s.cfg.From)
	m.ReplyTo = cmp.Or(m.ReplyTo, s.cfg.ReplyTo)
	if _, err := Build(m); err != nil {
		return Result{Status: report.DeliveryFailedPermanent, Err: err}
	}
	var res Result
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			if attempt == 1 {
				return Result{Status: report.DeliveryFailedTemporary, Err: fmt.Errorf("send to %s: %w", m.To, err)}
			}
			return res
		}
		// A fresh Msg per attempt: go-mail records delivery state on it.
		msg, _ := Build(m)
		var retry bool
		res, retry = s.attempt(ctx, msg, m.To)
		res.Attempts = attempt
		if !retry || attempt >= s.cfg.Attempts {
			return res
		}
		t := time.NewTimer(s.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return res
		case <-t.C:
		}
	}
}

// backoff doubles RetryDelay per attempt up to MaxRetryDelay and keeps a
// random half of it, so that recipients failing together do not retry in
// lockstep.
func (s *SMTP) backoff(attempt int) time.Duration {
	d := s.cfg.MaxRetryDelay
	if attempt < 30 {
		d = min(s.cfg.RetryDelay<<(attempt-1), s.cfg.MaxRetryDelay)
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func (s *SMTP) attempt(ctx context.Context, msg *gomail.Msg, to string) (Result, bool) {
	sc, hangUp, err := s.connect(ctx)
	if err != nil {
		return s.sessionFailure(ctx, err)
	}
	defer hangUp()
	err = s.client.SendWithSMTPClient(sc, msg)
	return s.classify(msg, to, err)
}

// classify turns go-mail's outcome into a Result and says whether another
// attempt is safe and useful. go-mail's IsTemp only looks at reply codes,
// so where the failure happened (SendError.Reason) decides the rest:
// before the final "." of DATA nothing can have been delivered; after it,
// only a reply tells.
func (s *SMTP) classify(msg *gomail.Msg, to string, err error) (Result, bool) {
	// IsDelivered is set on the 250 after DATA, before the RSET that
	// follows: a failing RSET (ErrSMTPReset) does not undo a delivery.
	if err == nil || msg.IsDelivered() {
		return Result{Status: report.DeliverySent, Response: msg.ServerResponse(), Code: 250}, false
	}
	where := fmt.Sprintf("send to %s via %s", to, s.addr)
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return s.result(report.DeliveryUnknown, 0, "", []error{ErrAmbiguous}, where, err), false
	}
	code, enh := se.ErrorCode(), se.EnhancedStatusCode()
	result := func(status report.DeliveryStatus, kinds []error) Result {
		r := s.result(status, code, enh, kinds, where, se)
		r.Response = s.redact(replyIn(se.Error()))
		return r
	}
	if code == 421 {
		// 421 closes the transmission channel, whatever command it answers:
		// the relay is going away for everyone, not refusing one address.
		return result(report.DeliveryFailedTemporary, []error{ErrSession}), true
	}
	switch se.Reason {
	case gomail.ErrConnCheck:
		return result(report.DeliveryFailedTemporary, []error{ErrSession}), true
	case gomail.ErrSMTPMailFrom:
		// MAIL FROM concerns the sender, not this recipient.
		return result(report.DeliveryFailedTemporary, []error{ErrSession}), code < 500
	case gomail.ErrSMTPRcptTo:
		if code >= 500 {
			return result(report.DeliveryFailedPermanent, nil), false
		}
		if code >= 400 {
			// The relay answered, for this address: the session is sound.
			return result(report.DeliveryFailedTemporary, []error{ErrRecipientDeferred}), true
		}
		// No reply (a timeout, a dropped connection) says nothing of the
		// recipient.
		return result(report.DeliveryFailedTemporary, nil), true
	case gomail.ErrSMTPData:
		if code >= 500 {
			return result(report.DeliveryFailedPermanent, nil), false
		}
		return result(report.DeliveryFailedTemporary, nil), true
	case gomail.ErrWriteContent:
		// The data was cut off before its terminating ".", which is
		// written only when the writer is closed: the server discards it.
		return result(report.DeliveryFailedTemporary, nil), true
	case gomail.ErrSMTPDataClose:
		switch {
		case code >= 500:
			return result(report.DeliveryFailedPermanent, nil), false
		case code >= 400:
			return result(report.DeliveryFailedTemporary, nil), true
		}
		// The whole message went out and no reply came: RFC 1047's window.
		return result(report.DeliveryUnknown, []error{ErrAmbiguous}), false
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		return result(report.DeliveryFailedPermanent, []error{ErrInvalidMessage}), false
	}
	return result(report.DeliveryUnknown, []error{ErrAmbiguous}), false
}

var enhancedCodeRE = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\b`)

// sessionFailure classifies an error from connecting, EHLO, STARTTLS or
// AUTH. None of them involve the recipient, so the delivery stays
// retryable (report.DeliveryFailedTemporary) and the error matches ErrSession;
// only network trouble and 4xx replies are retried here, because a bad
// certificate or password does not fix itself and repeated AUTH failures
// lock accounts.
func (s *SMTP) sessionFailure(ctx context.Context, err error) (Result, bool) {
	where := "smtp session with " + s.addr
	code, enh, reply := 0, "", ""
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) {
		code = tpErr.Code
		enh = enhancedCodeRE.FindString(tpErr.Msg)
		reply = s.redact(fmt.Sprintf("%d %s", tpErr.Code, tpErr.Msg))
	}
	res, retry := s.classifySession(ctx, err, where, code, enh, tpErr)
	res.Response = reply
	return res, retry
}

func (s *SMTP) classifySession(ctx context.Context, err error, where string, code int, enh string, tpErr *textproto.Error) (Result, bool) {
	switch {
	case strings.Contains(err.Error(), "does not support STARTTLS"):
		where = fmt.Sprintf("%s does not offer STARTTLS and smtp.tls is %q (use %q for an implicit-TLS port, or %q only for a trusted relay)",
			s.addr, TLSStartTLS, TLSImplicit, TLSNone)
		return s.result(report.DeliveryFailedTemporary, code, enh, []error{ErrSession, ErrTLS}, where, nil), false
	case isTLSError(err, tpErr):
		return s.result(report.DeliveryFailedTemporary, code, enh, []error{ErrSession, ErrTLS}, where, err), false
	case isAuthError(err):
		return s.result(report.DeliveryFailedTemporary, code, enh, []error{ErrSession, ErrAuth}, where, err), false
	}
	retry := ctx.Err() == nil && code < 500
	return s.result(report.DeliveryFailedTemporary, code, enh, []error{ErrSession}, where, err), retry
}

func isTLSError(err error, tpErr *textproto.Error) bool {
	var (
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	if errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return true
	}
	// A STARTTLS command the server refuses (454 TLS not available).
	return tpErr != nil && strings.Contains(strings.ToUpper(tpErr.Msg), "TLS")
}

func isAuthError(err error) bool {
	for _, target := range []error{
		gomail.ErrPlainAuthNotSupported, gomail.ErrLoginAuthNotSupported, gomail.ErrCramMD5AuthNotSupported,
		gosmtp.ErrUnencrypted, gosmtp.ErrWrongHostname,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "SMTP AUTH failed") || strings.Contains(msg, "server does not support SMTP AUTH")
}

// result builds a failure Result whose error text names the most specific
// sentinel, where it happened and the cause, with secrets removed.
func (s *SMTP) result(status report.DeliveryStatus, code int, enh string, kinds []error, where string, cause error) Result {
	text := where
	if len(kinds) > 0 {
		text = kinds[len(kinds)-1].Error() + ": " + where
	}
	if cause != nil {
		text += ": " + cause.Error()
	}
	clean := s.redact(text)
	chain := slices.Clone(kinds)
	if cause != nil && clean == text {
		chain = append(chain, cause)
	}
	return Result{Status: status, Code: code, EnhancedCode: enh, Err: &deliveryError{text: clean, chain: chain}}
}

func (s *SMTP) redact(text string) string {
	for _, secret := range s.secrets {
		text = strings.ReplaceAll(text, secret, "[redacted]")
	}
	return text
}

// replyRE finds a server reply as net/textproto prints it: 451 "4.7.1 …".
var replyRE = regexp.MustCompile(`\b([245]\d\d) ("(?:[^"\\]|\\.)*")`)

// replyIn recovers the first server reply quoted in a go-mail error, which
// keeps its per-command errors unexported.
func replyIn(text string) string {
	m := replyRE.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	msg, err := strconv.Unquote(m[2])
	if err != nil {
		return ""
	}
	return m[1] + " " + msg
}
