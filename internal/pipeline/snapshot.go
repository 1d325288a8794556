// Package pipeline is sameteam's use case: for one report and one period,
// read the facts, compute the snapshot, render every artifact from it, and
// deliver. `run`, the scheduler and the HTTP server all go through it, so a
// digest, its workbook and its JSON can never disagree.
package pipeline

import (
	"context"
	"fmt"

	"github.com/sameteam/sameteam/internal/metrics"
)

// FactSource reads the facts a snapshot needs; *source.Source is one.
type FactSource interface {
	Load(ctx context.Context, w metrics.Windows) (*metrics.Facts, error)
}

// Snapshot reads the facts for in and computes its snapshot.
func Snapshot(ctx context.Context, src FactSource, in metrics.Input) (*metrics.Snapshot, error) {
	facts, err := src.Load(ctx, metrics.Plan(in))
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", in.Period.Label(), err)
	}
	return metrics.Compute(in, facts), nil
}
