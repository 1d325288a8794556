package app

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/source"
	"github.com/sameteam/sameteam/internal/telemetry"
	"github.com/sameteam/sameteam/templates"
)

// pipelineReport turns a configured report into the pipeline's form.
func pipelineReport(cfg *config.Config, r *config.Report) (pipeline.Report, error) {
	if r.Location == nil || r.Kind == "" {
		// config.Validate resolves both; a report that skipped it is a
		// programming error, not a user's.
		return pipeline.Report{}, fmt.Errorf("report %s: configuration not validated", r.Name)
	}
	rep := pipeline.Report{
		Name: r.Name, Audience: r.Audience, Kind: r.Kind, Location: r.Location, Locale: r.Locale,
		SLAHours: r.SLAHours, Calendar: cfg.ReportCalendar(r), MQLTarget: cfg.MQLTarget(r.Period),
		Gate: cfg.ReportGate(r), Owners: cfg.ReportOwners(r), SkipEmpty: r.SkipEmpty,
	}
	for _, rc := range r.Recipients {
		rep.Recipients = append(rep.Recipients, pipeline.Recipient{Email: rc.Email, Locale: rc.Locale})
	}
	if r.RecipientsFrom != "" {
		for _, part := range strings.Split(r.RecipientsFrom, ",") {
			rep.RecipientsFrom = append(rep.RecipientsFrom, strings.TrimPrefix(strings.TrimSpace(part), "team:"))
		}
	}
	return rep, nil
}

// newLogger makes the process logger: text or JSON on w.
func newLogger(w io.Writer, format string, redact *config.Redactor) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			// A last guard: no secret of the configuration reaches a log
			// line, whatever a driver or server put in an error.
			if a.Value.Kind() == slog.KindAny {
				if err, ok := a.Value.Any().(error); ok {
					return slog.String(a.Key, redact.Redact(err.Error()))
				}
			}
			if a.Value.Kind() == slog.KindString {
				return slog.String(a.Key, redact.Redact(a.Value.String()))
			}
			return a
		},
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, usageError("--log-format %q: want text or json", format)
}

// newSender returns the SMTP sender, or the outbox when no host is set, and
// a line that says which.
func newSender(cfg *config.Config) (pipeline.Sender, string, error) {
	if cfg.SMTP.Host == "" {
		o, err := delivery.NewOutbox(cfg.Outbox)
		if err != nil {
			return nil, "", withCode(ExitConfig, fmt.Errorf("outbox: %w", err))
		}
		return o, "outbox " + cfg.Outbox, nil
	}
	s, err := delivery.NewSMTP(delivery.SMTPConfig{
		Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS, AllowInsecure: cfg.SMTP.AllowInsecure,
		Auth: cfg.SMTP.Auth, Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
		From: cfg.SMTP.From, ReplyTo: cfg.SMTP.ReplyTo, HELO: cfg.SMTP.HELO, Timeout: cfg.SMTP.Timeout.D(),
	})
	if err != nil {
		return nil, "", withCode(ExitConfig, err)
	}
	return s, fmt.Sprintf("smtp %s:%d", cfg.SMTP.Host, cfg.SMTP.Port), nil
}

// stack is the opened databases and the pipeline built on them. It is
// built once, by open, and not changed afterwards.
type stack struct {
	cfg      *config.Config
	source   *db.DB
	facts    *source.Source
	state    *db.DB
	ledger   *ledger.Ledger
	renderer *pipeline.Renderer
	runner   *pipeline.Runner
	log      *slog.Logger
}

// stackOptions say what a command needs of the stack beyond the source and
// the renderer, which every command has.
type stackOptions struct {
	// Ledger opens (and migrates) the state database, for a run that
	// records its deliveries.
	Ledger bool
	// Sender opens the transport: SMTP, or the outbox when no host is set.
	Sender bool
	// Telemetry, when set, observes the source's queries and the runner's
	// runs and deliveries.
	Telemetry *telemetry.Recorder
	// ShareSnapshots makes the reports of one invocation that read the
	// same period at the same as_of share one snapshot (one set of
	// queries).
	ShareSnapshots bool
	// Now is the runner's clock; default time.Now.
	Now func() time.Time
}

func (s *stack) Close() {
	if s.renderer != nil {
		// Before the databases: shared snapshots keep a transaction open
		// for their MQL detail.
		s.renderer.Snapshots.Close()
	}
	if s.state != nil && s.state != s.source {
		s.state.Close()
	}
	if s.source != nil {
		s.source.Close()
	}
}

// open builds the stack every command runs on: the one place where the
// configuration becomes a source, a renderer, a ledger and a runner.
func open(ctx context.Context, cfg *config.Config, log *slog.Logger, o stackOptions) (*stack, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := &stack{cfg: cfg, log: log}
	var observe func(string, time.Duration)
	if o.Telemetry != nil {
		observe = o.Telemetry.QueryDuration
	}
	d, src, err := newSourceObserved(ctx, cfg, observe)
	if err != nil {
		return nil, err
	}
	st.source, st.facts = d, src
	digests, err := digest.New(templates.FS)
	if err != nil {
		st.Close()
		return nil, err
	}
	st.renderer = &pipeline.Renderer{Source: pipeline.Retrying(src, log), Digests: digests, Currency: cfg.Currency, StreamDetail: true, Links: cfg.Links}
	if o.ShareSnapshots {
		st.renderer.Snapshots = pipeline.NewSnapshots()
	}
	st.runner = &pipeline.Runner{
		Renderer: st.renderer, From: cmp.Or(cfg.SMTP.From, "sameteam <sameteam@localhost.localdomain>"), ReplyTo: cfg.SMTP.ReplyTo,
		AllowedDomains: cfg.AllowedDomains, MaxMessageBytes: int(cfg.MaxAttachmentMB * 1e6),
		PublicURL: cfg.Server.PublicURL, LinkKey: []byte(cfg.Server.LinkKey), LinkTTL: cfg.Server.LinkTTL.D(),
		Now: o.Now, Logger: log,
	}
	if o.Telemetry != nil {
		st.runner.Observer = o.Telemetry
	}
	if o.Ledger {
		st.state = d
		if cfg.StateURL() != cfg.Source.URL {
			st.state, err = openDB(ctx, cfg.StateURL(), "state")
			if err != nil {
				st.Close()
				return nil, err
			}
		}
		// A hot standby as the ledger would fail every run as if it were
		// temporary; it is a configuration to change.
		if standby, err := st.state.InRecovery(ctx); err == nil && standby {
			st.Close()
			return nil, withCode(ExitConfig, fmt.Errorf("state %s: read-only (a hot standby): the ledger must be writable; point state.url at the primary", db.Redact(cfg.StateURL())))
		}
		if err := ledger.Migrate(ctx, st.state); err != nil {
			st.Close()
			return nil, withCode(ExitTempFail, err)
		}
		st.ledger = ledger.New(st.state)
		st.runner.Ledger = st.ledger
	}
	if o.Sender {
		sender, _, err := newSender(cfg)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.runner.Sender = sender
	}
	return st, nil
}

// pipelineReports is every configured report in the pipeline's form, by
// name.
func pipelineReports(cfg *config.Config) (map[string]pipeline.Report, error) {
	reports := map[string]pipeline.Report{}
	for i := range cfg.Reports {
		rep, err := pipelineReport(cfg, &cfg.Reports[i])
		if err != nil {
			return nil, err
		}
		reports[rep.Name] = rep
	}
	return reports, nil
}

func migrateLedger(ctx context.Context, url string) error {
	d, err := openDB(ctx, url, "state")
	if err != nil {
		return err
	}
	defer d.Close()
	return ledger.Migrate(ctx, d)
}
