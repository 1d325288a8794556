package server_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestIndexGolden pins the index page for fixed reports, key and clock.
func TestIndexGolden(t *testing.T) {
	t.Parallel()
	s, b := setup(t, nil)
	got := get(t, b, s.URL()+"/", "Bearer "+token)
	if got.code != 200 {
		t.Fatalf("index = %d", got.code)
	}
	golden := filepath.Join("testdata", "index.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if got.body != string(want) {
		t.Fatalf("index differs from %s (rerun with -update if the change is intended):\n%s", golden, got.body)
	}
}
