package source

import (
	"errors"
	"strings"
	"testing"
)

// Every embedded query names as many parameters as it has placeholders,
// and binding is by name: a missing, extra or misspelt name is an error,
// never a value in the wrong place.
func TestQueryParametersAreBoundByName(t *testing.T) {
	t.Parallel()
	qs, err := parseQueries()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs["mqls"].params) != 4 || len(qs["mqls@postgres"].params) != 4 {
		t.Fatalf("mqls params: %v / %v", qs["mqls"].params, qs["mqls@postgres"].params)
	}
	q := query{sql: "SELECT 1 WHERE a >= ? AND a < ? AND a <= ?", params: []string{"from", "to", "as_of"}}
	args, err := q.bind("x", params{"as_of": 3, "from": 1, "to": 2})
	if err != nil || args[0] != 1 || args[1] != 2 || args[2] != 3 {
		t.Fatalf("bind = %v, %v; want [1 2 3]", args, err)
	}
	for _, p := range []params{
		{"from": 1, "to": 2},                     // missing
		{"from": 1, "to": 2, "as_of": 3, "x": 4}, // extra
		{"from": 1, "to": 2, "asof": 3},          // misspelt
	} {
		if _, err := q.bind("x", p); !errors.Is(err, ErrQuery) {
			t.Errorf("bind(%v) = %v, want ErrQuery", p, err)
		}
	}
}

// A query file whose params line disagrees with its placeholders is
// refused when sameteam starts, not run with shifted values.
func TestParamsLineMustMatchPlaceholders(t *testing.T) {
	t.Parallel()
	_, err := parseQueryFile("x.sql", "-- name: a\n-- params: from, to\nSELECT 1 WHERE a >= ? AND a < ? AND a <= ?;\n")
	if !errors.Is(err, ErrQuery) || !strings.Contains(err.Error(), "query a has 3 placeholders and 2 names") {
		t.Fatalf("err = %v", err)
	}
	qs, err := parseQueryFile("x.sql", "-- name: a\n-- A comment.\n-- params: from, to\nSELECT 1 WHERE a >= ? AND a < ?;\n-- name: b\nSELECT 2;\n")
	if err != nil || len(qs["a"].params) != 2 || len(qs["b"].params) != 0 {
		t.Fatalf("parse: %v %+v", err, qs)
	}
}
