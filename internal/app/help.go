package app

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// helpText is what `sameteam help COMMAND` and `COMMAND -h` print besides
// the flags: what the command does, and command lines to copy.
type helpText struct {
	usage    string
	about    string
	examples []string
}

var help = map[string]helpText{
	"demo": {usage: "sameteam demo [flags]",
		about:    "Seeds a demo database (SQLite, in --dir) with a made-up company and writes the three\nweekly digests, their workbooks and a preview page. Needs no config, database or SMTP.",
		examples: []string{"sameteam demo", "sameteam demo --serve   # then open http://127.0.0.1:8080"}},
	"run": {usage: "sameteam run (--report NAME | --all) [flags]",
		about: "Computes a report's period, renders its digests and workbook and sends them, recording\neach delivery in the state database's ledger: a second run of the same period sends only\nwhat is still due. Without --period, the last complete period in the report's zone,\nafter the earlier periods (catch_up of them) the ledger shows it still owes.\nExit codes: 0 done, 75 retry later, 65 recipients refused, 78 configuration, 64 usage;\nwith --all or earlier periods, 75 while any of them can still be retried.",
		examples: []string{
			"sameteam run --report weekly-sales",
			"sameteam run --all --period 2026-W47 --dry-run",
			"sameteam run --report weekly-sales --to me@example.com   # one test copy, nothing recorded",
			"sameteam run --report weekly-sales --resend-unknown"}},
	"serve": {usage: "sameteam serve [flags]",
		about:    "Runs each report on its schedule and serves /healthz, /readyz, /metrics and signed\nworkbook downloads. Several replicas may share one state database: each period is sent once.",
		examples: []string{"sameteam serve --config /etc/sameteam/sameteam.yaml", "sameteam serve --log-format json"}},
	"metrics": {usage: "sameteam metrics [flags]",
		about:    "Prints the metrics snapshot of a period, as the digests and workbooks use it, without\nrendering or sending anything.",
		examples: []string{"sameteam metrics --period 2026-W47", "sameteam metrics --period 2026-Q4 --format table"}},
	"render": {usage: "sameteam render --report NAME --out DIR [flags]",
		about:    "Writes a report's digests (html, txt), workbook (xlsx) and snapshot (json) to a folder,\nsending nothing: to look at a digest before it goes out.",
		examples: []string{"sameteam render --report weekly-sales --period 2026-W47 --out /tmp/w47"}},
	"check": {usage: "sameteam check [flags]",
		about:    "Validates the config, then connects to the source (views and columns), the state\ndatabase and the SMTP relay, and says what is wrong with each. Sends nothing.",
		examples: []string{"sameteam check", "sameteam check --config /etc/sameteam/sameteam.yaml"}},
	"recipients": {usage: "sameteam recipients [--report NAME] [--restore ADDRESS]",
		about: "Lists each report's recipients as a run resolves them now (its list, then its teams'\nactive members), each marked receives or unsubscribed with the time of the opt-out, and\nthe opt-outs of addresses that are no longer recipients. A recipient unsubscribes with the\nlink in a digest's List-Unsubscribe header (server.public_url); --restore removes the\nopt-out, and the next run sends to them again.\nExit codes: 0 done, 64 usage (an address with no opt-out), 75 database unreachable,\n78 configuration (or a ledger table without its grant).",
		examples: []string{
			"sameteam recipients",
			"sameteam recipients --report weekly-sales",
			"sameteam recipients --report weekly-sales --restore ana@example.com"}},
	"init-db": {usage: "sameteam init-db [flags]",
		about:    "Creates the five contract tables (for `import`) and the ledger's tables, or migrates\nthem; running it again changes nothing.",
		examples: []string{"SAMETEAM_DATABASE_URL=postgres://localhost/crm sameteam init-db"}},
	"source": {usage: "sameteam source sql [flags]",
		about:    "Prints the SQL of the source pack's views (source.pack), as init-db would run it,\nfor a DBA to review.",
		examples: []string{"sameteam source sql --config sameteam.yaml > views.sql"}},
	"import": {usage: "sameteam import --dir DIR [flags]",
		about:    "Loads CSV files of the five contract relations (team_members, campaigns, leads,\nactivities, opportunities) into the source database, in one transaction: every file is\nchecked before anything is written. On a terminal, shows progress with rate and ETA.",
		examples: []string{"sameteam import --dir ./export"}},
	"seed": {usage: "sameteam seed [flags]",
		about:    "Generates synthetic CRM data at any scale into the source database, for trying\nsameteam and measuring it. On a terminal, shows progress with rate and ETA.",
		examples: []string{"sameteam seed --leads 100000", "sameteam seed --leads 1000000 --reps 200"}},
	"version": {usage: "sameteam version",
		about:    "Prints the version, commit, commit date and Go version (also: sameteam --version).",
		examples: []string{"sameteam version"}},
	"completion": {usage: "sameteam completion bash|zsh|fish",
		about: "Prints a completion script for the shell: the commands and each command's flags.",
		examples: []string{
			"source <(sameteam completion bash)",
			"sameteam completion zsh > \"${fpath[1]}/_sameteam\"",
			"sameteam completion fish > ~/.config/fish/completions/sameteam.fish"}},
}

// helpArgs is the command line that asks for name's help: "source sql"
// is the command with flags.
func helpArgs(name string) []string {
	if name == "source" {
		return []string{"source", "sql"}
	}
	return []string{name}
}

// writeHelp writes a command's help: what it does, its usage, its flags
// (when fs is not nil) and examples.
func writeHelp(w io.Writer, fs *flag.FlagSet) {
	name := "?"
	if fs != nil {
		name, _, _ = strings.Cut(fs.Name(), " ")
	}
	h := help[name]
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", h.usage, h.about)
	if fs != nil {
		fmt.Fprintln(w, "\nFlags:")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	if len(h.examples) > 0 {
		fmt.Fprintln(w, "\nExamples:")
		for _, e := range h.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// helpAsked prints the help of a command without flags when args ask for
// it.
func helpAsked(env Env, name string, args []string) bool {
	if len(args) != 1 || !slices.Contains([]string{"-h", "-help", "--help"}, args[0]) {
		return false
	}
	h := help[name]
	fmt.Fprintf(env.Stdout, "Usage: %s\n\n%s\n", h.usage, h.about)
	if len(h.examples) > 0 {
		fmt.Fprintln(env.Stdout, "\nExamples:")
		for _, e := range h.examples {
			fmt.Fprintf(env.Stdout, "  %s\n", e)
		}
	}
	return true
}
