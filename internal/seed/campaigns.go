package seed

import (
	"sort"
	"strconv"
	"time"

	"github.com/sameteam/sameteam/internal/metrics"
)

// campaign is a row of campaigns plus what leads and touches need from it.
type campaign struct {
	id, name string
	idv      any  // id, boxed once for lead and activity rows
	channel  int  // index into channels
	noChan   bool // the CRM has no channel for it
	cost     metrics.Money
	hasCost  bool
	launch   int64
	owner    int // index into marketers
}

// channelInfo is a marketing channel: its share of campaigns, the label in
// campaign names, and the touches it produces on leads.
type channelInfo struct {
	name, label string
	weight      float64
	touches     []any
}

func channels() []channelInfo {
	return []channelInfo{
		{"webinar", "Webinar", 0.18, []any{"webinar_registered", "webinar_attended", "email_open"}},
		{"paid_search", "Paid Search", 0.2, []any{"ad_click", "ad_click", "content_download"}},
		{"email", "Email", 0.2, []any{"email_open", "email_click", "email_open"}},
		{"events", "Events", 0.12, []any{"event_attended", "booth_visit", "email_open"}},
		{"content", "Content", 0.15, []any{"content_download", "blog_visit", "email_open"}},
		{"social", "Social", 0.1, []any{"social_click", "ad_click", "content_download"}},
		{"referral", "Referral", 0.05, []any{"referral_intro", "email_open", "content_download"}},
	}
}

// campaignSet builds the campaigns, sorted by launch date: a few launched
// before the span so that the first leads have somewhere to come from. Costs
// scale with the leads a campaign can expect, so ROI stays plausible at any
// size.
func (g *generator) campaignSet(r *rng) {
	spanDays := int((g.end - g.start) / day)
	n := min(max(spanDays/10+g.opts.Leads/25000, 6), 400)
	first, last := g.start-45*day, g.end-5*day
	cum := make([]float64, len(g.channels))
	sum := 0.0
	for i, c := range g.channels {
		sum += c.weight
		cum[i] = sum
	}
	perCampaign := float64(g.opts.Leads) * 0.7 / float64(n)
	for i := range n {
		c := campaign{channel: r.pick(cum), owner: r.intn(len(g.marketers))}
		if i == 0 {
			c.channel = 0 // the first one is a webinar, as in most data sets
		}
		step := float64(last-first) / float64(n)
		c.launch = first + int64(step*(float64(i)+r.float()))
		ch := g.channels[c.channel]
		c.cost = metrics.Money(int64(perCampaign * (60 + 240*r.float()) * 100))
		c.hasCost = true
		switch {
		case ch.name == "events" && r.chance(0.25):
			c.hasCost = false // the invoice never made it into the CRM
		case ch.name == "referral" && r.chance(0.4):
			c.cost = 0
		}
		c.noChan = r.chance(0.04)
		year := strconv.Itoa(time.Unix(c.launch, 0).UTC().Year())
		c.name = ch.label + " " + year + " #" + strconv.Itoa(i+1)
		g.campaigns = append(g.campaigns, c)
	}
	sort.SliceStable(g.campaigns, func(a, b int) bool { return g.campaigns[a].launch < g.campaigns[b].launch })
	width := max(2, len(strconv.Itoa(n)))
	for i := range g.campaigns {
		g.campaigns[i].id = padID("c", i+1, width)
		g.campaigns[i].idv = g.campaigns[i].id
		g.launches = append(g.launches, g.campaigns[i].launch)
	}
}

// campaignAt picks a campaign that was running at t: launched in the two
// months before it. It returns -1 when none was.
func (g *generator) campaignAt(r *rng, t int64) int {
	hi := sort.Search(len(g.launches), func(i int) bool { return g.launches[i] > t })
	lo := sort.Search(len(g.launches), func(i int) bool { return g.launches[i] > t-60*day })
	if hi == 0 {
		return -1
	}
	if lo >= hi {
		lo = hi - 1
	}
	// Newer campaigns draw more: the later of two draws.
	return max(lo+r.intn(hi-lo), lo+r.intn(hi-lo))
}
