package workbook

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
	"github.com/sameteam/sameteam/internal/report"
)

// Personal is one person's slice: a rep's or a campaign owner's.
type Personal struct {
	Rep   *metrics.RepDigest
	Owner *metrics.OwnerDigest
}

// ErrNoSlice is returned by WritePersonal without a person's slice.
var ErrNoSlice = errors.New("workbook: a personal workbook needs the person's slice")

// WritePersonal writes the workbook of one person's digest: only their
// rows, from their slice (the snapshot gives the report's zone alone). A
// rep's has their backlog, their MQLs, their numbers beside the team's and
// their MQLs by campaign; a campaign owner's their campaigns, the
// rejection reasons and sales' follow-up.
func WritePersonal(w io.Writer, s *metrics.Snapshot, p Personal, opts Options) error {
	if s == nil {
		return ErrNoSnapshot
	}
	if p.Rep == nil && p.Owner == nil {
		return ErrNoSlice
	}
	// Only the vocabulary, styles and zone of a team workbook's builder are
	// used; its sheets are not.
	aud := opts.Audience
	opts.Audience = AudienceLeadership
	opts.DetailRows, opts.DetailCount = func(func(metrics.MQLRow) bool) {}, 0
	b, err := newBuilder(s, opts)
	if err != nil {
		return err
	}
	b.o.Audience = aud
	defer b.f.Close()
	l, err := locale.Get(b.o.Locale)
	if err != nil {
		return err
	}
	pb := &personalBook{builder: b, l: l}
	if p.Rep != nil {
		err = pb.rep(p.Rep)
	} else {
		err = pb.owner(p.Owner)
	}
	if err != nil {
		return err
	}
	return b.save(w, flate.DefaultCompression)
}

// personalBook writes the sheets of a personal workbook.
type personalBook struct {
	*builder
	l *locale.Locale
}

// sheets creates the named sheets in order.
func (pb *personalBook) sheets(keys ...string) ([]string, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = pb.l.T(k)
	}
	if err := pb.f.SetSheetName("Sheet1", names[0]); err != nil {
		return nil, fmt.Errorf("name sheet: %w", err)
	}
	for _, n := range names[1:] {
		if _, err := pb.f.NewSheet(n); err != nil {
			return nil, fmt.Errorf("add sheet %q: %w", n, err)
		}
	}
	pb.f.SetActiveSheet(0)
	return names, nil
}

// links puts CRM links on column col (0-based) of a table's data rows,
// one URL per row ("" for none): a real hyperlink, not text that looks
// like one.
func (pb *personalBook) links(sheet string, col int, urls []string) error {
	return pb.builder.hyperlinks(sheet, col, urls)
}

func (pb *personalBook) h(key string) string { return pb.l.T(key) }

func yesNo(l *locale.Locale, v bool) string {
	if v {
		return l.T("personal.yes")
	}
	return l.T("personal.no")
}

func (pb *personalBook) rep(d *metrics.RepDigest) error {
	names, err := pb.sheets("personal.sheet.backlog", "personal.sheet.mqls", "personal.sheet.compared", "personal.sheet.campaigns")
	if err != nil {
		return err
	}
	st := pb.st
	// Backlog, oldest first.
	cols := []column{
		{header: pb.h("personal.col.lead"), style: st.text, text: true},
		{header: pb.h("personal.col.name"), style: st.text, text: true},
		{header: pb.h("personal.col.company"), style: st.text, text: true},
		{header: pb.h("personal.col.mql_at"), style: st.dateTime, width: widthDate},
		{header: pb.h("personal.col.due_at"), style: st.dateTime, width: widthDate},
		{header: pb.h("personal.col.waiting") + " (h)", style: st.decimal},
		{header: pb.h("personal.col.overdue"), style: st.text, text: true},
	}
	var rows [][]any
	var urls []string
	for _, it := range d.Backlog {
		rows = append(rows, []any{pb.text(it.LeadID), pb.text(it.Name), pb.text(it.Company), pb.when(it.MQLAt.Time()),
			pb.when(it.DueAt.Time()), it.AgeHours, yesNo(pb.l, it.SLABreached)})
		urls = append(urls, pb.o.Links.LeadURL(it.LeadID))
	}
	if err := pb.table(names[0], cols, rows); err != nil {
		return fmt.Errorf("sheet %q: %w", names[0], err)
	}
	if err := pb.links(names[0], 0, urls); err != nil {
		return err
	}

	// MQLs of the period.
	cols = []column{
		{header: pb.h("personal.col.lead"), style: st.text, text: true},
		{header: pb.h("personal.col.name"), style: st.text, text: true},
		{header: pb.h("personal.col.company"), style: st.text, text: true},
		{header: pb.h("personal.col.mql_at"), style: st.dateTime, width: widthDate},
		{header: pb.h("personal.col.campaign"), style: st.text, text: true},
		{header: pb.h("personal.col.due_at"), style: st.dateTime, width: widthDate},
		{header: pb.h("personal.col.sla"), style: st.text, text: true},
		{header: pb.h("personal.col.response") + " (min)", style: st.decimal},
		{header: pb.h("personal.col.decision"), style: st.text, text: true},
		{header: pb.h("personal.col.reason"), style: st.text, text: true},
	}
	rows, urls = nil, nil
	var campaignURLs []string
	for _, m := range d.MQLs {
		var resp any
		if m.ResponseMinutes != nil {
			resp = *m.ResponseMinutes
		}
		rows = append(rows, []any{pb.text(m.LeadID), pb.text(m.Name), pb.text(m.Company), pb.when(m.MQLAt.Time()),
			pb.text(m.CampaignName), pb.when(m.DueAt.Time()), pb.l.T("personal.sla." + m.SLA), resp,
			pb.l.T("personal.decision." + m.Decision), pb.text(m.RejectionReason)})
		urls = append(urls, pb.o.Links.LeadURL(m.LeadID))
		campaignURLs = append(campaignURLs, pb.o.Links.CampaignURL(m.CampaignID))
	}
	if err := pb.table(names[1], cols, rows); err != nil {
		return fmt.Errorf("sheet %q: %w", names[1], err)
	}
	if err := pb.links(names[1], 0, urls); err != nil {
		return err
	}
	if err := pb.links(names[1], 4, campaignURLs); err != nil {
		return err
	}

	// The rep beside the team.
	cols = []column{
		{header: pb.h("personal.col.number"), style: st.text, text: true},
		{header: pb.h("personal.col.you"), style: st.decimal},
		{header: pb.h("personal.col.team_median"), style: st.decimal},
		{header: pb.h("personal.col.rank"), style: st.count},
		{header: pb.h("personal.col.of"), style: st.count},
	}
	rows = nil
	for _, c := range d.Compared {
		var rank any
		if c.Rank > 0 {
			rank = c.Rank
		}
		label := pb.l.T("personal.cmp." + c.Key)
		if c.Key == "response_minutes_median" {
			label += " (min)"
		}
		rows = append(rows, []any{label, ptr(c.Value), ptr(c.TeamMedian), rank, c.Of})
	}
	if err := pb.table(names[2], cols, rows); err != nil {
		return fmt.Errorf("sheet %q: %w", names[2], err)
	}
	// Each row's numbers in their own unit: rates as percentages, money
	// with the currency, counts as whole numbers.
	for i, c := range d.Compared {
		style := st.count
		switch c.Key {
		case "sla_compliance", "acceptance_rate":
			style = st.percent
		case "pipeline_created", "won_revenue":
			style = st.money
		case "response_minutes_median":
			style = st.decimal
		}
		from, _ := excelize.CoordinatesToCellName(2, i+2)
		to, _ := excelize.CoordinatesToCellName(3, i+2)
		if err := pb.f.SetCellStyle(names[2], from, to, style); err != nil {
			return err
		}
	}

	// MQLs by campaign.
	cols = []column{
		{header: pb.h("personal.col.campaign"), style: st.text, text: true},
		{header: pb.h("personal.col.mqls"), style: st.count},
		{header: pb.h("personal.col.accepted"), style: st.count},
		{header: pb.h("personal.col.rejected"), style: st.count},
	}
	rows, urls = nil, nil
	for _, c := range d.ByCampaign {
		rows = append(rows, []any{pb.text(c.Name), c.MQLs, c.Accepted, c.Rejected})
		urls = append(urls, pb.o.Links.CampaignURL(c.CampaignID))
	}
	if err := pb.table(names[3], cols, rows); err != nil {
		return fmt.Errorf("sheet %q: %w", names[3], err)
	}
	if err := pb.links(names[3], 0, urls); err != nil {
		return err
	}
	return pb.personalProperties(d.Rep.Name)
}

func ptr(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func (pb *personalBook) owner(d *metrics.OwnerDigest) error {
	names, err := pb.sheets("personal.sheet.owned", "personal.sheet.follow_up", "personal.sheet.reasons")
	if err != nil {
		return err
	}
	st := pb.st
	cols := []column{
		{header: pb.h("personal.col.campaign"), style: st.text, text: true},
		{header: pb.h("personal.col.leads"), style: st.count},
		{header: pb.h("personal.col.mqls"), style: st.count},
		{header: pb.h("personal.col.accepted"), style: st.count},
		{header: pb.h("personal.col.rejected"), style: st.count},
		{header: pb.h("personal.col.acceptance"), style: st.percent},
		{header: pb.h("personal.col.pipeline"), style: st.money, width: widthMoney},
		{header: pb.h("personal.col.won"), style: st.money, width: widthMoney},
		{header: pb.h("personal.col.cost"), style: st.money, width: widthMoney},
		{header: pb.h("personal.col.roi"), style: st.percent},
	}
	var rows [][]any
	var urls []string
	for _, c := range d.Campaigns {
		rows = append(rows, []any{pb.text(c.Name), c.LeadsCreated, c.MQLs, c.Accepted, c.Rejected, rate(c.AcceptanceRate()),
			c.PipelineCreated.Float(), c.WonRevenue.Float(), moneyPtr(c.Cost), rate(c.ROI)})
		urls = append(urls, pb.o.Links.CampaignURL(c.CampaignID))
	}
	if err := pb.table(names[0], cols, rows); err != nil {
		return fmt.Errorf("sheet %q: %w", names[0], err)
	}
	if err := pb.links(names[0], 0, urls); err != nil {
		return err
	}

	cols = []column{
		{header: pb.h("personal.col.campaign"), style: st.text, text: true},
		{header: pb.h("personal.col.mqls"), style: st.count},
		{header: pb.h("personal.col.sla_met"), style: st.count},
		{header: pb.h("personal.col.sla_breached"), style: st.count},
		{header: pb.h("personal.col.sla_pending"), style: st.count},
		{header: pb.h("personal.col.compliance"), style: st.percent},
		{header: pb.h("personal.col.median") + " (min)", style: st.decimal},
	}
	rows = nil
	for _, f := range d.FollowUp {
		rows = append(rows, []any{pb.text(f.Name), f.MQLs, f.SLAMet, f.SLABreached, f.SLAPending, rate(f.SLACompliance), ptr(f.ResponseMinutesMedian)})
	}
	if err := pb.table(names[1], cols, rows); err != nil {
		return fmt.Errorf("sheet %q: %w", names[1], err)
	}

	cols = []column{
		{header: pb.h("personal.col.reason"), style: st.text, text: true},
		{header: pb.h("personal.col.count"), style: st.count},
	}
	rows = nil
	for _, r := range d.RejectionReasons {
		reason := r.Reason
		if reason == metrics.UnspecifiedReason {
			reason = pb.l.T("reason.unspecified")
		}
		rows = append(rows, []any{pb.text(reason), r.Count})
	}
	if err := pb.table(names[2], cols, rows); err != nil {
		return fmt.Errorf("sheet %q: %w", names[2], err)
	}
	return pb.personalProperties(d.Owner.Name)
}

// personalProperties names the document after the report and the person.
func (pb *personalBook) personalProperties(person string) error {
	title := fmt.Sprintf("%s · %s · %s", pb.o.ReportName, pb.s.Period.Label, person)
	created := pb.o.GeneratedAt.UTC().Format("2006-01-02T15:04:05Z07:00")
	return pb.f.SetDocProps(&excelize.DocProperties{
		Title:          pb.text(title),
		Creator:        Creator,
		LastModifiedBy: Creator,
		Created:        created,
		Modified:       created,
		Language:       pb.o.Locale,
		Keywords:       string(report.Audience(pb.o.Audience)),
	})
}
