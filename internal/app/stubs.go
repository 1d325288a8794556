package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/sameteam/sameteam/internal/config"
)

var errNotYet = errors.New("not available in this build")

func runServe(context.Context, Env, []string) error { return errNotYet }
func serveDemo(context.Context, Env, *config.Config, *stack, string, *slog.Logger) error {
	return errNotYet
}
