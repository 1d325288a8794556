package testdb

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/db"
)

// Replica is a PostgreSQL primary with a streaming hot standby of its own,
// each a server of its own on a loopback port, in a temporary folder.
type Replica struct {
	Primary, Standby string // URLs of the database postgres on each
	bin, dir         string
	owner            *user.User // who runs the servers when the test runs as root
}

// StartReplica initialises a primary, takes a base backup of it as a
// streaming standby (pg_basebackup -R) and starts both; they are stopped
// and removed when the test ends. standbyConf is appended to the standby's
// postgresql.conf. Without PostgreSQL's server programs the test is
// skipped, except under CI=true, where that fails.
func StartReplica(tb testing.TB, standbyConf string) *Replica {
	tb.Helper()
	bin := serverBin()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("PostgreSQL's server programs (initdb, pg_basebackup) are required under CI=true")
		}
		tb.Skip("no initdb and pg_basebackup (Debian's postgresql package) on this machine")
	}
	r := &Replica{bin: bin}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: the servers run as the
		// package's postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root needs the postgres user: %v", err)
		}
		r.owner = u
	}
	dir, err := os.MkdirTemp("", "sameteam-replica-")
	if err != nil {
		tb.Fatal(err)
	}
	r.dir = dir
	tb.Cleanup(func() { os.RemoveAll(dir) })
	r.chown(tb, dir)
	primaryPort, standbyPort := freePort(tb), freePort(tb)
	primary, standby := filepath.Join(dir, "primary"), filepath.Join(dir, "standby")

	r.cmd(tb, "initdb", "-D", primary, "-A", "trust", "-U", "postgres", "--no-sync")
	r.appendConf(tb, primary, fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\n", primaryPort, dir))
	r.start(tb, primary)
	r.cmd(tb, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primaryPort), "-U", "postgres", "-D", standby, "-R", "-X", "stream", "--no-sync")
	r.appendConf(tb, standby, fmt.Sprintf("port = %d\nhot_standby = on\n%s\n", standbyPort, standbyConf))
	r.start(tb, standby)

	r.Primary = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", primaryPort)
	r.Standby = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", standbyPort)
	return r
}

// serverBin is the newest installed PostgreSQL's bin folder with initdb
// and pg_basebackup, or "".
func serverBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range append(dirs, pathDirOf("initdb")) {
		if d == "" {
			continue
		}
		if exists(filepath.Join(d, "initdb")) && exists(filepath.Join(d, "pg_basebackup")) && exists(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func pathDirOf(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return filepath.Dir(p)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (r *Replica) chown(tb testing.TB, path string) {
	tb.Helper()
	if r.owner == nil {
		return
	}
	uid, _ := strconv.Atoi(r.owner.Uid)
	gid, _ := strconv.Atoi(r.owner.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		tb.Fatal(err)
	}
}

// cmd runs one of PostgreSQL's programs, as the servers' owner.
func (r *Replica) cmd(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if out, err := r.command(name, args...).CombinedOutput(); err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func (r *Replica) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(r.bin, name)
	if r.owner == nil {
		return exec.Command(path, args...)
	}
	return exec.Command("runuser", append([]string{"-u", r.owner.Username, "--", path}, args...)...)
}

func (r *Replica) appendConf(tb testing.TB, dataDir, text string) {
	tb.Helper()
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n" + text); err != nil {
		tb.Fatal(err)
	}
}

func (r *Replica) start(tb testing.TB, dataDir string) {
	tb.Helper()
	r.cmd(tb, "pg_ctl", "-D", dataDir, "-l", dataDir+".log", "-w", "-t", "120", "start")
	tb.Cleanup(func() { _ = r.command("pg_ctl", "-D", dataDir, "-m", "immediate", "-w", "stop").Run() })
}

// CaughtUp waits until the standby has replayed everything the primary
// has written so far.
func (r *Replica) CaughtUp(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	p, s := connect(tb, r.Primary), connect(tb, r.Standby)
	var lsn string
	if err := p.GetContext(ctx, &lsn, `SELECT pg_current_wal_lsn()::text`); err != nil {
		tb.Fatal(err)
	}
	deadline := deadlineOf(tb)
	for {
		var done bool
		if err := s.GetContext(ctx, &done, `SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`, lsn); err != nil {
			tb.Fatal(err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the standby did not replay up to %s", lsn)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func connect(tb testing.TB, url string) *db.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := db.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// deadlineOf is the test's own deadline less a margin, or two minutes.
func deadlineOf(tb testing.TB) time.Time {
	if t, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := t.Deadline(); ok {
			return d.Add(-10 * time.Second)
		}
	}
	return time.Now().Add(2 * time.Minute)
}
