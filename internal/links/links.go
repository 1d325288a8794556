// Package links makes deep links into the company's CRM from the URL
// templates of the configuration's links: block: a lead, an opportunity
// or a campaign by its id.
package links

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Placeholder is where a template takes the record's id.
const Placeholder = "{id}"

// Templates are the CRM's URL templates; an empty one makes no links.
type Templates struct {
	Lead        string `yaml:"lead"`
	Opportunity string `yaml:"opportunity"`
	Campaign    string `yaml:"campaign"`
}

// Check says what is wrong with a template: it must hold {id} and be an
// absolute http or https URL with a host once an id is put in. Anything
// else (javascript:, data:, a relative path) could run or lead somewhere
// the reader does not expect from a link in their email.
func Check(tmpl string) error {
	if !strings.Contains(tmpl, Placeholder) {
		return fmt.Errorf("%q has no %s for the record's id", tmpl, Placeholder)
	}
	u, err := url.Parse(strings.ReplaceAll(tmpl, Placeholder, "x"))
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", tmpl, errors.Unwrap(err))
	}
	if s := strings.ToLower(u.Scheme); s != "https" && s != "http" {
		return fmt.Errorf("%q: only https:// and http:// links are allowed", tmpl)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", tmpl)
	}
	return nil
}

// LeadURL is the link to the lead id, or "" without a template or an id.
func (t Templates) LeadURL(id string) string { return expand(t.Lead, id) }

// OpportunityURL is the link to the opportunity id.
func (t Templates) OpportunityURL(id string) string { return expand(t.Opportunity, id) }

// CampaignURL is the link to the campaign id.
func (t Templates) CampaignURL(id string) string { return expand(t.Campaign, id) }

// expand puts id into tmpl, every byte but the unreserved ones (RFC 3986:
// letters, digits, - . _ ~) percent-encoded, so that an id is one path
// segment or one query value wherever the template puts it, and can
// neither end the URL's path nor add a parameter.
func expand(tmpl, id string) string {
	if tmpl == "" || strings.TrimSpace(id) == "" {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return strings.ReplaceAll(tmpl, Placeholder, b.String())
}
