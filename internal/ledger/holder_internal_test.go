package ledger

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// A SQLite lock's owner tells, on its host, whether its process still
// runs: this process is alive; a process killed with SIGKILL is gone, even
// if its PID came back for another process; another host's, or an owner
// without its start, cannot be told.
func TestLockHolderIsAliveOrGone(t *testing.T) {
	if _, ok := processStart(os.Getpid()); !ok {
		t.Skip("no /proc: a lock's holder cannot be checked here, and holderOf says unknown")
	}
	if got := holderOf(defaultOwner()); got != holderAlive {
		t.Errorf("this process: %v, want alive", got)
	}
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	start, ok := processStart(child.Process.Pid)
	if !ok {
		t.Fatal("cannot read the child's start")
	}
	owner := thisHost() + ":" + strconv.Itoa(child.Process.Pid) + " (process start " + start + ")"
	if got := holderOf(owner); got != holderAlive {
		t.Errorf("a running child: %v, want alive", got)
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	if got := holderOf(owner); got != holderGone {
		t.Errorf("a killed child: %v, want gone", got)
	}
	// The child may have started in the same clock tick as this process,
	// so a start one tick after this process's own stands for "another
	// process that had this PID before".
	mine, _ := processStart(os.Getpid())
	boot, ticks, _ := strings.Cut(mine, "/")
	n, err := strconv.Atoi(ticks)
	if err != nil {
		t.Fatalf("start %q: %v", mine, err)
	}
	reused := thisHost() + ":" + strconv.Itoa(os.Getpid()) + " (process start " + boot + "/" + strconv.Itoa(n+1) + ")"
	if got := holderOf(reused); got != holderGone {
		t.Errorf("a PID now of another process: %v, want gone", got)
	}
	for _, o := range []string{
		"elsewhere.example:" + strconv.Itoa(os.Getpid()) + " (process start " + start + ")",
		thisHost() + ":" + strconv.Itoa(os.Getpid()),
		"test-host:1",
	} {
		if got := holderOf(o); got != holderUnknown {
			t.Errorf("%q: %v, want unknown", o, got)
		}
	}
}
