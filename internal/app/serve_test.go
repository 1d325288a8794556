package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/pipeline"
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
	cfg, err := config.Load(w.cfg, true, func(k string) (string, bool) { v, ok := w.vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	st, err := open(ctx, cfg, nil, stackOptions{Ledger: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
