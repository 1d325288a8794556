package links_test

import (
	"testing"

	"github.com/sameteam/sameteam/internal/links"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"https://acme.my.salesforce.com/{id}", "http://crm.local:8080/leads?id={id}&v=2", "HTTPS://x.example/{id}/view"} {
		if err := links.Check(ok); err != nil {
			t.Errorf("Check(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"javascript:alert({id})", "https://acme.example/lead", "/leads/{id}", "data:text/html,{id}",
		"ftp://x.example/{id}", "https:///{id}", "https://x.example/%zz{id}"} {
		if err := links.Check(bad); err == nil {
			t.Errorf("Check(%q) accepted it", bad)
		}
	}
}

func TestExpandEscapesTheID(t *testing.T) {
	tm := links.Templates{Lead: "https://crm.example/l/{id}", Campaign: "https://crm.example/c?id={id}&x=1"}
	cases := map[string]string{
		"L00001":                "https://crm.example/l/L00001",
		"a b/../c?d=e&f#g":      "https://crm.example/l/a%20b%2F..%2Fc%3Fd%3De%26f%23g",
		"\"><script>x</script>": "https://crm.example/l/%22%3E%3Cscript%3Ex%3C%2Fscript%3E",
		"Ñu":                    "https://crm.example/l/%C3%91u",
	}
	for id, want := range cases {
		if got := tm.LeadURL(id); got != want {
			t.Errorf("Lead(%q) = %q, want %q", id, got, want)
		}
	}
	if got := tm.CampaignURL("c&1"); got != "https://crm.example/c?id=c%261&x=1" {
		t.Errorf("Campaign: %q", got)
	}
	if got := tm.OpportunityURL("o1"); got != "" {
		t.Errorf("no template, yet a link: %q", got)
	}
	if got := tm.LeadURL(" "); got != "" {
		t.Errorf("no id, yet a link: %q", got)
	}
}
