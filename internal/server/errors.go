package server

import "errors"

var (
	// ErrUnknownReport is what a Renderer returns (wrapped or not) for a
	// report name that is not configured; the server answers 404.
	ErrUnknownReport = errors.New("server: unknown report")
	// ErrBadPeriod is what a Renderer returns for a period label that names no
	// period of the report's kind, or one that has not ended; the server
	// answers 404.
	ErrBadPeriod = errors.New("server: bad period")
	// ErrAnonymous is returned by Open when anonymous access is asked for on
	// an address that is not loopback.
	ErrAnonymous = errors.New("server: anonymous access is for loopback addresses only")
)
