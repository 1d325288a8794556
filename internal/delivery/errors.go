package delivery

import "errors"

var (
	// ErrConfig marks an invalid SMTP configuration; the text names the setting.
	ErrConfig = errors.New("delivery: invalid configuration")
	// ErrInvalidAddress marks an address that is malformed or unsafe to send to.
	ErrInvalidAddress = errors.New("delivery: invalid address")
	// ErrDomainNotAllowed marks an address outside the allowed domains.
	ErrDomainNotAllowed = errors.New("delivery: domain not allowed")
	// ErrInvalidMessage marks a Message that cannot be turned into mail.
	ErrInvalidMessage = errors.New("delivery: invalid message")
	// ErrSession marks a failure before the mail transaction began: connect,
	// greeting, EHLO, TLS, AUTH or the sender (MAIL FROM). The recipient is
	// not at fault, so the delivery stays retryable, and every other
	// recipient on the same server would fail the same way: callers stop
	// the run instead of burning each recipient's attempts.
	ErrSession = errors.New("delivery: smtp session failed")
	// ErrTLS marks TLS that is required but not offered, or that failed
	// (handshake, certificate). It is never retried inside Send.
	ErrTLS = errors.New("delivery: tls unavailable or untrusted")
	// ErrAuth marks SMTP authentication that was refused or impossible. It
	// is never retried inside Send: retries would lock the account.
	ErrAuth = errors.New("delivery: smtp authentication failed")
	// ErrRecipientDeferred marks a temporary refusal of one recipient at
	// RCPT (4xx other than 421: mailbox full, greylisting). It is that
	// recipient's problem, not the relay's: the session is sound and the
	// other recipients are tried as usual.
	ErrRecipientDeferred = errors.New("delivery: recipient deferred")
	// ErrAmbiguous marks a delivery whose outcome is unknown: the message
	// data went out but no final reply came back, so it may have arrived.
	ErrAmbiguous = errors.New("delivery: outcome unknown")
)
