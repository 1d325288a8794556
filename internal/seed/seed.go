// Package seed generates a synthetic, deterministic B2B data set in the shape
// of the five source relations (internal/metrics/README.md, "Inputs"): team members, campaigns, leads,
// activities and opportunities. It backs `sameteam demo` (a realistic quarter)
// and `sameteam seed` (any scale, for benchmarks).
//
// Rows stream into a Sink one table at a time, in the order a COPY-based
// loader wants them. Memory stays flat at any size because no lead is kept:
// every lead draws from its own random stream, seeded from (Seed, lead index),
// so the activities and opportunities passes regenerate exactly the lead the
// leads pass wrote and derive that lead's rows from it.
//
// Leads are written in created_at order, and each lead's activities follow
// one another in time, so the activities table is roughly, not strictly,
// time-ordered: a lead's touches can run weeks past the next lead's creation.
package seed

import (
	"cmp"
	"fmt"
	"time"
)

// Sink receives rows table by table, in the contract's column order.
//
// Generate calls Begin, then Row once per row, then End, for each table in
// turn (team_members, campaigns, leads, activities, opportunities). Row values
// are string, nil (NULL), time.Time (UTC, whole seconds), bool, or
// metrics.Money for amounts and costs. The values slice is reused between
// calls: a sink that keeps rows must copy it. Generate stops at the first
// error a method returns, which is also how a caller cancels a long run
// (return ctx.Err() from Row).
type Sink interface {
	Begin(table string, columns []string) error
	Row(values ...any) error
	End() error
}

// Options sizes and shapes a generated data set. The zero value is valid:
// every field has a default.
type Options struct {
	// Leads is the number of leads (default 2000).
	Leads int
	// Seed selects the data set (default 1): the same options give the same
	// rows on every run. The generator uses no map order, clock or global
	// random source; only floating-point rounding on CPUs other than amd64
	// could, rarely, differ.
	Seed int64
	// End is the data's "now": activity runs up to here, except a few rows
	// deliberately stamped in the future (default: the start of the current
	// UTC hour, which makes the run depend on the clock).
	End time.Time
	// Span is how far before End the first lead is created (default a quarter
	// up to 20,000 leads, a year above). The data set starts empty, so what
	// lags creation (MQLs, deals, won revenue) ramps up over the first weeks
	// to two months: make Span that much longer than the window to be shown.
	Span time.Duration
	// Reps is the number of active sales reps (default one per 5,000 leads,
	// at least 5 and at most 200). A few inactive reps come on top.
	Reps int
	// Progress, if set, is called now and then with work done so far out of
	// the total; the units are abstract (weighted by pass), only their ratio
	// means anything.
	Progress func(done, total int)
}

// Table names, in the order Generate writes them.
const (
	TableTeamMembers   = "team_members"
	TableCampaigns     = "campaigns"
	TableLeads         = "leads"
	TableActivities    = "activities"
	TableOpportunities = "opportunities"
)

// Kind is the Go type of a column's values (besides nil).
type Kind int

// Column kinds.
const (
	KindText  Kind = iota // string
	KindTime              // time.Time
	KindBool              // bool
	KindMoney             // metrics.Money
)

// Column is one column of a generated table.
type Column struct {
	Name     string
	Kind     Kind
	Nullable bool
}

// Table describes one generated relation, for a loader that creates it.
type Table struct {
	Name    string
	Columns []Column
}

// ColumnNames lists the table's column names in order, as Begin receives them.
func (t Table) ColumnNames() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// Tables returns the five relations in the order Generate writes them, with
// the columns of internal/metrics/README.md ("Inputs") in contract order.
func Tables() []Table {
	text := func(n string) Column { return Column{Name: n, Kind: KindText, Nullable: true} }
	when := func(n string) Column { return Column{Name: n, Kind: KindTime, Nullable: true} }
	must := func(c Column) Column { c.Nullable = false; return c }
	return []Table{
		{TableTeamMembers, []Column{must(text("id")), must(text("name")), text("email"), must(text("team")), must(Column{Name: "active", Kind: KindBool})}},
		{TableCampaigns, []Column{must(text("id")), must(text("name")), text("channel"), {Name: "cost", Kind: KindMoney, Nullable: true}}},
		{TableLeads, []Column{must(text("id")), must(when("created_at")), must(text("source")), text("campaign_id"), text("owner_id"),
			when("mql_at"), when("accepted_at"), when("rejected_at"), text("rejection_reason"), when("sql_at")}},
		{TableActivities, []Column{must(text("id")), must(when("occurred_at")), must(text("team")), text("actor_id"), must(text("kind")),
			text("lead_id"), text("opportunity_id"), text("campaign_id")}},
		{TableOpportunities, []Column{must(text("id")), must(when("created_at")), text("lead_id"), must(text("source")), text("owner_id"),
			{Name: "amount", Kind: KindMoney, Nullable: true}, when("closed_at"), {Name: "is_won", Kind: KindBool, Nullable: true}}},
	}
}

// Defaults for Options.
const (
	DefaultLeads = 2000
	DefaultSeed  = 1
	quarter      = 91 * 24 * time.Hour
	year         = 365 * 24 * time.Hour
	// bigRun is the size from which the default span is a year.
	bigRun = 20000
)

// withDefaults fills the zero fields and rejects impossible values.
func (o Options) withDefaults() (Options, error) {
	if o.Leads < 0 || o.Reps < 0 || o.Span < 0 {
		return o, fmt.Errorf("%w: leads %d, reps %d, span %s", ErrOptions, o.Leads, o.Reps, o.Span)
	}
	o.Leads = cmp.Or(o.Leads, DefaultLeads)
	o.Seed = cmp.Or(o.Seed, DefaultSeed)
	if o.End.IsZero() {
		o.End = time.Now().UTC().Truncate(time.Hour)
	}
	o.End = o.End.UTC().Truncate(time.Second)
	if o.Span == 0 {
		o.Span = quarter
		if o.Leads > bigRun {
			o.Span = year
		}
	}
	if o.Span < time.Hour {
		return o, fmt.Errorf("%w: span %s is shorter than an hour", ErrOptions, o.Span)
	}
	if o.Reps == 0 {
		o.Reps = min(max(o.Leads/5000, 5), 200)
	}
	return o, nil
}

// Generate writes a data set to sink, table by table. It stops at the first
// error the sink returns and returns it wrapped.
func Generate(opts Options, sink Sink) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	g := newGenerator(opts)
	return g.run(sink)
}
