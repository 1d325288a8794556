package db_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/sameteam/sameteam/internal/db"
)

func TestTransient(t *testing.T) {
	t.Parallel()
	pqErr := func(code string) error { return fmt.Errorf("load: %w", &pq.Error{Code: pqerror.Code(code)}) }
	cases := []struct {
		name  string
		err   error
		state string
		ok    bool
	}{
		{"serialization failure", pqErr("40001"), "40001", true},
		{"deadlock", pqErr("40P01"), "40P01", true},
		{"connection failure", pqErr("08006"), "08006", true},
		{"admin shutdown", pqErr("57P01"), "57P01", true},
		{"too many connections", pqErr("53300"), "53300", true},
		{"missing relation", pqErr("42P01"), "42P01", false},
		{"statement timeout", pqErr("57014"), "57014", false},
		{"bad connection", fmt.Errorf("x: %w", driver.ErrBadConn), "", true},
		{"connection cut", io.ErrUnexpectedEOF, "", true},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), "", false},
		{"other", errors.New("disk full"), "", false},
	}
	for _, tc := range cases {
		state, ok := db.Transient(tc.err)
		if state != tc.state || ok != tc.ok {
			t.Errorf("%s: Transient = %q, %v; want %q, %v", tc.name, state, ok, tc.state, tc.ok)
		}
	}
}

func TestSchemaProblem(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want bool
	}{
		{&pq.Error{Code: "42P01"}, true},
		{&pq.Error{Code: "42501"}, true},
		{&pq.Error{Code: "40001"}, false},
		{errors.New("SQL logic error: no such table: crm_leads (1)"), true},
		{errors.New("no such column: l.owner_id"), true},
		{errors.New("connection refused"), false},
	}
	for _, tc := range cases {
		if got := db.SchemaProblem(fmt.Errorf("snapshot: %w", tc.err)); got != tc.want {
			t.Errorf("SchemaProblem(%v) = %v", tc.err, got)
		}
	}
}
