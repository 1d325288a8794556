package source

import (
	"context"
	"fmt"
	"strings"

	"github.com/sameteam/sameteam/internal/db"
)

// RelationCheck is the result of checking one mapped relation.
type RelationCheck struct {
	Relation string // contract name
	Mapped   string // the quoted name queried
	Problems []string
}

// Verify checks that each relation answers and has the contract's columns
// with usable types. On SQLite, whose column types are only hints, it
// checks the columns alone.
func (s *Source) Verify(ctx context.Context) ([]RelationCheck, error) {
	names, err := Relations(s.opts.Tables)
	if err != nil {
		return nil, err
	}
	var out []RelationCheck
	for _, rel := range Contract {
		rc := RelationCheck{Relation: rel.Name, Mapped: names[rel.Name]}
		q := fmt.Sprintf("SELECT %s FROM %s LIMIT 0", strings.Join(rel.ColumnNames(), ", "), names[rel.Name])
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			rc.Problems = append(rc.Problems, err.Error())
			out = append(out, rc)
			continue
		}
		types, err := rows.ColumnTypes()
		rows.Close()
		if err != nil {
			rc.Problems = append(rc.Problems, err.Error())
		} else if s.db.Engine == db.Postgres {
			for i, ct := range types {
				if msg := typeProblem(rel.Columns[i], ct.DatabaseTypeName()); msg != "" {
					rc.Problems = append(rc.Problems, rel.Columns[i].Name+": "+msg)
				}
			}
		}
		out = append(out, rc)
	}
	return out, nil
}

// typeProblem says what is wrong with a PostgreSQL column type for c.
func typeProblem(c Column, dbType string) string {
	t := strings.ToUpper(dbType)
	ok := true
	switch c.Type {
	case "time":
		// A timestamp without a zone is ambiguous across DST; the contract
		// asks for instants.
		ok = t == "TIMESTAMPTZ"
	case "bool":
		ok = t == "BOOL"
	case "money":
		ok = t == "NUMERIC" || strings.HasPrefix(t, "INT") || strings.HasPrefix(t, "FLOAT")
	default:
		ok = t == "TEXT" || t == "VARCHAR" || t == "BPCHAR" || t == "NAME" || t == "UUID" || strings.HasPrefix(t, "INT")
	}
	if ok {
		return ""
	}
	want := map[string]string{"time": "timestamptz", "bool": "boolean", "money": "numeric", "text": "text"}[c.Type]
	return fmt.Sprintf("type %s, want %s", strings.ToLower(t), want)
}
