package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
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
	_, known := formats[ext]
	if !ok || !dot || !known || !nameRE.MatchString(name) || !labelRE.MatchString(label) || !personRE.MatchString(person) {
		http.NotFound(w, r)
		return
	}
	s.rendered(w, r, name, label, ext, name+"-"+label+"-"+person, func(ctx context.Context, out io.Writer) error {
		return pr.RenderPersonal(ctx, name, label, person, ext, out)
	})
}
