package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sameteam/sameteam/internal/period"
)

// Snapshots shares snapshots between the reports of one invocation: the
// three weekly digests of `run --all` read the same period, zone, as_of and
// SLA (hours and calendar), so the database is asked once and every
// audience is rendered from the same numbers. Keep one only as long as the
// invocation: the data moves.
type Snapshots struct {
	mu sync.Mutex
	m  map[string]*snapshotEntry
}

type snapshotEntry struct {
	done chan struct{}
	b    *Build
	err  error
}

// NewSnapshots returns an empty cache.
func NewSnapshots() *Snapshots { return &Snapshots{m: map[string]*snapshotEntry{}} }

// Close ends the snapshots the builds keep open for their MQL detail;
// call it once every report of the invocation is rendered.
func (c *Snapshots) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.m {
		select {
		case <-e.done:
			e.b.Close()
		default: // still being built: its builder closes it on failure, nobody on success
		}
	}
}

// key is what makes two snapshots the same.
func snapshotKey(rep Report, p period.Period, asOf time.Time) string {
	target := "none"
	if rep.MQLTarget != nil {
		target = fmt.Sprint(*rep.MQLTarget)
	}
	calendar := "none"
	if rep.Calendar != nil {
		calendar = rep.Calendar.Name()
	}
	return fmt.Sprintf("%s|%s|%s|%s|%g|%s|%s", p.Kind, p.Label(), p.Location(), asOf.UTC().Format(time.RFC3339Nano), rep.SLAHours, calendar, target)
}

// get returns the cached build for the key, building it once with build
// while concurrent callers for the same key wait for that one build.
func (c *Snapshots) get(ctx context.Context, key string, build func() (*Build, error)) (*Build, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	if !ok {
		e = &snapshotEntry{done: make(chan struct{})}
		c.m[key] = e
	}
	c.mu.Unlock()
	if !ok {
		e.b, e.err = build()
		close(e.done)
		if e.err != nil {
			// A failed read is not remembered: the next caller tries again.
			c.mu.Lock()
			delete(c.m, key)
			c.mu.Unlock()
		}
		return e.b, e.err
	}
	select {
	case <-e.done:
		return e.b, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
