package digest

import (
	"fmt"

	"github.com/sameteam/sameteam/internal/locale"
	"github.com/sameteam/sameteam/internal/metrics"
)

// personalView is what a personal digest shows beyond the layout: a rep's
// backlog, MQLs, numbers beside the team's and MQLs by campaign, or a
// campaign owner's campaigns. It is built from the person's slice alone
// (metrics.RepDigest, metrics.OwnerDigest), so nothing of another person
// can reach the page.
type personalView struct {
	Hello string
	Intro string

	BacklogTitle, BacklogSummary string
	Backlog                      table
	MQLsTitle, MQLsSummary       string
	MQLs                         table
	ComparedTitle, ComparedIntro string
	Compared                     table
	ByCampaignTitle              string
	ByCampaign                   table
	ByCampaignEmpty              string

	CampaignsTitle string
	Campaigns      table
	CampaignsEmpty string
	ReasonsTitle   string
	Reasons        table
	ReasonsEmpty   string
	FollowUpTitle  string
	FollowUp       table

	// Workbook says what the attached workbook holds.
	Workbook string

	// Links lists the CRM links of the tables, for the plain-text digest,
	// where a cell cannot hold one.
	Links []link
}

// link is one CRM link: what it opens and where.
type link struct {
	Label, URL string
}

// maxPersonalRows keeps a personal table to what fits an email; the
// person's workbook has every row.
const maxPersonalRows = 25

// personal fills v for a personal audience from the person's slice.
func (b *builder) personal(v *view, opts Options) error {
	l := b.l
	pv := &personalView{Workbook: l.T("personal.workbook." + string(opts.Audience))}
	v.Personal = pv
	switch {
	case opts.Rep != nil:
		d := opts.Rep
		pv.Hello = l.Tf("personal.hello", clean(d.Rep.Name))
		pv.Intro = l.Tf("personal.rep.intro", v.Period)
		b.repBacklog(pv, d, opts)
		b.repMQLs(pv, d, v.Period, opts)
		b.repCompared(pv, d)
		b.repCampaigns(pv, d, v.Period)
		v.Subject = b.repSubject(d, v)
		med := ""
		for _, c := range d.Compared {
			if c.Key == "sla_compliance" {
				med = l.Percent(c.TeamMedian)
			}
		}
		v.Preheader = l.Tf("preheader.rep", l.Percent(d.Numbers.SLACompliance), med, l.Int(d.Numbers.MQLsAssigned),
			l.Money(d.Numbers.PipelineCreated, b.cur))
	case opts.Owner != nil:
		d := opts.Owner
		pv.Hello = l.Tf("personal.hello", clean(d.Owner.Name))
		pv.Intro = l.Tf("personal.owner.intro", v.Period)
		b.ownerCampaigns(pv, d, v.Period, opts)
		v.Subject = b.ownerSubject(d, v)
		v.Preheader = l.Tf("preheader.owner", l.Int(d.Totals.LeadsCreated), l.Int(d.Totals.MQLs),
			l.Money(d.Totals.PipelineCreated, b.cur), l.Money(d.Totals.WonRevenue, b.cur))
	default:
		return fmt.Errorf("%w: a %s digest needs the person's slice", ErrAudience, opts.Audience)
	}
	return nil
}

// repSubject says what matters first: how many leads wait for the rep's
// call and how many of them are late; with none waiting, the period's
// MQLs.
func (b *builder) repSubject(d *metrics.RepDigest, v *view) string {
	l := b.l
	var key string
	switch n := len(d.Backlog); n {
	case 0:
		key = l.Tf("subject.rep.clear", l.Int(d.Numbers.MQLsAssigned), v.Period)
	case 1:
		key = l.Tf("subject.rep.waiting.one", l.Int(d.Overdue()))
	default:
		key = l.Tf("subject.rep.waiting", l.Int(n), l.Int(d.Overdue()))
	}
	return fmt.Sprintf("%s · %s (%s)", key, capitalize(v.Period), v.Dates)
}

func (b *builder) ownerSubject(d *metrics.OwnerDigest, v *view) string {
	l, t := b.l, d.Totals
	var key string
	switch {
	case len(d.Campaigns) == 0:
		key = l.Tf("subject.owner.none", v.Period)
	case len(d.RejectionReasons) > 0:
		key = l.Tf("subject.owner.reason", l.Int(t.MQLs), l.Percent(t.AcceptanceRate), b.reason(d.RejectionReasons[0].Reason))
	default:
		key = l.Tf("subject.owner", l.Int(t.MQLs), l.Percent(t.AcceptanceRate))
	}
	return fmt.Sprintf("%s · %s (%s)", key, capitalize(v.Period), v.Dates)
}

// more is the line under a capped table.
func more(l *locale.Locale, n int, sheet string) string {
	return l.Tf("personal.more", l.Int(n), l.T(sheet))
}

func (b *builder) repBacklog(pv *personalView, d *metrics.RepDigest, opts Options) {
	l, loc := b.l, b.span.Location()
	pv.BacklogTitle = l.T("personal.h.backlog")
	if len(d.Backlog) == 0 {
		pv.BacklogSummary = l.T("personal.backlog.empty")
		return
	}
	pv.BacklogSummary = l.Tf("personal.backlog.summary", l.Int(len(d.Backlog)), l.Int(d.Overdue()))
	t := &pv.Backlog
	// Four columns, the lead's name and company under its id, so that the
	// table fits a phone's width.
	t.Headers = []string{l.T("personal.col.lead"), l.T("personal.col.mql_at"), l.T("personal.col.waiting"), l.T("personal.col.due")}
	t.Num = []bool{false, false, true, false}
	for i, it := range d.Backlog {
		if i == maxPersonalRows {
			t.More = more(l, len(d.Backlog)-i, "personal.sheet.backlog")
			break
		}
		word, tone := "backlog.due", "flat"
		if it.SLABreached {
			word, tone = "backlog.overdue_since", "bad"
		}
		due := b.part(word, fmt.Sprintf("followup_backlog.%d.due_at", i), "due",
			l.Upcoming(it.DueAt.Time().In(loc), d.AsOf.Time().In(loc)))
		href := opts.Links.LeadURL(it.LeadID)
		if href != "" {
			pv.Links = append(pv.Links, link{Label: clean(it.LeadID) + " " + clean(it.Name), URL: href})
		}
		t.Rows = append(t.Rows, []cell{
			{Key: fmt.Sprintf("followup_backlog.%d.lead_id", i), Fmt: "text", Text: clean(it.LeadID), Href: href,
				Sub: who(it.Name, it.Company)},
			{Text: l.DayTime(it.MQLAt.Time().In(loc))},
			{Key: fmt.Sprintf("followup_backlog.%d.age_hours", i), Fmt: "hours", Text: l.Hours(it.AgeHours), Num: true},
			{Key: due.Key, Fmt: due.Fmt, Text: due.Text, Pre: due.Pre, Post: due.Post, Tone: tone},
		})
	}
}

func (b *builder) repMQLs(pv *personalView, d *metrics.RepDigest, periodName string, opts Options) {
	l, loc, n := b.l, b.span.Location(), d.Numbers
	pv.MQLsTitle = l.Tf("personal.h.mqls", periodName)
	if len(d.MQLs) == 0 {
		pv.MQLsSummary = l.Tf("personal.mqls.empty", periodName)
		return
	}
	pv.MQLsSummary = l.Tf("personal.mqls.summary", l.Int(n.MQLsAssigned), l.Int(n.SLAMet), l.Int(n.SLABreached), l.Int(n.SLAPending))
	t := &pv.MQLs
	t.Headers = []string{l.T("personal.col.lead"), l.T("personal.col.mql_at"), l.T("personal.col.sla"), l.T("personal.col.decision")}
	t.Num = []bool{false, false, false, false}
	for i, m := range d.MQLs {
		if i == maxPersonalRows {
			t.More = more(l, len(d.MQLs)-i, "personal.sheet.mqls")
			break
		}
		slaTone := map[string]string{metrics.SLAMet: "good", metrics.SLABreached: "bad"}[m.SLA]
		decision := l.T("personal.decision." + m.Decision)
		if m.Decision == metrics.DecisionRejected {
			decision += ": " + b.reason(cmpOr(m.RejectionReason, metrics.UnspecifiedReason))
		}
		href := opts.Links.LeadURL(m.LeadID)
		response := b.part("personal.response", fmt.Sprintf("mqls.%d.response_minutes", i), "minutes", l.Minutes(m.ResponseMinutes))
		t.Rows = append(t.Rows, []cell{
			{Key: fmt.Sprintf("mqls.%d.lead_id", i), Fmt: "text", Text: clean(m.LeadID), Href: href, Sub: who(m.Name, m.Company)},
			{Text: l.DayTime(m.MQLAt.Time().In(loc)), Sub: cmpOr(clean(m.CampaignName), "—")},
			{Text: l.T("personal.sla." + m.SLA), Tone: slaTone, Also: &response},
			{Text: decision},
		})
	}
}

// comparedValue formats one compared number as its unit says.
func (b *builder) comparedValue(key string, v *float64) string {
	l := b.l
	if v == nil {
		return "—"
	}
	switch key {
	case "sla_compliance", "acceptance_rate":
		return l.Percent(v)
	case "response_minutes_median":
		return l.Minutes(v)
	case "pipeline_created", "won_revenue":
		m, err := metrics.MoneyFromFloat(*v)
		if err != nil {
			return "—"
		}
		return l.Money(m, b.cur)
	}
	return l.Int(int(*v))
}

func (b *builder) repCompared(pv *personalView, d *metrics.RepDigest) {
	l := b.l
	pv.ComparedTitle = l.T("personal.h.compared")
	of := 0
	t := &pv.Compared
	t.Headers = []string{l.T("personal.col.number"), l.T("personal.col.you"), l.T("personal.col.team_median"), l.T("personal.col.rank")}
	t.Num = []bool{false, true, true, true}
	for i, c := range d.Compared {
		of = max(of, c.Of)
		rank, tone := "—", ""
		if c.Rank > 0 {
			rank = l.Tf("personal.rank", l.Int(c.Rank), l.Int(c.Of))
			if c.Better != 0 && c.Value != nil && c.TeamMedian != nil && *c.Value != *c.TeamMedian {
				tone = "bad"
				if (*c.Value > *c.TeamMedian) == (c.Better > 0) {
					tone = "good"
				}
			}
		}
		t.Rows = append(t.Rows, []cell{
			{Text: l.T("personal.cmp." + c.Key)},
			{Key: fmt.Sprintf("compared.%d.value", i), Fmt: "text", Text: b.comparedValue(c.Key, c.Value), Num: true, Tone: tone},
			{Key: fmt.Sprintf("compared.%d.team_median", i), Fmt: "text", Text: b.comparedValue(c.Key, c.TeamMedian), Num: true},
			{Text: rank, Num: true},
		})
	}
	pv.ComparedIntro = l.Tf("personal.compared.intro", l.Int(of))
}

func (b *builder) repCampaigns(pv *personalView, d *metrics.RepDigest, periodName string) {
	l := b.l
	pv.ByCampaignTitle = l.T("personal.h.by_campaign")
	if len(d.ByCampaign) == 0 {
		pv.ByCampaignEmpty = l.Tf("personal.by_campaign.empty", periodName)
		return
	}
	t := &pv.ByCampaign
	t.Headers = []string{l.T("personal.col.campaign"), l.T("personal.col.mqls"), l.T("personal.col.accepted"), l.T("personal.col.rejected")}
	t.Num = []bool{false, true, true, true}
	for i, c := range d.ByCampaign {
		if i == maxPersonalRows {
			t.More = more(l, len(d.ByCampaign)-i, "personal.sheet.campaigns")
			break
		}
		name := clean(c.Name)
		if name == "" {
			name = "—"
		}
		t.Rows = append(t.Rows, []cell{
			{Text: name, Break: true},
			{Key: fmt.Sprintf("mqls_by_campaign.%d.mqls", i), Fmt: "int", Text: l.Int(c.MQLs), Num: true},
			{Key: fmt.Sprintf("mqls_by_campaign.%d.accepted", i), Fmt: "int", Text: l.Int(c.Accepted), Num: true},
			{Key: fmt.Sprintf("mqls_by_campaign.%d.rejected", i), Fmt: "int", Text: l.Int(c.Rejected), Num: true},
		})
	}
}

func (b *builder) ownerCampaigns(pv *personalView, d *metrics.OwnerDigest, periodName string, opts Options) {
	l := b.l
	pv.CampaignsTitle = l.T("personal.h.campaigns")
	pv.ReasonsTitle = l.T("personal.h.reasons")
	pv.FollowUpTitle = l.T("personal.h.follow_up")
	if len(d.Campaigns) == 0 {
		pv.CampaignsEmpty = l.Tf("personal.campaigns.empty", periodName)
		return
	}
	// Four columns, the rest of each number under it, so that the table
	// fits a phone's width.
	t := &pv.Campaigns
	t.Headers = []string{l.T("personal.col.campaign"), l.T("personal.col.acceptance"), l.T("personal.col.pipeline"), l.T("personal.col.roi")}
	t.Num = []bool{false, true, true, true}
	for i, c := range d.Campaigns {
		if i == maxPersonalRows {
			t.More = more(l, len(d.Campaigns)-i, "personal.sheet.owned")
			break
		}
		k := func(f string) string { return fmt.Sprintf("campaigns.%d.%s", i, f) }
		roiTone := "flat"
		if c.ROI != nil {
			roiTone = map[bool]string{true: "good", false: "bad"}[*c.ROI >= 0]
		}
		href := opts.Links.CampaignURL(c.CampaignID)
		if href != "" {
			pv.Links = append(pv.Links, link{Label: b.campaignName(c), URL: href})
		}
		t.Rows = append(t.Rows, []cell{
			{Key: k("name"), Fmt: "text", Text: b.campaignName(c), Href: href, Break: true,
				Sub: l.Tf("personal.leads_mqls", l.Int(c.LeadsCreated), l.Int(c.MQLs))},
			{Text: l.Percent(c.AcceptanceRate()), Num: true, Also: &part{Text: l.Tf("personal.decided", l.Int(c.Accepted), l.Int(c.Rejected))}},
			{Key: k("pipeline_created"), Fmt: "money", Text: l.Money(c.PipelineCreated, b.cur), Num: true,
				Also: &part{Key: k("won_revenue"), Fmt: "money", Text: l.Money(c.WonRevenue, b.cur), Pre: l.T("personal.won") + " "}},
			{Key: k("roi"), Fmt: "pct", Text: l.Percent(c.ROI), Num: true, Tone: roiTone},
		})
	}
	tot := d.Totals
	t.Foot = []cell{
		{Text: l.T("personal.total"), Sub: l.Tf("personal.leads_mqls", l.Int(tot.LeadsCreated), l.Int(tot.MQLs))},
		{Key: "totals.acceptance_rate", Fmt: "pct", Text: l.Percent(tot.AcceptanceRate), Num: true},
		{Key: "totals.pipeline_created", Fmt: "money", Text: l.Money(tot.PipelineCreated, b.cur), Num: true,
			Also: &part{Key: "totals.won_revenue", Fmt: "money", Text: l.Money(tot.WonRevenue, b.cur), Pre: l.T("personal.won") + " "}},
		{Text: "—", Num: true},
	}

	if len(d.RejectionReasons) == 0 {
		pv.ReasonsEmpty = l.T("personal.reasons.empty")
	} else {
		r := &pv.Reasons
		r.Headers = []string{l.T("personal.col.reason"), l.T("personal.col.count")}
		r.Num = []bool{false, true}
		for i, rc := range d.RejectionReasons {
			if i == maxReasonRows {
				r.More = more(l, len(d.RejectionReasons)-i, "personal.sheet.reasons")
				break
			}
			r.Rows = append(r.Rows, []cell{{Text: b.reason(rc.Reason), Break: true},
				{Key: fmt.Sprintf("rejection_reasons.%d.count", i), Fmt: "int", Text: l.Int(rc.Count), Num: true}})
		}
	}

	f := &pv.FollowUp
	f.Headers = []string{l.T("personal.col.campaign"), l.T("personal.col.mqls"), l.T("personal.col.compliance"), l.T("personal.col.median")}
	f.Num = []bool{false, true, true, true}
	for i, c := range d.FollowUp {
		if i == maxPersonalRows {
			f.More = more(l, len(d.FollowUp)-i, "personal.sheet.follow_up")
			break
		}
		k := func(x string) string { return fmt.Sprintf("follow_up.%d.%s", i, x) }
		f.Rows = append(f.Rows, []cell{
			{Text: clean(c.Name), Break: true},
			{Key: k("mqls"), Fmt: "int", Text: l.Int(c.MQLs), Num: true},
			{Key: k("sla_compliance"), Fmt: "pct", Text: l.Percent(c.SLACompliance), Num: true,
				Also: &part{Text: l.Tf("personal.met_overdue", l.Int(c.SLAMet), l.Int(c.SLABreached))}},
			{Key: k("response_minutes_median"), Fmt: "minutes", Text: l.Minutes(c.ResponseMinutesMedian), Num: true},
		})
	}
}

// who is a lead's name and company, for the line under its id; empty
// when the source has neither.
func who(name, company string) string {
	name, company = clean(name), clean(company)
	if name == "" || company == "" {
		return name + company
	}
	return name + " · " + company
}

// cmpOr is s, or alt when s is empty.
func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
