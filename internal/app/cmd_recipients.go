package app

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/ledger"
	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/report"
)

func runRecipients(ctx context.Context, env Env, args []string) error {
	f := newFlags("recipients", env)
	name := f.String("report", "", "only this report (default: every report)")
	restore := f.String("restore", "", "remove this address's opt-out of --report, so the next run sends to it again")
	if err := f.parse(args); err != nil {
		return err
	}
	if *restore != "" && *name == "" {
		return usageError("recipients: --restore needs --report: an opt-out is of one report")
	}
	if *restore != "" {
		if _, err := delivery.ParseAddress(*restore); err != nil {
			return usageError("recipients: --restore: %v", err)
		}
	}
	cfg, err := f.load(env)
	if err != nil {
		return err
	}
	reports, err := selectReports(cfg, *name, *name == "")
	if err != nil {
		return err
	}
	state, err := openDB(ctx, cfg.StateURL(), "state")
	if err != nil {
		return err
	}
	defer state.Close()
	if err := ledger.Migrate(ctx, state); err != nil {
		return withCode(sourceCode(err), err)
	}
	l := ledger.New(state)
	if *restore != "" {
		return restoreRecipient(ctx, env, l, *name, *restore)
	}
	members, err := teamMembers(ctx, cfg)
	if err != nil {
		return err
	}
	outs, err := l.OptOuts(ctx, *name)
	if err != nil {
		return withCode(sourceCode(err), err)
	}
	en, err := locale.Get("en")
	if err != nil {
		return err
	}
	listRecipients(env.Stdout, cfg, reports, members, outs, en)
	return nil
}

// restoreRecipient removes addr's opt-out of report. An address without
// one is a usage error: a typo must not pass for a restore.
func restoreRecipient(ctx context.Context, env Env, l *ledger.Ledger, name, addr string) error {
	// A missing table or grant needs a person (78); anything else, a retry.
	outs, err := l.OptOuts(ctx, name)
	if err != nil {
		return withCode(sourceCode(err), err)
	}
	ok, err := l.Restore(ctx, name, addr)
	if err != nil {
		return withCode(sourceCode(err), err)
	}
	if !ok {
		var list []string
		for _, o := range outs {
			list = append(list, o.Recipient)
		}
		if len(list) == 0 {
			return usageError("recipients: %s has not unsubscribed from %s (nobody has); nothing changed", addr, name)
		}
		return usageError("recipients: %s has not unsubscribed from %s (unsubscribed: %s); nothing changed", addr, name, strings.Join(list, ", "))
	}
	fmt.Fprintf(env.Stdout, "%s: %s restored; the next run sends to it again\n", name, ledger.NormalizeRecipient(addr))
	return nil
}

// teamMembers reads team_members: the teams' recipients, and the names
// of listed addresses that are members, as a run greets them.
func teamMembers(ctx context.Context, cfg *config.Config) ([]metrics.Member, error) {
	d, src, err := newSource(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	members, err := src.Members(ctx)
	if err != nil {
		return nil, withCode(sourceCode(err), fmt.Errorf("read team members: %w", err))
	}
	return members, nil
}

// listRecipients writes each report's recipients as a run resolves them
// today (its list, then its teams' active members; refused addresses
// said why), each marked receives or unsubscribed with the time, then the
// opt-outs of addresses that are no longer recipients.
func listRecipients(w io.Writer, cfg *config.Config, reports []*config.Report, members []metrics.Member, outs []ledger.OptOut, en *locale.Locale) {
	byReport := map[string]map[string]ledger.OptOut{}
	for _, o := range outs {
		if byReport[o.Report] == nil {
			byReport[o.Report] = map[string]ledger.OptOut{}
		}
		byReport[o.Report][o.Recipient] = o
	}
	unsubscribed := en.T("skip." + string(report.SkipUnsubscribed))
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		rep, err := pipelineReport(cfg, r)
		if err != nil {
			fmt.Fprintf(w, "%s: %v\n", r.Name, err)
			continue
		}
		var raw []string
		names, locales := map[string]string{}, map[string]string{}
		for rc := range pipeline.Recipients(rep, members) {
			raw = append(raw, rc.Email)
			k := delivery.Key(rc.Email)
			if _, ok := locales[k]; !ok {
				locales[k] = rc.Locale
			}
			if names[k] == "" {
				names[k] = rc.Name
			}
		}
		for _, m := range members {
			if k := delivery.Key(m.Email); k != "" && names[k] == "" {
				names[k] = m.Name
			}
		}
		valid, refused := delivery.Recipients(raw, cfg.AllowedDomains)
		opted := byReport[r.Name]
		n := 0
		for _, addr := range valid {
			if _, ok := opted[ledger.NormalizeRecipient(addr)]; ok {
				n++
			}
		}
		fmt.Fprintf(w, "%s: %d recipients, %d %s\n", r.Name, len(valid), n, unsubscribed)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, addr := range valid {
			k := ledger.NormalizeRecipient(addr)
			status := "receives"
			if o, ok := opted[k]; ok {
				status = unsubscribed + " " + o.At.UTC().Format(time.RFC3339)
				delete(opted, k)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", addr, cmp.Or(names[delivery.Key(addr)], "-"), cmp.Or(locales[delivery.Key(addr)], rep.Locale), status)
		}
		tw.Flush()
		for _, err := range refused {
			fmt.Fprintf(w, "  refused: %v\n", err)
		}
		if len(opted) > 0 {
			fmt.Fprintf(w, "  %s, no longer a recipient:\n", unsubscribed)
			rest := make([]ledger.OptOut, 0, len(opted))
			for _, o := range opted {
				rest = append(rest, o)
			}
			slices.SortFunc(rest, func(a, b ledger.OptOut) int { return strings.Compare(a.Recipient, b.Recipient) })
			for _, o := range rest {
				fmt.Fprintf(w, "    %s  %s\n", o.Recipient, o.At.UTC().Format(time.RFC3339))
			}
		}
	}
}
