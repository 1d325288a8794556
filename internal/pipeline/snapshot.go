// Package pipeline is sameteam's use case: for one report and one period,
// read the facts, compute the snapshot, render every artifact from it, and
// deliver. `run`, the scheduler and the HTTP server all go through it, so a
// digest, its workbook and its JSON can never disagree.
package pipeline

import (
	"context"

	"github.com/sameteam/sameteam/internal/metrics"
)

// FactSource reads the facts a snapshot needs; *source.Source is one.
type FactSource interface {
	Load(ctx context.Context, w metrics.Windows) (*metrics.Facts, error)
}
