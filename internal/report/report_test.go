package report_test

import (
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/report"
)

func TestParseAudience(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want report.Audience
		ok   bool
	}{
		{"leadership", report.AudienceLeadership, true},
		{"sales", report.AudienceSales, true},
		{"marketing", report.AudienceMarketing, true},
		{"rep", report.AudienceRep, true},
		{"campaign_owner", report.AudienceCampaignOwner, true},
		{"Sales", "", false},
		{"", "", false},
	}
	for _, tc := range cases {
		got, err := report.ParseAudience(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseAudience(%q) = %q, %v", tc.in, got, err)
		}
	}
	if _, err := report.ParseAudience("ops"); err == nil || err.Error() != `"ops": want leadership, sales, marketing, rep or campaign_owner` {
		t.Errorf("the error does not list the audiences: %v", err)
	}
}

// TestStoredWords pins the strings the ledger stores and the configuration
// reads: existing databases and config files hold them, so a rename must
// fail here rather than strand their rows.
func TestStoredWords(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		string(report.RunRunning): "running", string(report.RunSucceeded): "succeeded",
		string(report.RunPartial): "partial", string(report.RunFailed): "failed", string(report.RunHeld): "held",
		string(report.DeliveryPending): "pending", string(report.DeliverySending): "sending",
		string(report.DeliverySent): "sent", string(report.DeliveryFailedTemporary): "failed_temporary",
		string(report.DeliveryFailedPermanent): "failed_permanent", string(report.DeliveryUnknown): "unknown",
		string(report.DeliverySkipped):  "skipped",
		string(report.TriggerScheduled): "scheduled", string(report.TriggerManual): "manual",
		string(report.TriggerCatchUp):   "catch_up",
		string(report.SkipUnsubscribed): "unsubscribed",
	}
	for got, w := range want {
		if got != w {
			t.Errorf("stored word %q, want %q", got, w)
		}
	}
	for _, s := range []report.RunStatus{report.RunRunning, report.RunSucceeded, report.RunPartial, report.RunFailed, report.RunHeld} {
		if !s.Valid() {
			t.Errorf("%s is not valid", s)
		}
		if s.Final() == (s == report.RunRunning) {
			t.Errorf("%s: Final = %v", s, s.Final())
		}
	}
	for _, r := range report.SkipReasons() {
		if !r.Valid() {
			t.Errorf("skip reason %s is not valid", r)
		}
	}
	if report.RunStatus("success").Valid() || report.Trigger("catch-up").Valid() || report.DeliveryStatus("ok").Valid() {
		t.Error("a word no package stores is valid")
	}
}

func TestNamesAndLocales(t *testing.T) {
	for name, want := range map[string]bool{
		"weekly-sales": true, "q4": true, "a": true, strings.Repeat("a", 64): true,
		"": false, "-weekly": false, "Weekly": false, "weekly sales": false, "weekly_sales": false,
		strings.Repeat("a", 65): false, "weekly:held-notice": false,
	} {
		if got := report.ValidName(name); got != want {
			t.Errorf("report.ValidName(%q) = %v", name, got)
		}
	}
	for _, tag := range report.Locales() {
		if !report.ValidLocale(tag) {
			t.Errorf("%q is listed and not valid", tag)
		}
	}
	if report.ValidLocale("fr") || report.ValidLocale("") {
		t.Error("fr or the empty tag is a valid locale")
	}
}
