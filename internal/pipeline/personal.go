package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/sameteam/sameteam/internal/delivery"
	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/report"
	"github.com/sameteam/sameteam/internal/workbook"
)

// A personal report (audience rep or campaign_owner) sends each person a
// message of their own, made from their slice of the run's one snapshot.
// The ledger's key stays (report, period, recipient), so every guarantee
// of a team digest holds per person.

// ErrNoOwnerColumn is returned for a campaign_owner report whose source
// has no campaigns.owner_id column: nobody owns a campaign, so nothing can
// be sent, and a person must change the source.
var ErrNoOwnerColumn = errors.New("pipeline: campaign owners need the optional column campaigns.owner_id")

// Person is one reader of a personal report.
type Person struct {
	Recipient
	ID string // the team member's id
	// Problem, when set, is why this person cannot get their digest (not a
	// sales rep, no email): reported, nothing sent.
	Problem string
}

// People resolves a personal report's readers from the build: for rep,
// each listed address that is a sales team member's, then every active
// sales member with an email; for campaign_owner, the owner of each
// campaign, as team_members has them. Problems (a listed address that is
// no sales rep, an owner without an email or not in team_members) come
// back as people with a Problem.
func People(b *Build) ([]Person, error) {
	rep := b.Report
	byID := make(map[string]metrics.Member, len(b.Members))
	byEmail := map[string]metrics.Member{}
	for _, m := range b.Members {
		byID[m.ID] = m
		if k := delivery.Key(m.Email); k != "" {
			if _, dup := byEmail[k]; !dup {
				byEmail[k] = m
			}
		}
	}
	var out []Person
	switch rep.Audience {
	case report.AudienceRep:
		for _, rc := range rep.Recipients {
			m, ok := byEmail[delivery.Key(rc.Email)]
			p := Person{Recipient: rc}
			switch {
			case !ok:
				p.Problem = fmt.Sprintf("%s is not the email of any team member: a rep digest holds a sales rep's own leads", rc.Email)
			case metrics.Normalize(m.Team) != metrics.Sales:
				p.Problem = fmt.Sprintf("%s is %s's email, who is not in the sales team (team %q): a rep digest holds a sales rep's own leads", rc.Email, m.Name, m.Team)
			default:
				p.ID, p.Name = m.ID, m.Name
			}
			out = append(out, p)
		}
		if slices.Contains(rep.RecipientsFrom, metrics.Sales) {
			for _, m := range b.Members {
				if m.Active && m.Email != "" && metrics.Normalize(m.Team) == metrics.Sales {
					out = append(out, Person{Recipient: Recipient{Email: m.Email, Name: m.Name}, ID: m.ID})
				}
			}
		}
	case report.AudienceCampaignOwner:
		if !slices.Contains(b.Optional, "campaigns.owner_id") {
			return nil, fmt.Errorf("%w: %s has recipients_from: %s, and the source's campaigns relation has no owner_id column", ErrNoOwnerColumn, rep.Name, report.FromCampaignOwners)
		}
		owners := map[string][]string{} // owner id → their campaigns
		for _, c := range b.Campaigns {
			if c.OwnerID != "" {
				owners[c.OwnerID] = append(owners[c.OwnerID], c.ID)
			}
		}
		ids := make([]string, 0, len(owners))
		for id := range owners {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			m, ok := byID[id]
			p := Person{ID: id, Recipient: Recipient{Email: m.Email, Name: m.Name}}
			switch {
			case !ok:
				p.Problem = fmt.Sprintf("campaign owner %s (of %s) is not in team_members", id, strings.Join(owners[id], ", "))
			case m.Email == "":
				p.Problem = fmt.Sprintf("campaign owner %s (%s, of %s) has no email in team_members", id, m.Name, strings.Join(owners[id], ", "))
			}
			out = append(out, p)
		}
	default:
		return nil, fmt.Errorf("pipeline: %s is not a personal audience", rep.Audience)
	}
	return out, nil
}

// Personal is the index of b's snapshot by person, made once per build
// (it reads the period's MQL detail once, so before the build is closed).
func (b *Build) Personal() (*metrics.Personal, error) {
	ctx := b.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if b.personalOnce == nil {
		// A Build made by hand (tests): indexed on each call.
		return metrics.NewPersonal(ctx, b.Snapshot)
	}
	b.personalOnce.Do(func() { b.personal, b.personalErr = metrics.NewPersonal(ctx, b.Snapshot) })
	return b.personal, b.personalErr
}

// Slice is one person's part of a build: a rep's or a campaign owner's.
type Slice struct {
	Rep   *metrics.RepDigest
	Owner *metrics.OwnerDigest
}

// Empty reports whether the person has nothing to read.
func (s Slice) Empty() bool {
	if s.Rep != nil {
		return s.Rep.Empty()
	}
	return s.Owner == nil || s.Owner.Empty()
}

// Slice is p's part of b.
func (b *Build) Slice(p Person) (Slice, error) {
	idx, err := b.Personal()
	if err != nil {
		return Slice{}, err
	}
	if b.Report.Audience == report.AudienceCampaignOwner {
		return Slice{Owner: idx.CampaignOwner(p.ID, p.Name)}, nil
	}
	return Slice{Rep: idx.Rep(p.ID, p.Name)}, nil
}

// PersonalDigest renders one person's digest in locale; workbookURL, when
// set, is the download link that replaces a workbook too large to attach.
func (r *Renderer) PersonalDigest(b *Build, sl Slice, locale, workbookURL string) (*digest.Digest, error) {
	opts := r.digestOptions(b, locale, workbookURL)
	opts.Rep, opts.Owner = sl.Rep, sl.Owner
	d, err := r.Digests.Render(b.Snapshot, opts)
	if err != nil {
		return nil, fmt.Errorf("render %s digest (%s): %w", b.Report.Name, locale, err)
	}
	return d, nil
}

// PersonalWorkbook writes one person's workbook in locale.
func (r *Renderer) PersonalWorkbook(b *Build, sl Slice, locale string) ([]byte, error) {
	var buf bytes.Buffer
	err := workbook.WritePersonal(&buf, b.Snapshot, workbook.Personal{Rep: sl.Rep, Owner: sl.Owner}, workbook.Options{
		Audience:    string(b.Report.Audience),
		Locale:      locale,
		Currency:    r.Currency,
		ReportName:  b.Report.Name,
		GeneratedAt: b.Made,
		TmpDir:      r.TmpDir,
		Links:       r.Links,
	})
	if err != nil {
		return nil, fmt.Errorf("write %s workbook (%s): %w", b.Report.Name, locale, err)
	}
	return buf.Bytes(), nil
}

// PersonalJSON is one person's slice as JSON: only their rows.
func PersonalJSON(sl Slice) ([]byte, error) {
	var v any = sl.Rep
	if sl.Owner != nil {
		v = sl.Owner
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// runPersonal delivers a personal report: one message per person, each
// rendered when its delivery is claimed, so a run to a thousand reps holds
// one message at a time.
func (r *Runner) runPersonal(ctx context.Context, b *Build, opts Options, out *Outcome, log *slog.Logger) error {
	people, err := People(b)
	if err != nil {
		return err
	}
	// The index reads the period's MQL detail once, before anyone is sent
	// anything: a read that fails fails the run, with nothing half-sent.
	if _, err := b.Personal(); err != nil {
		return fmt.Errorf("index %s %s by person: %w", b.Report.Name, b.Snapshot.Period.Label, err)
	}
	// Validate and de-duplicate the addresses as a team digest does.
	var raw []string
	for _, p := range people {
		if p.Problem == "" {
			raw = append(raw, p.Email)
		}
	}
	valid, errs := delivery.Recipients(raw, r.AllowedDomains)
	for _, err := range errs {
		log.Warn("recipient refused", slog.Any("error", err))
		out.Deliveries = append(out.Deliveries, DeliveryOutcome{Status: report.DeliveryFailedPermanent, Detail: err.Error()})
	}
	ok := map[string]bool{}
	for _, a := range valid {
		ok[delivery.Key(a)] = true
	}
	var send []Person
	for _, p := range people {
		if p.Problem != "" {
			log.Warn("person refused", "person", p.ID, "problem", p.Problem)
			out.Deliveries = append(out.Deliveries, DeliveryOutcome{Recipient: p.Email, Status: report.DeliveryFailedPermanent, Detail: p.Problem})
			continue
		}
		k := delivery.Key(p.Email)
		if !ok[k] {
			continue
		}
		ok[k] = false // the first entry of an address wins
		send = append(send, p)
	}
	if opts.To != "" && len(send) > 0 {
		// A test copy: the first person's digest, to the given address.
		send = []Person{{Recipient: Recipient{Email: opts.To, Locale: send[0].Locale, Name: send[0].Name}, ID: send[0].ID}}
	}
	if len(send) == 0 && len(out.Deliveries) == 0 {
		return fmt.Errorf("%w: %s resolves to nobody", ErrNoRecipients, b.Report.Name)
	}
	c := &copyOf{build: b, opts: opts, runID: out.RunID, log: log}
	if opts.DryRun {
		out.Artifacts = map[string]int{}
		for _, p := range send {
			sl, err := b.Slice(p)
			if err != nil {
				return err
			}
			d := DeliveryOutcome{Recipient: p.Email, Status: report.DeliverySkipped, Detail: "dry run"}
			if b.Report.SkipEmpty && sl.Empty() {
				d.Detail = "dry run; " + string(report.SkipEmpty)
				out.Deliveries = append(out.Deliveries, d)
				continue
			}
			loc := cmp.Or(p.Locale, b.Report.Locale)
			dg, err := r.Renderer.PersonalDigest(b, sl, loc, "")
			if err != nil {
				return err
			}
			wb, err := r.Renderer.PersonalWorkbook(b, sl, loc)
			if err != nil {
				return err
			}
			out.Artifacts["html."+loc] += len(dg.HTML)
			out.Artifacts["txt."+loc] += len(dg.Text)
			out.Artifacts["xlsx."+loc] += len(wb)
			out.Deliveries = append(out.Deliveries, d)
		}
		return nil
	}
	if opts.records() {
		first := r.notTriedFirst(ctx, b.Report.Name, b.Snapshot.Period.Label, recipientsOf(send), log)
		pos := map[string]int{}
		for i, rc := range first {
			pos[delivery.Key(rc.Email)] = i
		}
		slices.SortStableFunc(send, func(x, y Person) int { return cmp.Compare(pos[delivery.Key(x.Email)], pos[delivery.Key(y.Email)]) })
	}
	return r.deliverInOrder(ctx, c, recipientsOf(send), func(i int) DeliveryOutcome { return r.deliverPersonal(ctx, c, send[i]) }, out, log)
}

func recipientsOf(people []Person) []Recipient {
	out := make([]Recipient, len(people))
	for i, p := range people {
		out[i] = p.Recipient
	}
	return out
}

// deliverPersonal sends one person their digest under a ledger claim, or
// records that skip_empty spared them one.
func (r *Runner) deliverPersonal(ctx context.Context, c *copyOf, p Person) DeliveryOutcome {
	b := c.build
	rep, label := b.Report.Name, b.Snapshot.Period.Label
	locale := cmp.Or(p.Locale, b.Report.Locale)
	o := outgoing{ledgerReport: rep, recipient: p.Recipient}
	sl, err := b.Slice(p)
	if err != nil {
		// runPersonal indexed the build before anyone was sent anything.
		return DeliveryOutcome{Recipient: p.Email, Status: report.DeliveryFailedTemporary, Detail: err.Error()}
	}
	if b.Report.SkipEmpty && sl.Empty() {
		o.skip = string(report.SkipEmpty)
		return r.dispatch(ctx, c, o)
	}
	// linkInstead replaces msg's workbook by a signed link to this
	// person's file alone (a link for one rep does not open another's).
	linkInstead := func(msg *delivery.Message) error {
		link, err := r.signedLink("/reports/" + url.PathEscape(rep) + "/" + url.PathEscape(label) + "/" + url.PathEscape(p.ID) + ".xlsx")
		if err != nil {
			return err
		}
		d, err := r.Renderer.PersonalDigest(b, sl, locale, link)
		if err != nil {
			return err
		}
		msg.Subject, msg.Text, msg.HTML, msg.Attachment = d.Subject, d.Text, d.HTML, nil
		return nil
	}
	o.compose = func(msgID string, log *slog.Logger) (delivery.Message, error) {
		d, err := r.Renderer.PersonalDigest(b, sl, locale, "")
		if err != nil {
			return delivery.Message{}, err
		}
		wb, err := r.Renderer.PersonalWorkbook(b, sl, locale)
		if err != nil {
			return delivery.Message{}, err
		}
		msg := delivery.Message{
			From: r.From, ReplyTo: r.ReplyTo, To: p.Email, ToName: p.Name,
			Subject: d.Subject, Text: d.Text, HTML: d.HTML,
			Attachment: &delivery.Attachment{Name: rep + "-" + label + ".xlsx", ContentType: delivery.ContentTypeXLSX, Data: wb},
			MessageID:  msgID,
			Date:       r.now(),
			Headers:    map[string]string{"X-Sameteam-Report": rep, "X-Sameteam-Period": label, "List-Id": r.listID(rep)},
		}
		if r.MaxMessageBytes > 0 {
			size, err := delivery.EncodedSize(msg)
			if err != nil {
				return msg, fmt.Errorf("build message: %w", err)
			}
			if size > r.MaxMessageBytes {
				if err := linkInstead(&msg); err != nil {
					return msg, fmt.Errorf("the message is %.1f MB, over max_attachment_mb (%.1f MB), and %w",
						float64(size)/1e6, float64(r.MaxMessageBytes)/1e6, err)
				}
				log.Info("workbook replaced by a download link", "bytes", size)
			}
		}
		return msg, nil
	}
	o.smaller = func(msg *delivery.Message) error {
		if msg.Attachment == nil {
			return errors.New("no attachment to leave out")
		}
		return linkInstead(msg)
	}
	return r.dispatch(ctx, c, o)
}
