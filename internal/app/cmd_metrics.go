package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

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
	printTable(env.Stdout, snap)
	return nil
}

// printTable writes a terminal summary of a snapshot.
func printTable(w io.Writer, s *metrics.Snapshot) {
	h, p := s.Headline, s.Previous.Headline
	fmt.Fprintf(w, "%s %s  [%s, %s)  %s  as of %s\n", s.Period.Kind, s.Period.Label, s.Period.Start, s.Period.End, s.Period.TimeZone, s.AsOf.Time().UTC().Format(time.RFC3339))
	if s.Partial {
		fmt.Fprintf(w, "partial: %s\n", incomplete(s.Span, s.AsOf.Time(), true, "the numbers can still change"))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric\t%s\t%s\t\n", s.Period.Label, s.Previous.Label)
	row := func(name, cur, prev string) { fmt.Fprintf(tw, "%s\t%s\t%s\t\n", name, cur, prev) }
	row("alignment score", num(h.AlignmentScore, "%.1f"), num(p.AlignmentScore, "%.1f"))
	row("leads created", fmt.Sprint(h.LeadsCreated), fmt.Sprint(p.LeadsCreated))
	row("MQLs", fmt.Sprint(h.MQLs), fmt.Sprint(p.MQLs))
	if h.MQLTarget != nil {
		row("MQL target attainment", pct(h.MQLTargetAttainment), pct(p.MQLTargetAttainment))
	}
	row("SLA compliance", pct(h.SLACompliance), pct(p.SLACompliance))
	row("response median (min)", num(h.ResponseMinutesMedian, "%.0f"), num(p.ResponseMinutesMedian, "%.0f"))
	row("untouched MQLs", fmt.Sprint(h.UntouchedMQLs), fmt.Sprint(p.UntouchedMQLs))
	row("acceptance rate", pct(h.AcceptanceRate), pct(p.AcceptanceRate))
	row("decision rate", pct(h.DecisionRate), pct(p.DecisionRate))
	row("SQLs", fmt.Sprint(h.SQLs), fmt.Sprint(p.SQLs))
	row("opportunities created", fmt.Sprint(h.OpportunitiesCreated), fmt.Sprint(p.OpportunitiesCreated))
	row("pipeline created", h.PipelineCreated.Total.String(), p.PipelineCreated.Total.String())
	row("marketing-sourced share", pct(h.MarketingSourcedShare), pct(p.MarketingSourcedShare))
	row("marketing-influenced pipeline", h.MarketingInfluencedPipeline.String(), p.MarketingInfluencedPipeline.String())
	row("won deals", fmt.Sprint(h.WonDeals), fmt.Sprint(p.WonDeals))
	row("won revenue", h.WonRevenue.Total.String(), p.WonRevenue.Total.String())
	row("win rate", pct(h.WinRate.Total), pct(p.WinRate.Total))
	tw.Flush()
	fmt.Fprintf(w, "\nfollow-up backlog: %d MQLs without a response in the last 30 days\n", len(s.FollowupBacklog))
	dh := s.DataHealth
	fmt.Fprintf(w, "data health: %d MQL before created, %d activities of unknown team, %d of unknown lead, %d negative amounts, %d future activities ignored\n",
		dh.LeadsMQLBeforeCreated, dh.ActivitiesUnknownTeam, dh.ActivitiesUnknownLead, dh.OpportunitiesNegativeAmount, dh.FutureActivitiesIgnored)
}

func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

func num(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}
