package digest

import "errors"

// Sentinel errors.
var (
	// ErrAudience is returned for an audience that is not leadership,
	// sales or marketing.
	ErrAudience = errors.New("digest: unknown audience")
	// ErrTemplates is returned by New when the template files are
	// incomplete, unexpected or unused.
	ErrTemplates = errors.New("digest: bad template set")
	// ErrSnapshot is returned for a snapshot that cannot be rendered.
	ErrSnapshot = errors.New("digest: bad snapshot")
)
