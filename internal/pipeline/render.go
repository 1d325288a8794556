package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/gate"
	"github.com/sameteam/sameteam/internal/links"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/period"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/workbook"
	"github.com/sameteam/sameteam/internal/workhours"
)

// Report is one configured digest, as the pipeline needs it.
type Report struct {
	Name       string
	Audience   report.Audience
	Kind       period.Kind
	Location   *time.Location
	Locale     string // es, en: the report's, for recipients without one
	SLAHours   float64
	Calendar   *workhours.Calendar // the SLA's working calendar; nil for wall-clock hours
	MQLTarget  *int
	Recipients []Recipient
	// RecipientsFrom names teams whose active members with an email
	// receive the report (sales, marketing).
	RecipientsFrom []string
	// Gate is checked before anything is sent; Owners are told, once per
	// period, when it holds the report.
	Gate   gate.Rules
	Owners []string
	// SkipEmpty, for a personal report, records a skip instead of sending
	// to a person with nothing to read.
	SkipEmpty bool
}

// Recipient is an address and its language ("" for the report's).
type Recipient struct {
	Email  string
	Locale string
	// Name is the person's name from team_members, for the To header;
	// empty for an address no team member has.
	Name string
}

// DigestRenderer renders one snapshot for one audience and language;
// *digest.Renderer is one.
type DigestRenderer interface {
	Render(s *metrics.Snapshot, opts digest.Options) (*digest.Digest, error)
}

// Renderer makes every artifact of a report from one snapshot.
type Renderer struct {
	Source   FactSource
	Digests  DigestRenderer
	Currency string
	TmpDir   string
	// DefinitionsURL, when set, is linked from every digest.
	DefinitionsURL string
	// Snapshots, when set, shares snapshots between reports that read the
	// same period at the same as_of (one invocation of `run --all`).
	Snapshots *Snapshots
	// StreamDetail makes a Build read its MQL detail again from the
	// source's snapshot, row by row into each workbook, instead of holding
	// it (metrics.Windows.StreamDetail): memory then stays flat however
	// many MQLs the period has. Each Build must then be closed.
	StreamDetail bool
	// Links are the CRM's URL templates for ids in digests and workbooks.
	Links links.Templates
}

// Build is the snapshot of one report and period with what it was made
// from; every artifact of a run is rendered from it.
type Build struct {
	Report   Report
	Snapshot *metrics.Snapshot
	Members  []metrics.Member
	// Campaigns and Optional are the facts' campaigns (with their owners)
	// and the optional source columns found, for personal reports.
	Campaigns []metrics.Campaign
	Optional  []string
	Made      time.Time

	// ctx bounds the reads of a streamed detail: the caller's.
	ctx context.Context
	// facts keep the snapshot open for a streamed detail; nil when the
	// build does not own them (a shared snapshot, which its cache
	// closes).
	facts *metrics.Facts
	// The index of the snapshot by person (Personal), made once.
	personalOnce *sync.Once
	personal     *metrics.Personal
	personalErr  error
}

// Close ends what the build keeps open for its MQL detail (the source's
// snapshot); its workbook can no longer be written after. Shared builds
// are closed with their Snapshots.
func (b *Build) Close() {
	if b != nil {
		b.facts.Close()
	}
}

// Input is the engine's input for a report, period and as_of.
func (rep Report) Input(p period.Period, asOf time.Time) metrics.Input {
	return metrics.Input{Period: p, AsOf: asOf, SLAHours: rep.SLAHours, Calendar: rep.Calendar, MQLTarget: rep.MQLTarget}
}

// Build reads the facts and computes the snapshot of rep for p at asOf.
func (r *Renderer) Build(ctx context.Context, rep Report, p period.Period, asOf, now time.Time) (*Build, error) {
	if r.Snapshots == nil {
		return r.build(ctx, rep, p, asOf, now)
	}
	shared, err := r.Snapshots.get(ctx, snapshotKey(rep, p, asOf), func() (*Build, error) {
		return r.build(ctx, rep, p, asOf, now)
	})
	if err != nil {
		return nil, err
	}
	b := *shared
	b.Report, b.ctx, b.facts = rep, ctx, nil
	b.personalOnce, b.personal, b.personalErr = &sync.Once{}, nil, nil
	return &b, nil
}

func (r *Renderer) build(ctx context.Context, rep Report, p period.Period, asOf, now time.Time) (*Build, error) {
	w := metrics.Plan(rep.Input(p, asOf))
	w.StreamDetail = r.StreamDetail
	snap, facts, err := r.compute(ctx, rep.Input(p, asOf), w)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s %s: %w", rep.Name, p.Label(), err)
	}
	return &Build{Report: rep, Snapshot: snap, Members: facts.Members, Campaigns: facts.Campaigns,
		Optional: facts.OptionalColumns, Made: now, ctx: ctx, facts: facts, personalOnce: &sync.Once{}}, nil
}

// Snapshot reads the facts for in and computes its snapshot, for a caller
// that wants the figures without a report (`metrics`).
func (r *Renderer) Snapshot(ctx context.Context, in metrics.Input) (*metrics.Snapshot, error) {
	snap, _, err := r.snapshot(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", in.Period.Label(), err)
	}
	return snap, nil
}

// snapshot is the one path from the source to a snapshot.
func (r *Renderer) snapshot(ctx context.Context, in metrics.Input) (*metrics.Snapshot, *metrics.Facts, error) {
	// The figures without a report: nobody lists the MQL detail.
	w := metrics.Plan(in)
	w.SkipDetail = true
	return r.compute(ctx, in, w)
}

func (r *Renderer) compute(ctx context.Context, in metrics.Input, w metrics.Windows) (*metrics.Snapshot, *metrics.Facts, error) {
	facts, err := r.Source.Load(ctx, w)
	if err != nil {
		return nil, nil, err
	}
	return metrics.Compute(in, facts), facts, nil
}

// digestOptions are what every digest of b in locale is rendered with.
func (r *Renderer) digestOptions(b *Build, locale, workbookURL string) digest.Options {
	return digest.Options{
		Audience:       b.Report.Audience,
		Locale:         locale,
		Currency:       r.Currency,
		ReportName:     b.Report.Name,
		DefinitionsURL: r.DefinitionsURL,
		WorkbookURL:    workbookURL,
		GeneratedAt:    b.Made,
		Links:          r.Links,
	}
}

// Digest renders the digest of b in locale; workbookURL, when set, is the
// download link that replaces an attachment that was too large.
func (r *Renderer) Digest(b *Build, locale, workbookURL string) (*digest.Digest, error) {
	d, err := r.Digests.Render(b.Snapshot, r.digestOptions(b, locale, workbookURL))
	if err != nil {
		return nil, fmt.Errorf("render %s digest (%s): %w", b.Report.Name, locale, err)
	}
	return d, nil
}

// Workbook writes the workbook of b in locale.
func (r *Renderer) Workbook(b *Build, locale string) ([]byte, error) {
	var buf bytes.Buffer
	if err := r.WriteWorkbook(&buf, b, locale); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteWorkbook writes the workbook of b in locale to w.
func (r *Renderer) WriteWorkbook(w interface{ Write([]byte) (int, error) }, b *Build, locale string) error {
	// The detail goes from the snapshot (held, or read again from the
	// source) straight into the sheet; a read that fails fails the
	// workbook.
	var readErr error
	rows := func(yield func(metrics.MQLRow) bool) {
		ctx := b.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		for row, err := range b.Snapshot.MQLDetail(ctx) {
			if err != nil {
				readErr = err
				return
			}
			if !yield(row) {
				return
			}
		}
	}
	err := workbook.Write(w, b.Snapshot, workbook.Options{
		Audience:    string(b.Report.Audience),
		Locale:      locale,
		Currency:    r.Currency,
		ReportName:  b.Report.Name,
		GeneratedAt: b.Made,
		Calendar:    b.Report.Calendar,
		TmpDir:      r.TmpDir,
		DetailRows:  rows,
		DetailCount: b.Snapshot.DetailCount(),
		Links:       r.Links,
	})
	if err == nil {
		err = readErr
	}
	if err != nil {
		return fmt.Errorf("write %s workbook (%s): %w", b.Report.Name, locale, err)
	}
	return nil
}

// JSON is the snapshot of b as internal/metrics/README.md defines it.
func JSON(b *Build) ([]byte, error) {
	out, err := json.MarshalIndent(b.Snapshot, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Recipients resolves the report's recipients from the snapshot's team
// members (see Recipients).
func (b *Build) Recipients() iter.Seq[Recipient] { return Recipients(b.Report, b.Members) }

// Recipients resolves a report's recipients: its list, then the active
// members with an email of each team in RecipientsFrom, in order.
// Validation and de-duplication are the caller's.
func Recipients(rep Report, members []metrics.Member) iter.Seq[Recipient] {
	return func(yield func(Recipient) bool) {
		for _, rc := range rep.Recipients {
			if !yield(rc) {
				return
			}
		}
		for _, team := range rep.RecipientsFrom {
			for _, m := range members {
				if m.Active && m.Email != "" && metrics.Normalize(m.Team) == team {
					if !yield(Recipient{Email: m.Email, Name: m.Name}) {
						return
					}
				}
			}
		}
	}
}
