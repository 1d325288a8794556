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
// the gap in between is reported as StatusUnknown and never retried here,
// because a silent duplicate is worse than a visible question mark.
package delivery

import "context"

// Status is the outcome of one delivery.
type Status string

const (
	// StatusSent means the server accepted the message (250 after DATA).
	StatusSent Status = "sent"
	// StatusFailedTemporary means the message was certainly not accepted
	// and a later attempt may succeed: a 4xx reply, or a connection or
	// timeout error before the message data was complete, or a session
	// failure (see ErrSession). Retrying cannot create a duplicate.
	StatusFailedTemporary Status = "failed_temporary"
	// StatusFailedPermanent means the server refused this recipient or this
	// message with a 5xx reply, or the message itself is invalid. Retrying
	// would fail the same way.
	StatusFailedPermanent Status = "failed_permanent"
	// StatusUnknown means the message data was transmitted but no final
	// reply arrived: the message may have been delivered. It is never
	// retried automatically.
	StatusUnknown Status = "unknown"
)

// Result is what a Sender reports for one message.
type Result struct {
	Status Status
	// Err explains any status but StatusSent. Its text never contains the
	// SMTP password. Match it with errors.Is against ErrSession, ErrTLS,
	// ErrAuth, ErrAmbiguous, ErrInvalidMessage and ErrInvalidAddress.
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
