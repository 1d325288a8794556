// Package templates holds sameteam's email templates: the HTML and
// plain-text layouts, their partials and one body per audience. They are
// embedded in the binary; internal/digest parses them from any fs.FS, so a
// development build can read them from disk instead.
package templates

import "embed"

// FS is the embedded template files.
//
//go:embed *.html *.txt
var FS embed.FS
