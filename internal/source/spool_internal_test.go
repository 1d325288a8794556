package source

import (
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/metrics"
)

// A spool gives back every field of a lead as it was read: each string
// and time field of metrics.Lead is set to a value of its own, and a field
// the spool's records leave out (leadFields) comes back empty.
func TestSpoolKeepsEveryFieldOfALead(t *testing.T) {
	t.Parallel()
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	var want metrics.Lead
	v := reflect.ValueOf(&want).Elem()
	at := time.Date(2026, 11, 16, 10, 23, 0, 123456000, madrid)
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case string:
			f.SetString(fmt.Sprintf("%s value", v.Type().Field(i).Name))
		case time.Time:
			f.Set(reflect.ValueOf(at.Add(time.Duration(i) * time.Hour)))
		default:
			t.Fatalf("metrics.Lead.%s is a %s: teach the spool's records (leadFields) and this test its kind", v.Type().Field(i).Name, f.Type())
		}
	}
	touches := []metrics.Touch{{Ref: "a1", Team: "Sales", At: at.Add(time.Minute)}}

	f, err := os.CreateTemp(t.TempDir(), "spool")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sp := &spool{f: f, changed: make(chan struct{})}
	b := sp.appendLead(nil, want, touches)
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	sp.size, sp.done = int64(len(b)), true

	var got []metrics.Lead
	err = sp.replay(t.Context(), func(l metrics.Lead, ts []metrics.Touch) bool {
		got = append(got, l)
		if !reflect.DeepEqual(ts, touches) {
			t.Errorf("touches %+v, want %+v", ts, touches)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d leads back, want 1", len(got))
	}
	g := reflect.ValueOf(got[0])
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		w, h := v.Field(i).Interface(), g.Field(i).Interface()
		if wt, ok := w.(time.Time); ok {
			if ht := h.(time.Time); !ht.Equal(wt) || ht.Location().String() != wt.Location().String() {
				t.Errorf("%s: %v, want %v", name, ht, wt)
			}
			continue
		}
		if h != w {
			t.Errorf("%s: %q, want %q", name, h, w)
		}
	}
}
