package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/sameteam/sameteam/internal/testdb"
)

// openTerminal opens a pseudo-terminal: the process side (what a command
// writes to, a terminal to it) and a function that returns everything
// written to it once the process side is closed.
func openTerminal(t *testing.T) (*os.File, func() string) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&got, ptmx) // ends with EIO once pts is closed
	}()
	return pts, func() string {
		pts.Close()
		<-read
		return got.String()
	}
}

// runOn runs a command line with stderr on w.
func runOn(t *testing.T, w io.Writer, vars map[string]string, args ...string) error {
	t.Helper()
	return Run(context.Background(), Env{Args: args, Stdout: io.Discard, Stderr: w,
		Getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
}

// import and run --all show a bar with rate and ETA on a terminal, and
// nothing when stderr is a file or a pipe.
func TestProgressOnATerminalOnly(t *testing.T) {
	t.Parallel()
	url := testdb.SQLiteURL(t)
	vars := map[string]string{"SAMETEAM_DATABASE_URL": url}
	if _, stderr, err := run(t, vars, "init-db"); err != nil {
		t.Fatalf("init-db: %v\n%s", err, stderr)
	}
	tty, output := openTerminal(t)
	if err := runOn(t, tty, vars, "import", "--dir", filepath.Join(goldenDir, "data")); err != nil {
		t.Fatalf("import: %v", err)
	}
	cfg := writeConfig(t, strings.ReplaceAll(allConfig, "%PORT%", "25"))
	if err := runOn(t, tty, vars, "run", "--config", cfg, "--all", "--dry-run", "--period", testPeriod, "--as-of", testAsOf); err != nil {
		t.Fatalf("run --all: %v", err)
	}
	shown := output()
	t.Logf("terminal: %q", shown)
	for _, want := range []string{"import [", "100%", " rows/s", "ETA ", "run [", " reports/s"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the terminal does not show %q:\n%q", want, shown)
		}
	}

	url = testdb.SQLiteURL(t)
	vars = map[string]string{"SAMETEAM_DATABASE_URL": url}
	if _, stderr, err := run(t, vars, "init-db"); err != nil {
		t.Fatalf("init-db: %v\n%s", err, stderr)
	}
	var file bytes.Buffer
	if err := runOn(t, &file, vars, "import", "--dir", filepath.Join(goldenDir, "data")); err != nil {
		t.Fatalf("import: %v", err)
	}
	if err := runOn(t, &file, vars, "run", "--config", cfg, "--all", "--dry-run", "--period", testPeriod, "--as-of", testAsOf); err != nil {
		t.Fatalf("run --all: %v", err)
	}
	if strings.Contains(file.String(), "\r") || strings.Contains(file.String(), "ETA ") {
		t.Errorf("progress written where stderr is not a terminal:\n%q", file.String())
	}
}
