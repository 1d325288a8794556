package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"strings"

	"github.com/lib/pq"
)

// Transient reports whether err is a failure that a new transaction may
// not meet, with its SQLSTATE ("" when the failure was below SQL: a dropped
// connection): a serialization failure or deadlock (on a hot standby, a
// conflict with recovery is reported as 40001), a connection killed or lost
// (administrator shutdown, server restarting, network), or too many
// connections. Timeouts and cancellations are not transient: a query that
// ran past its deadline will run past it again.
func Transient(err error) (sqlstate string, ok bool) {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "", false
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		code := string(pe.Code)
		switch {
		case pe.Code.Class() == "08", // connection exception
			code == "40001", code == "40P01", // serialization failure, deadlock
			code == "57P01", code == "57P02", code == "57P03", // shutdown, crash shutdown, starting up
			code == "53300": // too many connections
			return code, true
		}
		return code, false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "", true
	}
	return "", false
}

// sqliteSchemaErrors are the texts by which SQLite says a relation or
// column is missing; its driver gives no code that separates them from
// other errors.
var sqliteSchemaErrors = []string{"no such table", "no such column", "SQL logic error"}

// SchemaProblem reports whether err says the database does not have the
// shape a query expects: a missing relation or column, a type that does not
// fit, or no right to read it. A retry cannot fix that; a person must.
func SchemaProblem(err error) bool {
	if e := pq.As(err); e != nil {
		// Class 42, syntax error or access rule violation: 42P01, 42703,
		// 42501…
		return e.Code.Class() == "42"
	}
	msg := err.Error()
	for _, s := range sqliteSchemaErrors {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
