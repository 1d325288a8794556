package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/db"
)

// Exit codes, from sysexits, so that cron and a CronJob's podFailurePolicy
// can act on them.
const (
	ExitOK       = 0
	ExitFailure  = 1  // anything else
	ExitUsage    = 64 // bad command line, unknown report
	ExitDataErr  = 65 // some recipients failed permanently: retrying will not help
	ExitTempFail = 75 // database or SMTP unreachable, 4xx: a retry may succeed
	ExitConfig   = 78 // configuration error
)

// StopSignals stop sameteam gracefully: a run finishes or stops at a safe
// point, resolves every delivery it claimed, and exits. SIGHUP is among
// them because a closed terminal or a supervisor's "reload" sends it, and
// its default action kills the process mid-delivery, leaving a delivery in
// sending; sameteam does not reload its configuration in place (restart it).
var StopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// exitError carries an exit code with its cause.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func usageError(format string, args ...any) error {
	return withCode(ExitUsage, fmt.Errorf(format, args...))
}

// ExitCode prints err (if any) to w and returns the process exit code.
func ExitCode(err error, w io.Writer) int {
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(w, "sameteam:", err)
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, config.ErrInvalid):
		return ExitConfig
	}
	return ExitFailure
}

// sourceCode is the exit code of a failed snapshot read: a source without
// the shape the configuration promises needs a person (78), anything else a
// retry (75).
func sourceCode(err error) int {
	if db.SchemaProblem(err) {
		return ExitConfig
	}
	return ExitTempFail
}
