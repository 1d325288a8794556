package app

import (
	"context"
	"errors"
)

var errNotYet = errors.New("not available in this build")

func runDemo(context.Context, Env, []string) error  { return errNotYet }
func runServe(context.Context, Env, []string) error { return errNotYet }
func runCheck(context.Context, Env, []string) error { return errNotYet }
func runSeed(context.Context, Env, []string) error  { return errNotYet }
