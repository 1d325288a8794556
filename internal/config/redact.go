package config

import "github.com/sameteam/sameteam/internal/secret"

// Redactor replaces every secret of the configuration in a text with
// "xxxxx", as a last guard for messages that reach logs or the terminal.
type Redactor struct{ secrets []string }

// NewRedactor returns a Redactor for c's secrets.
func NewRedactor(c *Config) *Redactor {
	return &Redactor{secrets: c.Secrets()}
}

// Redact returns text with every secret replaced.
func (r *Redactor) Redact(text string) string {
	if r == nil {
		return text
	}
	return secret.Redact(text, r.secrets...)
}
