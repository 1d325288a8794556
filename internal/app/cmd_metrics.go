package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
)

func runMetrics(ctx context.Context, env Env, args []string) error {
	f := newFlags("metrics", env)
	var pf periodFlags
	pf.register(f)
	f.StringVar(&pf.kind, "kind", "week", "period kind when --period is not given: day, week, month or quarter")
	target := f.Int("mql-target", -1, "MQL target for the period (default: the config's target for its kind)")
	format := f.String("format", "table", "output: json (the snapshot, as internal/metrics/README.md defines it) or table")
	script := f.Bool("sql", false, "print the fact queries with their parameters, for psql or sqlite3, instead of running them")
	if err := f.parse(args); err != nil {
		return err
	}
	if *format != "json" && *format != "table" {
		return usageError("--format %q: want json or table", *format)
	}
	cfg, err := f.load(env)
	if err != nil {
		return err
	}
	// --kind only matters when --period does not name the period.
	kind, err := period.ParseKind(pf.kind)
	if err != nil && pf.period == "" {
		return usageError("%v", err)
	}
	per, asOf, err := pf.resolve(kind, cfg.Location, time.Now())
	if err != nil {
		return err
	}
	var t *int
	if *target >= 0 {
		t = target
	}
	cal, err := pf.slaCalendar(cfg, cfg.SLACalendar)
	if err != nil {
		return err
	}
	st, err := open(ctx, cfg, nil, stackOptions{})
	if err != nil {
		return err
	}
	defer st.Close()
	in := input(cfg, per, asOf, pf.slaHours, cal, t)
	if *script {
		text, err := st.facts.Script(ctx, metrics.Plan(in))
		if err != nil {
			return err
		}
		_, err = io.WriteString(env.Stdout, text)
		return err
	}
	snap, err := st.renderer.Snapshot(ctx, in)
	if err != nil {
		return withCode(sourceCode(err), err)
	}
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(snap)
	}
	printTable(env.Stdout, snap, cfg.Currency)
	return nil
}

// tableMetrics are the rows of `metrics --format table`, in order: keys of
// the metric catalog.
var tableMetrics = []string{
	"alignment_score", "leads_created", "mqls", "mql_target_attainment", "sla_compliance",
	"response_minutes_median", "untouched_mqls", "acceptance_rate", "decision_rate", "sqls",
	"opportunities_created", "pipeline_created.total", "marketing_sourced_share",
	"marketing_influenced_pipeline", "won_deals", "won_revenue.total", "win_rate.total",
}

// printTable writes a terminal summary of a snapshot, in English like the
// rest of the command line: each row is a catalog metric, named and
// written by package locale, money in currency.
func printTable(w io.Writer, s *metrics.Snapshot, currency string) {
	l, err := locale.Get("en")
	if err != nil {
		panic(err) // en is locale's own
	}
	h, p := &s.Headline, &s.Previous.Headline
	fmt.Fprintf(w, "%s %s  [%s, %s)  %s  as of %s\n", s.Period.Kind, s.Period.Label, s.Period.Start, s.Period.End, s.Period.TimeZone, s.AsOf.Time().UTC().Format(time.RFC3339))
	if s.Partial {
		fmt.Fprintf(w, "partial: %s\n", incomplete(s.Span, s.AsOf.Time(), true, "the numbers can still change"))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric\t%s\t%s\t\n", s.Period.Label, s.Previous.Label)
	for _, key := range tableMetrics {
		m := metrics.MustLookup(key)
		if key == "mql_target_attainment" && h.MQLTarget == nil {
			continue // no target configured: nothing to attain
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", l.MetricHeading(m), l.Metric(m, m.Read(h), currency), l.Metric(m, m.Read(p), currency))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nfollow-up backlog: %d MQLs without a response in the last 30 days\n", len(s.FollowupBacklog))
	dh := s.DataHealth
	fmt.Fprintf(w, "data health: %d MQL before created, %d activities of unknown team, %d of unknown lead, %d negative amounts, %d future activities ignored\n",
		dh.LeadsMQLBeforeCreated, dh.ActivitiesUnknownTeam, dh.ActivitiesUnknownLead, dh.OpportunitiesNegativeAmount, dh.FutureActivitiesIgnored)
}
