package app

import (
	"context"
	"fmt"

	"github.com/sameteam/sameteam/internal/csvimport"
	"github.com/sameteam/sameteam/internal/source"
)

func runInitDB(ctx context.Context, env Env, args []string) error {
	f := newFlags("init-db", env)
	contract := f.Bool("contract", true, "create the five contract relations (turn off when the source is your own views)")
	if err := f.parse(args); err != nil {
		return err
	}
	cfg, err := f.load(env)
	if err != nil {
		return err
	}
	if cfg.Source.Pack != nil {
		d, err := openDB(ctx, cfg.Source.URL, "source")
		if err != nil {
			return err
		}
		defer d.Close()
		if err := installPack(ctx, env, d, cfg); err != nil {
			return err
		}
	} else if *contract {
		d, err := openDB(ctx, cfg.Source.URL, "source")
		if err != nil {
			return err
		}
		defer d.Close()
		if err := source.CreateContract(ctx, d); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "contract tables ready: team_members, campaigns, leads, activities, opportunities")
	}
	if err := migrateLedger(ctx, cfg.StateURL()); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "ledger tables ready")
	return nil
}

func runImport(ctx context.Context, env Env, args []string) error {
	f := newFlags("import", env)
	dir := f.String("dir", "", "folder with team_members.csv, campaigns.csv, leads.csv, activities.csv and opportunities.csv")
	if err := f.parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError("import: --dir is required")
	}
	cfg, err := f.load(env)
	if err != nil {
		return err
	}
	// Check every file before touching the database.
	checked, err := csvimport.Check(*dir)
	if err != nil {
		return withCode(ExitDataErr, err)
	}
	d, err := openDB(ctx, cfg.Source.URL, "source")
	if err != nil {
		return err
	}
	defer d.Close()
	l, err := source.NewLoader(ctx, d)
	if err != nil {
		return err
	}
	defer l.Rollback()
	total := 0
	for _, n := range checked {
		total += n
	}
	bar := newProgress(env.Stderr, "import", "rows")
	counts, err := csvimport.Load(ctx, *dir, &countingSink{Sink: l, total: total, progress: bar.update})
	bar.done()
	if err != nil {
		return withCode(ExitDataErr, err)
	}
	if err := l.Commit(); err != nil {
		return err
	}
	for _, rel := range source.Contract {
		fmt.Fprintf(env.Stdout, "%-14s %d rows\n", rel.Name, counts[rel.Name])
	}
	return nil
}

// countingSink reports the rows that went through it, every thousand: the
// check before the load counted them, so the bar knows the total.
type countingSink struct {
	csvimport.Sink
	done, total int
	progress    func(done, total int)
}

func (c *countingSink) Row(values ...any) error {
	c.done++
	if c.done%1000 == 0 || c.done == c.total {
		c.progress(c.done, c.total)
	}
	return c.Sink.Row(values...)
}
