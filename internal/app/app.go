// Package app is sameteam's composition root: the subcommands, the wiring of
// configuration to the steps, start and stop order, and the mapping of
// errors to exit codes. Nothing else imports it.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Env is the process's world as the commands see it.
type Env struct {
	Args   []string
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) (string, bool)
	// Version, Commit and BuildDate are stamped at build time (-ldflags
	// -X); an empty Commit is read from the Go toolchain's VCS stamp.
	Version, Commit, BuildDate string
	// BuildInfo reads the binary's build information; nil means
	// debug.ReadBuildInfo.
	BuildInfo func() (*debug.BuildInfo, bool)
	// flagSets, when set, is given each flag set a command makes: the
	// completion scripts read the commands' own flags through it.
	flagSets func(*flag.FlagSet)
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "seed a demo database and write the three weekly digests (no server, no config)", runDemo},
		{"run", "compute, render and deliver reports", runRun},
		{"serve", "run the scheduler and the HTTP server", runServe},
		{"metrics", "print the snapshot of a period (json or table)", runMetrics},
		{"render", "write a report's html, txt, xlsx and json to a folder", runRender},
		{"check", "validate the config, the source, the state database and SMTP", runCheck},
		{"recipients", "list each report's recipients and opt-outs; restore one (--restore)", runRecipients},
		{"init-db", "create the contract tables and the ledger tables", runInitDB},
		{"source", "print the SQL of the source pack's views (source sql)", runSource},
		{"import", "load CSV files of the five contract relations", runImport},
		{"seed", "generate synthetic data at any scale", runSeed},
		{"version", "print the version, commit, commit date and Go version", runVersion},
		{"completion", "print a shell completion script (bash, zsh or fish)", runCompletion},
	}
}

// Run runs the command line of env.
func Run(ctx context.Context, env Env) error {
	if len(env.Args) == 2 && env.Args[0] == "help" {
		// "sameteam help run" is "sameteam run -h".
		return Run(ctx, Env{Args: append(helpArgs(env.Args[1]), "-h"), Stdout: env.Stdout, Stderr: env.Stderr,
			Getenv: env.Getenv, Version: env.Version, Commit: env.Commit, BuildDate: env.BuildDate, BuildInfo: env.BuildInfo})
	}
	if len(env.Args) == 0 || env.Args[0] == "-h" || env.Args[0] == "--help" || env.Args[0] == "help" {
		usage(env.Stdout)
		if len(env.Args) == 0 {
			return usageError("no command given")
		}
		return nil
	}
	if env.Args[0] == "--version" {
		return runVersion(ctx, env, env.Args[1:])
	}
	for _, c := range commands() {
		if c.name == env.Args[0] {
			err := c.run(ctx, env, env.Args[1:])
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	usage(env.Stderr)
	return usageError("unknown command %q", env.Args[0])
}

func runVersion(_ context.Context, env Env, args []string) error {
	if helpAsked(env, "version", args) {
		return nil
	}
	if len(args) > 0 {
		return usageError("version: unexpected argument %q", args[0])
	}
	buildOf(env).print(env.Stdout)
	return nil
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("sameteam: sales and marketing alignment digests\n\nUsage: sameteam COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'sameteam help COMMAND' or 'sameteam COMMAND -h' for a command's description, flags and examples.\n")
	io.WriteString(w, b.String())
}
