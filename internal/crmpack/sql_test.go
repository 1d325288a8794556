package crmpack

import (
	"strings"
	"testing"
)

// Airbyte naming reads the API names as quoted identifiers; the settings'
// columns are taken as written.
func TestAirbyteNamesAreQuotedAPINames(t *testing.T) {
	c := Config{Name: Salesforce, Schema: "sf", Naming: Airbyte, Mapping: Mapping{MQL: Milestone{Column: "MQL_Date__c"}}}.WithDefaults()
	p := Generate(c, "sameteam", Catalog{"Lead": {"IsDeleted": "boolean"}})
	sql := p.Script()
	for _, want := range []string{`"sf"."Lead" l`, `l."CreatedDate"::timestamptz`, `l."MQL_Date__c"::timestamptz`, `NOT coalesce(l."IsDeleted", false)`,
		`"sf"."LeadHistory" h`, `h."NewValue" IN ('Working - Contacted'`, `t."WhoId"`, `"sf"."CampaignMember" cm`, `o."LastStageChangeDate"`} {
		if !strings.Contains(sql, want) {
			t.Errorf("no %s in\n%s", want, sql)
		}
	}
	if strings.Contains(sql, "_fivetran") || strings.Contains(sql, "WHERE true") || strings.Contains(sql, "AND true") {
		t.Errorf("flags the catalog does not have, or empty conditions:\n%s", sql)
	}
}

func TestValidateNamesThePath(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Name: HubSpot, Naming: Airbyte}, "source.pack.naming: airbyte naming is for salesforce only"},
		{Config{Name: Salesforce, Naming: "stitch"}, `source.pack.naming: "stitch": want fivetran or airbyte`},
		{Config{Name: Salesforce, Mapping: Mapping{Teams: Teams{By: "title"}}}, `source.pack.mapping.teams.by: "title"`},
		{Config{Name: Salesforce, Mapping: Mapping{Teams: Teams{By: "ids"}}}, "source.pack.mapping.teams.sales: lists no user id"},
		{Config{Name: Salesforce, Mapping: Mapping{LeadSources: LeadSources{Marketing: []string{"Web"}, Sales: []string{" web"}}}}, `source.pack.mapping.lead_sources.sales: " web" is also in`},
		{Config{Name: HubSpot, Mapping: Mapping{Activities: Activities{EngagementTypes: []string{"calls"}}}}, `source.pack.mapping.activities.engagement_types[0]: "calls"`},
		{Config{Name: HubSpot, Mapping: Mapping{Teams: Teams{By: "department"}}}, `source.pack.mapping.teams.by: "department": want team`},
	} {
		var got []string
		for _, p := range tc.c.WithDefaults().Validate("source.pack") {
			got = append(got, p.Error())
		}
		if !strings.Contains(strings.Join(got, "\n"), tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.c, got, tc.want)
		}
	}
	if probs := (Config{Name: HubSpot}).WithDefaults().Validate("source.pack"); len(probs) > 0 {
		t.Errorf("the HubSpot defaults are not valid: %v", probs)
	}
	if probs := (Config{Name: Salesforce, Naming: Airbyte}).WithDefaults().Validate("source.pack"); len(probs) > 0 {
		t.Errorf("the Salesforce defaults are not valid: %v", probs)
	}
}
