// Package config loads sameteam's configuration: one YAML file (optional),
// ${ENV} expansion inside its values, environment overrides, *_FILE
// secrets, then validation that reports every problem at once with its path
// (reports[1].schedule: …). Unknown keys are errors, so a typo never turns
// into a silently ignored setting.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/mail"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sameteam/sameteam/internal/crmpack"
	"github.com/sameteam/sameteam/internal/gate"
	"github.com/sameteam/sameteam/internal/links"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/schedule"
	"github.com/sameteam/sameteam/internal/secret"
	"github.com/sameteam/sameteam/internal/workhours"
)

// DefaultPath is read when --config is not given and the file exists.
const DefaultPath = "config/sameteam.yaml"

// Config is the whole configuration.
type Config struct {
	TimeZone string         `yaml:"time_zone"`
	Location *time.Location `yaml:"-"` // TimeZone, resolved by Validate
	Locale   string         `yaml:"locale"`
	Currency string         `yaml:"currency"`
	SLAHours float64        `yaml:"sla_hours"`
	// Calendars are working calendars by name; SLACalendar names the one
	// every report's SLA counts in ("" or none: wall-clock hours).
	Calendars   map[string]Calendar `yaml:"calendars"`
	SLACalendar string              `yaml:"sla_calendar"`
	Targets     map[string]Target   `yaml:"targets"`
	// Gate is checked before any digest is sent; a report's own gate
	// replaces it. Owners are told when a report is held.
	Gate            *Gate    `yaml:"gate"`
	Owners          []string `yaml:"owners"`
	Source          Source   `yaml:"source"`
	State           State    `yaml:"state"`
	SMTP            SMTP     `yaml:"smtp"`
	Outbox          string   `yaml:"outbox"`
	MaxAttachmentMB float64  `yaml:"max_attachment_mb"`
	AllowedDomains  []string `yaml:"allowed_domains"`
	Server          Server   `yaml:"server"`
	// Links are URL templates into the CRM ({id} is the record's id);
	// digests and workbooks link leads, opportunities and campaigns to
	// them.
	Links   links.Templates `yaml:"links"`
	Reports []Report        `yaml:"reports"`

	// BuiltinReports is true when no report was configured and the three
	// weekly defaults stand in.
	BuiltinReports bool `yaml:"-"`

	// calendars are the validated Calendars.
	calendars map[string]*workhours.Calendar
}

// Calendar is a working calendar (see internal/workhours): the SLA of a
// report that names it counts working hours.
type Calendar struct {
	TimeZone string              `yaml:"time_zone"`
	Hours    map[string][]string `yaml:"hours"` // mon … sun: ["09:00-14:00", "15:00-18:30"]
	Holidays []string            `yaml:"holidays"`
}

// Gate is the data-quality gate of a report (see internal/gate). An absent
// rule is no rule.
type Gate struct {
	MaxSourceAge     *Duration `yaml:"max_source_age"`     // newest activity and lead at most this old at as_of
	MinActivityRatio *float64  `yaml:"min_activity_ratio"` // period's activities against the previous period's, (0, 1]
	Require          []string  `yaml:"require"`            // relations that must hold rows in the period
}

// NoCalendar, as a calendar name, means wall-clock hours.
const NoCalendar = "none"

// Target holds the targets of one period kind.
type Target struct {
	MQLs int `yaml:"mqls"`
}

// Source is where the activity data lives.
type Source struct {
	URL          string            `yaml:"url"`
	Tables       map[string]string `yaml:"tables"`
	QueryTimeout Duration          `yaml:"query_timeout"`
	// Pack builds the five relations as views over a CRM sync; Tables
	// then name those views.
	Pack *crmpack.Config `yaml:"pack"`
	// ViewsSchema is where the pack's views live.
	ViewsSchema string `yaml:"views_schema"`
}

// State is where the ledger lives; empty URL means the source database.
type State struct {
	URL string `yaml:"url"`
}

// SMTP configures the mail relay; an empty Host means the outbox.
type SMTP struct {
	Host          string   `yaml:"host"`
	Port          int      `yaml:"port"`
	TLS           string   `yaml:"tls"` // starttls (default), tls, none
	AllowInsecure bool     `yaml:"allow_insecure"`
	Auth          string   `yaml:"auth"` // plain, login, cram-md5, none
	Username      string   `yaml:"username"`
	Password      string   `yaml:"password"`
	From          string   `yaml:"from"`
	ReplyTo       string   `yaml:"reply_to"`
	HELO          string   `yaml:"helo"`
	Timeout       Duration `yaml:"timeout"`
}

// Server configures the HTTP server of serve.
type Server struct {
	Listen    string   `yaml:"listen"`
	PublicURL string   `yaml:"public_url"`
	Token     string   `yaml:"token"`
	LinkKey   string   `yaml:"link_key"`
	LinkTTL   Duration `yaml:"link_ttl"`
}

// Report is one scheduled digest.
type Report struct {
	Name           string          `yaml:"name"`
	Audience       report.Audience `yaml:"audience"`
	Period         string          `yaml:"period"`   // day, week, month, quarter
	Schedule       string          `yaml:"schedule"` // cron, 5 fields
	TimeZone       string          `yaml:"time_zone"`
	Locale         string          `yaml:"locale"`
	SLAHours       float64         `yaml:"sla_hours"`
	Recipients     []Recipient     `yaml:"recipients"`
	RecipientsFrom string          `yaml:"recipients_from"` // team:sales, team:marketing (comma-separated), campaign_owners
	// SkipEmpty, for a personal report, sends nothing to a person with
	// nothing due and nothing in the period; the ledger records the skip.
	SkipEmpty   bool     `yaml:"skip_empty"`
	SLACalendar string   `yaml:"sla_calendar"` // a calendar's name or none; default the top-level sla_calendar
	Gate        *Gate    `yaml:"gate"`         // replaces the top-level gate; {} turns it off
	Owners      []string `yaml:"owners"`       // replace the top-level owners
	CatchUp     int      `yaml:"catch_up"`     // periods before the current one that run and serve finish when owed (schedule.Owed); default 1

	// Resolved by Validate from the fields above, with the parsers the
	// runtime uses, so no later step parses them again.
	Kind     period.Kind    `yaml:"-"` // Period
	Location *time.Location `yaml:"-"` // TimeZone
}

// Recipient is an address with an optional locale of its own. In YAML it is
// either a plain address or {email: …, locale: en}.
type Recipient struct {
	Email  string `yaml:"email"`
	Locale string `yaml:"locale"`
}

// UnmarshalYAML accepts a plain string or a mapping.
func (r *Recipient) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		r.Email = n.Value
		return nil
	}
	type plain Recipient
	return n.Decode((*plain)(r))
}

// Duration is a time.Duration written as "60s" or "168h" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a duration (like 60s or 168h)", n.Value)
	}
	*d = Duration(v)
	return nil
}

// D is the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Default returns the configuration before any file or environment.
func Default() *Config {
	return &Config{
		TimeZone:        "UTC",
		Locale:          "es",
		Currency:        "EUR",
		SLAHours:        24,
		Outbox:          "outbox",
		MaxAttachmentMB: 10,
		Source:          Source{QueryTimeout: Duration(60 * time.Second)},
		SMTP:            SMTP{TLS: "starttls", Timeout: Duration(60 * time.Second)},
		Server:          Server{Listen: ":8080", LinkTTL: Duration(7 * 24 * time.Hour)},
	}
}

// BuiltinReports are the reports used when the configuration names none:
// the three weekly digests, Monday 08:00 in the configured zone.
func BuiltinReports() []Report {
	return []Report{
		{Name: "weekly-leadership", Audience: "leadership", Period: "week", Schedule: "0 8 * * MON"},
		{Name: "weekly-sales", Audience: "sales", Period: "week", Schedule: "0 8 * * MON", RecipientsFrom: "team:sales"},
		{Name: "weekly-marketing", Audience: "marketing", Period: "week", Schedule: "0 8 * * MON", RecipientsFrom: "team:marketing"},
	}
}

// Problem is one thing wrong with the configuration.
type Problem struct {
	Path string // reports[1].schedule; empty for the file as a whole
	Line int    // in the file, when known
	Msg  string
}

func (p Problem) String() string {
	s := p.Msg
	if p.Path != "" {
		s = p.Path + ": " + s
	}
	if p.Line > 0 {
		s = fmt.Sprintf("line %d: %s", p.Line, s)
	}
	return s
}

// Problems is every problem found; it is the error Load returns.
type Problems struct {
	File string
	List []Problem
	// secrets are values expanded from secret-looking variables; a YAML
	// error quotes the value it could not use, so they are hidden here.
	secrets []string
	// lines maps the path of every setting of the file to its line.
	lines map[string]int
}

// ErrInvalid matches every configuration error (errors.Is).
var ErrInvalid = errors.New("config: invalid configuration")

func (p *Problems) Error() string {
	var b strings.Builder
	where := "configuration"
	if p.File != "" {
		where = p.File
	}
	fmt.Fprintf(&b, "%s: %d problem", where, len(p.List))
	if len(p.List) != 1 {
		b.WriteString("s")
	}
	for _, pr := range p.List {
		b.WriteString("\n  ")
		b.WriteString(pr.String())
	}
	return secret.Redact(b.String(), p.secrets...)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (p *Problems) Is(target error) bool { return target == ErrInvalid }

// add records a problem; a line of 0 is looked up from the path.
func (p *Problems) add(path string, line int, format string, args ...any) {
	if line == 0 {
		line = p.lineOf(path)
	}
	p.List = append(p.List, Problem{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Env looks up environment variables; os.LookupEnv in production.
type Env func(string) (string, bool)

// Load reads the configuration: defaults, then the file at path (if path is
// empty, DefaultPath when it exists), then the environment. explicit says
// whether path was given by the user (a missing explicit file is an error).
func Load(path string, explicit bool, env Env) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	cfg := Default()
	probs := &Problems{}
	if path == "" {
		path = DefaultPath
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		probs.File = path
		decode(b, cfg, env, probs)
	case explicit || !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("config: %w", err)
	}
	return finish(cfg, env, probs)
}

// finish applies the environment and validates, unless decoding already
// found problems (which would only be repeated).
func finish(cfg *Config, env Env, probs *Problems) (*Config, error) {
	if len(probs.List) == 0 {
		applyEnv(cfg, env, probs)
	}
	if len(probs.List) == 0 {
		cfg.Validate(probs)
	}
	if len(probs.List) > 0 {
		return nil, probs
	}
	return cfg, nil
}

// Parse reads a configuration from YAML bytes (for tests and fuzzing); name
// is used in messages.
func Parse(name string, b []byte, env Env) (*Config, error) {
	cfg := Default()
	probs := &Problems{File: name}
	decode(b, cfg, env, probs)
	return finish(cfg, env, probs)
}

// MaxFileBytes is the largest configuration file read: a real one is a few
// kilobytes, and the cap bounds what the YAML parser is given.
const MaxFileBytes = 1 << 20

func decode(b []byte, cfg *Config, env Env, probs *Problems) {
	if len(b) > MaxFileBytes {
		probs.add("", 0, "the file is %d bytes, over the limit of %d", len(b), MaxFileBytes)
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		probs.add("", 0, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	// A second document (after ---) would otherwise be ignored without a
	// word: a concatenated or templated file must not lose half its
	// settings silently.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			probs.add("", line, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		} else {
			probs.add("", line, "a second YAML document (after ---): put every setting in one document")
		}
		return
	}
	if doc.Kind == 0 {
		return // empty file
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	expandNode(root, "", env, probs)
	recordLines(root, "", probs)
	checkKeys(root, typeOfConfig, "", probs)
	if len(probs.List) > 0 {
		return
	}
	if err := root.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				// yaml quotes the start of the value it could not use,
				// which may be the start of an expanded secret.
				probs.add("", 0, "%s", quotedRE.ReplaceAllString(e, "a value"))
			}
			return
		}
		probs.add("", 0, "%s", err)
	}
}

var quotedRE = regexp.MustCompile("`[^`]*`")

var envRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandNode replaces ${VAR} and ${VAR:-default} in scalar values (never in
// keys, and after parsing, so a value cannot inject YAML structure). An
// unset variable without a default is a problem: an empty password or URL
// should fail loudly, not later.
func expandNode(n *yaml.Node, path string, env Env, probs *Problems) {
	switch n.Kind {
	case yaml.ScalarNode:
		n.Value = envRE.ReplaceAllStringFunc(n.Value, func(m string) string {
			g := envRE.FindStringSubmatch(m)
			if v, ok := env(g[1]); ok {
				if secretName(g[1]) {
					probs.secrets = append(probs.secrets, v)
				}
				return v
			}
			if g[2] != "" {
				return g[3]
			}
			probs.add(path, n.Line, "environment variable %s is not set", g[1])
			return ""
		})
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			expandNode(n.Content[i+1], join(path, n.Content[i].Value), env, probs)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			expandNode(c, fmt.Sprintf("%s[%d]", path, i), env, probs)
		}
	}
}

// secretName tells whether an environment variable's name suggests a
// secret, whose value must never be quoted in a message.
func secretName(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range []string{"PASSWORD", "PASS", "TOKEN", "SECRET", "KEY", "URL", "DSN"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// applyEnv applies the SAMETEAM_* overrides and *_FILE secrets.
func applyEnv(cfg *Config, env Env, probs *Problems) {
	str := func(name string, dst *string) {
		if v, ok := env(name); ok && v != "" {
			*dst = v
		}
		if file, ok := env(name + "_FILE"); ok && file != "" {
			v, err := secret.ReadFile(file)
			if err != nil {
				probs.add(name+"_FILE", 0, "%v", err)
				return
			}
			*dst = v
		}
	}
	str("SAMETEAM_DATABASE_URL", &cfg.Source.URL)
	str("SAMETEAM_STATE_URL", &cfg.State.URL)
	str("SAMETEAM_TIME_ZONE", &cfg.TimeZone)
	str("SAMETEAM_SMTP_HOST", &cfg.SMTP.Host)
	str("SAMETEAM_SMTP_USERNAME", &cfg.SMTP.Username)
	str("SAMETEAM_SMTP_PASSWORD", &cfg.SMTP.Password)
	str("SAMETEAM_SMTP_TLS", &cfg.SMTP.TLS)
	str("SAMETEAM_SMTP_FROM", &cfg.SMTP.From)
	str("SAMETEAM_HTTP_TOKEN", &cfg.Server.Token)
	str("SAMETEAM_LINK_KEY", &cfg.Server.LinkKey)
	str("SAMETEAM_OUTBOX", &cfg.Outbox)
	if v, ok := env("SAMETEAM_SMTP_PORT"); ok && v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			probs.add("SAMETEAM_SMTP_PORT", 0, "%q is not a port number", v)
		}
		cfg.SMTP.Port = p
	}
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Validate fills the defaults, then checks every setting and cross-field
// rule, adding one problem per finding, and resolves time zones and period
// kinds into the typed values the runtime uses (Location, Report.Kind,
// Report.Location) with the same parsers the runtime would use.
func (c *Config) Validate(probs *Problems) {
	c.fillDefaults(probs)
	c.check(probs)
}

// fillDefaults gives every unset setting its value: the built-in reports
// when none is configured, and each report's zone, locale, SLA, calendar,
// period kind and catch-up from the top level. It never reports a problem:
// a default is checked where the setting it comes from is.
func (c *Config) fillDefaults(probs *Problems) {
	if len(c.Reports) == 0 {
		c.Reports = BuiltinReports()
		c.BuiltinReports = true
	}
	for i := range c.Reports {
		r := &c.Reports[i]
		if r.Period == "" {
			r.Period = "week"
		}
		if r.TimeZone == "" {
			r.TimeZone = c.TimeZone
		}
		if r.Locale == "" {
			r.Locale = c.Locale
		}
		if r.SLAHours == 0 && !probs.given(fmt.Sprintf("reports[%d].sla_hours", i)) {
			r.SLAHours = c.SLAHours
		}
		if r.SLACalendar == "" {
			r.SLACalendar = c.SLACalendar
		}
		if r.CatchUp == 0 {
			r.CatchUp = 1
		}
	}
}

// zone resolves an IANA zone name; "Local" is refused because it would
// mean a different zone on every machine.
func zone(name string) (*time.Location, bool) {
	if name == "" || name == "Local" {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	return loc, err == nil
}

// check is Validate's second step: the defaults are in place.
func (c *Config) check(probs *Problems) {
	c.Location = nil
	if loc, ok := zone(c.TimeZone); ok {
		c.Location = loc
	} else {
		probs.add("time_zone", 0, "%q is not an IANA time zone (like Europe/Madrid)", c.TimeZone)
	}
	if !report.ValidLocale(c.Locale) {
		probs.add("locale", 0, "%q: want es or en", c.Locale)
	}
	if !currencyRE.MatchString(c.Currency) {
		probs.add("currency", 0, "%q: want an ISO 4217 code like EUR", c.Currency)
	}
	if err := CheckSLAHours(c.SLAHours); err != nil {
		probs.add("sla_hours", 0, "%v", err)
	}
	for kind, t := range c.Targets {
		if _, err := period.ParseKind(kind); err != nil {
			probs.add("targets."+kind, 0, "unknown period kind (want day, week, month or quarter)")
		}
		if t.MQLs < 0 {
			probs.add("targets."+kind+".mqls", 0, "%d: must not be negative", t.MQLs)
		}
	}
	c.validateCalendars(probs)
	c.validateGate("gate", c.Gate, probs)
	c.validateAddresses("owners", c.Owners, probs)
	if _, err := c.Calendar(c.SLACalendar); err != nil {
		probs.add("sla_calendar", 0, "%v", err)
	}
	if c.Source.QueryTimeout.D() <= 0 {
		probs.add("source.query_timeout", 0, "must be above 0")
	}
	c.validatePack(probs)
	if c.MaxAttachmentMB <= 0 {
		probs.add("max_attachment_mb", 0, "%v: must be above 0", c.MaxAttachmentMB)
	}
	c.validateSMTP(probs)
	for i, d := range c.AllowedDomains {
		if !strings.Contains(d, ".") || strings.ContainsAny(d, "@ ") {
			probs.add(fmt.Sprintf("allowed_domains[%d]", i), 0, "%q is not a domain", d)
		}
	}
	if ttl := c.Server.LinkTTL.D(); ttl <= 0 || ttl > 7*24*time.Hour {
		probs.add("server.link_ttl", 0, "%s: want more than 0 and at most 168h (7 days)", ttl)
	}
	if c.Server.PublicURL != "" && !strings.HasPrefix(c.Server.PublicURL, "https://") && !strings.HasPrefix(c.Server.PublicURL, "http://") {
		probs.add("server.public_url", 0, "%q: want an http(s) URL", c.Server.PublicURL)
	}
	if c.Server.PublicURL != "" && len(c.Server.LinkKey) < 32 {
		probs.add("server.link_key", 0, "signed download and unsubscribe links (server.public_url is set) need a key of at least 32 characters (SAMETEAM_LINK_KEY)")
	}

	c.validatePlaceholders(probs)
	for _, l := range []struct{ key, tmpl string }{{"lead", c.Links.Lead}, {"opportunity", c.Links.Opportunity}, {"campaign", c.Links.Campaign}} {
		if l.tmpl == "" {
			continue
		}
		if err := links.Check(l.tmpl); err != nil {
			probs.add("links."+l.key, 0, "%v", err)
		}
	}

	seen := map[string]int{}
	for i := range c.Reports {
		c.validateReport(i, probs, seen)
	}
}

// validatePack fills the pack's defaults, checks its mapping and points
// the source at the pack's views.
func (c *Config) validatePack(probs *Problems) {
	s := &c.Source
	if s.Pack == nil {
		if s.ViewsSchema != "" {
			probs.add("source.views_schema", 0, "only with source.pack (the schema of the pack's views)")
		}
		return
	}
	*s.Pack = s.Pack.WithDefaults()
	for _, p := range s.Pack.Validate("source.pack") {
		probs.add(p.Path, 0, "%s", p.Msg)
	}
	if s.ViewsSchema == "" {
		s.ViewsSchema = "sameteam"
	}
	if !identRE.MatchString(s.ViewsSchema) {
		probs.add("source.views_schema", 0, "%q: want a plain identifier (letters, digits and _)", s.ViewsSchema)
	} else if s.ViewsSchema == s.Pack.Schema {
		probs.add("source.views_schema", 0, "%q is the sync's schema: the views go in a schema of their own, the sync's tables are never touched", s.ViewsSchema)
	}
	if strings.HasPrefix(s.URL, "sqlite:") {
		probs.add("source.pack", 0, "source packs read a CRM sync in PostgreSQL; source.url is SQLite")
	}
	if len(s.Tables) > 0 && !maps.Equal(s.Tables, crmpack.Relations(s.ViewsSchema)) {
		probs.add("source.tables", 0, "not with source.pack: the pack's views in source.views_schema are the five relations")
		return
	}
	s.Tables = crmpack.Relations(s.ViewsSchema)
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Placeholder marks the values of the example Secret
// (config/kubernetes/secret.yaml). A value that contains it, in any case, was
// never replaced, and would otherwise work as a credential anyone can read.
const Placeholder = "CHANGE-ME"

// validatePlaceholders refuses placeholder secrets, naming the setting and
// its variable, never the value.
func (c *Config) validatePlaceholders(probs *Problems) {
	for _, s := range []struct{ path, env, value string }{
		{"source.url", "SAMETEAM_DATABASE_URL", c.Source.URL},
		{"state.url", "SAMETEAM_STATE_URL", c.State.URL},
		{"smtp.password", "SAMETEAM_SMTP_PASSWORD", c.SMTP.Password},
		{"server.token", "SAMETEAM_HTTP_TOKEN", c.Server.Token},
		{"server.link_key", "SAMETEAM_LINK_KEY", c.Server.LinkKey},
	} {
		if strings.Contains(strings.ToUpper(s.value), Placeholder) {
			probs.add(s.path, 0, "%s holds the example Secret's placeholder: replace it with a real value (a token or key from openssl rand -hex 32)", s.env)
		}
	}
}

func (c *Config) validateSMTP(probs *Problems) {
	s := &c.SMTP
	if !slices.Contains([]string{"starttls", "tls", "none"}, s.TLS) {
		probs.add("smtp.tls", 0, "%q: want starttls, tls or none", s.TLS)
	}
	if !slices.Contains([]string{"", "none", "plain", "login", "cram-md5"}, s.Auth) {
		probs.add("smtp.auth", 0, "%q: want plain, login, cram-md5 or none", s.Auth)
	}
	if s.Port < 0 || s.Port > 65535 {
		probs.add("smtp.port", 0, "%d is not a port", s.Port)
	}
	if s.Host == "" {
		return
	}
	if s.From == "" {
		probs.add("smtp.from", 0, "required when smtp.host is set (SAMETEAM_SMTP_FROM)")
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		probs.add("smtp.from", 0, "%q is not an address", s.From)
	}
	if s.ReplyTo != "" {
		if _, err := mail.ParseAddress(s.ReplyTo); err != nil {
			probs.add("smtp.reply_to", 0, "%q is not an address", s.ReplyTo)
		}
	}
	if s.Auth != "" && s.Auth != "none" && s.Username == "" {
		probs.add("smtp.username", 0, "required with smtp.auth %s", s.Auth)
	}
	if s.Timeout.D() <= 0 {
		probs.add("smtp.timeout", 0, "must be above 0")
	}
}

func (c *Config) validateReport(i int, probs *Problems, seen map[string]int) {
	r := &c.Reports[i]
	at := func(field string) string { return fmt.Sprintf("reports[%d].%s", i, field) }
	if !report.ValidName(r.Name) {
		probs.add(at("name"), 0, "%q: want lower-case letters, digits and -, at most 64", r.Name)
	} else if j, dup := seen[r.Name]; dup {
		probs.add(at("name"), 0, "%q is already the name of reports[%d]", r.Name, j)
	}
	seen[r.Name] = i
	if _, err := report.ParseAudience(string(r.Audience)); err != nil {
		probs.add(at("audience"), 0, "%v", err)
	}
	r.Kind, r.Location = "", nil
	if k, err := period.ParseKind(r.Period); err != nil {
		probs.add(at("period"), 0, "%q: want day, week, month or quarter", r.Period)
	} else {
		r.Kind = k
	}
	// A zone or locale taken from the top level was checked there: one
	// problem per mistake.
	if r.TimeZone == c.TimeZone {
		r.Location = c.Location
	} else if loc, ok := zone(r.TimeZone); ok {
		r.Location = loc
	} else {
		probs.add(at("time_zone"), 0, "%q is not an IANA time zone", r.TimeZone)
	}
	if r.Locale != c.Locale && !report.ValidLocale(r.Locale) {
		probs.add(at("locale"), 0, "%q: want es or en", r.Locale)
	}
	if r.SLAHours != c.SLAHours || probs.given(at("sla_hours")) {
		if err := CheckSLAHours(r.SLAHours); err != nil {
			probs.add(at("sla_hours"), 0, "%v", err)
		}
	}
	if r.Schedule != "" {
		// The scheduler's own check: what passes here is what serve runs.
		// With a bad zone (reported above) the expression is still read,
		// in UTC.
		loc := r.Location
		if loc == nil {
			loc = time.UTC
		}
		if err := schedule.Validate(r.Schedule, loc); err != nil {
			probs.add(at("schedule"), 0, "%s", strings.TrimPrefix(err.Error(), "schedule: "))
		}
	}
	if r.SLACalendar == c.SLACalendar {
		// Checked at the top level.
	} else if _, err := c.Calendar(r.SLACalendar); err != nil {
		probs.add(at("sla_calendar"), 0, "%v", err)
	}
	c.validateGate(at("gate"), r.Gate, probs)
	c.validateAddresses(at("owners"), r.Owners, probs)
	if r.CatchUp < 0 || r.CatchUp > 100 {
		probs.add(at("catch_up"), 0, "%d: want 0 to 100 periods", r.CatchUp)
	}
	for j, rc := range r.Recipients {
		p := fmt.Sprintf("reports[%d].recipients[%d]", i, j)
		if !bareAddress(rc.Email) {
			probs.add(p, 0, "%q is not an email address (give the bare address, like ana@example.com)", rc.Email)
		}
		if !c.allowed(rc.Email) {
			probs.add(p, 0, "%q is outside allowed_domains", rc.Email)
		}
		if rc.Locale != "" && !report.ValidLocale(rc.Locale) {
			probs.add(p+".locale", 0, "%q: want es or en", rc.Locale)
		}
	}
	c.validateRecipientsFrom(r, at, probs)
}

// validateRecipientsFrom checks recipients_from and skip_empty against the
// report's audience: a rep digest goes to sales reps, a campaign owner's to
// the owners of campaigns, a team digest to teams.
func (c *Config) validateRecipientsFrom(r *Report, at func(string) string, probs *Problems) {
	var parts []string
	if r.RecipientsFrom != "" {
		for _, part := range strings.Split(r.RecipientsFrom, ",") {
			parts = append(parts, strings.TrimSpace(part))
		}
	}
	switch r.Audience {
	case report.AudienceRep:
		for _, part := range parts {
			if part != report.FromSales {
				probs.add(at("recipients_from"), 0, "%q: a rep report goes to sales reps: want %s (or list them in recipients)", part, report.FromSales)
			}
		}
	case report.AudienceCampaignOwner:
		if len(r.Recipients) > 0 {
			probs.add(at("recipients"), 0, "a campaign_owner report goes to the owners of campaigns: use recipients_from: %s", report.FromCampaignOwners)
		}
		if len(parts) != 1 || parts[0] != report.FromCampaignOwners {
			probs.add(at("recipients_from"), 0, "%q: want %s (the owners of campaigns, by campaigns.owner_id)", r.RecipientsFrom, report.FromCampaignOwners)
		}
	default:
		for _, part := range parts {
			if part != report.FromSales && part != report.FromMarketing {
				probs.add(at("recipients_from"), 0, "%q: want %s or %s", part, report.FromSales, report.FromMarketing)
			}
		}
		if r.SkipEmpty {
			probs.add(at("skip_empty"), 0, "only a personal report (audience rep or campaign_owner) skips people with nothing to read")
		}
	}
}

// validateGate checks a gate's rules with the gate's own bounds.
func (c *Config) validateGate(path string, g *Gate, probs *Problems) {
	if g == nil {
		return
	}
	if g.MaxSourceAge != nil {
		if err := gate.CheckAge(g.MaxSourceAge.D()); err != nil {
			probs.add(path+".max_source_age", 0, "%v", err)
		}
	}
	if g.MinActivityRatio != nil {
		if err := gate.CheckRatio(*g.MinActivityRatio); err != nil {
			probs.add(path+".min_activity_ratio", 0, "%v", err)
		}
	}
	for i, rel := range g.Require {
		if err := gate.CheckRelation(rel); err != nil {
			probs.add(fmt.Sprintf("%s.require[%d]", path, i), 0, "%v", err)
		}
	}
}

// validateAddresses checks a list of addresses sameteam sends to.
func (c *Config) validateAddresses(path string, list []string, probs *Problems) {
	for i, a := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !bareAddress(a) {
			probs.add(p, 0, "%q is not an email address (give the bare address, like ana@example.com)", a)
		} else if !c.allowed(a) {
			probs.add(p, 0, "%q is outside allowed_domains", a)
		}
	}
}

// allowed reports whether address is inside allowed_domains (every
// address is when the list is empty).
func (c *Config) allowed(address string) bool {
	d := strings.ToLower(address[strings.LastIndex(address, "@")+1:])
	return len(c.AllowedDomains) == 0 || slices.ContainsFunc(c.AllowedDomains, func(a string) bool { return strings.EqualFold(a, d) })
}

// ReportGate is the gate of a validated report: its own, or the top-level
// one.
func (c *Config) ReportGate(r *Report) gate.Rules {
	g := c.Gate
	if r.Gate != nil {
		g = r.Gate
	}
	var rules gate.Rules
	if g == nil {
		return rules
	}
	if g.MaxSourceAge != nil {
		rules.MaxSourceAge = g.MaxSourceAge.D()
	}
	if g.MinActivityRatio != nil {
		rules.MinActivityRatio = *g.MinActivityRatio
	}
	rules.Require = slices.Clone(g.Require)
	return rules
}

// ReportOwners are told when a report is held: its own owners, or the
// top-level ones.
func (c *Config) ReportOwners(r *Report) []string {
	if r.Owners != nil {
		return slices.Clone(r.Owners)
	}
	return slices.Clone(c.Owners)
}

// validateCalendars builds every configured calendar, reporting each
// problem under its path (calendars.office.hours.mon[1]).
func (c *Config) validateCalendars(probs *Problems) {
	c.calendars = map[string]*workhours.Calendar{}
	names := make([]string, 0, len(c.Calendars))
	for name := range c.Calendars {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		path := "calendars." + name
		if !report.ValidName(name) || name == NoCalendar {
			probs.add(path, 0, "%q: want lower-case letters, digits and -, at most 64, and not %q", name, NoCalendar)
			continue
		}
		spec := c.Calendars[name]
		cal, errs := workhours.New(workhours.Spec{Name: name, TimeZone: spec.TimeZone, Hours: spec.Hours, Holidays: spec.Holidays})
		for _, e := range errs {
			probs.add(join(path, e.Field), 0, "%s", e.Msg)
		}
		if cal != nil {
			c.calendars[name] = cal
		}
	}
}

// Calendar returns the working calendar called name: nil for "" and none
// (wall-clock hours), an error for a name that is not configured.
func (c *Config) Calendar(name string) (*workhours.Calendar, error) {
	if name == "" || name == NoCalendar {
		return nil, nil
	}
	if cal, ok := c.calendars[name]; ok {
		return cal, nil
	}
	if _, ok := c.Calendars[name]; ok {
		return nil, fmt.Errorf("calendar %q is not valid (see its problems)", name)
	}
	known := make([]string, 0, len(c.Calendars))
	for n := range c.Calendars {
		known = append(known, n)
	}
	slices.Sort(known)
	if len(known) == 0 {
		return nil, fmt.Errorf("%q: no calendar of that name (calendars: defines none; %s means wall-clock hours)", name, NoCalendar)
	}
	return nil, fmt.Errorf("%q: no calendar of that name (calendars: %s; or %s)", name, strings.Join(known, ", "), NoCalendar)
}

// ReportCalendar is the working calendar of a validated report, or nil.
func (c *Config) ReportCalendar(r *Report) *workhours.Calendar {
	cal, _ := c.Calendar(r.SLACalendar)
	return cal
}

// MaxSLAHours is the longest answer time sla_hours accepts: one year.
// Longer is a typo, and overflows the durations the metrics compute with.
const MaxSLAHours = 24 * 365

// CheckSLAHours is the one rule for sla_hours, in the config and on the
// command line: more than 0 and at most MaxSLAHours, a finite number.
func CheckSLAHours(h float64) error {
	if h > 0 && h <= MaxSLAHours { // false for NaN
		return nil
	}
	return fmt.Errorf("%s: want a number of hours above 0 and at most %d (one year)", strconv.FormatFloat(h, 'f', -1, 64), MaxSLAHours)
}

// Report returns the report called name.
func (c *Config) Report(name string) (*Report, bool) {
	for i := range c.Reports {
		if c.Reports[i].Name == name {
			return &c.Reports[i], true
		}
	}
	return nil, false
}

// MQLTarget returns the MQL target of a period kind, or nil.
func (c *Config) MQLTarget(kind string) *int {
	if t, ok := c.Targets[kind]; ok && t.MQLs > 0 {
		v := t.MQLs
		return &v
	}
	return nil
}

// StateURL is the ledger database: state.url, or the source.
func (c *Config) StateURL() string {
	if c.State.URL != "" {
		return c.State.URL
	}
	return c.Source.URL
}

// Secrets lists the secret values of the configuration, for redaction.
func (c *Config) Secrets() []string {
	var out []string
	for _, s := range []string{c.SMTP.Password, c.Server.Token, c.Server.LinkKey} {
		if s != "" {
			out = append(out, s)
		}
	}
	for _, u := range []string{c.Source.URL, c.State.URL} {
		out = append(out, secret.DSNSecrets(u)...)
	}
	return out
}

// bareAddress reports whether s is one plain ASCII address with a dotted
// domain, the only form delivery sends to: a display name, angle
// brackets, a comment or a non-ASCII address would pass net/mail here and
// then fail at every send, so they are refused at load time instead.
func bareAddress(s string) bool {
	t := strings.TrimSpace(s)
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] >= 0x7f {
			return false
		}
	}
	a, err := mail.ParseAddress(t)
	if err != nil || a.Name != "" || a.Address != t {
		return false
	}
	domain := t[strings.LastIndexByte(t, '@')+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}
