// Package delivery sends rendered reports: it builds the MIME message
// (text and HTML alternatives plus the workbook), hands it to an SMTP relay
// or writes it to an outbox directory, and says precisely what happened to
// each recipient's copy.
//
// The classification in Result is what the ledger's "effectively once"
// promise rests on. SMTP cannot give exactly-once delivery: if the
// connection breaks after the message data went out but before the
// server's reply, the message may or may not have arrived (RFC 1047).
// Failures before that point are safe to retry; 5xx replies are final;
// the gap in between is reported as report.DeliveryUnknown and never retried here,
// because a silent duplicate is worse than a visible question mark.
package delivery

import (
	"context"

	"github.com/sameteam/sameteam/internal/report"
)

// Result is what a Sender reports for one message.
type Result struct {
	Status report.DeliveryStatus
	// Err explains any status but report.DeliverySent. Its text never contains the
	// SMTP password. Match it with errors.Is against ErrSession, ErrTLS,
	// ErrAuth, ErrRecipientDeferred, ErrAmbiguous, ErrInvalidMessage and
	// ErrInvalidAddress.
	Err error
	// Response is the server's reply to the message data when sent
	// (e.g. "2.0.0 Ok: queued as 1234"), the failing reply when there was
	// one (e.g. "550 5.1.1 User unknown"), or the file written by Outbox.
	Response string
	// Code is the last SMTP reply code seen (250 when sent); 0 when the
	// failure was not a reply (network error, timeout, local error).
	Code int
	// EnhancedCode is the RFC 3463 code of a failure reply (e.g. "5.1.1")
	// when the server sends them.
	EnhancedCode string
	// Attempts is how many times the message was tried in this call.
	Attempts int
}

// Sender delivers one message to its one recipient. Implementations retry
// transient failures themselves; the caller records the Result.
type Sender interface {
	Send(ctx context.Context, m Message) Result
}

var (
	_ Sender = (*SMTP)(nil)
	_ Sender = (*Outbox)(nil)
)

// deliveryError carries the sentinels a failure matches and a text from
// which secrets have been removed. The cause stays in the chain only when
// its text was clean, so no unwrapping can bring a secret back.
type deliveryError struct {
	text  string
	chain []error
}

func (e *deliveryError) Error() string   { return e.text }
func (e *deliveryError) Unwrap() []error { return e.chain }
