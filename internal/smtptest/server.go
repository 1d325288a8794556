// Package smtptest runs a scriptable SMTP server on 127.0.0.1 for tests.
//
// The server speaks real SMTP over real TCP (emersion/go-smtp), so the
// client under test goes through its whole stack: dial, EHLO, STARTTLS or
// implicit TLS, AUTH, MAIL, RCPT, DATA. Each recipient can be given a
// behaviour (accept, 421, 451, 550, stall, drop the connection after DATA,
// reject after DATA) to reproduce the failures that decide whether a
// delivery is sent, retried, failed for good or unknown.
package smtptest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Action is what the server does with one recipient's transaction.
type Action int

const (
	// Accept takes the recipient and the message and replies 250.
	Accept Action = iota
	// Reply421 answers RCPT with 421 and closes the connection, as a server
	// shutting down or shedding load does.
	Reply421
	// Reply451 answers RCPT with 451 (greylisting, a full queue).
	Reply451
	// Reply550 answers RCPT with 550 5.1.1 (no such user).
	Reply550
	// Stall never answers RCPT: the server sleeps for Options.StallFor, longer
	// than any sensible client timeout, before the message data is sent.
	Stall
	// DropAfterData reads the whole message, keeps it, and closes the
	// connection without a reply: the client cannot know it arrived.
	DropAfterData
	// Reply451AfterData reads the whole message and answers 451 to it.
	Reply451AfterData
	// Reply554AfterData reads the whole message and answers 554 to it.
	Reply554AfterData
)

var actionNames = map[Action]string{
	Accept:            "accept",
	Reply421:          "421",
	Reply451:          "451",
	Reply550:          "550",
	Stall:             "stall",
	DropAfterData:     "drop-after-data",
	Reply451AfterData: "451-after-data",
	Reply554AfterData: "554-after-data",
}

// String names the action for test output.
func (a Action) String() string {
	if s, ok := actionNames[a]; ok {
		return s
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Options configures a test server. The zero value accepts every message
// without TLS or AUTH.
type Options struct {
	// Username and Password, when Username is set, make the server advertise
	// AUTH PLAIN and LOGIN, answer wrong credentials with 535, and refuse
	// MAIL from an unauthenticated session with 530.
	Username string
	Password string
	// StartTLS advertises STARTTLS with a self-signed certificate made at
	// start; ClientTLSConfig trusts it. AUTH is then offered only after TLS.
	StartTLS bool
	// ImplicitTLS makes the listener speak TLS from the first byte (SMTPS).
	ImplicitTLS bool
	// Behavior picks the action for each RCPT. It may be called from several
	// connections at once. Nil accepts everyone.
	Behavior func(rcpt string) Action
	// DataDelay is how long the server takes before replying to an accepted
	// message, as a slow or virus-scanning relay does.
	DataDelay time.Duration
	// StallFor is how long Stall waits; default 10 s. Shutdown cuts it short.
	StallFor time.Duration
}

// ByRecipient returns a Behavior that looks each recipient up in m and
// accepts those not listed.
func ByRecipient(m map[string]Action) func(string) Action {
	return func(rcpt string) Action { return m[rcpt] }
}

// Received is one message the server took: the envelope and the raw data.
type Received struct {
	From string
	To   []string
	Data []byte
}

// Server is a running test server. Its methods are safe for concurrent use.
type Server struct {
	opts      Options
	srv       *smtp.Server
	addr      *net.TCPAddr
	ln        net.Listener
	clientTLS *tls.Config
	done      chan struct{}
	serveDone chan struct{}
	conns     sync.WaitGroup

	mu            sync.Mutex
	msgs          []Received
	connections   int
	authFailures  int
	authSuccesses int
	rcpts         map[string]int
}

// Start starts a server on 127.0.0.1 with a random port and stops it when
// the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.StallFor <= 0 {
		opts.StallFor = 10 * time.Second
	}
	s := &Server{
		opts:      opts,
		done:      make(chan struct{}),
		serveDone: make(chan struct{}),
		rcpts:     make(map[string]int),
	}

	var serverTLS *tls.Config
	if opts.StartTLS || opts.ImplicitTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			tb.Fatalf("smtptest: %v", err)
		}
		serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.clientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	}

	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = raw.Addr().(*net.TCPAddr)
	s.ln = raw
	var ln net.Listener = &trackingListener{Listener: raw, s: s}
	if opts.ImplicitTLS {
		ln = tls.NewListener(ln, serverTLS)
	}

	srv := smtp.NewServer(backend{s: s})
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if opts.StartTLS {
		srv.TLSConfig = serverTLS
	}
	// Credentials in clear are acceptable only on a server without TLS,
	// where the client under test has chosen to allow it (loopback).
	srv.AllowInsecureAuth = !opts.StartTLS && !opts.ImplicitTLS
	s.srv = srv

	go func() {
		defer close(s.serveDone)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(s.close)
	return s
}

// close stops accepting, wakes stalled handlers and waits for every
// connection to be closed, so tests leave no goroutines behind.
func (s *Server) close() {
	close(s.done)
	_ = s.srv.Close()
	// go-smtp closes only the listeners Serve has registered; one that
	// Serve has not reached yet would block it in Accept for ever.
	_ = s.ln.Close()
	<-s.serveDone
	waited := make(chan struct{})
	go func() {
		s.conns.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr.String() }

// Host is the server's IP address, 127.0.0.1.
func (s *Server) Host() string { return s.addr.IP.String() }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.addr.Port }

// ClientTLSConfig returns a client configuration that trusts the server's
// self-signed certificate for 127.0.0.1, or nil without TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Messages returns a copy of the messages the server has taken so far,
// including those whose connection it dropped after DATA.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = Received{From: m.From, To: append([]string(nil), m.To...), Data: append([]byte(nil), m.Data...)}
	}
	return out
}

// Connections is the number of TCP connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// AuthFailures is the number of AUTH exchanges rejected with 535.
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFailures
}

// AuthSuccesses is the number of AUTH exchanges accepted.
func (s *Server) AuthSuccesses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authSuccesses
}

// RcptCount is how many RCPT commands named rcpt, i.e. how many times a
// client tried that recipient.
func (s *Server) RcptCount(rcpt string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcpts[rcpt]
}

func (s *Server) record(m Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

// sleep waits for d or until the server shuts down; it reports whether the
// full time passed.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.connections++
	l.s.mu.Unlock()
	l.s.conns.Add(1)
	return &trackedConn{Conn: c, done: l.s.conns.Done}, nil
}

type trackedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.done)
	return err
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s       *Server
	conn    *smtp.Conn
	authed  bool
	from    string
	to      []string
	actions []Action
}

var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errGreylisted   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try again later"}
	errNoSuchUser   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User unknown"}
	errClosing      = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down"}
	errDataTemp     = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error in processing"}
	errDataRejected = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message rejected"}
	errDropped      = errors.New("smtptest: connection dropped on purpose")
)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return ss.check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: ss.check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) check(user, pass string) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if user != ss.s.opts.Username || pass != ss.s.opts.Password {
		ss.s.authFailures++
		return smtp.ErrAuthFailed
	}
	ss.s.authSuccesses++
	ss.authed = true
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && !ss.authed {
		return errAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	ss.s.rcpts[to]++
	ss.s.mu.Unlock()
	action := Accept
	if ss.s.opts.Behavior != nil {
		action = ss.s.opts.Behavior(to)
	}
	switch action {
	case Reply421:
		// go-smtp keeps the connection open after any reply, so the 421 is
		// written by hand and the connection closed, as RFC 5321 requires.
		c := ss.conn.Conn()
		_, _ = fmt.Fprintf(c, "%d %d.%d.%d %s\r\n", errClosing.Code,
			errClosing.EnhancedCode[0], errClosing.EnhancedCode[1], errClosing.EnhancedCode[2], errClosing.Message)
		_ = c.Close()
		return errClosing
	case Reply451:
		return errGreylisted
	case Reply550:
		return errNoSuchUser
	case Stall:
		ss.s.sleep(ss.s.opts.StallFor)
		return errGreylisted
	}
	ss.to = append(ss.to, to)
	ss.actions = append(ss.actions, action)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg := Received{From: ss.from, To: append([]string(nil), ss.to...), Data: data}
	action := Accept
	for _, a := range ss.actions {
		if a != Accept {
			action = a
			break
		}
	}
	switch action {
	case DropAfterData:
		ss.s.record(msg)
		_ = ss.conn.Conn().Close()
		return errDropped
	case Reply451AfterData:
		return errDataTemp
	case Reply554AfterData:
		return errDataRejected
	}
	if d := ss.s.opts.DataDelay; d > 0 && !ss.s.sleep(d) {
		return errClosing
	}
	ss.s.record(msg)
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
	ss.actions = nil
}

func (ss *session) Logout() error { return nil }

// loginServer is the server side of the obsolete but widespread LOGIN
// mechanism, which go-sasl no longer ships.
type loginServer struct {
	check    func(user, pass string) error
	step     int
	username string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	default:
		if err := l.check(l.username, string(response)); err != nil {
			return nil, false, err
		}
		return nil, true, nil
	}
}
