-- A run the data-quality gate held back (nothing sent, the owners told),
-- a note on a run (what it sent despite the gate), and deliveries skipped
-- on purpose with their reason (a person with nothing to read, an opt-out).
-- SQLite cannot change a CHECK constraint: each table is rebuilt with the
-- new one and its rows copied (foreign keys are not enforced on these
-- connections, so the deliveries' reference to the runs survives).
CREATE TABLE sameteam_runs_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    report        TEXT    NOT NULL,
    period        TEXT    NOT NULL,
    as_of         TEXT,
    status        TEXT    NOT NULL
                  CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'held')),
    "trigger"     TEXT    NOT NULL
                  CHECK ("trigger" IN ('scheduled', 'manual', 'catch_up')),
    owner         TEXT    NOT NULL DEFAULT '',
    started_at    TEXT    NOT NULL,
    lease_until   TEXT,
    finished_at   TEXT,
    error         TEXT    NOT NULL DEFAULT '',
    sent_count    INTEGER NOT NULL DEFAULT 0,
    failed_count  INTEGER NOT NULL DEFAULT 0,
    unknown_count INTEGER NOT NULL DEFAULT 0,
    skipped_count INTEGER NOT NULL DEFAULT 0,
    note          TEXT    NOT NULL DEFAULT ''
) STRICT;
INSERT INTO sameteam_runs_new (id, report, period, as_of, status, "trigger", owner, started_at,
    lease_until, finished_at, error, sent_count, failed_count, unknown_count, skipped_count)
SELECT id, report, period, as_of, status, "trigger", owner, started_at,
    lease_until, finished_at, error, sent_count, failed_count, unknown_count, skipped_count
FROM sameteam_runs;
DROP TABLE sameteam_runs;
ALTER TABLE sameteam_runs_new RENAME TO sameteam_runs;
CREATE UNIQUE INDEX IF NOT EXISTS sameteam_runs_one_running
    ON sameteam_runs (report, period) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS sameteam_runs_report_started
    ON sameteam_runs (report, started_at DESC, id DESC);

CREATE TABLE sameteam_deliveries_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    report      TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    recipient   TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    status      TEXT    NOT NULL
                CHECK (status IN ('pending', 'sending', 'sent', 'failed_temporary',
                                  'failed_permanent', 'unknown', 'skipped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    response    TEXT    NOT NULL DEFAULT '',
    run_id      INTEGER REFERENCES sameteam_runs (id),
    updated_at  TEXT    NOT NULL,
    sent_at     TEXT,
    UNIQUE (report, period, recipient)
) STRICT;
INSERT INTO sameteam_deliveries_new SELECT * FROM sameteam_deliveries;
DROP TABLE sameteam_deliveries;
ALTER TABLE sameteam_deliveries_new RENAME TO sameteam_deliveries;
CREATE INDEX IF NOT EXISTS sameteam_deliveries_sending
    ON sameteam_deliveries (run_id) WHERE status = 'sending';
