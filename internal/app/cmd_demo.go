package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/seed"
)

// The demo's data: half a year of a mid-sized B2B company (enough for a
// full 12-week trend), the same on every run of the same day.
const (
	demoLeads  = 5000
	demoZone   = "Europe/Madrid"
	demoTarget = 100 // weekly MQL target
)

func runDemo(ctx context.Context, env Env, args []string) error {
	f := newFlags("demo", env)
	dir := f.String("dir", "sameteam-demo", "folder for the demo database, outbox and previews")
	serve := f.Bool("serve", false, "then serve the previews on 127.0.0.1:8080 (no token; loopback only)")
	listen := f.String("listen", "127.0.0.1:8080", "address for --serve; must be a loopback address")
	if err := f.parse(args); err != nil {
		return err
	}
	start := time.Now()
	cfg, err := demoConfig(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	dbPath := filepath.Join(*dir, "sameteam.db")
	_, statErr := os.Stat(dbPath)
	fresh := errors.Is(statErr, os.ErrNotExist)
	if fresh {
		fmt.Fprintf(env.Stdout, "Seeding %s with half a year of synthetic activity (%d leads)…\n", dbPath, demoLeads)
		d, err := openDB(ctx, cfg.Source.URL, "demo")
		if err != nil {
			return err
		}
		today := time.Now().UTC().Truncate(24 * time.Hour)
		err = seedInto(ctx, d, seed.Options{Leads: demoLeads, Seed: seed.DefaultSeed, End: today.Add(6 * time.Hour), Span: 26 * 7 * 24 * time.Hour})
		d.Close()
		if err != nil {
			os.Remove(dbPath)
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "Using the existing %s (delete it for fresh data).\n", dbPath)
	}

	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The three reports read the same week at the same instant: one
	// snapshot serves the emails, the previews and the printout.
	st, err := open(ctx, cfg, log, stackOptions{Ledger: true, Sender: true, ShareSnapshots: true})
	if err != nil {
		return err
	}
	defer st.Close()

	now := time.Now()
	p := period.LastComplete(period.Week, now, cfg.Location)
	reportsDir := filepath.Join(*dir, "reports")
	var previews []string
	var first *pipeline.Build
	for i := range cfg.Reports {
		rep, err := pipelineReport(cfg, &cfg.Reports[i])
		if err != nil {
			return err
		}
		// The demo may be run again and again: resend into the outbox
		// (the same file is overwritten, never duplicated).
		out, err := st.runner.Run(ctx, rep, p, pipeline.Options{AsOf: now, Trigger: report.TriggerManual, Force: true})
		if err != nil {
			return err
		}
		if n := len(out.Deliveries) - out.Count(report.DeliverySent); n > 0 {
			return fmt.Errorf("demo: %d deliveries of %s did not go out", n, rep.Name)
		}
		paths, err := renderFiles(ctx, st.renderer, rep, p, now, rep.Locale, reportsDir)
		if err != nil {
			return err
		}
		previews = append(previews, paths...)
		if first == nil {
			if first, err = st.renderer.Build(ctx, rep, p, now, now); err != nil {
				return err
			}
		}
	}
	l, err := locale.Get(cfg.Reports[0].Locale)
	if err != nil {
		return err
	}
	printDemo(env.Stdout, first, p, l, cfg.Currency, *dir, previews, time.Since(start))
	if *serve {
		return serveDemo(ctx, env, st, *listen)
	}
	return nil
}

// demoConfig is the configuration the demo runs with: SQLite in dir, the
// outbox, the three weekly reports, Spanish, Madrid.
func demoConfig(dir string) (*config.Config, error) {
	cfg := config.Default()
	cfg.TimeZone = demoZone
	cfg.Source.URL = "sqlite:" + filepath.Join(dir, "sameteam.db")
	cfg.Outbox = filepath.Join(dir, "outbox")
	cfg.SMTP.From = "sameteam <sameteam@example.com>"
	cfg.Targets = map[string]config.Target{"week": {MQLs: demoTarget}}
	cfg.Reports = config.BuiltinReports()
	cfg.Reports[0].Recipients = []config.Recipient{{Email: "ceo@example.com"}, {Email: "cmo@example.com"}, {Email: "cro@example.com", Locale: "en"}}
	probs := &config.Problems{}
	cfg.Validate(probs)
	if len(probs.List) > 0 {
		return nil, probs
	}
	return cfg, nil
}

// demoMetrics are the headline numbers the demo prints: keys of the metric
// catalog.
var demoMetrics = []string{"alignment_score", "mqls", "sla_compliance", "acceptance_rate",
	"pipeline_created.total", "won_revenue.total"}

// printDemo prints the week's numbers in the report's language (l) and
// currency, the way its digest writes them, then where the files are.
func printDemo(w io.Writer, b *pipeline.Build, p period.Period, l *locale.Locale, currency, dir string, previews []string, took time.Duration) {
	s := b.Snapshot
	h := &s.Headline
	name := []rune(l.PeriodName(p))
	fmt.Fprintf(w, "\n%s (%s) · %s\n", string(unicode.ToUpper(name[0]))+string(name[1:]), s.Period.TimeZone, l.DateTime(s.AsOf.Time().In(p.Start.Location())))
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, key := range demoMetrics {
		m := metrics.MustLookup(key)
		v := l.Metric(m, m.Read(h), currency)
		if key == "mqls" && h.MQLTarget != nil {
			v += " (" + l.Tf("note.target", l.Int(*h.MQLTarget), l.Percent(h.MQLTargetAttainment)) + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", l.MetricHeading(m), v)
	}
	fmt.Fprintf(tw, "  %s\t%s\n", l.T("wb.label.followup_backlog"), l.Int(len(s.FollowupBacklog)))
	tw.Flush()
	fmt.Fprintf(w, "\nEmails (.eml with the workbook attached): %s\n", filepath.Join(dir, "outbox"))
	fmt.Fprintf(w, "Previews:\n")
	for _, p := range previews {
		fmt.Fprintf(w, "  %s\n", p)
	}
	fmt.Fprintf(w, "Done in %s.\n", took.Round(time.Millisecond))
}
