package app

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/sameteam/sameteam/internal/telemetry"
)

// build names the running binary: its version, the commit it was built
// from and that commit's time, and the Go release that built it.
type build struct {
	Version   string
	Commit    string // "unknown" when the build carries no VCS information
	Date      string // the commit's time, RFC 3339: reproducible, unlike the time of the build
	GoVersion string
	Modified  bool // built from a work tree with uncommitted changes
}

// buildOf reads env's build: the values stamped with -ldflags -X (the
// Dockerfile's, whose context has no .git) first, then what the Go
// toolchain records from git (go build's default -buildvcs=auto).
func buildOf(env Env) build {
	b := build{Version: cmp.Or(env.Version, "dev"), Commit: env.Commit, Date: env.BuildDate, GoVersion: runtime.Version()}
	read := env.BuildInfo
	if read == nil {
		read = debug.ReadBuildInfo
	}
	info, ok := read()
	if !ok {
		return b.orUnknown()
	}
	b.GoVersion = cmp.Or(info.GoVersion, b.GoVersion)
	// go install …@v1.2.3 records the module version.
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	if b.Commit == "" {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				b.Date = cmp.Or(b.Date, s.Value)
			case "vcs.modified":
				b.Modified, _ = strconv.ParseBool(s.Value)
			}
		}
	}
	return b.orUnknown()
}

func (b build) orUnknown() build {
	b.Commit = cmp.Or(b.Commit, "unknown")
	b.Date = cmp.Or(b.Date, "unknown")
	return b
}

// print writes what `sameteam version` shows.
func (b build) print(w io.Writer) {
	commit := b.Commit
	switch {
	case commit == "unknown":
		commit = "unknown (built without VCS information: -buildvcs=false, or not from a git checkout)"
	case b.Modified:
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(w, "sameteam %s\ncommit:      %s\ncommit date: %s\ngo:          %s\n", b.Version, commit, b.Date, b.GoVersion)
}

// telemetry is the build as sameteam_build_info labels it.
func (b build) telemetry() telemetry.Options {
	return telemetry.Options{Version: b.Version, Commit: b.Commit, BuildDate: b.Date, GoVersion: b.GoVersion}
}
