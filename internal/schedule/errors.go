package schedule

import "errors"

var (
	// ErrCron is returned for a cron expression sameteam cannot schedule.
	ErrCron = errors.New("schedule: bad cron expression")
	// ErrJob is returned for a job definition that is incomplete or repeated.
	ErrJob = errors.New("schedule: bad job")
	// ErrLocked is returned by AdvisoryLocker.Lock when another session holds
	// the lock: another replica is running that report.
	ErrLocked = errors.New("schedule: lock held elsewhere")
)
