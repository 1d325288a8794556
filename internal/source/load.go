package source

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/metrics"
)

// Loader writes rows into the contract tables inside one transaction:
// PostgreSQL through COPY, SQLite through one prepared INSERT per row (fast
// inside a transaction). Nothing is visible until Commit, and Rollback
// leaves the database as it was. It is the sink of import and seed.
type Loader struct {
	ctx   context.Context
	d     *db.DB
	tx    *sqlx.Tx
	stmt  *sql.Stmt
	table string
	cols  []Column
	args  []any
	rows  int64
}

// NewLoader starts a load transaction.
func NewLoader(ctx context.Context, d *db.DB) (*Loader, error) {
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin load: %w", err)
	}
	return &Loader{ctx: ctx, d: d, tx: tx}, nil
}

// Begin starts loading table with the given columns (contract names, any
// subset in any order).
func (l *Loader) Begin(table string, columns []string) error {
	rel, ok := RelationByName(table)
	if !ok {
		return fmt.Errorf("load: unknown relation %q", table)
	}
	l.table, l.cols, l.rows = table, nil, 0
	for _, name := range columns {
		found := false
		for _, c := range rel.Columns {
			if c.Name == name {
				l.cols = append(l.cols, c)
				found = true
			}
		}
		if !found {
			return fmt.Errorf("load %s: unknown column %q", table, name)
		}
	}
	var q string
	if l.d.Engine == db.Postgres {
		q = pq.CopyIn(table, columns...)
	} else {
		marks := strings.TrimSuffix(strings.Repeat("?,", len(columns)), ",")
		q = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(columns, ", "), marks)
	}
	stmt, err := l.tx.PrepareContext(l.ctx, q)
	if err != nil {
		return fmt.Errorf("load %s: %w", table, err)
	}
	l.stmt = stmt
	l.args = make([]any, len(columns))
	return nil
}

// Row adds one row; values follow Begin's columns: string, nil (NULL),
// time.Time, bool, metrics.Money or float64.
func (l *Loader) Row(values ...any) error {
	if len(values) != len(l.cols) {
		return fmt.Errorf("load %s: %d values for %d columns", l.table, len(values), len(l.cols))
	}
	for i, v := range values {
		l.args[i] = l.value(v)
	}
	if _, err := l.stmt.ExecContext(l.ctx, l.args...); err != nil {
		return fmt.Errorf("load %s row %d: %w", l.table, l.rows+1, err)
	}
	l.rows++
	return nil
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

// End finishes the current table.
func (l *Loader) End() error {
	if l.stmt == nil {
		return nil
	}
	defer func() { l.stmt = nil }()
	if l.d.Engine == db.Postgres {
		if _, err := l.stmt.ExecContext(l.ctx); err != nil {
			return fmt.Errorf("load %s: %w", l.table, err)
		}
	}
	if err := l.stmt.Close(); err != nil {
		return fmt.Errorf("load %s: %w", l.table, err)
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

// Rollback abandons the load; it is safe after Commit.
func (l *Loader) Rollback() { _ = l.tx.Rollback() }
