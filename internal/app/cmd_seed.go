package app

import (
	"context"
	"fmt"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/seed"
	"github.com/sameteam/sameteam/internal/source"
)

func runSeed(ctx context.Context, env Env, args []string) error {
	f := newFlags("seed", env)
	leads := f.Int("leads", seed.DefaultLeads, "number of leads (about 10 activities each)")
	s := f.Int64("seed", seed.DefaultSeed, "data set number: the same number gives the same data")
	end := f.String("end", "", "the data's now, RFC 3339 (default: the start of this hour, UTC)")
	span := f.Duration("span", 0, "how far back the first lead is created (default a quarter, a year above 20,000 leads)")
	reps := f.Int("reps", 0, "active sales reps (default one per 5,000 leads, 5 to 200)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *leads < 1 {
		return usageError("seed: --leads must be at least 1")
	}
	opts := seed.Options{Leads: *leads, Seed: *s, Span: *span, Reps: *reps}
	if *end != "" {
		t, err := time.Parse(time.RFC3339, *end)
		if err != nil {
			return usageError("seed: --end %q is not RFC 3339", *end)
		}
		opts.End = t
	} else {
		opts.End = time.Now().UTC().Truncate(time.Hour)
	}
	cfg, err := f.load(env)
	if err != nil {
		return err
	}
	d, err := openDB(ctx, cfg.Source.URL, "source")
	if err != nil {
		return err
	}
	defer d.Close()
	start := time.Now()
	bar := newProgress(env.Stderr, "seed", "")
	opts.Progress = bar.update
	if err := seedInto(ctx, d, opts); err != nil {
		bar.done()
		return err
	}
	bar.done()
	fmt.Fprintf(env.Stdout, "seeded %d leads into %s %s in %s\n", *leads, d.Engine, db.Redact(cfg.Source.URL), time.Since(start).Round(time.Millisecond))
	return nil
}

// seedInto creates the contract tables, refuses a database that already
// has data, loads the generated rows in one transaction, then builds the
// indexes (faster than maintaining them row by row).
func seedInto(ctx context.Context, d *db.DB, opts seed.Options) error {
	if err := source.CreateTables(ctx, d); err != nil {
		return err
	}
	for _, rel := range source.Contract {
		var n int
		if err := d.GetContext(ctx, &n, "SELECT count(*) FROM "+rel.Name); err != nil {
			return err
		}
		if n > 0 {
			return withCode(ExitDataErr, fmt.Errorf("seed: %s already has %d rows; seed into an empty database", rel.Name, n))
		}
	}
	l, err := source.NewLoader(ctx, d)
	if err != nil {
		return err
	}
	defer l.Rollback()
	if err := seed.Generate(opts, l); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := l.Commit(); err != nil {
		return err
	}
	return source.CreateIndexes(ctx, d)
}
