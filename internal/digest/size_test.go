package digest_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/digest"
	"github.com/sameteam/sameteam/internal/metrics"
)

// maxHTMLBytes keeps every digest's HTML part under Gmail's clipping
// limit (about 102 KB of HTML, after which Gmail shows "[Message clipped]"
// and hides the rest, the footer with the workbook link included) with
// room for the headers and encoding a mail relay adds.
const maxHTMLBytes = 90 * 1024

// large grows a golden snapshot to a sales organisation of reps people and
// campaigns campaigns, with a follow-up backlog of ten leads per rep and a
// hundred distinct rejection reasons: every list the digest shows is longer
// than anything a reader should scroll through in an email.
func large(tb testing.TB, reps, campaigns int) *metrics.Snapshot {
	tb.Helper()
	s := snapshot(tb, "w47-madrid")
	r0, c0, b0 := s.ByRep[0], s.ByCampaign[0], s.FollowupBacklog[0]
	s.ByRep = make([]metrics.RepRow, reps)
	for i := range s.ByRep {
		r := r0
		r.RepID = fmt.Sprintf("rep-%04d", i)
		r.Name = fmt.Sprintf("Representante Comercial Número %04d", i)
		r.MQLsAssigned = 10 + i%17
		r.SLABreached = i % 7
		r.SLAMet = r.MQLsAssigned - r.SLABreached
		s.ByRep[i] = r
	}
	s.ByCampaign = make([]metrics.CampaignRow, campaigns)
	for i := range s.ByCampaign {
		c := c0
		c.CampaignID = fmt.Sprintf("cmp-%04d", i)
		c.Name = fmt.Sprintf("Campaña de demanda %04d · webinar sectorial", i)
		c.MQLs = 5 + i%23
		c.Accepted, c.Rejected = i%5, i%4
		s.ByCampaign[i] = c
	}
	s.RejectionReasons = make([]metrics.ReasonCount, 100)
	for i := range s.RejectionReasons {
		s.RejectionReasons[i] = metrics.ReasonCount{Reason: fmt.Sprintf("motivo de rechazo %03d", i), Count: 100 - i}
	}
	s.FollowupBacklog = make([]metrics.BacklogItem, 10*reps)
	for i := range s.FollowupBacklog {
		b := b0
		b.LeadID = fmt.Sprintf("lead-%06d", i)
		owner := s.ByRep[i%reps].RepID
		b.OwnerID = &owner
		s.FollowupBacklog[i] = b
	}
	return s
}

// TestHTMLFitsGmail renders every audience in every language for a
// 1,000-rep, 500-campaign organisation and fails when an HTML part would
// be clipped.
func TestHTMLFitsGmail(t *testing.T) {
	t.Parallel()
	r := renderer(t)
	for _, size := range []struct{ reps, campaigns int }{{40, 20}, {200, 100}, {1000, 500}} {
		s := large(t, size.reps, size.campaigns)
		for _, aud := range digest.Audiences() {
			for _, lang := range []string{"es", "en"} {
				d, err := r.Render(s, options(aud, lang))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%4d reps %3d campaigns %-10s %s: HTML %6.1f KB, text %6.1f KB",
					size.reps, size.campaigns, aud, lang, float64(len(d.HTML))/1024, float64(len(d.Text))/1024)
				if len(d.HTML) > maxHTMLBytes {
					t.Errorf("%d reps, %d campaigns, %s digest in %s: HTML is %d bytes, more than %d: Gmail clips it",
						size.reps, size.campaigns, aud, lang, len(d.HTML), maxHTMLBytes)
				}
			}
		}
	}
}

// TestLargeTeamShowsRepsNeedingAttention: past the cap, the per-rep table
// shows the reps with the most SLA breaches and says where the others are.
func TestLargeTeamShowsRepsNeedingAttention(t *testing.T) {
	t.Parallel()
	s := large(t, 1000, 500)
	d, err := renderer(t).Render(s, options(digest.Sales, "en"))
	if err != nil {
		t.Fatal(err)
	}
	shown := regexp.MustCompile(`data-k="by_rep\.(\d+)\.mqls_assigned"`).FindAllStringSubmatch(d.HTML, -1)
	if len(shown) != 25 {
		t.Fatalf("per-rep table shows %d reps, want 25", len(shown))
	}
	most := 0
	for _, r := range s.ByRep {
		most = max(most, r.SLABreached)
	}
	for _, m := range shown {
		i, _ := strconv.Atoi(m[1])
		if got := s.ByRep[i].SLABreached; got != most {
			t.Errorf("rep %s with %d SLA breaches shown; every rep shown should have %d", s.ByRep[i].RepID, got, most)
		}
	}
	for _, part := range []string{d.HTML, d.Text} {
		if !strings.Contains(part, "the other 975 are in the Reps sheet") {
			t.Errorf("digest does not say where the other 975 reps are")
		}
	}
	m, err := renderer(t).Render(s, options(digest.Marketing, "es"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"las otras 480 están en la hoja «Campañas»", "y 90 más en la hoja «Rechazos»"} {
		if !strings.Contains(m.HTML, want) || !strings.Contains(m.Text, want) {
			t.Errorf("marketing digest does not say %q", want)
		}
	}
}
