package ledger

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// A SQLite lock cannot die with its holder as a PostgreSQL session lock
// does: its row stays until the lease passes. So the owner it records says
// which process holds it, precisely enough to tell, on the same host, that
// the process is gone: host, PID and the process's start (the boot and the
// start time since boot), since a PID is reused.

// defaultOwner names this process: "HOST:PID (process start BOOT/TICKS)",
// or "HOST:PID" where the start cannot be read (no /proc).
func defaultOwner() string {
	owner := thisHost() + ":" + strconv.Itoa(os.Getpid())
	if start, ok := processStart(os.Getpid()); ok {
		owner += " (process start " + start + ")"
	}
	return owner
}

func thisHost() string {
	host, _ := os.Hostname()
	return cmp.Or(host, "localhost")
}

var ownerRE = regexp.MustCompile(`^(.+):(\d+) \(process start ([0-9a-f-]+/\d+)\)$`)

// holderState is what can be known of a lock's owner from this process.
type holderState int

const (
	// holderUnknown: another host, or an owner without its start.
	holderUnknown holderState = iota
	// holderAlive: a process of this host, the very one that took the lock.
	holderAlive
	// holderGone: of this host, and no such process runs any more (or its
	// PID now belongs to another process).
	holderGone
)

func holderOf(owner string) holderState {
	m := ownerRE.FindStringSubmatch(owner)
	if m == nil || m[1] != thisHost() {
		return holderUnknown
	}
	pid, err := strconv.Atoi(m[2])
	if err != nil {
		return holderUnknown
	}
	if _, ok := processStart(os.Getpid()); !ok {
		// This process cannot read its own start: nothing can be proven.
		return holderUnknown
	}
	start, ok := processStart(pid)
	if !ok || start != m[3] {
		return holderGone
	}
	return holderAlive
}

// processStart is "BOOT_ID/START_TICKS" of a running process: the kernel's
// boot id and the process's start time in clock ticks since boot (field 22
// of /proc/PID/stat); false when there is no such process or no /proc.
func processStart(pid int) (string, bool) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself: count fields after its last ")".
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return "", false
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state); the start time is field 22.
	if len(fields) < 20 {
		return "", false
	}
	if state := fields[0]; state == "Z" || state == "X" {
		// A zombie has stopped; only its parent has not reaped it yet.
		return "", false
	}
	return strings.TrimSpace(string(boot)) + "/" + fields[19], true
}
