package metrics_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/testsupport"
)

// Every catalog entry reads, from the headline and from the period before,
// the number the snapshot JSON writes at its key, in every golden case;
// and every number of the JSON's headline has its entry.
func TestCatalogReadsTheSnapshotJSON(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testsupport.GoldenDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "cases.json" })
	if len(files) == 0 {
		t.Fatal("no golden snapshots")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var snap metrics.Snapshot
			if err := json.Unmarshal(b, &snap); err != nil {
				t.Fatal(err)
			}
			var raw struct {
				Headline map[string]any `json:"headline"`
				Previous map[string]any `json:"previous"`
			}
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			delete(raw.Previous, "label")
			for _, side := range []struct {
				name string
				h    *metrics.Headline
				json map[string]any
			}{{"headline", &snap.Headline, raw.Headline}, {"previous", &snap.Previous.Headline, raw.Previous}} {
				leaves := map[string]any{}
				flatten("", side.json, leaves)
				for _, m := range metrics.Catalog() {
					want, ok := leaves[m.Key]
					if !ok {
						t.Errorf("%s.%s: not in the JSON", side.name, m.Key)
						continue
					}
					delete(leaves, m.Key)
					got := m.Read(side.h)
					if want == nil {
						if got.Valid {
							t.Errorf("%s.%s: read %v, the JSON has null", side.name, m.Key, got.Number)
						}
						continue
					}
					w := want.(float64)
					if !got.Valid || !near(got.Number, w) {
						t.Errorf("%s.%s: read %+v, the JSON has %v", side.name, m.Key, got, w)
					}
					if m.Unit == metrics.UnitMoney && !near(got.Money.Float(), w) {
						t.Errorf("%s.%s: money %v, the JSON has %v", side.name, m.Key, got.Money, w)
					}
				}
				var missing []string
				for k := range leaves {
					missing = append(missing, k)
				}
				sort.Strings(missing)
				if len(missing) > 0 {
					t.Errorf("%s: numbers without a catalog entry: %s", side.name, strings.Join(missing, ", "))
				}
			}
		})
	}
}

func flatten(prefix string, v map[string]any, out map[string]any) {
	for k, x := range v {
		if sub, ok := x.(map[string]any); ok {
			flatten(prefix+k+".", sub, out)
			continue
		}
		out[prefix+k] = x
	}
}

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// Keys are unique, and every entry says what it counts.
func TestCatalogEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range metrics.Catalog() {
		if seen[m.Key] {
			t.Errorf("%s: twice", m.Key)
		}
		seen[m.Key] = true
		if m.Unit == "" || m.Better < -1 || m.Better > 1 {
			t.Errorf("%s: unit %q, better %d", m.Key, m.Unit, m.Better)
		}
		if got, ok := metrics.Lookup(m.Key); !ok || got.Key != m.Key {
			t.Errorf("Lookup(%q) = %v, %v", m.Key, got.Key, ok)
		}
	}
	if _, ok := metrics.Lookup("no_such_metric"); ok {
		t.Error("Lookup finds a metric that does not exist")
	}
}
