-- A run the data-quality gate held back (nothing sent, the owners told),
-- a note on a run (what it sent despite the gate), and deliveries skipped
-- on purpose with their reason (a person with nothing to read, an opt-out).
ALTER TABLE sameteam_runs DROP CONSTRAINT IF EXISTS sameteam_runs_status_check;
ALTER TABLE sameteam_runs ADD CONSTRAINT sameteam_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'held'));
ALTER TABLE sameteam_runs ADD COLUMN IF NOT EXISTS note text NOT NULL DEFAULT '';

ALTER TABLE sameteam_deliveries DROP CONSTRAINT IF EXISTS sameteam_deliveries_status_check;
ALTER TABLE sameteam_deliveries ADD CONSTRAINT sameteam_deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed_temporary',
                      'failed_permanent', 'unknown', 'skipped'));
