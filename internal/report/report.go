// Package report is sameteam's vocabulary: the typed words that the
// configuration, the ledger, the pipeline, the scheduler, the HTTP index,
// the telemetry and the command line share. Each word is defined here once,
// so a misspelt status does not compile and a new one is added in one place.
//
// The string values are what the ledger stores (sameteam_runs.status,
// sameteam_runs.trigger, sameteam_deliveries.status) and what the
// configuration reads (audience): changing one breaks existing databases
// and configuration files, so values are added, never renamed. A value is
// added with its constant and its entry in the type's list; one the ledger
// stores also needs a ledger migration that widens the column's CHECK
// constraint (the ledger's tests check its SQL against this package).
//
// Period kinds are period.Kind: they carry their bounds and labels, and
// live with them.
package report

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Audience is who a report is written for.
type Audience string

// The audiences. To add one, add it here and to audiences (a team digest:
// one message, the same for every recipient) or personalAudiences (one
// message per person, each with their own slice of the snapshot); the
// digest and the workbook then need its templates and words.
const (
	AudienceLeadership Audience = "leadership"
	AudienceSales      Audience = "sales"
	AudienceMarketing  Audience = "marketing"
	// AudienceRep is each sales rep: their backlog, their MQLs, their
	// numbers beside the team's.
	AudienceRep Audience = "rep"
	// AudienceCampaignOwner is each owner of campaigns: what sales did
	// with their campaigns' MQLs.
	AudienceCampaignOwner Audience = "campaign_owner"
)

var (
	audiences         = []Audience{AudienceLeadership, AudienceSales, AudienceMarketing}
	personalAudiences = []Audience{AudienceRep, AudienceCampaignOwner}
)

// Audiences lists the team digests' audiences, in the order the
// documentation gives.
func Audiences() []Audience { return slices.Clone(audiences) }

// PersonalAudiences lists the audiences of personal digests.
func PersonalAudiences() []Audience { return slices.Clone(personalAudiences) }

// Valid reports whether a is a known audience.
func (a Audience) Valid() bool { return slices.Contains(audiences, a) || a.Personal() }

// Personal reports whether a report for a is one message per person, each
// with only that person's rows.
func (a Audience) Personal() bool { return slices.Contains(personalAudiences, a) }

// ParseAudience reads an audience as the configuration spells it.
func ParseAudience(s string) (Audience, error) {
	if a := Audience(s); a.Valid() {
		return a, nil
	}
	return "", fmt.Errorf("%q: want %s", s, oneOf(append(Audiences(), personalAudiences...)))
}

// Recipient sources of recipients_from: a team's active members with an
// email, or the owners of campaigns.
const (
	FromSales          = "team:sales"
	FromMarketing      = "team:marketing"
	FromCampaignOwners = "campaign_owners"
)

// RunStatus is the state of one run in the ledger.
type RunStatus string

// The run states. A run is running until it finishes succeeded (every
// recipient sent or skipped), partial (some not sent), failed, or held (the
// data-quality gate kept it from sending; the ledger stores it since
// migration 0002).
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunPartial   RunStatus = "partial"
	RunFailed    RunStatus = "failed"
	RunHeld      RunStatus = "held"
)

var runStatuses = []RunStatus{RunRunning, RunSucceeded, RunPartial, RunFailed, RunHeld}

// Valid reports whether s is a known run status.
func (s RunStatus) Valid() bool { return slices.Contains(runStatuses, s) }

// Final reports whether s is a status a run finishes with.
func (s RunStatus) Final() bool { return s.Valid() && s != RunRunning }

// DeliveryStatus is the state of one recipient's delivery.
type DeliveryStatus string

// The delivery states. The ledger stores pending, sending, sent,
// failed_temporary, failed_permanent and unknown: pending and
// failed_temporary are retried by the next claim; sent, failed_permanent
// and unknown are final unless the claim asks otherwise. skipped is a run's
// outcome for a recipient with nothing to send (already sent, a dry run);
// since migration 0002 the ledger may also store it, with its reason.
//
// A sender's result is one of four: sent (the server accepted the message,
// 250 after DATA); failed_temporary (certainly not accepted, and a later
// attempt may succeed: a 4xx reply, an error before the message data was
// complete, a session failure; retrying cannot create a duplicate);
// failed_permanent (a 5xx reply for this recipient or message, or an
// invalid message: retrying would fail the same way); unknown (the data was
// transmitted but no final reply arrived: the message may have been
// delivered, so it is never retried automatically).
const (
	DeliveryPending         DeliveryStatus = "pending"
	DeliverySending         DeliveryStatus = "sending"
	DeliverySent            DeliveryStatus = "sent"
	DeliveryFailedTemporary DeliveryStatus = "failed_temporary"
	DeliveryFailedPermanent DeliveryStatus = "failed_permanent"
	DeliveryUnknown         DeliveryStatus = "unknown"
	DeliverySkipped         DeliveryStatus = "skipped"
)

var deliveryStatuses = []DeliveryStatus{DeliveryPending, DeliverySending, DeliverySent,
	DeliveryFailedTemporary, DeliveryFailedPermanent, DeliveryUnknown, DeliverySkipped}

// Valid reports whether s is a known delivery status.
func (s DeliveryStatus) Valid() bool { return slices.Contains(deliveryStatuses, s) }

// Failed reports whether s is a failure, temporary or permanent.
func (s DeliveryStatus) Failed() bool {
	return s == DeliveryFailedTemporary || s == DeliveryFailedPermanent
}

// SkipReason is why a run skipped a recipient on purpose; the ledger keeps
// it as the skipped delivery's last_error, and package locale has its
// words for the people who read it.
type SkipReason string

// The reasons a delivery is skipped on purpose.
const (
	// SkipUnsubscribed: the recipient opted out of the report through the
	// unsubscribe link of an earlier digest (`sameteam recipients` lists
	// and restores opt-outs).
	SkipUnsubscribed SkipReason = "unsubscribed"
	// SkipEmpty: a personal report with skip_empty found nothing for the
	// person to read (nothing due, nothing in the period). A rerun of the
	// period decides the same; only --force sends after all.
	SkipEmpty SkipReason = "skip_empty"
)

var skipReasons = []SkipReason{SkipUnsubscribed, SkipEmpty}

// SkipReasons lists every skip reason.
func SkipReasons() []SkipReason { return slices.Clone(skipReasons) }

// Valid reports whether r is a known skip reason.
func (r SkipReason) Valid() bool { return slices.Contains(skipReasons, r) }

// Trigger tells what started a run.
type Trigger string

// The triggers: the scheduler's timer, a person (`run`, the demo), and the
// scheduler's catch-up of a period whose run was missed.
const (
	TriggerScheduled Trigger = "scheduled"
	TriggerManual    Trigger = "manual"
	TriggerCatchUp   Trigger = "catch_up"
)

var triggers = []Trigger{TriggerScheduled, TriggerManual, TriggerCatchUp}

// Valid reports whether t is a known trigger.
func (t Trigger) Valid() bool { return slices.Contains(triggers, t) }

// oneOf writes a list of words for an error message: "a, b or c".
func oneOf[T ~string](words []T) string {
	var b strings.Builder
	for i, w := range words {
		switch {
		case i == 0:
		case i == len(words)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(w))
	}
	return b.String()
}

// GateNotice is the report name under which the ledger records the notices
// to a report's owners that it was held by the data-quality gate: their
// own key, so an owner who also receives the report gets both, each once.
// A report name never holds a colon, so no report can take this key.
func GateNotice(name string) string { return name + ":held-notice" }

// nameRE is what a report name may be: it is a ledger key, a job name, a
// file name prefix and part of a URL, so it stays lower-case and plain.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ValidName reports whether name may name a report (or a calendar):
// lower-case letters, digits and -, at most 64, starting with a letter or
// digit.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Locales are the languages a report is written in, as the configuration
// spells them; package locale has the words of each.
var locales = []string{"es", "en"}

// Locales lists every locale.
func Locales() []string { return slices.Clone(locales) }

// ValidLocale reports whether tag is a locale a report can be written in.
func ValidLocale(tag string) bool { return slices.Contains(locales, tag) }
