package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

var typeOfConfig = reflect.TypeFor[Config]()

// checkKeys walks the YAML tree against the Go type and reports every key
// the type does not have, with its path and line: yaml.v3's KnownFields
// stops at the first one and names the Go type, not the path.
func checkKeys(n *yaml.Node, t reflect.Type, path string, probs *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.AliasNode:
		checkKeys(n.Alias, t, path, probs)
	case t == reflect.TypeFor[Recipient]() && n.Kind == yaml.ScalarNode:
		// a plain address
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag != "" && tag != "-" {
				fields[tag] = f.Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				known := make([]string, 0, len(fields))
				for name := range fields {
					known = append(known, name)
				}
				slices.Sort(known)
				probs.add(join(path, k.Value), k.Line, "unknown key (known here: %s)", strings.Join(known, ", "))
				continue
			}
			checkKeys(n.Content[i+1], ft, join(path, k.Value), probs)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), probs)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), probs)
		}
	case t.Kind() == reflect.Struct && n.Kind != yaml.MappingNode && t != reflect.TypeFor[Duration]():
		if !(n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
			probs.add(path, n.Line, "want a mapping of settings")
		}
	case t.Kind() == reflect.String && n.Kind != yaml.ScalarNode:
		probs.add(path, n.Line, "want a single value, not a list or mapping")
	case t.Kind() == reflect.Bool && n.Kind == yaml.ScalarNode && n.Tag != "!!bool" && n.Tag != "!!null":
		probs.add(path, n.Line, "%q: want true or false", n.Value)
	case t.Kind() == reflect.Slice && n.Kind != yaml.SequenceNode:
		if !(n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
			probs.add(path, n.Line, "want a list")
		}
	}
}
