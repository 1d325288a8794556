package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// recordLines remembers the line of every setting of the file by its path
// (reports[1].schedule), so that a problem found after decoding, when only
// Go values are left, still names the line it comes from.
func recordLines(n *yaml.Node, path string, probs *Problems) {
	if probs.lines == nil {
		probs.lines = map[string]int{}
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := join(path, n.Content[i].Value)
			probs.lines[p] = n.Content[i].Line
			recordLines(n.Content[i+1], p, probs)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			probs.lines[p] = c.Line
			recordLines(c, p, probs)
		}
	}
}

// lineOf is the line of path, or of the nearest setting above it that the
// file holds (a default filled in for a report points at the report); 0
// when the file holds none of them.
func (p *Problems) lineOf(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

// given reports whether the file sets path, even to a zero value.
func (p *Problems) given(path string) bool {
	_, ok := p.lines[path]
	return ok
}
