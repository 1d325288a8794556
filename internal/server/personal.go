package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/sameteam/sameteam/internal/period"
)

// PersonalRenderer renders one person's files of a personal report (a
// rep's, a campaign owner's). A Renderer that is one also serves
// /reports/{name}/{period}/{person}.{html|xlsx|json}.
type PersonalRenderer interface {
	RenderPersonal(ctx context.Context, report, periodLabel, person, format string, w io.Writer) error
}

// ErrUnknownPerson is returned by RenderPersonal for a person the report
// does not go to: 404.
var ErrUnknownPerson = errors.New("server: no such person in this report")

// personRE is what a person's id may be in a path: a CRM id (letters,
// digits, - and _), never a dot segment or a separator.
var personRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// personalReport serves one person's file. Its path names the person, so
// a signed link (which signs the exact path) opens that person's file
// only: a link mailed to one rep does not open another's. The bearer
// token, the admin's, opens every one.
func (s *Server) personalReport(w http.ResponseWriter, r *http.Request) {
	pr, ok := s.opts.Renderer.(PersonalRenderer)
	name, label, file := r.PathValue("name"), r.PathValue("label"), r.PathValue("file")
	person, ext, dot := strings.Cut(file, ".")
	ctype, known := formats[ext]
	if !ok || !dot || !known || !nameRE.MatchString(name) || !labelRE.MatchString(label) || !personRE.MatchString(person) {
		http.NotFound(w, r)
		return
	}
	if _, err := period.Parse(label, time.UTC); err != nil {
		http.NotFound(w, r)
		return
	}
	select {
	case s.renders <- struct{}{}:
		defer func() { <-s.renders }()
	default:
		w.Header().Set("Retry-After", "5")
		text(w, http.StatusTooManyRequests, "busy rendering other reports; retry shortly")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout*9/10)
	defer cancel()
	var buf bytes.Buffer
	begun := time.Now()
	err := pr.RenderPersonal(ctx, name, label, person, ext, &buf)
	switch {
	case errors.Is(err, ErrUnknownReport), errors.Is(err, ErrBadPeriod), errors.Is(err, period.ErrLabel), errors.Is(err, ErrUnknownPerson):
		http.NotFound(w, r)
		return
	case err != nil:
		s.log.Error("http: render failed", "report", name, "period", label, "format", ext, slog.Any("error", err))
		text(w, http.StatusInternalServerError, "the report could not be rendered; see the server log")
		return
	}
	s.log.Info("http: rendered", "report", name, "period", label, "format", ext,
		"bytes", buf.Len(), "duration_ms", time.Since(begun).Milliseconds())
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-store")
	switch ext {
	case "xlsx":
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s.xlsx"`, name, label, person))
	case "html":
		h.Set("Content-Security-Policy", reportCSP)
	case "json":
		h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-%s-%s.json"`, name, label, person))
	}
	h.Set("Content-Length", fmt.Sprint(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = buf.WriteTo(w)
}
