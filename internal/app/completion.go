package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// commandFlags is each command's flags, read from the flag set the command
// itself makes: every command is started with -h (which parses its flags
// and stops before doing anything) and hands its flag set over through
// Env.flagSets. A flag added to a command is completed without a second
// list to keep in step.
func commandFlags(ctx context.Context, env Env) map[string][]*flag.Flag {
	out := map[string][]*flag.Flag{}
	for _, c := range commands() {
		if c.name == "completion" {
			continue
		}
		var sets []*flag.FlagSet
		e := env
		e.Stdout, e.Stderr = io.Discard, io.Discard
		e.flagSets = func(fs *flag.FlagSet) { sets = append(sets, fs) }
		args := append(helpArgs(c.name), "-h")
		_ = c.run(ctx, e, args[1:])
		for _, fs := range sets {
			fs.VisitAll(func(f *flag.Flag) { out[c.name] = append(out[c.name], f) })
		}
		sort.Slice(out[c.name], func(i, j int) bool { return out[c.name][i].Name < out[c.name][j].Name })
	}
	return out
}

func runCompletion(ctx context.Context, env Env, args []string) error {
	if helpAsked(env, "completion", args) {
		return nil
	}
	if len(args) != 1 {
		return usageError("completion: want one shell: bash, zsh or fish")
	}
	flags := commandFlags(ctx, env)
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	names = append(names, "help")
	var b strings.Builder
	switch args[0] {
	case "bash":
		bashCompletion(&b, names, flags)
	case "zsh":
		zshCompletion(&b, names, flags)
	case "fish":
		fishCompletion(&b, names, flags)
	default:
		return usageError("completion: unknown shell %q (bash, zsh or fish)", args[0])
	}
	_, err := io.WriteString(env.Stdout, b.String())
	return err
}

func flagWords(fs []*flag.Flag) string {
	var w []string
	for _, f := range fs {
		w = append(w, "--"+f.Name)
	}
	return strings.Join(w, " ")
}

func bashCompletion(b *strings.Builder, names []string, flags map[string][]*flag.Flag) {
	b.WriteString("# bash completion for sameteam: source <(sameteam completion bash)\n")
	b.WriteString("_sameteam() {\n\tlocal cur=${COMP_WORDS[COMP_CWORD]}\n")
	fmt.Fprintf(b, "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n\t\tCOMPREPLY=($(compgen -W '--help --version %s' -- \"$cur\"))\n\t\treturn\n\tfi\n", strings.Join(names, " "))
	b.WriteString("\tcase ${COMP_WORDS[1]} in\n")
	fmt.Fprintf(b, "\thelp) [ \"$COMP_CWORD\" -eq 2 ] && COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", strings.Join(names, " "))
	b.WriteString("\tcompletion) [ \"$COMP_CWORD\" -eq 2 ] && COMPREPLY=($(compgen -W 'bash zsh fish' -- \"$cur\")) ;;\n")
	b.WriteString("\tsource) if [ \"$COMP_CWORD\" -eq 2 ]; then COMPREPLY=($(compgen -W 'sql' -- \"$cur\")); return; fi ;;&\n")
	for _, n := range names {
		if fs := flags[n]; len(fs) > 0 {
			fmt.Fprintf(b, "\t%s) [[ $cur == -* ]] && COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", n, flagWords(fs))
		}
	}
	b.WriteString("\tesac\n}\ncomplete -o default -F _sameteam sameteam\n")
}

func zshCompletion(b *strings.Builder, names []string, flags map[string][]*flag.Flag) {
	b.WriteString("#compdef sameteam\n# zsh completion for sameteam: sameteam completion zsh > \"${fpath[1]}/_sameteam\"\n")
	b.WriteString("_sameteam() {\n\tif (( CURRENT == 2 )); then\n")
	fmt.Fprintf(b, "\t\tcompadd -- --help --version %s\n\t\treturn\n\tfi\n", strings.Join(names, " "))
	b.WriteString("\tcase $words[2] in\n")
	fmt.Fprintf(b, "\thelp) (( CURRENT == 3 )) && compadd -- %s ;;\n", strings.Join(names, " "))
	b.WriteString("\tcompletion) (( CURRENT == 3 )) && compadd -- bash zsh fish ;;\n")
	for _, n := range names {
		fs := flags[n]
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(b, "\t%s)\n", n)
		if n == "source" {
			b.WriteString("\t\tif (( CURRENT == 3 )); then compadd -- sql; return; fi\n")
		}
		fmt.Fprintf(b, "\t\tif [[ $PREFIX == -* ]]; then compadd -- %s; else _files; fi ;;\n", flagWords(fs))
	}
	b.WriteString("\tesac\n}\ncompdef _sameteam sameteam\n")
}

func fishCompletion(b *strings.Builder, names []string, flags map[string][]*flag.Flag) {
	b.WriteString("# fish completion for sameteam: sameteam completion fish > ~/.config/fish/completions/sameteam.fish\n")
	b.WriteString("complete -c sameteam -f\n")
	summaries := map[string]string{"help": "print a command's description, flags and examples"}
	for _, c := range commands() {
		summaries[c.name] = c.summary
	}
	for _, n := range names {
		fmt.Fprintf(b, "complete -c sameteam -n __fish_use_subcommand -a %s -d %s\n", n, fishQuote(summaries[n]))
	}
	fmt.Fprintf(b, "complete -c sameteam -n '__fish_seen_subcommand_from help' -a '%s'\n", strings.Join(names, " "))
	b.WriteString("complete -c sameteam -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
	b.WriteString("complete -c sameteam -n '__fish_seen_subcommand_from source' -a sql\n")
	for _, n := range names {
		for _, f := range flags[n] {
			usage, _ := strings.CutSuffix(strings.SplitN(f.Usage, "\n", 2)[0], ".")
			fmt.Fprintf(b, "complete -c sameteam -n '__fish_seen_subcommand_from %s' -l %s -d %s", n, f.Name, fishQuote(usage))
			if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool {
				b.WriteString(" -r -F")
			}
			b.WriteString("\n")
		}
	}
}

// fishQuote quotes s for fish: single quotes, with \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
