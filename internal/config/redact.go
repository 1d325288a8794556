package config

import (
	"net/url"
	"strings"
)

func urlPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return pw
}

// Redactor replaces every secret of the configuration in a text with
// "xxxxx", as a last guard for messages that reach logs or the terminal.
type Redactor struct{ secrets []string }

// NewRedactor returns a Redactor for c's secrets.
func NewRedactor(c *Config) *Redactor {
	var s []string
	for _, v := range c.Secrets() {
		if len(v) >= 4 { // too short to redact without mangling ordinary text
			s = append(s, v, url.QueryEscape(v), url.PathEscape(v))
		}
	}
	return &Redactor{secrets: s}
}

// Redact returns text with every secret replaced.
func (r *Redactor) Redact(text string) string {
	if r == nil {
		return text
	}
	for _, s := range r.secrets {
		text = strings.ReplaceAll(text, s, "xxxxx")
	}
	return text
}
