package app

import (
	"context"
	"io"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/telemetry"
)

func buildInfo(settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
	return func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/sameteam/sameteam", Version: "(devel)"}, Settings: settings}, true
	}
}

// `sameteam version` and `--version` name the version, the commit, its
// date and the Go release, from the toolchain's VCS stamp, from -ldflags
// (the Dockerfile's), or say plainly that the build carries no commit.
func TestVersionNamesTheBuild(t *testing.T) {
	t.Parallel()
	stamped := buildInfo(
		debug.BuildSetting{Key: "vcs", Value: "git"},
		debug.BuildSetting{Key: "vcs.revision", Value: "1be6936c0ffee1be6936c0ffee1be6936c0ffee1"},
		debug.BuildSetting{Key: "vcs.time", Value: "2026-12-06T11:15:00Z"},
		debug.BuildSetting{Key: "vcs.modified", Value: "true"},
	)
	for _, tt := range []struct {
		name string
		env  Env
		want []string
		not  []string
	}{
		{"from a git checkout", Env{Version: "1.0", BuildInfo: stamped},
			[]string{"sameteam 1.0\n", "commit:      1be6936c0ffee1be6936c0ffee1be6936c0ffee1 (with uncommitted changes)\n", "commit date: 2026-12-06T11:15:00Z\n", "go:          go1.26.8\n"}, nil},
		{"with -buildvcs=false", Env{Version: "1.0", BuildInfo: buildInfo(debug.BuildSetting{Key: "-buildvcs", Value: "false"})},
			[]string{"sameteam 1.0\n", "commit:      unknown (built without VCS information: -buildvcs=false, or not from a git checkout)\n", "commit date: unknown\n", "go:          go1.26.8\n"}, nil},
		{"stamped with -ldflags", Env{Version: "1.0", Commit: "abc123", BuildDate: "2026-12-01T09:00:00+01:00", BuildInfo: stamped},
			[]string{"commit:      abc123\n", "commit date: 2026-12-01T09:00:00+01:00\n"}, []string{"1be6936", "uncommitted"}},
		{"installed at a module version", Env{BuildInfo: func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, true
		}}, []string{"sameteam v1.2.3\n"}, nil},
		{"no build information", Env{BuildInfo: func() (*debug.BuildInfo, bool) { return nil, false }},
			[]string{"sameteam dev\n", "commit:      unknown"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, arg := range []string{"version", "--version"} {
				var out strings.Builder
				env := tt.env
				env.Args, env.Stdout, env.Stderr = []string{arg}, &out, io.Discard
				if err := Run(context.Background(), env); err != nil {
					t.Fatalf("%s: %v", arg, err)
				}
				for _, w := range tt.want {
					if !strings.Contains(out.String(), w) {
						t.Errorf("%s: no %q in:\n%s", arg, w, out.String())
					}
				}
				for _, n := range tt.not {
					if strings.Contains(out.String(), n) {
						t.Errorf("%s: %q in:\n%s", arg, n, out.String())
					}
				}
			}
		})
	}
}

// serve's sameteam_build_info carries what `version` prints.
func TestBuildInfoMetricNamesTheCommit(t *testing.T) {
	t.Parallel()
	b := buildOf(Env{Version: "1.0", BuildInfo: buildInfo(
		debug.BuildSetting{Key: "vcs.revision", Value: "1be6936c0ffee"},
		debug.BuildSetting{Key: "vcs.time", Value: "2026-12-06T11:15:00Z"},
	)})
	f := metricFamilies(t, gathered(t, telemetry.New(b.telemetry())))["sameteam_build_info"]
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("sameteam_build_info: %v", f)
	}
	got := map[string]string{}
	for _, l := range f.GetMetric()[0].GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"version": "1.0", "commit": "1be6936c0ffee", "build_date": "2026-12-06T11:15:00Z", "goversion": "go1.26.8"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("sameteam_build_info{%s=%q}, want %q", k, got[k], v)
		}
	}
}
