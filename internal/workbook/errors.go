package workbook

import "errors"

// Sentinel errors of Write; the error returned wraps one of them when the
// options or the input are at fault.
var (
	// ErrAudience: Options.Audience is not leadership, sales or marketing.
	ErrAudience = errors.New("workbook: unknown audience")
	// ErrLocale: Options.Locale is not es or en.
	ErrLocale = errors.New("workbook: unknown locale")
	// ErrCurrency: Options.Currency is not a three-letter ISO 4217 code.
	ErrCurrency = errors.New("workbook: invalid currency code")
	// ErrMaxRows: Options.MaxRows leaves no room for a data row under the
	// header, or is above Excel's limit.
	ErrMaxRows = errors.New("workbook: invalid row limit")
	// ErrDetailCount: Options.DetailRows yielded more rows than
	// Options.DetailCount announced.
	ErrDetailCount = errors.New("workbook: more detail rows than announced")
	// ErrNoSnapshot: Write was given a nil snapshot.
	ErrNoSnapshot = errors.New("workbook: no snapshot")
)
