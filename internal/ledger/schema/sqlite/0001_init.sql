-- The delivery ledger, SQLite flavour: the same tables as PostgreSQL's, with
-- timestamps as fixed-width UTC text (2026-11-23T07:00:00.000000Z) so that
-- text order is time order. STRICT makes SQLite refuse a value of the wrong
-- type instead of storing it.

-- One row per attempt to produce and send one report for one period. A
-- (report, period) may have many runs over time (a retry after a crash, a
-- forced resend); what is sent is decided per recipient in
-- sameteam_deliveries, never by the run.
CREATE TABLE IF NOT EXISTS sameteam_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    report        TEXT    NOT NULL,
    period        TEXT    NOT NULL,
    as_of         TEXT,
    status        TEXT    NOT NULL
                  CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    "trigger"     TEXT    NOT NULL
                  CHECK ("trigger" IN ('scheduled', 'manual', 'catch_up')),
    -- host:pid of the process that runs it, for the operator reading the table.
    owner         TEXT    NOT NULL DEFAULT '',
    started_at    TEXT    NOT NULL,
    -- A running run renews its lease on every claim and mark. A run whose
    -- lease has passed is taken for dead: its process was killed.
    lease_until   TEXT,
    finished_at   TEXT,
    error         TEXT    NOT NULL DEFAULT '',
    sent_count    INTEGER NOT NULL DEFAULT 0,
    failed_count  INTEGER NOT NULL DEFAULT 0,
    unknown_count INTEGER NOT NULL DEFAULT 0,
    skipped_count INTEGER NOT NULL DEFAULT 0
) STRICT;

-- At most one live run per (report, period): two processes on one file
-- converge here even without the lock row.
CREATE UNIQUE INDEX IF NOT EXISTS sameteam_runs_one_running
    ON sameteam_runs (report, period) WHERE status = 'running';

-- Run history per report, newest first (index page, catch-up on start).
CREATE INDEX IF NOT EXISTS sameteam_runs_report_started
    ON sameteam_runs (report, started_at DESC, id DESC);

-- One row per (report, period, recipient): the effectively-once key.
CREATE TABLE IF NOT EXISTS sameteam_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    report      TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    -- Lower-cased and trimmed by the ledger.
    recipient   TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    status      TEXT    NOT NULL
                CHECK (status IN ('pending', 'sending', 'sent', 'failed_temporary',
                                  'failed_permanent', 'unknown')),
    -- Finished attempts: each mark, and each sending row found abandoned.
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    -- The SMTP server's reply to the accepted message.
    response    TEXT    NOT NULL DEFAULT '',
    -- The run that last claimed the row.
    run_id      INTEGER REFERENCES sameteam_runs (id),
    updated_at  TEXT    NOT NULL,
    sent_at     TEXT,
    UNIQUE (report, period, recipient)
) STRICT;

-- Finding rows left in sending by a dead run.
CREATE INDEX IF NOT EXISTS sameteam_deliveries_sending
    ON sameteam_deliveries (run_id) WHERE status = 'sending';

-- SQLite has no advisory locks: a lock is a row with a lease. The holder
-- renews expires_at while it works; a row past its expiry belongs to a
-- process that died and may be taken over. token tells the holder's row from
-- the one of a process that took it over.
CREATE TABLE IF NOT EXISTS sameteam_locks (
    key         TEXT NOT NULL PRIMARY KEY,
    owner       TEXT NOT NULL,
    token       TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;
