package source

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/metrics"
)

// Loader writes rows into the contract tables inside one transaction:
// PostgreSQL through COPY, SQLite through multi-row INSERTs with the
// table's indexes dropped during the load and built again at its end (one
// sort instead of a random index insert per row). Nothing is visible until
// Commit, and Rollback leaves the database as it was, indexes included. It
// is the sink of import and seed. Memory stays the same whatever the number
// of rows: one batch of rows at a time.
type Loader struct {
	ctx   context.Context
	d     *db.DB
	tx    *sqlx.Tx
	stmt  *sql.Stmt // COPY on PostgreSQL; a full batch's INSERT on SQLite
	table string
	cols  []Column
	args  []any
	rows  int64

	// SQLite only.
	batch   int      // rows per INSERT
	pending int      // rows in args not yet inserted
	indexes []string // the table's CREATE INDEX statements, run again at End
}

// RowError is a row the database refused: Row counts the rows given to
// the Loader for this table, from 1, so that the caller can say where the
// row came from. Key is the refused key of a duplicate, when known.
type RowError struct {
	Table string
	Row   int64
	Key   string
	Err   error
}

func (e *RowError) Error() string {
	return fmt.Sprintf("load %s row %d: %v", e.Table, e.Row, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// Duplicate reports whether the row was refused for a key already loaded.
func (e *RowError) Duplicate() bool {
	if pe := pq.As(e.Err); pe != nil {
		return pe.Code == "23505"
	}
	return strings.Contains(e.Err.Error(), "UNIQUE constraint failed")
}

// NewLoader starts a load transaction.
func NewLoader(ctx context.Context, d *db.DB) (*Loader, error) {
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin load: %w", err)
	}
	return &Loader{ctx: ctx, d: d, tx: tx}, nil
}

// sqliteMaxVariables bounds the parameters of one SQLite statement (32766
// since SQLite 3.32); a batch stays well below it.
const sqliteMaxVariables = 32766

// Begin starts loading table with the given columns (contract names,
// required or optional, any subset in any order).
func (l *Loader) Begin(table string, columns []string) error {
	rel, ok := RelationByName(table)
	if !ok {
		return fmt.Errorf("load: unknown relation %q", table)
	}
	l.table, l.cols, l.rows, l.pending, l.indexes = table, nil, 0, 0, nil
	for _, name := range columns {
		c, found := rel.Column(name)
		if found {
			l.cols = append(l.cols, c)
		}
		if !found {
			return fmt.Errorf("load %s: unknown column %q", table, name)
		}
	}
	if l.d.Engine == db.Postgres {
		stmt, err := l.tx.PrepareContext(l.ctx, copyIn(table, columns))
		if err != nil {
			return fmt.Errorf("load %s: %w", table, err)
		}
		l.stmt = stmt
		l.args = make([]any, len(columns))
		return nil
	}
	if err := l.dropIndexes(); err != nil {
		return err
	}
	l.batch = min(256, sqliteMaxVariables/max(1, len(columns)))
	stmt, err := l.tx.PrepareContext(l.ctx, l.insert(l.batch))
	if err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	l.stmt = stmt
	l.args = make([]any, 0, l.batch*len(columns))
	return nil
}

// insert is the INSERT of n rows of the current table.
func (l *Loader) insert(n int) string {
	names := make([]string, len(l.cols))
	for i, c := range l.cols {
		names[i] = c.Name
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(l.cols)), ",") + ")"
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", l.table, strings.Join(names, ", "),
		strings.TrimSuffix(strings.Repeat(row+",", n), ","))
}

// dropIndexes drops the SQLite indexes of the current table (not its
// primary key), remembering them for End; inside the transaction, so a
// rollback restores them.
func (l *Loader) dropIndexes() error {
	rows, err := l.tx.QueryContext(l.ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, l.table)
	if err != nil {
		return fmt.Errorf("load %s: %w", l.table, err)
	}
	var names []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return fmt.Errorf("load %s: %w", l.table, err)
		}
		names = append(names, name)
		l.indexes = append(l.indexes, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load %s: %w", l.table, err)
	}
	for _, name := range names {
		if _, err := l.tx.ExecContext(l.ctx, `DROP INDEX "`+name+`"`); err != nil {
			return fmt.Errorf("load %s: %w", l.table, err)
		}
	}
	return nil
}

// Row adds one row; values follow Begin's columns: string, nil (NULL),
// time.Time, bool, metrics.Money or float64.
func (l *Loader) Row(values ...any) error {
	if len(values) != len(l.cols) {
		return fmt.Errorf("load %s: %d values for %d columns", l.table, len(values), len(l.cols))
	}
	if l.d.Engine == db.SQLite {
		for _, v := range values {
			l.args = append(l.args, l.value(v))
		}
		l.rows++
		if l.pending++; l.pending == l.batch {
			return l.flush()
		}
		return nil
	}
	for i, v := range values {
		l.args[i] = l.value(v)
	}
	l.rows++
	if _, err := l.stmt.ExecContext(l.ctx, l.args...); err != nil {
		return l.rowError(l.rows, err)
	}
	return nil
}

// flush inserts the pending rows on SQLite. When the database refuses the
// batch (a duplicate key), nothing of it is kept (a statement is atomic),
// and the rows are tried one by one to find the one refused.
func (l *Loader) flush() error {
	if l.pending == 0 {
		return nil
	}
	defer func() { l.args, l.pending = l.args[:0], 0 }()
	first := l.rows - int64(l.pending) + 1
	var err error
	if l.pending == l.batch {
		_, err = l.stmt.ExecContext(l.ctx, l.args...)
	} else {
		_, err = l.tx.ExecContext(l.ctx, l.insert(l.pending), l.args...)
	}
	if err == nil {
		return nil
	}
	one := l.insert(1)
	n := len(l.cols)
	for i := range l.pending {
		if _, e := l.tx.ExecContext(l.ctx, one, l.args[i*n:(i+1)*n]...); e != nil {
			return l.rowError(first+int64(i), e)
		}
	}
	return fmt.Errorf("load %s rows %d to %d: %w", l.table, first, l.rows, err)
}

// copyLineRE finds the row of a COPY error ("COPY activities, line 7,
// column closed_at: …"), and keyRE the key of a duplicate ("Key (id)=(a1)
// already exists.").
var (
	copyLineRE = regexp.MustCompile(`COPY \S+, line (\d+)`)
	keyRE      = regexp.MustCompile(`^Key \((.*)\)=\((.*)\) already exists`)
)

// rowError names the row (and the key) a database error is about.
func (l *Loader) rowError(row int64, err error) error {
	re := &RowError{Table: l.table, Row: row, Err: err}
	if pe := pq.As(err); pe != nil {
		if m := copyLineRE.FindStringSubmatch(pe.Where); m != nil {
			re.Row, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if m := keyRE.FindStringSubmatch(pe.Detail); m != nil {
			re.Key = m[2]
		}
		// The driver's message alone says neither the row nor the column.
		re.Err = fmt.Errorf("%w (%s)", err, pe.Where)
	}
	return re
}

// value converts a Go value to what the engine stores.
func (l *Loader) value(v any) any {
	sqlite := l.d.Engine == db.SQLite
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return nil
		}
		return l.d.Time(x)
	case bool:
		if sqlite {
			if x {
				return 1
			}
			return 0
		}
		return x
	case metrics.Money:
		if sqlite {
			return x.Float()
		}
		return x.String()
	case *metrics.Money:
		if x == nil {
			return nil
		}
		return l.value(*x)
	}
	return v
}

// End finishes the current table: on PostgreSQL the COPY, whose errors
// (a duplicate key, a value the column refuses) come only now and are
// given their row; on SQLite the last batch, and the indexes built again.
func (l *Loader) End() error {
	if l.stmt == nil {
		return nil
	}
	defer func() { l.stmt = nil }()
	if l.d.Engine == db.Postgres {
		if _, err := l.stmt.ExecContext(l.ctx); err != nil {
			l.stmt.Close()
			if pe := pq.As(err); pe != nil && copyLineRE.MatchString(pe.Where) {
				return l.rowError(0, err)
			}
			return fmt.Errorf("load %s: %w", l.table, err)
		}
	} else if err := l.flush(); err != nil {
		l.stmt.Close()
		return err
	}
	if err := l.stmt.Close(); err != nil {
		return fmt.Errorf("load %s: %w", l.table, err)
	}
	for _, q := range l.indexes {
		if _, err := l.tx.ExecContext(l.ctx, q); err != nil {
			return fmt.Errorf("load %s: index: %w", l.table, err)
		}
	}
	return nil
}

// Commit makes everything loaded visible.
func (l *Loader) Commit() error {
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("commit load: %w", err)
	}
	return nil
}

// Rollback abandons the load; it is safe after Commit, and in the middle
// of a table (a bad row stops a load there): the open COPY or batch is
// closed first, so that the connection leaves copy mode.
func (l *Loader) Rollback() {
	if l.stmt != nil {
		_ = l.stmt.Close()
		l.stmt = nil
	}
	_ = l.tx.Rollback()
}

// copyIn is PostgreSQL's COPY … FROM STDIN statement for table and columns,
// identifiers quoted, as lib/pq prepares it.
func copyIn(table string, columns []string) string {
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = pq.QuoteIdentifier(c)
	}
	return fmt.Sprintf("COPY %s (%s) FROM STDIN", pq.QuoteIdentifier(table), strings.Join(quoted, ", "))
}
