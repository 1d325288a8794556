package config

import (
	"strings"
	"testing"
)

func TestLinksAndPersonalReports(t *testing.T) {
	t.Parallel()
	yml := `links:
  lead: "https://acme.my.salesforce.com/{id}"
  campaign: "https://acme.my.salesforce.com/lightning/r/Campaign/{id}/view"
reports:
  - {name: daily-rep, audience: rep, period: day, recipients_from: "team:sales", skip_empty: true}
  - {name: weekly-campaigns, audience: campaign_owner, period: week, recipients_from: campaign_owners}
`
	cfg, err := Parse("p.yaml", []byte(yml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Links.LeadURL("00Q1") != "https://acme.my.salesforce.com/00Q1" || cfg.Links.OpportunityURL("x") != "" {
		t.Errorf("links: %+v", cfg.Links)
	}
	if !cfg.Reports[0].SkipEmpty || cfg.Reports[1].RecipientsFrom != "campaign_owners" {
		t.Errorf("reports: %+v", cfg.Reports)
	}
}

func TestLinksAndPersonalReportProblems(t *testing.T) {
	t.Parallel()
	yml := `links:
  lead: "javascript:alert({id})"
  opportunity: "https://crm.example/opportunity"
  campaign: "ftp://crm.example/{id}"
reports:
  - {name: a, audience: rep, period: day, recipients_from: "team:marketing"}
  - {name: b, audience: campaign_owner, period: week, recipients_from: "team:sales"}
  - {name: c, audience: sales, period: week, recipients_from: campaign_owners, skip_empty: true}
  - name: d
    audience: campaign_owner
    period: week
    recipients_from: campaign_owners
    recipients: [ana@example.com]
`
	_, err := Parse("p.yaml", []byte(yml), env(nil))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`line 2: links.lead: "javascript:alert({id})": only https:// and http:// links are allowed`,
		`line 3: links.opportunity: "https://crm.example/opportunity" has no {id}`,
		`line 4: links.campaign: "ftp://crm.example/{id}": only https:// and http://`,
		`line 6: reports[0].recipients_from: "team:marketing": a rep report goes to sales reps`,
		`line 7: reports[1].recipients_from: "team:sales": want campaign_owners`,
		`line 8: reports[2].recipients_from: "campaign_owners": want team:sales or team:marketing`,
		`line 8: reports[2].skip_empty: only a personal report`,
		`line 13: reports[3].recipients: a campaign_owner report goes to the owners of campaigns`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
