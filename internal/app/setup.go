package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/source"
	"github.com/sameteam/sameteam/internal/workhours"
)

// flags is a command's flag set with the --config flag every command has.
type flags struct {
	*flag.FlagSet
	config string
	env    Env
	usage  strings.Builder
}

func newFlags(name string, env Env) *flags {
	f := &flags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: env}
	f.SetOutput(env.Stderr)
	f.StringVar(&f.config, "config", "", "configuration file (default "+config.DefaultPath+" when present)")
	// The flag package calls Usage both for -h and after a bad flag; parse
	// sends the text where each belongs (stdout for help asked for).
	f.Usage = func() { writeHelp(&f.usage, f.FlagSet) }
	if env.flagSets != nil {
		env.flagSets(f.FlagSet)
	}
	return f
}

// parse parses args; a bad flag is a usage error.
func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if err == flag.ErrHelp {
			io.WriteString(f.env.Stdout, f.usage.String())
			return err
		}
		io.WriteString(f.env.Stderr, f.usage.String())
		return withCode(ExitUsage, err)
	}
	if f.NArg() > 0 {
		return usageError("%s: unexpected argument %q", f.Name(), f.Arg(0))
	}
	return nil
}

// load reads the configuration for a command.
func (f *flags) load(env Env) (*config.Config, error) {
	cfg, err := config.Load(f.config, f.config != "", config.Env(env.Getenv))
	if err != nil {
		return nil, withCode(ExitConfig, err)
	}
	return cfg, nil
}

// openDB opens url; an unreachable database is a temporary failure.
func openDB(ctx context.Context, url, what string) (*db.DB, error) {
	if url == "" {
		return nil, withCode(ExitConfig, fmt.Errorf("no %s database: set source.url in the config or SAMETEAM_DATABASE_URL", what))
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	d, err := db.Open(ctx, url)
	if err != nil {
		if _, _, uerr := db.EngineOf(url); uerr != nil {
			return nil, withCode(ExitConfig, err)
		}
		return nil, withCode(ExitTempFail, unreachableError{err})
	}
	return d, nil
}

// unreachableError marks a database that did not answer a connection (as
// opposed to one that answered with an error): serve waits for it.
type unreachableError struct{ error }

func (e unreachableError) Unwrap() error { return e.error }

// newSource opens the source database with the config's table mapping.
func newSource(ctx context.Context, cfg *config.Config) (*db.DB, *source.Source, error) {
	return newSourceObserved(ctx, cfg, nil)
}

func newSourceObserved(ctx context.Context, cfg *config.Config, observe func(string, time.Duration)) (*db.DB, *source.Source, error) {
	d, err := openDB(ctx, cfg.Source.URL, "source")
	if err != nil {
		return nil, nil, err
	}
	src, err := source.New(d, source.Options{Tables: cfg.Source.Tables, QueryTimeout: cfg.Source.QueryTimeout.D(), Observe: observe})
	if err != nil {
		d.Close()
		return nil, nil, withCode(ExitConfig, err)
	}
	return d, src, nil
}

// periodFlags are the flags that choose a snapshot.
type periodFlags struct {
	period   string
	kind     string
	zone     string
	asOf     string
	slaHours float64
	calendar string
}

func (p *periodFlags) register(f *flags) {
	f.StringVar(&p.period, "period", "", "period label: 2026-11-23, 2026-W47, 2026-11 or 2026-Q4 (default: the last complete one)")
	f.StringVar(&p.zone, "time-zone", "", "IANA time zone of the period (default: the report's or the config's)")
	f.StringVar(&p.asOf, "as-of", "", "evaluate at this instant, RFC 3339 (default: now)")
	f.Var((*slaHoursFlag)(&p.slaHours), "sla-hours", fmt.Sprintf("hours sales has to answer an MQL, above 0 and at most %d (default: the config's)", config.MaxSLAHours))
	f.StringVar(&p.calendar, "sla-calendar", "", "count the SLA in this working calendar of the config, or none for wall-clock hours (default: the report's)")
}

// slaCalendar is the working calendar the flags choose, or def's (a name
// from the configuration) when --sla-calendar is not given.
func (p *periodFlags) slaCalendar(cfg *config.Config, def string) (*workhours.Calendar, error) {
	if p.calendar == "" {
		return cfg.Calendar(def)
	}
	cal, err := cfg.Calendar(p.calendar)
	if err != nil {
		return nil, usageError("--sla-calendar %v", err)
	}
	return cal, nil
}

// slaHoursFlag is --sla-hours, held to the config's rule for sla_hours so
// that NaN, Inf, 0 or a negative number is a usage error, not a panic or
// a silent default. Unset, it is 0.
type slaHoursFlag float64

func (h *slaHoursFlag) String() string {
	if h == nil || *h == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(*h), 'g', -1, 64)
}

func (h *slaHoursFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number of hours", s)
	}
	if err := config.CheckSLAHours(v); err != nil {
		return err
	}
	*h = slaHoursFlag(v)
	return nil
}

// resolve turns the flags into a period and an as_of, with defaults from
// the report or the config: kind and loc come validated from there, so only
// what the flags say is parsed here.
func (p *periodFlags) resolve(kind period.Kind, loc *time.Location, now time.Time) (period.Period, time.Time, error) {
	if p.zone != "" {
		l, err := time.LoadLocation(p.zone)
		if err != nil || p.zone == "Local" {
			return period.Period{}, time.Time{}, usageError("--time-zone %q is not an IANA time zone (like Europe/Madrid)", p.zone)
		}
		loc = l
	}
	asOf := now
	if p.asOf != "" {
		var err error
		asOf, err = time.Parse(time.RFC3339Nano, p.asOf)
		if err != nil {
			return period.Period{}, time.Time{}, usageError("--as-of %q is not an RFC 3339 instant (like 2026-11-23T07:00:00Z)", p.asOf)
		}
	}
	if p.period == "" {
		return period.LastComplete(kind, asOf, loc), asOf, nil
	}
	per, err := period.Parse(p.period, loc)
	if err != nil {
		return period.Period{}, time.Time{}, usageError("--period: %v", err)
	}
	return per, asOf, nil
}

// input builds the engine's input for a period.
func input(cfg *config.Config, per period.Period, asOf time.Time, slaHours float64, cal *workhours.Calendar, target *int) metrics.Input {
	if slaHours <= 0 {
		slaHours = cfg.SLAHours
	}
	if target == nil {
		target = cfg.MQLTarget(string(per.Kind))
	}
	return metrics.Input{Period: per, AsOf: asOf, SLAHours: slaHours, Calendar: cal, MQLTarget: target}
}
