package app

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/pipeline"
)

func runRender(ctx context.Context, env Env, args []string) error {
	f := newFlags("render", env)
	var pf periodFlags
	pf.register(f)
	report := f.String("report", "", "the report to render")
	locale := f.String("locale", "", "es or en (default: the report's)")
	outDir := f.String("out", "", "folder to write NAME-PERIOD.html, .txt, .xlsx and .json into")
	if err := f.parse(args); err != nil {
		return err
	}
	if *report == "" || *outDir == "" {
		return usageError("render: --report and --out are required")
	}
	if *locale != "" && *locale != "es" && *locale != "en" {
		return usageError("render: --locale %q: want es or en", *locale)
	}
	cfg, err := f.load(env)
	if err != nil {
		return err
	}
	r, ok := cfg.Report(*report)
	if !ok {
		_, err := selectReports(cfg, *report, false)
		return err
	}
	log, err := newLogger(env.Stderr, "text", config.NewRedactor(cfg))
	if err != nil {
		return err
	}
	st, err := open(ctx, cfg, log, stackOptions{})
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := pipelineReport(cfg, r)
	if err != nil {
		return err
	}
	if pf.slaHours > 0 {
		rep.SLAHours = pf.slaHours
	}
	if rep.Calendar, err = pf.slaCalendar(cfg, r.SLACalendar); err != nil {
		return err
	}
	p, asOf, err := pf.resolve(r.Kind, r.Location, time.Now())
	if err != nil {
		return err
	}
	paths, err := renderFiles(ctx, st.renderer, rep, p, asOf, cmp.Or(*locale, rep.Locale), *outDir)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(env.Stdout, p)
	}
	return nil
}

// renderFiles writes a report's four artifacts into dir, each atomically.
func renderFiles(ctx context.Context, r *pipeline.Renderer, rep pipeline.Report, p period.Period, asOf time.Time, locale, dir string) ([]string, error) {
	b, err := r.Build(ctx, rep, p, asOf, asOf)
	if err != nil {
		return nil, withCode(sourceCode(err), err)
	}
	defer b.Close()
	if rep.Audience.Personal() {
		return renderPersonalFiles(r, b, locale, dir)
	}
	d, err := r.Digest(b, locale, "")
	if err != nil {
		return nil, err
	}
	wb, err := r.Workbook(b, locale)
	if err != nil {
		return nil, err
	}
	js, err := pipeline.JSON(b)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, rep.Name+"-"+p.Label())
	files := []struct {
		ext  string
		data []byte
	}{{".html", []byte(d.HTML)}, {".txt", []byte(d.Text)}, {".xlsx", wb}, {".json", js}}
	var paths []string
	for _, fl := range files {
		if err := writeFileAtomic(base+fl.ext, fl.data); err != nil {
			return nil, err
		}
		paths = append(paths, base+fl.ext)
	}
	return paths, nil
}

// renderPersonalFiles writes each person's four artifacts of a personal
// report into dir, as NAME-PERIOD-PERSON.html and so on (PERSON the team
// member's id, made safe for a file name). A person who cannot get a
// digest (no email, not a sales rep) is named on stderr's log by the
// caller's run; render writes what a run would send, skipped people
// included, so that what skip_empty leaves out can be looked at too.
func renderPersonalFiles(r *pipeline.Renderer, b *pipeline.Build, locale, dir string) ([]string, error) {
	people, err := pipeline.People(b)
	if err != nil {
		return nil, withCode(ExitConfig, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, person := range people {
		if person.ID == "" {
			continue // a listed address that is nobody's: nothing to render
		}
		sl, err := b.Slice(person)
		if err != nil {
			return nil, err
		}
		d, err := r.PersonalDigest(b, sl, cmp.Or(person.Locale, locale), "")
		if err != nil {
			return nil, err
		}
		wb, err := r.PersonalWorkbook(b, sl, cmp.Or(person.Locale, locale))
		if err != nil {
			return nil, err
		}
		js, err := pipeline.PersonalJSON(sl)
		if err != nil {
			return nil, err
		}
		base := filepath.Join(dir, b.Report.Name+"-"+b.Snapshot.Period.Label+"-"+fileSafe(person.ID))
		files := []struct {
			ext  string
			data []byte
		}{{".html", []byte(d.HTML)}, {".txt", []byte(d.Text)}, {".xlsx", wb}, {".json", js}}
		for _, fl := range files {
			if err := writeFileAtomic(base+fl.ext, fl.data); err != nil {
				return nil, err
			}
			paths = append(paths, base+fl.ext)
		}
	}
	return paths, nil
}

// fileSafe keeps letters, digits, - and _ of an id for a file name, and
// replaces the rest, so that no id can name a path.
func fileSafe(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// writeFileAtomic writes through a temporary file and a rename, so a reader
// never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
