package app

import (
	"context"
	"fmt"
	"io"

	"github.com/sameteam/sameteam/internal/pipeline"
	"github.com/sameteam/sameteam/internal/server"
)

// RenderPersonal renders one person's file of a personal report, at the
// as_of of the period's delivery when there was one, as Render does for a
// team report. The person is a team member's id the report goes to.
func (h httpRenderer) RenderPersonal(ctx context.Context, name, label, person, format string, w io.Writer) error {
	b, err := h.build(ctx, name, label, true)
	if err != nil {
		return err
	}
	defer b.Close()
	people, err := pipeline.People(b)
	if err != nil {
		return err
	}
	for _, pp := range people {
		if pp.ID != person || pp.Problem != "" {
			continue
		}
		sl, err := b.Slice(pp)
		if err != nil {
			return err
		}
		switch format {
		case "html":
			d, err := h.st.renderer.PersonalDigest(b, sl, b.Report.Locale, "")
			if err != nil {
				return err
			}
			_, err = io.WriteString(w, d.HTML)
			return err
		case "xlsx":
			wb, err := h.st.renderer.PersonalWorkbook(b, sl, b.Report.Locale)
			if err != nil {
				return err
			}
			_, err = w.Write(wb)
			return err
		case "json":
			js, err := pipeline.PersonalJSON(sl)
			if err != nil {
				return err
			}
			_, err = w.Write(js)
			return err
		}
		return fmt.Errorf("%w: format %q", server.ErrBadPeriod, format)
	}
	return server.ErrUnknownPerson
}

// RenderPersonal serves a person's file once the database has answered.
func (g *readiness) RenderPersonal(ctx context.Context, report, label, person, format string, w io.Writer) error {
	g.mu.RLock()
	r := g.renderer
	g.mu.RUnlock()
	if r == nil {
		return errNotConnected
	}
	pr, ok := r.(server.PersonalRenderer)
	if !ok {
		return server.ErrUnknownReport
	}
	return pr.RenderPersonal(ctx, report, label, person, format, w)
}
