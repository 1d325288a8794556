package app

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `sameteam help COMMAND` and `COMMAND -h` print the command's
// description, flags and examples on stdout and exit 0, for every command.
func TestHelpOfEveryCommand(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := run(t, nil, append(helpArgs(c.name), "-h")...)
			if err != nil || stderr != "" {
				t.Fatalf("%s -h: err %v, stderr %q", c.name, err, stderr)
			}
			for _, want := range []string{"Usage: sameteam " + c.name, "Examples:\n  "} {
				if !strings.Contains(stdout, want) {
					t.Errorf("%s -h does not print %q:\n%s", c.name, want, stdout)
				}
			}
			viaHelp, stderr, err := run(t, nil, "help", c.name)
			if err != nil || stderr != "" || viaHelp != stdout {
				t.Errorf("help %s: err %v, stderr %q, stdout differs from %s -h:\n%s", c.name, err, stderr, c.name, viaHelp)
			}
		})
	}
	stdout, _, err := run(t, nil, "run", "--help")
	if err != nil || !strings.Contains(stdout, "-resend-unknown") || !strings.Contains(stdout, "sameteam run --all") {
		t.Errorf("run --help: err %v, want run's flags and examples:\n%s", err, stdout)
	}
}

// A bad flag is a usage error: the message and the help on stderr, nothing
// on stdout, exit 64.
func TestBadFlagPrintsHelpOnStderr(t *testing.T) {
	t.Parallel()
	res := cli(t, nil, "run", "--no-such-flag")
	if res.code != ExitUsage || res.stdout != "" || !strings.Contains(res.stderr, "no-such-flag") || !strings.Contains(res.stderr, "Usage: sameteam run") {
		t.Errorf("want exit 64 with the error and run's usage on stderr\n%s", res)
	}
}

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	stdout, _, err := run(t, nil, "--version")
	if err != nil || !strings.HasPrefix(stdout, "sameteam ") {
		t.Errorf("--version: err %v, stdout %q", err, stdout)
	}
}

// The completion scripts name every command and each command's flags as
// its flag set has them; bash completes them for real.
func TestCompletion(t *testing.T) {
	t.Parallel()
	scripts := map[string]string{}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		stdout, stderr, err := run(t, nil, "completion", sh)
		if err != nil || stderr != "" {
			t.Fatalf("completion %s: err %v, stderr %q", sh, err, stderr)
		}
		scripts[sh] = stdout
		for _, want := range []string{"run", "import", "--resend-unknown", "--ignore-gate", "--dir", "--leads", "--log-format"} {
			if sh == "fish" {
				want = strings.Replace(want, "--", "-l ", 1)
			}
			if !strings.Contains(stdout, want) {
				t.Errorf("completion %s lacks %q", sh, want)
			}
		}
	}
	if _, _, err := run(t, nil, "completion", "tcsh"); ExitCode(err, new(strings.Builder)) != ExitUsage {
		t.Errorf("completion tcsh: %v, want a usage error", err)
	}

	dir := t.TempDir()
	for sh, text := range scripts {
		if err := os.WriteFile(filepath.Join(dir, sh), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// complete runs bash's completion of a command line as typed so far
	// (a trailing space starts a new, empty word).
	complete := func(line string) string {
		args := append([]string{"-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _sameteam; echo "${COMPREPLY[*]}"`,
			"bash", filepath.Join(dir, "bash")}, strings.Split(line, " ")...)
		out, err := exec.Command("bash", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion of %q: %v\n%s", line, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for words, want := range map[string]string{
		"sameteam se":               "serve seed",
		"sameteam run --res":        "--resend-unknown",
		"sameteam import --d":       "--dir",
		"sameteam help ru":          "run",
		"sameteam completion f":     "fish",
		"sameteam source ":          "sql",
		"sameteam source sql --con": "--config",
	} {
		if got := complete(words); got != want {
			t.Errorf("bash completes %q to %q, want %q", words, got, want)
		}
	}
	for sh, check := range map[string][]string{"zsh": {"zsh", "-n"}, "fish": {"fish", "--no-execute"}} {
		if _, err := exec.LookPath(check[0]); errors.Is(err, exec.ErrNotFound) {
			if os.Getenv("CI") == "true" {
				t.Errorf("%s is not installed: .ci/run installs it, so that its completion script is checked", sh)
				continue
			}
			t.Logf("%s is not installed: its script's syntax is not checked", sh)
			continue
		}
		if out, err := exec.Command(check[0], append(check[1:], filepath.Join(dir, sh))...).CombinedOutput(); err != nil {
			t.Errorf("%s rejects its completion script: %v\n%s", sh, err, out)
		}
		if sh == "fish" {
			out, err := exec.Command("fish", "-c", `source $argv[1]; complete -C "sameteam run --res"`, filepath.Join(dir, sh)).CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), "--resend-unknown\t") {
				t.Errorf("fish completes \"sameteam run --res\" to %q (%v), want --resend-unknown", out, err)
			}
		}
	}
}
