package source

import "time"

// WhenImported runs f once every connection of a shared snapshot has begun,
// before any fact query; unshared makes the other connections take
// snapshots of their own instead of importing the first one's.
func WhenImported(s *Source, f func(), unshared bool) { s.imported, s.unshared = f, unshared }

// SetServerTimeout sets the statement_timeout of s's snapshots apart from
// its client deadline, so that a test decides which of the two fires first.
func SetServerTimeout(s *Source, d time.Duration) { s.serverTimeout = d }
