package seed

import "errors"

// ErrOptions is returned by Generate for options it cannot honour.
var ErrOptions = errors.New("seed: invalid options")
