// Command sameteam computes sales and marketing alignment metrics from a
// company's database and mails each team its weekly digest. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	_ "time/tzdata" // distroless and scratch images have no zoneinfo

	"github.com/sameteam/sameteam/internal/app"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…
// -X main.buildDate=…" (the Dockerfile does, its context has no .git); a
// build from a git checkout reads the commit from the Go toolchain's stamp.
var version, commit, buildDate = "dev", "", ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), app.StopSignals...)
	err := app.Run(ctx, app.Env{
		Args:      os.Args[1:],
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Getenv:    os.LookupEnv,
		Version:   version,
		Commit:    commit,
		BuildDate: buildDate,
	})
	stop()
	os.Exit(app.ExitCode(err, os.Stderr))
}
