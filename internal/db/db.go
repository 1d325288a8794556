// Package db opens sameteam's two database engines behind sqlx, chosen by
// the URL: postgres://… or postgresql://… (lib/pq) and sqlite:PATH
// (modernc.org/sqlite, pure Go). It also holds what differs between them:
// how timestamps are stored and bound, and how identifiers are quoted.
package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/lib/pq" // registers "postgres"
	"github.com/sameteam/sameteam/internal/secret"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// Engine names a database engine.
type Engine string

// The supported engines.
const (
	Postgres Engine = "postgres"
	SQLite   Engine = "sqlite"
)

// ErrURL is returned for a database URL sameteam cannot use.
var ErrURL = errors.New("db: bad database URL")

func init() {
	// modernc registers "sqlite", which sqlx does not know; its binds are '?'.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// DB is an open database and its engine.
type DB struct {
	*sqlx.DB
	Engine Engine
}

// EngineOf tells the engine of a URL without opening it.
func EngineOf(rawURL string) (Engine, string, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		if _, err := url.Parse(rawURL); err != nil {
			// url's own message quotes the URL, password and all.
			return "", "", fmt.Errorf("%w: %s does not parse as a URL (percent-encode special characters in the password)", ErrURL, Redact(rawURL))
		}
		return Postgres, rawURL, nil
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(rawURL, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return "", "", fmt.Errorf("%w: sqlite: needs a file path (sqlite:PATH)", ErrURL)
		}
		return SQLite, path, nil
	case rawURL == "":
		return "", "", fmt.Errorf("%w: empty (set source.url or SAMETEAM_DATABASE_URL)", ErrURL)
	}
	// The value is not echoed: it may be a key=value string with its
	// password, or a secret file's contents given by mistake.
	what := "not a URL"
	if m := schemeRE.FindString(rawURL); m != "" {
		what = fmt.Sprintf("a %q URL", m)
	} else if strings.Contains(rawURL, "=") {
		what = "a key=value connection string (write it as a URL: postgres://user@host/db?sslmode=…)"
	}
	return "", "", fmt.Errorf("%w: %s: want postgres://…, postgresql://… or sqlite:PATH", ErrURL, what)
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]{0,20}:`)

// Open opens the database at rawURL and checks that it answers.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	engine, dsn, err := EngineOf(rawURL)
	if err != nil {
		return nil, err
	}
	var x *sqlx.DB
	switch engine {
	case Postgres:
		x, err = sqlx.Open("postgres", dsn)
		if err == nil {
			x.SetMaxOpenConns(8)
			x.SetMaxIdleConns(8)
			x.SetConnMaxIdleTime(5 * time.Minute)
		}
	case SQLite:
		// One connection: SQLite has one writer, and per-connection state
		// (pragmas) then holds for every statement.
		path := dsn
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		x, err = sqlx.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err == nil {
			x.SetMaxOpenConns(1)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", engine, err)
	}
	if err := x.PingContext(ctx); err != nil {
		x.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", engine, Redact(rawURL), scrub(err, rawURL))
	}
	return &DB{DB: x, Engine: engine}, nil
}

// Time converts an instant to the value the engine stores: a timestamptz for
// PostgreSQL, and for SQLite a fixed-width UTC text
// (2026-11-23T07:00:00.000000Z) so that text order is time order.
func (d *DB) Time(t time.Time) any {
	if d.Engine == SQLite {
		return FormatSQLiteTime(t)
	}
	return t
}

// The instants both engines store alike. SQLite keeps a four-digit UTC
// year (SQLiteTimeLayout), so 9999-12-31T23:59:59-05:00, which is in year
// 10000 in UTC, would be written and then never read back; PostgreSQL
// refuses a UTC offset of 16 hours or more; both keep microseconds. The
// zero instant, 0001-01-01T00:00:00Z, is how sameteam holds an empty
// timestamp (NullTime), so it cannot be a value: the first instant stored
// is a microsecond later.
var (
	MinTime = time.Date(1, time.January, 1, 0, 0, 0, 1000, time.UTC)
	MaxTime = time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC)
)

// MaxOffset is the largest UTC offset PostgreSQL accepts in a timestamp
// (±15:59).
const MaxOffset = 16*time.Hour - time.Minute

// ErrTimeRange is returned for an instant outside what both engines store.
var ErrTimeRange = errors.New("db: timestamp out of range")

// StorableTime returns t as both engines store it, truncated to the
// microsecond (PostgreSQL would round, SQLite truncate: the same instant
// must give the same value on both), or an error when it cannot be stored
// alike: outside MinTime to MaxTime in UTC, or with an offset beyond
// ±15:59.
func StorableTime(t time.Time) (time.Time, error) {
	if _, off := t.Zone(); time.Duration(abs(off))*time.Second > MaxOffset {
		return time.Time{}, fmt.Errorf("%w: the UTC offset is beyond ±15:59", ErrTimeRange)
	}
	t = t.Truncate(time.Microsecond)
	if t.Before(MinTime) || t.After(MaxTime) {
		return time.Time{}, fmt.Errorf("%w: want an instant from %s to %s in UTC", ErrTimeRange,
			MinTime.Format(time.RFC3339Nano), MaxTime.Format(time.RFC3339Nano))
	}
	return t, nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// SQLiteTimeLayout is the one timestamp form sameteam writes into SQLite.
const SQLiteTimeLayout = "2006-01-02T15:04:05.000000Z"

// FormatSQLiteTime formats t for SQLite storage.
func FormatSQLiteTime(t time.Time) string { return t.UTC().Format(SQLiteTimeLayout) }

// NullTime scans a timestamp from either engine: a time.Time (PostgreSQL) or
// text (SQLite, in any RFC 3339 form). Null is the zero time.
type NullTime struct{ time.Time }

// Scan implements sql.Scanner.
func (n *NullTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		n.Time = time.Time{}
	case time.Time:
		n.Time = v
	case string:
		return n.parse(v)
	case []byte:
		return n.parse(string(v))
	default:
		return fmt.Errorf("db: cannot read %T as a timestamp", src)
	}
	return nil
}

func (n *NullTime) parse(s string) error {
	if s == "" {
		n.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			n.Time = t
			return nil
		}
	}
	return fmt.Errorf("db: %q is not an RFC 3339 timestamp", s)
}

// Value implements driver.Valuer for PostgreSQL-style binding.
func (n NullTime) Value() (driver.Value, error) {
	if n.IsZero() {
		return nil, nil
	}
	return n.Time, nil
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

// ErrIdent is returned for a relation name that is not a plain identifier.
var ErrIdent = errors.New("db: bad identifier")

// QuoteRelation validates a relation name from config ("leads" or
// "crm.v_leads") and returns it quoted, so that it never reaches SQL raw.
func QuoteRelation(name string) (string, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return "", fmt.Errorf("%w %q: at most schema.relation", ErrIdent, name)
	}
	for i, p := range parts {
		if !identRE.MatchString(p) || len(p) > 63 {
			return "", fmt.Errorf("%w %q: use letters, digits and _ (at most 63)", ErrIdent, name)
		}
		parts[i] = `"` + p + `"`
	}
	return strings.Join(parts, "."), nil
}

// Redact hides the secrets of a database URL, in every form the drivers
// accept (see secret.DSNSecrets).
func Redact(rawURL string) string {
	return secret.RedactDSN(rawURL)
}

// scrub removes the secrets of rawURL from an error's text, for drivers
// that echo their DSN.
func scrub(err error, rawURL string) error {
	pws := secret.DSNSecrets(rawURL)
	if len(pws) == 0 {
		return err
	}
	clean := strings.ReplaceAll(err.Error(), rawURL, Redact(rawURL))
	if clean = secret.Redact(clean, pws...); clean != err.Error() {
		return errors.New(clean)
	}
	return err
}

// IsReadOnly reports whether err says the database refused a write because
// it is read-only: a hot standby, or a transaction or role that is
// (SQLSTATE 25006, read_only_sql_transaction).
func IsReadOnly(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "25006"
}

// InRecovery reports whether the database is a PostgreSQL hot standby
// (always false on SQLite).
func (d *DB) InRecovery(ctx context.Context) (bool, error) {
	if d.Engine != Postgres {
		return false, nil
	}
	var standby bool
	err := d.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&standby)
	return standby, err
}
