package source

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/db"
	"github.com/sameteam/sameteam/internal/metrics"
)

// recorder stands in for a transaction: it keeps every query with its
// arguments and answers with no rows.
type recorder struct {
	tx    *sql.Tx
	names map[string]string
	out   []string
}

var placeholderRE = regexp.MustCompile(`\$(\d+)`)

func (r *recorder) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	lits := make([]string, len(args))
	for i, a := range args {
		lits[i] = literal(a)
	}
	var text string
	if strings.Contains(q, "$1") {
		text = placeholderRE.ReplaceAllStringFunc(q, func(m string) string {
			n, _ := strconv.Atoi(m[1:])
			return lits[n-1]
		})
	} else {
		var b strings.Builder
		i := 0
		for _, c := range q {
			if c == '?' && i < len(lits) {
				b.WriteString(lits[i])
				i++
				continue
			}
			b.WriteRune(c)
		}
		text = b.String()
	}
	r.out = append(r.out, fmt.Sprintf("-- %s\n%s;\n", r.names[q], strings.TrimSpace(text)))
	return r.tx.QueryContext(ctx, "SELECT 1 WHERE 1 = 0")
}

func literal(a any) string {
	switch v := a.(type) {
	case time.Time:
		return "'" + v.UTC().Format(time.RFC3339Nano) + "'"
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return fmt.Sprint(a)
}

// Script returns the fact queries of a snapshot with their parameters
// written in, as a script for psql or sqlite3: what a DBA reviews, and what
// the benchmark runs side by side with sameteam.
func (s *Source) Script(ctx context.Context, w metrics.Windows) (string, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.db.Engine == db.Postgres})
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	rec := &recorder{tx: tx, names: map[string]string{}}
	keys := make([]string, 0, len(s.queries))
	for name := range s.queries {
		keys = append(keys, name)
	}
	sort.Strings(keys)
	for _, name := range keys {
		rec.names[s.queries[name].sql] = name
	}
	r := &reader{s: s, tx: rec, ctx: ctx}
	r.read(w, false, nil)
	if r.err != nil {
		return "", r.err
	}
	head := "-- The fact queries of one snapshot, as sameteam runs them.\n"
	if s.db.Engine == db.Postgres {
		head += "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
		for _, q := range s.settings() {
			head += q + ";\n"
		}
		return head + strings.Join(rec.out, "\n") + "COMMIT;\n", nil
	}
	return head + strings.Join(rec.out, "\n"), nil
}
