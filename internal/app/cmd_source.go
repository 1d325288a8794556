package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/crmpack"
	"github.com/sameteam/sameteam/internal/db"
)

// runSource runs `sameteam source sql`: the SQL init-db runs for the
// configured source pack, for a DBA to review before it runs.
func runSource(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] != "sql" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return runSource(ctx, env, []string{"sql", "-h"})
		}
		return usageError("source: want the subcommand sql (sameteam source sql)")
	}
	f := newFlags("source sql", env)
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	cfg, err := f.load(env)
	if err != nil {
		return err
	}
	if cfg.Source.Pack == nil {
		return withCode(ExitConfig, errors.New("source.pack is not set: the source is read as configured by source.tables, there is no SQL to print"))
	}
	d, err := openDB(ctx, cfg.Source.URL, "source")
	if err != nil {
		return err
	}
	defer d.Close()
	plan, err := preparePack(ctx, d, cfg)
	if err != nil {
		return err
	}
	_, err = io.WriteString(env.Stdout, plan.Script())
	return err
}

// preparePack generates the pack's views over the sync's tables as they
// are now; a mapping that does not fit them is a configuration error.
func preparePack(ctx context.Context, d *db.DB, cfg *config.Config) (crmpack.Plan, error) {
	plan, _, err := crmpack.Prepare(ctx, d, *cfg.Source.Pack, cfg.Source.ViewsSchema, "source.pack")
	if errors.Is(err, crmpack.ErrMapping) {
		return plan, withCode(ExitConfig, err)
	}
	return plan, err
}

// installPack creates the pack's views (init-db).
func installPack(ctx context.Context, env Env, d *db.DB, cfg *config.Config) error {
	plan, err := preparePack(ctx, d, cfg)
	if err != nil {
		return err
	}
	if err := crmpack.Install(ctx, d, plan); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "views ready in schema %s over the %s sync in schema %s: team_members, campaigns, leads, activities, opportunities\n",
		cfg.Source.ViewsSchema, cfg.Source.Pack.Name, cfg.Source.Pack.Schema)
	return nil
}

// checkPack reports on the source pack: the sync's tables and columns, its
// time columns, status values, indexes, and the rows each view sees.
func (c *checker) checkPack(ctx context.Context, d *db.DB, cfg *config.Config) {
	for _, f := range crmpack.Check(ctx, d, *cfg.Source.Pack, cfg.Source.ViewsSchema) {
		switch f.Level {
		case "ok":
			c.ok("%s", f.Msg)
		case "warn":
			c.warn("%s", f.Msg)
		default:
			c.fail(ExitConfig, "%s", f.Msg)
		}
	}
}
