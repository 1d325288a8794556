package server_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/server"
	"github.com/sameteam/sameteam/internal/signedlink"
)

// fakePersonal is a renderer of team and personal reports; a personal
// report goes to u001 and u002.
type fakePersonal struct{ FakeRenderer }

func (f *fakePersonal) RenderPersonal(_ context.Context, report, label, person, format string, w io.Writer) error {
	if person != "u001" && person != "u002" {
		return server.ErrUnknownPerson
	}
	_, err := fmt.Fprintf(w, "%s %s %s %s", report, label, person, format)
	return err
}

// A personal report's download needs that person's signed link or the
// admin token: a link signed for one rep does not open another's, nor
// the report's team file.
func TestPersonalDownloadsNeedThatPersonsLink(t *testing.T) {
	s, b := setup(t, func(o *server.Options) {
		o.Renderer = &fakePersonal{FakeRenderer{RenderFn: func(context.Context, string, string, string, io.Writer) error {
			return server.ErrUnknownReport
		}}}
	})
	sign := func(path string) string {
		t.Helper()
		q, err := signedlink.Sign(linkKey, path, b.now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return s.URL() + q
	}
	mine := "/reports/daily-rep/2026-11-23/u001.xlsx"
	if r := get(t, b, sign(mine), ""); r.code != 200 || r.body != "daily-rep 2026-11-23 u001 xlsx" {
		t.Errorf("u001's own link: %d %q", r.code, r.body)
	}
	// u001's signature on u002's path.
	u001 := sign(mine)
	theirs := s.URL() + "/reports/daily-rep/2026-11-23/u002.xlsx" + u001[len(s.URL()+mine):]
	if r := get(t, b, theirs, ""); r.code != 403 {
		t.Errorf("u001's link on u002's file: %d %q, want 403", r.code, r.body)
	}
	if r := get(t, b, s.URL()+"/reports/daily-rep/2026-11-23/u002.json", ""); r.code != 401 {
		t.Errorf("no credentials: %d, want 401", r.code)
	}
	if r := get(t, b, s.URL()+"/reports/daily-rep/2026-11-23/u002.json", "Bearer "+token); r.code != 200 || r.body != "daily-rep 2026-11-23 u002 json" {
		t.Errorf("the admin token: %d %q", r.code, r.body)
	}
	if r := get(t, b, s.URL()+"/reports/daily-rep/2026-11-23/u999.html", "Bearer "+token); r.code != 404 {
		t.Errorf("a person the report does not go to: %d, want 404", r.code)
	}
	for _, bad := range []string{"/reports/daily-rep/2026-11-23/..%2Fx.html", "/reports/daily-rep/2026-11-23/u001.exe", "/reports/daily-rep/nope/u001.html"} {
		if r := get(t, b, s.URL()+bad, "Bearer "+token); r.code != 404 {
			t.Errorf("%s: %d, want 404", bad, r.code)
		}
	}
}
