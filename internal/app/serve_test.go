package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/server"
	"github.com/sameteam/sameteam/internal/testdb"
)

// sheetRows reads every sheet of a workbook as text.
func sheetRows(t *testing.T, b []byte) map[string][][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][][]string{}
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = rows
	}
	return out
}

// stack loads the world's configuration and opens the stack serve runs on,
// with its ledger, for the length of the test.
func (w *world) stack(t *testing.T) (*config.Config, *stack) {
	t.Helper()
	cfg, err := config.Load(w.cfg, true, func(k string) (string, bool) { v, ok := w.vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	st, err := open(t.Context(), cfg, nil, stackOptions{Ledger: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return cfg, st
}

// A download of a delivered period is the workbook that was mailed: the
// server renders at the as_of of the delivery, and `render` with that
// as_of writes the same workbook.
func TestDownloadEqualsRenderedWorkbook(t *testing.T) {
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"ana@example.com"}})
	if r := w.run(); r.code != ExitOK {
		t.Fatalf("run: %s", r)
	}
	out := t.TempDir()
	if r := cli(t, w.vars, "render", "--config", w.cfg, "--report", testReport, "--period", testPeriod, "--as-of", testAsOf, "--out", out); r.code != ExitOK {
		t.Fatalf("render: %s", r)
	}
	rendered, err := os.ReadFile(filepath.Join(out, testReport+"-"+testPeriod+".xlsx"))
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	cfg, st := w.stack(t)
	rep, err := pipelineReport(cfg, &cfg.Reports[0])
	if err != nil {
		t.Fatal(err)
	}
	h := httpRenderer{reports: map[string]pipeline.Report{testReport: rep}, st: st}
	var downloaded bytes.Buffer
	if err := h.Render(ctx, testReport, testPeriod, "xlsx", &downloaded); err != nil {
		t.Fatal(err)
	}
	want, got := sheetRows(t, rendered), sheetRows(t, downloaded.Bytes())
	if len(got) != len(want) {
		t.Fatalf("download has %d sheets, render %d", len(got), len(want))
	}
	for name, rows := range want {
		if len(got[name]) != len(rows) {
			t.Errorf("sheet %s: %d rows downloaded, %d rendered", name, len(got[name]), len(rows))
			continue
		}
		for i := range rows {
			for j := range rows[i] {
				if j >= len(got[name][i]) || got[name][i][j] != rows[i][j] {
					t.Errorf("sheet %s row %d differs:\n got  %v\n want %v", name, i+1, got[name][i], rows[i])
					break
				}
			}
		}
	}
}

// The index shows a run the ledger recorded as succeeded with ✓: the page
// reads the statuses the ledger writes, not words of its own.
func TestIndexShowsTheLedgersRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"ana@example.com"}})
	if r := w.run(); r.code != ExitOK {
		t.Fatalf("run: %s", r)
	}
	ctx := t.Context()
	cfg, st := w.stack(t)
	reports, err := pipelineReports(cfg)
	if err != nil {
		t.Fatal(err)
	}
	index, downloads, pinger := httpSide(st, reports, nil)
	srv, err := server.New(server.Options{Listen: "127.0.0.1:0", AllowAnonymous: true, Reports: index, Renderer: downloads, Pinger: pinger})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.WithoutCancel(ctx))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	row := `<td class="nw">` + testPeriod + `</td><td><span class="st st-ok">✓ succeeded</span></td><td>manual</td>`
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), row) {
		t.Fatalf("index (%d) lacks the run as the ledger recorded it, %s:\n%s", resp.StatusCode, row, body)
	}
}
