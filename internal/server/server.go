// Package server is sameteam's HTTP side: liveness and readiness probes,
// Prometheus metrics, and, behind a bearer token or a signed link, an index
// of the reports and each report's HTML, workbook and JSON for any period,
// rendered on demand.
//
// Nothing in a request becomes a file path: a request names a report and a
// period, both checked against strict patterns, and the Renderer computes the
// artifact from the source. Paths with dot segments, doubled or encoded
// slashes, backslashes or any percent-encoding are refused with 404 before
// routing, so no request is ever "cleaned" into another one.
package server

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/signedlink"
)

// Renderer renders one report for one period in one format ("html",
// "xlsx" or "json") into w. It returns ErrUnknownReport or ErrBadPeriod
// (or period.ErrLabel) for requests that name nothing, which become 404.
type Renderer interface {
	Render(ctx context.Context, report, periodLabel, format string, w io.Writer) error
}

// ReportLister lists the reports for the index page.
type ReportLister interface {
	Reports(ctx context.Context) ([]Report, error)
}

// Pinger is the database the readiness probe checks (*sql.DB, *sqlx.DB).
type Pinger interface {
	PingContext(ctx context.Context) error
}

// Report is one line of the index: a report, its schedule and recent runs.
type Report struct {
	Name     string
	Title    string // e.g. "Leadership, weekly"
	Schedule string // the cron expression
	Zone     string
	NextRun  time.Time // in the report's zone; zero if not scheduled
	// Latest is the label of the latest complete period, for the download
	// links.
	Latest string
	Recent []Run // newest first
}

// Run is one ledger entry shown on the index.
type Run struct {
	Period    string
	Status    report.RunStatus
	Trigger   report.Trigger
	StartedAt time.Time // in the report's zone
	Duration  time.Duration
}

// Options configures a Server.
type Options struct {
	// Listen is the TCP address, e.g. ":8080" or "127.0.0.1:0".
	Listen string
	// Token is the bearer token for the index and downloads; empty: none
	// accepted.
	Token string
	// LinkKey signs and checks download links (signedlink); nil: signed
	// links are refused and index links are unsigned.
	LinkKey []byte
	// LinkTTL is how long the index's links live when the index was opened
	// with the token; default one hour, at most signedlink.MaxTTL. Links on
	// an index opened by a signed link expire with that link.
	LinkTTL time.Duration
	// AllowAnonymous serves the index and downloads without credentials
	// (`demo --serve`). Open refuses it unless the address is loopback.
	AllowAnonymous bool

	Reports  ReportLister
	Renderer Renderer
	// Pinger backs /readyz; nil: always ready.
	Pinger Pinger
	// OptOuts records the opt-outs of the digests' unsubscribe links
	// (/unsubscribe/…, checked with LinkKey); nil, or no LinkKey: those
	// paths are not served.
	OptOuts OptOutRecorder
	// Gatherer backs /metrics; nil: no /metrics.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// Now is the clock for link expiry; default time.Now.
	Now func() time.Time

	// Timeouts; the defaults suit a workbook of a few hundred thousand rows.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConcurrentRenders bounds renders in flight; beyond it, 429.
	// Default 4.
	MaxConcurrentRenders int
}

// Server is the HTTP server. Create it with New, then Open and Close.
type Server struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	tokenSum [32]byte
	renders  chan struct{}
	handler  http.Handler
	srv      *http.Server
	ln       net.Listener
	served   sync.WaitGroup
}

// New checks the options and builds the routes; nothing listens until Open.
func New(opts Options) (*Server, error) {
	if opts.Reports == nil || opts.Renderer == nil {
		return nil, errors.New("server: Reports and Renderer are required")
	}
	if opts.LinkKey != nil && len(opts.LinkKey) < signedlink.MinKeyLen {
		return nil, fmt.Errorf("server: link key: %w", signedlink.ErrKey)
	}
	opts.LinkTTL = min(cmp.Or(opts.LinkTTL, time.Hour), signedlink.MaxTTL)
	opts.ReadHeaderTimeout = cmp.Or(opts.ReadHeaderTimeout, 10*time.Second)
	opts.ReadTimeout = cmp.Or(opts.ReadTimeout, 30*time.Second)
	opts.WriteTimeout = cmp.Or(opts.WriteTimeout, 3*time.Minute)
	opts.IdleTimeout = cmp.Or(opts.IdleTimeout, 2*time.Minute)
	opts.MaxConcurrentRenders = cmp.Or(opts.MaxConcurrentRenders, 4)
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		now:      opts.Now,
		tokenSum: sha256.Sum256([]byte(opts.Token)),
		renders:  make(chan struct{}, opts.MaxConcurrentRenders),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { text(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", s.ready)
	if opts.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
	}
	if opts.OptOuts != nil && opts.LinkKey != nil {
		// Not behind auth: the signed link is the credential.
		mux.HandleFunc("GET /unsubscribe/{name}/{locale}/{addr}", s.unsubscribe)
		mux.HandleFunc("POST /unsubscribe/{name}/{locale}/{addr}", s.unsubscribe)
	}
	mux.Handle("GET /{$}", s.auth(http.HandlerFunc(s.index)))
	mux.Handle("GET /reports/{name}/{file}", s.auth(http.HandlerFunc(s.report)))
	mux.Handle("GET /reports/{name}/{label}/{file}", s.auth(http.HandlerFunc(s.personalReport)))
	s.handler = headers(strictPath(mux))
	return s, nil
}

// Handler is the server's handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Open listens on Options.Listen and serves in the background. A bind error
// is returned here, synchronously.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Listen, err)
	}
	if s.opts.AllowAnonymous {
		if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			ln.Close()
			return fmt.Errorf("%w (listening on %s)", ErrAnonymous, ln.Addr())
		}
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.served.Add(1)
	go func() {
		defer s.served.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", slog.Any("error", err))
		}
	}()
	return nil
}

// Addr is the address the server listens on (with the real port when
// Listen asked for :0); empty before Open.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL is http://Addr, for printing and tests.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops accepting connections and waits for requests in flight, up
// to ctx; then it closes what is left.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	s.served.Wait()
	if err != nil {
		return fmt.Errorf("stop http server: %w", err)
	}
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.opts.Pinger == nil {
		text(w, http.StatusOK, "ready")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Pinger.PingContext(ctx); err != nil {
		s.log.Warn("readiness: database unreachable", slog.Any("error", err))
		text(w, http.StatusServiceUnavailable, "database unreachable")
		return
	}
	text(w, http.StatusOK, "ready")
}

// credential is how a request was let in.
type credential struct {
	linkExpires time.Time // set when it came by a signed link
}

type credentialKey struct{}

// auth lets a request in with the bearer token, a signed link for its exact
// path, or anonymously when allowed. A request with an Authorization header
// is judged by it alone: a wrong token is 401 even if a link is attached.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.Header.Get("Authorization") != "":
			if !s.tokenOK(r.Header.Get("Authorization")) {
				s.log.Info("http: bad token", "path", r.URL.Path, "remote", r.RemoteAddr)
				unauthorized(w)
				return
			}
		case q.Has(signedlink.ParamSig) || q.Has(signedlink.ParamExpires):
			if s.opts.LinkKey == nil {
				text(w, http.StatusForbidden, "signed links are not enabled")
				return
			}
			if err := signedlink.Verify(s.opts.LinkKey, r.URL.Path, q, s.now()); err != nil {
				s.log.Info("http: refused link", "path", r.URL.Path, "remote", r.RemoteAddr, slog.Any("error", err))
				msg := "invalid link"
				if errors.Is(err, signedlink.ErrExpired) {
					msg = "this link has expired"
				}
				text(w, http.StatusForbidden, msg)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), credentialKey{}, credential{linkExpires: linkExpiry(q)}))
		case s.opts.AllowAnonymous:
		default:
			unauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// linkExpiry reads the expiry of a link Verify has accepted.
func linkExpiry(q url.Values) time.Time {
	unix, _ := strconv.ParseInt(q.Get(signedlink.ParamExpires), 10, 64)
	return time.Unix(unix, 0)
}

func (s *Server) tokenOK(header string) bool {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || s.opts.Token == "" {
		return false
	}
	// Comparing digests keeps the comparison constant-time even in length.
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], s.tokenSum[:]) == 1
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="sameteam"`)
	text(w, http.StatusUnauthorized, "unauthorized")
}

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	labelRE = regexp.MustCompile(`^[0-9]{4}-(?:[0-9]{2}|[0-9]{2}-[0-9]{2}|W[0-9]{2}|Q[1-4])$`)
)

// formats maps a file extension to its content type.
var formats = map[string]string{
	"html": "text/html; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"json": "application/json",
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	name, file := r.PathValue("name"), r.PathValue("file")
	label, ext, ok := strings.Cut(file, ".")
	_, known := formats[ext]
	if !ok || !known || !nameRE.MatchString(name) || !labelRE.MatchString(label) {
		http.NotFound(w, r)
		return
	}
	s.rendered(w, r, name, label, ext, name+"-"+label, func(ctx context.Context, out io.Writer) error {
		return s.opts.Renderer.Render(ctx, name, label, ext, out)
	})
}

// rendered renders a file of report name for period label with render
// and sends it as base.ext: a label that names no period is not found,
// renders wait for no one (429 when every slot is busy), and a render
// that fails is logged, not shown. The team's files and each person's
// (personalReport) go through it alike.
func (s *Server) rendered(w http.ResponseWriter, r *http.Request, name, label, ext, base string, render func(context.Context, io.Writer) error) {
	// The zone does not change whether a label names a period.
	if _, err := period.Parse(label, time.UTC); err != nil {
		http.NotFound(w, r)
		return
	}
	select {
	case s.renders <- struct{}{}:
		defer func() { <-s.renders }()
	default:
		w.Header().Set("Retry-After", "5")
		text(w, http.StatusTooManyRequests, "busy rendering other reports; retry shortly")
		return
	}
	// The render must finish inside the write timeout, with room left to
	// send it, or its bytes have nowhere to go.
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout*9/10)
	defer cancel()
	var buf bytes.Buffer
	begun := time.Now()
	err := render(ctx, &buf)
	switch {
	case errors.Is(err, ErrUnknownReport), errors.Is(err, ErrBadPeriod), errors.Is(err, period.ErrLabel), errors.Is(err, ErrUnknownPerson):
		http.NotFound(w, r)
		return
	case err != nil:
		// The cause goes to the log, not to the client: it may name hosts
		// or tables.
		s.log.Error("http: render failed", "report", name, "period", label, "format", ext, slog.Any("error", err))
		text(w, http.StatusInternalServerError, "the report could not be rendered; see the server log")
		return
	}
	s.log.Info("http: rendered", "report", name, "period", label, "format", ext,
		"bytes", buf.Len(), "duration_ms", time.Since(begun).Milliseconds())
	h := w.Header()
	h.Set("Content-Type", formats[ext])
	h.Set("Cache-Control", "no-store")
	switch ext {
	case "xlsx":
		// base is made of [A-Za-z0-9-_ W Q], so the file name needs no
		// quoting beyond the quotes.
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.xlsx"`, base))
	case "html":
		h.Set("Content-Security-Policy", reportCSP)
	case "json":
		h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.json"`, base))
	}
	h.Set("Content-Length", fmt.Sprint(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = buf.WriteTo(w)
}

// reportCSP lets a rendered digest show (inline styles are how e-mail HTML
// is written) and nothing else run or load.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// strictPath refuses, with 404, any path that is not already in the one
// plain form the routes use, before the mux would clean or redirect it.
func strictPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if r.URL.RawPath != "" || strings.Contains(r.URL.EscapedPath(), "%") ||
			!strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, `\`) ||
			strings.Contains(p, "\x00") || hasDotSegment(p) {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// headers sets what every response carries.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		// Signed links carry their credential in the query: never pass it on.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
