package ledger

import "errors"

// Errors about arguments and runs.
var (
	// ErrInvalid is returned for an empty report, period, recipient or
	// Message-ID, or an unknown status or trigger.
	ErrInvalid = errors.New("ledger: invalid argument")
	// ErrRunInProgress is returned by StartRun when another live run holds
	// the same (report, period); the caller skips, it is a duplicate trigger.
	ErrRunInProgress = errors.New("ledger: a run of this report and period is in progress")
	// ErrNoRun is returned for a run ID the ledger does not know.
	ErrNoRun = errors.New("ledger: no such run")
	// ErrRunNotRunning is returned when a run has already finished, or was
	// taken for dead after its lease passed; its process must stop sending.
	ErrRunNotRunning = errors.New("ledger: run is no longer running")
	// ErrRunMismatch is returned when a claim names a run of another report
	// or period.
	ErrRunMismatch = errors.New("ledger: run belongs to another report or period")
	// ErrMigration is returned when the ledger's schema cannot be applied.
	ErrMigration = errors.New("ledger: migration failed")
)

// Reasons a Claim is refused, found in Claim.Reason.
var (
	// ErrAlreadySent: the recipient has the message; only Force resends.
	ErrAlreadySent = errors.New("ledger: already sent")
	// ErrUnknownOutcome: an earlier attempt may or may not have arrived;
	// only ResendUnknown (or Force) sends again.
	ErrUnknownOutcome = errors.New("ledger: earlier attempt has an unknown outcome")
	// ErrFailedPermanent: the server refused the recipient for good; only
	// Force tries again.
	ErrFailedPermanent = errors.New("ledger: delivery failed permanently")
	// ErrInProgress: a live run is sending to the recipient right now.
	ErrInProgress = errors.New("ledger: delivery in progress")
	// ErrUnsubscribed: the recipient opted out of the report; the claim
	// recorded the delivery as skipped (Claim.Skip says why), and not even
	// Force sends until the opt-out is restored.
	ErrUnsubscribed = errors.New("ledger: the recipient unsubscribed from this report")
	// ErrSkipped: an earlier run decided not to send (a person with
	// nothing to read); only Force sends after all.
	ErrSkipped = errors.New("ledger: skipped on purpose")
)

// Errors of marks and locks.
var (
	// ErrClaimLost is returned by MarkSent and MarkFailed when the delivery
	// no longer belongs to the claim (another run claimed it since).
	ErrClaimLost = errors.New("ledger: claim lost")
	// ErrLocked is returned by Lock when another process holds the lock; the
	// caller skips the run.
	ErrLocked = errors.New("ledger: locked by another process")
	// ErrHolderAlive comes with ErrLocked when the holder is known to be a
	// live process delivering the same thing: a PostgreSQL session holds
	// the lock, or the SQLite lock's owner is a running process of this
	// host. Without it the holder may be gone (another host, an owner that
	// cannot be checked), and the caller must try again later.
	ErrHolderAlive = errors.New("ledger: the lock's holder is alive")
	// ErrLockLost is returned by unlock when the lock was lost while held: the
	// connection dropped (PostgreSQL) or the lease expired and another
	// process took it over (SQLite).
	ErrLockLost = errors.New("ledger: lock lost while held")
)
