package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/gate"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/schedule"
	"github.com/sameteam/sameteam/internal/source"
)

// checker prints one line per check and remembers the worst outcome.
type checker struct {
	env    Env
	redact *config.Redactor
	code   int
}

func (c *checker) ok(format string, args ...any) {
	fmt.Fprintf(c.env.Stdout, "ok    %s\n", c.redact.Redact(fmt.Sprintf(format, args...)))
}

func (c *checker) warn(format string, args ...any) {
	fmt.Fprintf(c.env.Stdout, "warn  %s\n", c.redact.Redact(fmt.Sprintf(format, args...)))
}

func (c *checker) fail(code int, format string, args ...any) {
	fmt.Fprintf(c.env.Stdout, "FAIL  %s\n", c.redact.Redact(fmt.Sprintf(format, args...)))
	if rank(code) > rank(c.code) {
		c.code = code
	}
}

func runCheck(ctx context.Context, env Env, args []string) error {
	f := newFlags("check", env)
	if err := f.parse(args); err != nil {
		return err
	}
	c := &checker{env: env}
	cfg, err := f.load(env)
	if err != nil {
		var probs *config.Problems
		if errors.As(err, &probs) {
			for _, p := range probs.List {
				c.fail(ExitConfig, "config %s", p)
			}
		} else {
			c.fail(ExitConfig, "config: %v", err)
		}
		return withCode(ExitConfig, errors.New("the configuration is not valid"))
	}
	c.redact = config.NewRedactor(cfg)
	where := f.config
	if where == "" {
		where = config.DefaultPath
		if _, err := os.Stat(where); err != nil {
			where = "no file, environment only"
		}
	}
	c.ok("config %s: %d reports", where, len(cfg.Reports))

	c.checkSchedules(cfg)
	c.checkCalendars(cfg, time.Now())
	members := c.checkSource(ctx, cfg)
	c.checkRecipients(cfg, members)
	c.checkUnsubscribe(cfg)
	c.checkState(ctx, cfg)
	c.checkTransport(ctx, cfg)

	if c.code != ExitOK {
		return withCode(c.code, errors.New("some checks failed"))
	}
	return nil
}

// checkUnsubscribe says whether digests carry List-Unsubscribe, and warns
// when the link cannot offer RFC 8058's one-click, which needs https.
func (c *checker) checkUnsubscribe(cfg *config.Config) {
	base := strings.TrimSuffix(cfg.Server.PublicURL, "/")
	switch {
	case base == "":
		c.ok("unsubscribe: server.public_url is not set, so digests carry no List-Unsubscribe")
	case !strings.HasPrefix(strings.ToLower(base), "https://"):
		c.warn("unsubscribe: server.public_url is not https, so digests carry List-Unsubscribe without one-click (RFC 8058 needs https)")
	default:
		c.ok("unsubscribe: List-Unsubscribe with one-click at %s/unsubscribe/, answered by serve: mail providers must reach it", base)
	}
}

func (c *checker) checkSchedules(cfg *config.Config) {
	for _, r := range cfg.Reports {
		loc := r.Location
		if r.Schedule == "" {
			c.ok("schedule %s: none (run it with 'sameteam run')", r.Name)
			continue
		}
		if err := schedule.Validate(r.Schedule, loc); err != nil {
			c.fail(ExitConfig, "schedule %s: %v", r.Name, err)
			continue
		}
		warnings := schedule.DSTWarnings(r.Schedule, loc, time.Now())
		for _, w := range warnings {
			c.warn("schedule %s: %s", r.Name, w)
		}
		if len(warnings) == 0 {
			c.ok("schedule %s: %q in %s, a %s report", r.Name, r.Schedule, r.TimeZone, r.Period)
		}
	}
}

// checkCalendars says in which hours each report counts its SLA and when
// its calendar next works, so a wrong zone or a forgotten weekday shows.
func (c *checker) checkCalendars(cfg *config.Config, now time.Time) {
	for i := range cfg.Reports {
		r := &cfg.Reports[i]
		cal := cfg.ReportCalendar(r)
		if cal == nil {
			c.ok("sla %s: %g wall-clock hours", r.Name, r.SLAHours)
			continue
		}
		start, end, ok := cal.Next(now)
		if !ok {
			c.fail(ExitConfig, "sla %s: calendar %s never works again", r.Name, cal.Name())
			continue
		}
		loc := cal.Location()
		c.ok("sla %s: %g working hours of calendar %s (%s, %s a week); next working time %s to %s",
			r.Name, r.SLAHours, cal.Name(), loc, hoursText(cal.WeeklyHours()),
			start.In(loc).Format("Mon 2006-01-02 15:04"), end.In(loc).Format("15:04 MST"))
	}
}

// hoursText writes a duration in hours, without a trailing ".0".
func hoursText(d time.Duration) string {
	return strconv.FormatFloat(d.Hours(), 'f', -1, 64) + " h"
}

func (c *checker) checkSource(ctx context.Context, cfg *config.Config) []metrics.Member {
	d, src, err := newSource(ctx, cfg)
	if err != nil {
		c.fail(ExitTempFail, "source: %v", err)
		return nil
	}
	defer d.Close()
	c.ok("source %s (%s) answers", db.Redact(cfg.Source.URL), d.Engine)
	if cfg.Source.Pack != nil {
		c.checkPack(ctx, d, cfg)
	}
	checks, err := src.Verify(ctx)
	if err != nil {
		c.fail(ExitConfig, "source.tables: %v", err)
		return nil
	}
	for _, rc := range checks {
		if len(rc.Problems) == 0 {
			c.ok("relation %s (%s) has the contract's columns", rc.Relation, rc.Mapped)
			continue
		}
		for _, p := range rc.Problems {
			c.fail(ExitConfig, "relation %s (%s): %s", rc.Relation, rc.Mapped, p)
		}
	}
	c.checkOptionalColumns(ctx, cfg, src)
	members, err := src.Members(ctx)
	if err != nil {
		c.fail(ExitConfig, "relation team_members: %v", err)
	}
	c.checkGates(ctx, cfg, &pipeline.Renderer{Source: src})
	return members
}

// checkGates judges each report's last complete period now by its
// data-quality gate, rule by rule: what a run would find if it ran now.
func (c *checker) checkGates(ctx context.Context, cfg *config.Config, r *pipeline.Renderer) {
	now := time.Now()
	for i := range cfg.Reports {
		rep, err := pipelineReport(cfg, &cfg.Reports[i])
		if err != nil || rep.Gate.Empty() {
			continue
		}
		p := period.LastComplete(rep.Kind, now, rep.Location)
		snap, err := r.Snapshot(ctx, rep.Input(p, now))
		if err != nil {
			c.fail(ExitTempFail, "gate %s: %v", rep.Name, err)
			continue
		}
		for _, v := range gate.Evaluate(rep.Gate, snap) {
			if v.Pass {
				c.ok("gate %s %s %s: %s", rep.Name, p.Label(), v.Rule, v.Words)
			} else {
				c.warn("gate %s %s %s: held if it ran now: %s", rep.Name, p.Label(), v.Rule, v.Words)
			}
		}
	}
}

func (c *checker) checkRecipients(cfg *config.Config, members []metrics.Member) {
	for _, r := range cfg.Reports {
		rep, err := pipelineReport(cfg, &r)
		if err != nil {
			continue
		}
		var raw []string
		for rc := range pipeline.Recipients(rep, members) {
			raw = append(raw, rc.Email)
		}
		valid, errs := delivery.Recipients(raw, cfg.AllowedDomains)
		for _, err := range errs {
			c.fail(ExitDataErr, "recipients %s: %v", r.Name, err)
		}
		if len(valid) == 0 {
			c.warn("recipients %s: nobody to send to", r.Name)
		} else {
			c.ok("recipients %s: %d", r.Name, len(valid))
		}
	}
}

func (c *checker) checkState(ctx context.Context, cfg *config.Config) {
	d, err := openDB(ctx, cfg.StateURL(), "state")
	if err != nil {
		c.fail(ExitTempFail, "state: %v", err)
		return
	}
	defer d.Close()
	readOnly := fmt.Sprintf("state %s: read-only: the ledger must be writable (a hot standby or a read-only role? point state.url at the primary)", db.Redact(cfg.StateURL()))
	if standby, err := d.InRecovery(ctx); err == nil && standby {
		c.fail(ExitConfig, "%s", readOnly)
		return
	}
	// A write that changes nothing: the privilege and the write lock are
	// checked, the ledger stays as it is.
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		c.fail(ExitTempFail, "state %s: cannot write: %v", db.Redact(cfg.StateURL()), err)
		return
	}
	defer tx.Rollback()
	// Runs and deliveries are updated; opt-outs are read by every claim,
	// added by serve and deleted by recipients --restore.
	for _, w := range []struct{ table, stmt string }{
		{"sameteam_runs", "UPDATE sameteam_runs SET status = status WHERE 1 = 0"},
		{"sameteam_deliveries", "UPDATE sameteam_deliveries SET status = status WHERE 1 = 0"},
		{"sameteam_opt_outs", "INSERT INTO sameteam_opt_outs SELECT * FROM sameteam_opt_outs WHERE 1 = 0"},
		{"sameteam_opt_outs", "DELETE FROM sameteam_opt_outs WHERE 1 = 0"},
	} {
		if _, err := tx.ExecContext(ctx, w.stmt); db.IsReadOnly(err) {
			c.fail(ExitConfig, "%s", readOnly)
			return
		} else if err != nil {
			c.fail(ExitConfig, "state %s: %s: %v (run 'sameteam init-db', and grant writes on the ledger tables)", db.Redact(cfg.StateURL()), w.table, err)
			return
		}
	}
	c.ok("state %s: ledger tables writable", db.Redact(cfg.StateURL()))
}

func (c *checker) checkTransport(ctx context.Context, cfg *config.Config) {
	if cfg.SMTP.Host == "" {
		if err := os.MkdirAll(cfg.Outbox, 0o755); err != nil {
			c.fail(ExitConfig, "outbox %s: %v", cfg.Outbox, err)
			return
		}
		tmp, err := os.CreateTemp(cfg.Outbox, ".check-*")
		if err != nil {
			c.fail(ExitConfig, "outbox %s: not writable: %v", cfg.Outbox, err)
			return
		}
		tmp.Close()
		os.Remove(tmp.Name())
		c.ok("outbox %s: writable (no smtp.host: messages are written as .eml files)", cfg.Outbox)
		return
	}
	sender, desc, err := newSender(cfg)
	if err != nil {
		c.fail(ExitConfig, "smtp: %v", err)
		return
	}
	smtp := sender.(*delivery.SMTP)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := smtp.Verify(ctx); err != nil {
		code := ExitTempFail
		if errors.Is(err, delivery.ErrAuth) || errors.Is(err, delivery.ErrTLS) {
			code = ExitConfig
		}
		c.fail(code, "%s: %v", desc, err)
		return
	}
	c.ok("%s: connected, TLS %s, auth %s; nothing sent", desc, cfg.SMTP.TLS, cmp.Or(cfg.SMTP.Auth, "none"))
}

// checkOptionalColumns says which optional source columns the relations
// have: the personal digests show a lead's name and company, and find
// campaign owners, only where they are.
func (c *checker) checkOptionalColumns(ctx context.Context, cfg *config.Config, src *source.Source) {
	found, err := src.OptionalColumns(ctx)
	if err != nil {
		c.fail(ExitConfig, "optional columns: %v", err)
		return
	}
	var absent []string
	for _, rel := range source.Contract {
		for _, col := range rel.Optional {
			if name := rel.Name + "." + col.Name; !slices.Contains(found, name) {
				absent = append(absent, name)
			}
		}
	}
	switch {
	case len(absent) == 0:
		c.ok("optional columns: found %s", strings.Join(found, ", "))
	case len(found) == 0:
		c.ok("optional columns: none (%s absent)", strings.Join(absent, ", "))
	default:
		c.ok("optional columns: found %s; absent %s", strings.Join(found, ", "), strings.Join(absent, ", "))
	}
	if slices.Contains(found, "campaigns.owner_id") {
		return
	}
	for i, r := range cfg.Reports {
		if r.Audience == report.AudienceCampaignOwner {
			c.fail(ExitConfig, "reports[%d] %s: a campaign_owner report needs the optional column campaigns.owner_id, which the source's campaigns relation does not have", i, r.Name)
		}
	}
}
