-- Recipients who asked, through a digest's unsubscribe link, to stop
-- receiving a report. A run skips them (a skipped delivery, reason
-- "unsubscribed") until `sameteam recipients --restore` removes the row.
CREATE TABLE IF NOT EXISTS sameteam_opt_outs (
    report        TEXT NOT NULL,
    -- Lower-cased and trimmed, as in sameteam_deliveries.
    recipient     TEXT NOT NULL,
    -- When the first request arrived; a repeated one keeps it.
    opted_out_at  TEXT NOT NULL,
    PRIMARY KEY (report, recipient)
) STRICT;
