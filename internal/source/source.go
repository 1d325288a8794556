// Package source reads the facts of a snapshot from the company's database
// (PostgreSQL or SQLite, see internal/db) and holds the contract schema that
// init-db creates. The SQL lives in queries/*.sql; it returns raw facts and
// small aggregates, and internal/metrics turns them into numbers.
package source

import (
	"bufio"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/metrics"
)

//go:embed queries/*.sql
var queryFS embed.FS

// ErrQuery is returned when the embedded SQL is malformed.
var ErrQuery = errors.New("source: bad query file")

// Options configures a Source.
type Options struct {
	// Tables maps contract relation names (leads, activities, …) to the
	// company's own relations or views ("crm.v_leads").
	Tables map[string]string
	// QueryTimeout bounds one snapshot's queries; 0 means 60 s.
	QueryTimeout time.Duration
	// Parallel is how many connections read one snapshot side by side on
	// PostgreSQL; 0 means DefaultParallel, 1 one connection.
	Parallel int
	// Observe, when set, is told how long each named query took.
	Observe func(query string, d time.Duration)
}

// DefaultParallel is how many connections read a snapshot by default: the
// longest query (the MQLs of the trend window) is split in as many parts,
// and PostgreSQL runs each on a core of its own.
var DefaultParallel = min(4, max(2, runtime.NumCPU()))

// Source reads snapshot facts from one database.
type Source struct {
	db      *db.DB
	opts    Options
	queries map[string]query

	// Test seams of loadShared: imported runs once every connection has
	// begun its transaction, before any fact query; unshared skips the
	// import, so that a test can show what a snapshot that is not shared
	// would read.
	imported func()
	unshared bool
	// kept counts the snapshots left open for their detail (kept): each
	// holds a connection of the pool until it is closed.
	kept atomic.Int32
	// serverTimeout is the statement_timeout of a snapshot on PostgreSQL:
	// QueryTimeout, unless a test sets it apart to decide which of the
	// two timeouts fires first.
	serverTimeout time.Duration

	// templates are the queries with their optional columns still to be
	// resolved; resolved holds them resolved against the source's
	// relations once a read found which optional columns they have.
	templates map[string]query
	resolveMu sync.Mutex
	resolved  atomic.Pointer[resolvedQueries]
}

// resolvedQueries are the fact queries for the optional columns a source
// has.
type resolvedQueries struct {
	queries map[string]query
	found   []string // "leads.name", …: the optional columns present
}

// optionalColumns are the placeholders of the optional columns in the
// query files: each becomes the column where the relation has it, and NULL
// where it does not, so one query serves both sources.
var optionalColumns = []struct{ placeholder, relation, column, expr string }{
	{"{{opt:l.name}}", "leads", "name", "l.name"},
	{"{{opt:l.company}}", "leads", "company", "l.company"},
	{"{{opt:campaigns.owner_id}}", "campaigns", "owner_id", "owner_id"},
}

// withOptional replaces the optional columns' placeholders of text: by the
// column when has says the relation has it, by NULL otherwise.
func withOptional(text string, has func(relation, column string) bool) string {
	for _, o := range optionalColumns {
		expr := "NULL"
		if has(o.relation, o.column) {
			expr = o.expr
		}
		text = strings.ReplaceAll(text, o.placeholder, expr)
	}
	return text
}

// query is one named fact query: its SQL for the engine, and the names of
// its bind parameters in the order of its placeholders, from the query's
// "-- params:" line. Callers bind by name, so reordering a predicate in one
// engine's variant cannot shift a value into the wrong place.
type query struct {
	sql    string
	params []string
}

// params are the values a query is bound with, by parameter name.
type params map[string]any

// bind orders p for q: every parameter q names must be given, and every
// value given must be one q names (a misspelt name is an error, not an
// ignored value).
func (q query) bind(name string, p params) ([]any, error) {
	args := make([]any, len(q.params))
	for i, n := range q.params {
		v, ok := p[n]
		if !ok {
			return nil, fmt.Errorf("%w: query %s needs parameter %s", ErrQuery, name, n)
		}
		args[i] = v
	}
	for n := range p {
		if !slices.Contains(q.params, n) {
			return nil, fmt.Errorf("%w: query %s has no parameter %s", ErrQuery, name, n)
		}
	}
	return args, nil
}

// New prepares the fact queries for d with the relation mapping of opts.
// A mapping that names an unknown relation or is not a plain identifier is
// an error.
func New(d *db.DB, opts Options) (*Source, error) {
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 60 * time.Second
	}
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultParallel
	}
	names, err := Relations(opts.Tables)
	if err != nil {
		return nil, err
	}
	raw, err := parseQueries()
	if err != nil {
		return nil, err
	}
	// A query named name@engine replaces name on that engine: the SQL stays
	// the same in meaning, shaped for that engine's planner.
	for name, q := range raw {
		if base, engine, ok := strings.Cut(name, "@"); ok {
			if engine == string(d.Engine) {
				raw[base] = q
			}
			delete(raw, name)
		}
	}
	qs := make(map[string]query, len(raw))
	templates := make(map[string]query, len(raw))
	none := func(string, string) bool { return false }
	for name, q := range raw {
		text := q.sql
		for rel, quoted := range names {
			text = strings.ReplaceAll(text, "{{"+rel+"}}", quoted)
		}
		if strings.Contains(withOptional(text, none), "{{") {
			return nil, fmt.Errorf("%w: query %s names an unknown relation", ErrQuery, name)
		}
		templates[name] = query{sql: d.Rebind(text), params: q.params}
		qs[name] = query{sql: d.Rebind(withOptional(text, none)), params: q.params}
	}
	return &Source{db: d, opts: opts, queries: qs, templates: templates, serverTimeout: opts.QueryTimeout}, nil
}

// OptionalColumns returns the optional columns the source's relations have
// ("leads.name", "leads.company", "campaigns.owner_id"), looking once; a
// failed look is tried again next time.
func (s *Source) OptionalColumns(ctx context.Context) ([]string, error) {
	r, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.found), nil
}

// resolve finds the optional columns of the source's relations, once, and
// resolves the fact queries for them.
func (s *Source) resolve(ctx context.Context) (*resolvedQueries, error) {
	if r := s.resolved.Load(); r != nil {
		return r, nil
	}
	s.resolveMu.Lock()
	defer s.resolveMu.Unlock()
	if r := s.resolved.Load(); r != nil {
		return r, nil
	}
	names, err := Relations(s.opts.Tables)
	if err != nil {
		return nil, err
	}
	cols := map[string]map[string]bool{}
	for _, o := range optionalColumns {
		if cols[o.relation] != nil {
			continue
		}
		have, err := columnsOf(ctx, s.db, names[o.relation])
		if err != nil {
			return nil, fmt.Errorf("read the columns of %s: %w", names[o.relation], err)
		}
		cols[o.relation] = have
	}
	has := func(rel, col string) bool { return cols[rel][col] }
	r := &resolvedQueries{queries: make(map[string]query, len(s.templates))}
	for name, q := range s.templates {
		r.queries[name] = query{sql: withOptional(q.sql, has), params: q.params}
	}
	for _, rel := range Contract {
		for _, c := range rel.Optional {
			if has(rel.Name, c.Name) {
				r.found = append(r.found, rel.Name+"."+c.Name)
			}
		}
	}
	s.resolved.Store(r)
	return r, nil
}

// current returns the fact queries: resolved for the optional columns
// once a read has looked, with NULL in their place before.
func (s *Source) current() map[string]query {
	if r := s.resolved.Load(); r != nil {
		return r.queries
	}
	return s.queries
}

// Relations returns the quoted relation name for each contract relation,
// applying the mapping (validated: an unknown key or a bad identifier is an
// error naming it).
func Relations(mapping map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range Contract {
		out[r.Name] = `"` + r.Name + `"`
	}
	keys := make([]string, 0, len(mapping))
	for k := range mapping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			errs = append(errs, fmt.Errorf("source.tables.%s: unknown relation (want team_members, campaigns, leads, activities or opportunities)", k))
			continue
		}
		q, err := db.QuoteRelation(mapping[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("source.tables.%s: %w", k, err))
			continue
		}
		out[k] = q
	}
	return out, errors.Join(errs...)
}

// parseQueries reads the named blocks (-- name: x) of queries/*.sql, each
// with the parameter names of its "-- params:" line, and checks that the
// names are as many as the query's placeholders.
func parseQueries() (map[string]query, error) {
	files, err := queryFS.ReadDir("queries")
	if err != nil {
		return nil, err
	}
	out := map[string]query{}
	for _, f := range files {
		b, err := queryFS.ReadFile("queries/" + f.Name())
		if err != nil {
			return nil, err
		}
		qs, err := parseQueryFile(f.Name(), string(b))
		if err != nil {
			return nil, err
		}
		maps.Copy(out, qs)
	}
	return out, nil
}

// parseQueryFile reads the named queries of one file.
func parseQueryFile(file, text string) (map[string]query, error) {
	out := map[string]query{}
	var name string
	var names []string
	var body strings.Builder
	flush := func() error {
		q := strings.TrimSuffix(strings.TrimSpace(body.String()), ";")
		body.Reset()
		if name == "" {
			return nil
		}
		if q == "" {
			return fmt.Errorf("%w: %s: query %s is empty", ErrQuery, file, name)
		}
		if n := strings.Count(q, "?"); n != len(names) {
			return fmt.Errorf("%w: %s: query %s has %d placeholders and %d names on its params line", ErrQuery, file, name, n, len(names))
		}
		out[name] = query{sql: q, params: names}
		return nil
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if n, ok := strings.CutPrefix(trimmed, "-- name:"); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			name, names = strings.TrimSpace(n), nil
			continue
		}
		if list, ok := strings.CutPrefix(trimmed, "-- params:"); ok {
			for _, p := range strings.Split(list, ",") {
				names = append(names, strings.TrimSpace(p))
			}
			continue
		}
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// Load reads every fact that w asks for, in one consistent read: on
// PostgreSQL a REPEATABLE READ READ ONLY transaction, so the email, the
// workbook and the JSON of a run come from the same state of the data.
//
// On PostgreSQL the independent queries run side by side on several
// connections that share that one snapshot (pg_export_snapshot, then SET
// TRANSACTION SNAPSHOT on each of the others), so a run takes about as
// long as its longest query instead of the sum of them. Where a snapshot
// cannot be shared (a server or proxy that does not support it), the
// queries run one after the other on one transaction, with the same
// result.
func (s *Source) Load(ctx context.Context, w metrics.Windows) (*metrics.Facts, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	opt, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	// The transaction that stays open for the detail must outlive this
	// call's deadline (database/sql rolls a transaction back when the
	// context it began with ends); its reads get deadlines of their own.
	keep := w.StreamDetail && !w.SkipDetail && s.db.Engine == db.Postgres && s.holdKept()
	var f *metrics.Facts
	err = errNoSharedSnapshot
	if s.db.Engine == db.Postgres && s.opts.Parallel > 1 {
		f, err = s.loadShared(ctx, w, keep)
	}
	if errors.Is(err, errNoSharedSnapshot) {
		f, err = s.loadOne(ctx, w, keep)
	}
	if keep && (err != nil || f.Release == nil) {
		s.kept.Add(-1)
	}
	// The client's deadline and the server's statement_timeout are the
	// same, so either may fire first: both are the query timeout, one
	// error (not retried: the query would run past it again).
	if err != nil && (ctx.Err() != nil || serverTimedOut(err)) {
		return nil, fmt.Errorf("read facts: %w (query timeout %s)", context.DeadlineExceeded, s.opts.QueryTimeout)
	}
	if f != nil {
		f.OptionalColumns = slices.Clone(opt.found)
	}
	return f, err
}

// serverTimedOut reports whether PostgreSQL cancelled a statement for its
// statement_timeout (SQLSTATE 57014, query_canceled). A cancel the client
// asked for has the same code, but then the context is done as well.
func serverTimedOut(err error) bool {
	e := pq.As(err)
	return e != nil && e.Code == "57014"
}

// errNoSharedSnapshot says that the snapshot could not be exported or
// imported: the queries then run on one connection.
var errNoSharedSnapshot = errors.New("source: the snapshot cannot be shared between connections")

// begin starts one transaction of a snapshot, on conn when one is given;
// on PostgreSQL it imports snapshot first when one is given.
func (s *Source) begin(ctx context.Context, conn *sqlx.Conn, snapshot string) (*sqlx.Tx, error) {
	return s.beginKept(ctx, ctx, conn, snapshot)
}

// beginKept is begin for a transaction that lives as long as txCtx, while
// ctx bounds the statements that start it.
func (s *Source) beginKept(txCtx, ctx context.Context, conn *sqlx.Conn, snapshot string) (*sqlx.Tx, error) {
	var txo *sql.TxOptions
	if s.db.Engine == db.Postgres {
		txo = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	var tx *sqlx.Tx
	var err error
	if conn != nil {
		tx, err = conn.BeginTxx(txCtx, txo)
	} else {
		tx, err = s.db.BeginTxx(txCtx, txo)
	}
	if err != nil {
		return nil, fmt.Errorf("begin snapshot: %w", err)
	}
	if s.db.Engine != db.Postgres {
		return tx, nil
	}
	if snapshot != "" {
		// The id comes from pg_export_snapshot; quoted all the same.
		if _, err := tx.ExecContext(ctx, "SET TRANSACTION SNAPSHOT "+quoteLiteral(snapshot)); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("%w: %v", errNoSharedSnapshot, err)
		}
	}
	for _, q := range s.settings() {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("snapshot settings: %w", err)
		}
	}
	return tx, nil
}

// holdKept reserves one of the snapshots that may stay open for their
// detail at once: a quarter of the pool's connections, at least one, so
// that snapshots of many reports (each held until its run's workbooks are
// written, or until `run --all` ends) never take the connections the
// others need to read. Past that, a snapshot holds its detail in memory.
func (s *Source) holdKept() bool {
	limit := int32(1)
	if n := s.db.Stats().MaxOpenConnections; n >= 8 {
		limit = int32(n / 4)
	}
	if s.kept.Add(1) > limit {
		s.kept.Add(-1)
		return false
	}
	return true
}

// spareConn is a connection of the pool that is free now, or nil: the
// extra connections of a shared snapshot are a speed-up, never worth
// waiting for (reports running at once would otherwise each hold some
// connections and wait for the others').
func (s *Source) spareConn(ctx context.Context) *sqlx.Conn {
	if st := s.db.Stats(); st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, spareConnWait)
	defer cancel()
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return nil
	}
	return conn
}

// spareConnWait bounds the wait for a new connection to open: long
// enough for a connection on the same network, short against a run.
const spareConnWait = 250 * time.Millisecond

func quoteLiteral(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// loadOne runs every query on one transaction; with keep, the
// transaction stays open for the detail (see kept).
func (s *Source) loadOne(ctx context.Context, w metrics.Windows, keep bool) (*metrics.Facts, error) {
	txCtx := ctx
	if keep {
		txCtx = context.WithoutCancel(ctx)
	}
	tx, err := s.beginKept(txCtx, ctx, nil, "")
	if err != nil {
		return nil, err
	}
	tees := teeFor(w, keep, 1)
	r := &reader{s: s, tx: tx, ctx: ctx}
	f := r.read(w, keep, tees)
	if r.err != nil {
		discard(tees)
		tx.Rollback()
		return nil, r.err
	}
	if !keep {
		tx.Rollback()
		return f, nil
	}
	k := &kept{s: s, tx: tx, asOf: w.AsOf}
	k.adopt(tees)
	k.attach(f)
	return f, nil
}

// teeFor is where the facts' own read of the period's MQLs spools them as
// they come, when the detail is to be read again from the kept snapshot:
// one spool per part of the period that the read splits it into, which
// the detail then reads one after the other, never asking the database
// again. nil without keep, or without temporary files (the detail's
// first read then asks the database).
func teeFor(w metrics.Windows, keep bool, parts int) []*spoolWriter {
	if !keep {
		return nil
	}
	var tees []*spoolWriter
	for _, part := range split(w.Period, parts) {
		sp := newSpool(part)
		if sp == nil {
			discard(tees)
			return nil
		}
		tees = append(tees, &spoolWriter{sp: sp})
	}
	return tees
}

// loadShared runs the tasks of w on Options.Parallel connections that
// share the first one's snapshot; with keep, the first one stays open for
// the detail (see kept).
func (s *Source) loadShared(ctx context.Context, w metrics.Windows, keep bool) (_ *metrics.Facts, err error) {
	txCtx := ctx
	if keep {
		txCtx = context.WithoutCancel(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	first, err := s.beginKept(txCtx, ctx, nil, "")
	if err != nil {
		return nil, err
	}
	// The exporting transaction stays open until every other one has
	// imported its snapshot: it is the first worker's own. Kept, it stays
	// open after this call, for the detail.
	held := false
	defer func() {
		if !held {
			first.Rollback()
		}
	}()
	var snapshot string
	if err := first.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoSharedSnapshot, err)
	}
	txs := []*sqlx.Tx{first}
	var conns []*sqlx.Conn
	defer func() {
		for _, tx := range txs[1:] {
			tx.Rollback()
		}
		for _, c := range conns {
			c.Close()
		}
	}()
	if s.unshared {
		snapshot = ""
	}
	for len(txs) < s.opts.Parallel {
		conn := s.spareConn(ctx)
		if conn == nil {
			break // fewer connections, the same snapshot
		}
		conns = append(conns, conn)
		tx, err := s.begin(ctx, conn, snapshot)
		if err != nil {
			return nil, err
		}
		txs = append(txs, tx)
	}
	if s.imported != nil {
		s.imported()
	}

	tees := teeFor(w, keep, s.opts.Parallel)
	defer func() {
		if !held {
			discard(tees)
		}
	}()
	b := &builder{mu: &sync.Mutex{}, b: metrics.NewBuilder(w)}
	switch {
	case w.SkipDetail:
		b.b.SkipDetail()
	case keep:
		b.b.WithoutDetail()
	}
	queue := make(chan task, 16)
	go func() {
		defer close(queue)
		for _, t := range tasks(w, s.opts.Parallel, tees) {
			queue <- t
		}
	}()
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for _, tx := range txs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &reader{s: s, tx: tx, ctx: ctx}
			for t := range queue {
				t(r, b)
				if r.err != nil {
					// The first failure is the run's error; the others
					// are the cancellation it causes.
					once.Do(func() { firstErr = r.err })
					cancel()
					for range queue {
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	f, err := b.b.Facts()
	if err != nil {
		return nil, err
	}
	if keep {
		k := &kept{s: s, tx: first, snapshot: snapshot, asOf: w.AsOf}
		if s.unshared {
			k.snapshot = ""
		}
		k.adopt(tees)
		k.attach(f)
		held = true
	}
	return f, nil
}

// settings are the SET LOCAL statements of a snapshot's transaction on
// PostgreSQL.
func (s *Source) settings() []string {
	return []string{
		// The database's own guard, in case the client's deadline cannot
		// reach a stuck backend.
		fmt.Sprintf("SET LOCAL statement_timeout = %d", s.serverTimeout.Milliseconds()),
		// The fact queries are index probes whose estimated cost passes
		// jit_above_cost; compiling them took 0.5 to 1.7 s per query on a
		// year of a large company's data, longer than running them.
		"SET LOCAL jit = off",
	}
}

// queryer is what reader needs of a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// reader runs the fact queries and keeps the first error.
type reader struct {
	s    *Source
	tx   queryer
	ctx  context.Context
	err  error
	strs map[string]string
}

// str returns the text of a scanned column that repeats across rows
// (owners, campaigns, sources, teams, reasons), sharing one string per
// distinct value. Ids are not shared this way: most are read once.
func (r *reader) str(b sql.RawBytes) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := r.strs[string(b)]; ok {
		return s
	}
	if r.strs == nil {
		r.strs = map[string]string{}
	}
	s := string(b)
	r.strs[s] = s
	return s
}

func (r *reader) t(t time.Time) any { return r.s.db.Time(t) }

// each runs the named query bound with p and calls scan for every row.
func (r *reader) each(name string, scan func(*sql.Rows) error, p params) {
	if r.err != nil {
		return
	}
	q, ok := r.s.current()[name]
	if !ok {
		r.err = fmt.Errorf("%w: no query %s", ErrQuery, name)
		return
	}
	args, err := q.bind(name, p)
	if err != nil {
		r.err = err
		return
	}
	start := time.Now()
	rows, err := r.tx.QueryContext(r.ctx, q.sql, args...)
	if err != nil {
		r.err = fmt.Errorf("query %s: %w", name, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			r.err = fmt.Errorf("query %s: %w", name, err)
			return
		}
	}
	if err := rows.Err(); err != nil {
		r.err = fmt.Errorf("query %s: %w", name, err)
		return
	}
	if r.s.opts.Observe != nil {
		r.s.opts.Observe(name, time.Since(start))
	}
}

// read runs every fact query for w, one task after the other, and hands
// the rows to a metrics.Builder, which keeps only what the snapshot
// reports: no query's result is held whole in memory.
func (r *reader) read(w metrics.Windows, keep bool, tees []*spoolWriter) *metrics.Facts {
	b := &builder{b: metrics.NewBuilder(w)}
	switch {
	case w.SkipDetail:
		b.b.SkipDetail()
	case keep:
		b.b.WithoutDetail()
	}
	for _, t := range tasks(w, 1, tees) {
		t(r, b)
	}
	f, err := b.b.Facts()
	if err != nil && r.err == nil {
		r.err = err
	}
	return f
}

// builder hands rows to a metrics.Builder, one call at a time when tasks
// run side by side (mu set).
type builder struct {
	mu *sync.Mutex
	b  *metrics.Builder
}

func (b *builder) do(f func(*metrics.Builder)) {
	if b.mu != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
	}
	f(b.b)
}

// task runs some of a snapshot's fact queries on one reader. Tasks are
// independent of each other, so they may run side by side on connections
// that share one snapshot; the queries within a task run in order.
type task func(r *reader, b *builder)

// tasks splits the fact queries of w into independent tasks, the longest
// first. The MQLs of the trend window, the longest query by far (a probe
// of the activity index per MQL), are read in parts parts.
func tasks(w metrics.Windows, parts int, tees []*spoolWriter) []task {
	var out []task
	for _, mw := range w.MQLRanges() {
		if len(tees) > 0 && !mw.From.After(w.Period.From) && !mw.To.Before(w.Period.To) {
			// The period's own MQLs first, each part spooled for the
			// detail as it comes; the rest of the range in parts.
			for _, tee := range tees {
				out = append(out, func(r *reader, b *builder) { r.mqls(w, tee.sp.rng, b, tee) })
			}
			for _, rest := range []metrics.Range{{From: mw.From, To: w.Period.From}, {From: w.Period.To, To: mw.To}} {
				if !rest.From.Before(rest.To) {
					continue
				}
				for _, part := range split(rest, parts) {
					out = append(out, func(r *reader, b *builder) { r.mqls(w, part, b, nil) })
				}
			}
			continue
		}
		for _, part := range split(mw, parts) {
			out = append(out, func(r *reader, b *builder) { r.mqls(w, part, b, nil) })
		}
	}
	return append(out,
		func(r *reader, b *builder) { r.opportunities(w, b) },
		func(r *reader, b *builder) { r.campaigns(w, b) },
		func(r *reader, b *builder) { r.activities(w, b) },
	)
}

// split cuts rng into n ranges of equal length that cover it without
// overlap (one range when n < 2).
func split(rng metrics.Range, n int) []metrics.Range {
	if n < 2 || !rng.From.Before(rng.To) {
		return []metrics.Range{rng}
	}
	step := rng.To.Sub(rng.From) / time.Duration(n)
	out := make([]metrics.Range, 0, n)
	from := rng.From
	for i := 1; i < n; i++ {
		to := rng.From.Add(step * time.Duration(i))
		out = append(out, metrics.Range{From: from, To: to})
		from = to
	}
	return append(out, metrics.Range{From: from, To: rng.To})
}

// mqls reads the leads MQL'd in mw, each lead once; a lead comes as one
// row per raw team it was touched by. With tee, each lead is spooled too:
// a spool that cannot be written is dropped, not the read.
func (r *reader) mqls(w metrics.Windows, mw metrics.Range, b *builder, tee *spoolWriter) {
	r.eachMQL(w.AsOf, mw, func(l metrics.Lead, touches []metrics.Touch) bool {
		if tee != nil {
			tee.add(l, touches)
		}
		b.do(func(b *metrics.Builder) { b.MQL(l, touches) })
		return true
	})
}

// eachMQL reads the leads MQL'd in mw (not after asOf) and hands each to
// emit with its first touches, until emit returns false.
func (r *reader) eachMQL(asOf time.Time, mw metrics.Range, emit func(metrics.Lead, []metrics.Touch) bool) {
	m := &mqlReader{r: r, emit: emit}
	r.each("mqls", m.scan, params{"as_of": r.t(asOf), "from": r.t(mw.From), "to": r.t(mw.To)})
	if errors.Is(r.err, errStopped) {
		r.err = nil
		return
	}
	m.flush()
}

// errStopped ends a query whose reader wants no more rows.
var errStopped = errors.New("source: stopped by the reader")

// campaigns reads the team members and the campaigns with their lifetime
// MQLs and won revenue.
func (r *reader) campaigns(w metrics.Windows, b *builder) {
	asOf := r.t(w.AsOf)
	r.each("members", func(rows *sql.Rows) error {
		m, err := scanMember(rows)
		b.do(func(b *metrics.Builder) { b.Member(m) })
		return err
	}, nil)

	lifetime := map[string]int{}
	r.each("lifetime-mqls", func(rows *sql.Rows) error {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		lifetime[id] = n
		return nil
	}, params{"as_of": asOf})
	r.each("campaigns", func(rows *sql.Rows) error {
		var c metrics.Campaign
		var channel, owner sql.NullString
		var cost nullMoney
		if err := rows.Scan(&c.ID, &c.Name, &channel, &cost, &owner); err != nil {
			return err
		}
		c.Channel, c.Cost, c.CostKnown = channel.String, cost.m, cost.valid
		c.OwnerID = strings.TrimSpace(owner.String)
		c.LifetimeMQLs = lifetime[c.ID]
		b.do(func(b *metrics.Builder) { b.Campaign(c) })
		return nil
	}, nil)
	r.each("wins", func(rows *sql.Rows) error {
		var campaign sql.RawBytes
		var amount nullMoney
		if err := rows.Scan(&campaign, &amount); err != nil {
			return err
		}
		win := metrics.Win{CampaignID: r.str(campaign), Amount: amount.m}
		b.do(func(b *metrics.Builder) { b.Win(win) })
		return nil
	}, params{"as_of": asOf})
}

// opportunities reads the leads created and the SQLs of the period and
// the one before, the opportunities of the trend window, and the last
// touches of those created in the two periods.
func (r *reader) opportunities(w metrics.Windows, b *builder) {
	asOf := r.t(w.AsOf)
	r.each("created", func(rows *sql.Rows) error {
		var l metrics.Lead
		var created db.NullTime
		var src, campaign sql.RawBytes
		if err := rows.Scan(&created, &src, &campaign); err != nil {
			return err
		}
		l.CreatedAt, l.Source, l.CampaignID = created.Time, r.str(src), r.str(campaign)
		b.do(func(b *metrics.Builder) { b.Created(l) })
		return nil
	}, params{"from": r.t(w.Created.From), "to": r.t(w.Created.To), "as_of": asOf})
	r.each("sqls", func(rows *sql.Rows) error {
		var t db.NullTime
		if err := rows.Scan(&t); err != nil {
			return err
		}
		b.do(func(b *metrics.Builder) { b.SQL(t.Time) })
		return nil
	}, params{"from": r.t(w.Created.From), "to": r.t(w.Created.To), "as_of": asOf})

	o := w.Opportunities
	r.each("opportunities", func(rows *sql.Rows) error {
		var op metrics.Opportunity
		var created, closed db.NullTime
		var id, lead, campaign, src, owner sql.RawBytes
		var amount nullMoney
		var won sql.NullBool
		if err := rows.Scan(&id, &created, &lead, &campaign, &src, &owner, &amount, &closed, &won); err != nil {
			return err
		}
		op.ID, op.LeadID = string(id), string(lead)
		op.CreatedAt, op.ClosedAt = created.Time, closed.Time
		op.CampaignID, op.Source, op.OwnerID = r.str(campaign), r.str(src), r.str(owner)
		op.Amount = amount.m
		if won.Valid {
			v := won.Bool
			op.IsWon = &v
		}
		b.do(func(b *metrics.Builder) { b.Opportunity(op) })
		return nil
	}, params{"period_start": r.t(w.Period.From), "from": r.t(o.From), "to": r.t(o.To), "as_of": asOf})

	c := w.Created
	r.each("last-touches", func(rows *sql.Rows) error {
		var ref, team sql.RawBytes
		var created, at db.NullTime
		var amount nullMoney
		if err := rows.Scan(&ref, &created, &amount, &team, &at); err != nil {
			return err
		}
		t := metrics.OpportunityTouch{
			Touch:     metrics.Touch{Ref: string(ref), Team: r.str(team), At: at.Time},
			CreatedAt: created.Time, Amount: amount.m,
		}
		b.do(func(b *metrics.Builder) { b.LastTouch(t) })
		return nil
	}, params{"as_of": asOf, "from": r.t(c.From), "to": r.t(c.To)})
}

// activities reads the activity counts of the period and the one before,
// and the data-health counts.
func (r *reader) activities(w metrics.Windows, b *builder) {
	asOf := r.t(w.AsOf)
	for _, p := range []struct {
		rng      metrics.Range
		previous bool
	}{{w.Period, false}, {w.Previous, true}} {
		r.each("activities", func(rows *sql.Rows) error {
			g := metrics.ActivityGroup{Previous: p.previous}
			var team, actor sql.RawBytes
			if err := rows.Scan(&team, &actor, &g.Count); err != nil {
				return err
			}
			g.Team, g.ActorID = r.str(team), r.str(actor)
			b.do(func(b *metrics.Builder) { b.Activity(g) })
			return nil
		}, params{"from": r.t(p.rng.From), "to": r.t(p.rng.To), "as_of": asOf})
	}
	count := func(name string, set func(*metrics.Builder, int), p params) {
		r.each(name, func(rows *sql.Rows) error {
			var n int
			err := rows.Scan(&n)
			b.do(func(b *metrics.Builder) { set(b, n) })
			return err
		}, p)
	}
	count("unknown-lead-activities", (*metrics.Builder).UnknownLeadActivities,
		params{"from": r.t(w.Period.From), "to": r.t(w.Period.To), "as_of": asOf})
	count("future-activities", (*metrics.Builder).FutureActivities, params{"as_of": asOf})
	count("mql-before-created", (*metrics.Builder).MQLBeforeCreated, params{"as_of": asOf})
	var lead, activity db.NullTime
	found := false
	r.each("freshness", func(rows *sql.Rows) error {
		found = true
		return rows.Scan(&lead, &activity)
	}, params{"as_of": asOf, "day_before": r.t(w.AsOf.Add(-24 * time.Hour)), "quarter_before": r.t(w.AsOf.Add(-92 * 24 * time.Hour))})
	if found && activity.IsZero() {
		r.each("latest-activity", func(rows *sql.Rows) error { return rows.Scan(&activity) }, params{"as_of": asOf})
	}
	b.do(func(b *metrics.Builder) { b.Freshness(lead.Time, activity.Time) })
}

// mqlReader groups the rows of the mqls query by lead: a lead's rows are
// adjacent, one per raw team that touched it.
type mqlReader struct {
	r       *reader
	emit    func(metrics.Lead, []metrics.Touch) bool
	lead    metrics.Lead
	touches []metrics.Touch
	open    bool
	row     mqlRow
}

// mqlRow is where a row of the mqls query is scanned: one per reader, not
// one per row, since each of its columns would escape to the heap.
type mqlRow struct {
	created, mql, acc, rej, sqlAt, at                     db.NullTime
	id, src, campaign, owner, reason, name, company, team sql.RawBytes
	dest                                                  []any
}

// flush hands the lead read so far to emit; false when emit wants no more.
func (m *mqlReader) flush() bool {
	more := true
	if m.open {
		more = m.emit(m.lead, m.touches)
	}
	m.open = false
	m.touches = m.touches[:0]
	return more
}

func (m *mqlReader) scan(rows *sql.Rows) error {
	w := &m.row
	if w.dest == nil {
		w.dest = []any{&w.id, &w.created, &w.src, &w.campaign, &w.owner, &w.mql, &w.acc, &w.rej, &w.reason, &w.sqlAt, &w.name, &w.company, &w.team, &w.at}
	}
	if err := rows.Scan(w.dest...); err != nil {
		return err
	}
	created, mql, acc, rej, sqlAt, at := w.created, w.mql, w.acc, w.rej, w.sqlAt, w.at
	id, src, campaign, owner, reason, name, company, team := w.id, w.src, w.campaign, w.owner, w.reason, w.name, w.company, w.team
	if !m.open || string(id) != m.lead.ID || !mql.Time.Equal(m.lead.MQLAt) {
		if !m.flush() {
			return errStopped
		}
		r := m.r
		m.lead = metrics.Lead{
			ID:              string(id),
			CreatedAt:       created.Time,
			Source:          r.str(src),
			CampaignID:      r.str(campaign),
			OwnerID:         r.str(owner),
			MQLAt:           mql.Time,
			AcceptedAt:      acc.Time,
			RejectedAt:      rej.Time,
			RejectionReason: r.str(reason),
			SQLAt:           sqlAt.Time,
			Name:            string(name),
			Company:         r.str(company),
		}
		m.open = true
	}
	if !at.IsZero() {
		m.touches = append(m.touches, metrics.Touch{Ref: m.lead.ID, Team: m.r.str(team), At: at.Time})
	}
	return nil
}

// nullMoney scans an amount from either engine: numeric text from
// PostgreSQL, a number from SQLite. Null is 0 and not valid.
type nullMoney struct {
	m     metrics.Money
	valid bool
}

func (n *nullMoney) Scan(src any) error {
	var err error
	n.valid = src != nil
	switch v := src.(type) {
	case nil:
		n.m = 0
	case []byte:
		n.m, err = metrics.ParseMoney(string(v))
	case string:
		n.m, err = metrics.ParseMoney(v)
	case float64:
		n.m, err = metrics.MoneyFromFloat(v)
	case int64:
		n.m, err = metrics.MoneyFromFloat(float64(v))
	default:
		err = fmt.Errorf("source: cannot read %T as an amount", src)
	}
	return err
}

// Members reads the team members alone (to resolve recipients_from).
func (s *Source) Members(ctx context.Context) ([]metrics.Member, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	r := &reader{s: s, tx: s.db, ctx: ctx}
	var out []metrics.Member
	r.each("members", func(rows *sql.Rows) error {
		m, err := scanMember(rows)
		out = append(out, m)
		return err
	}, nil)
	return out, r.err
}

func scanMember(rows *sql.Rows) (metrics.Member, error) {
	var m metrics.Member
	var email sql.NullString
	var active sql.NullBool
	err := rows.Scan(&m.ID, &m.Name, &email, &m.Team, &active)
	m.Email, m.Active = email.String, active.Bool
	return m, err
}
