-- One target per rate: account coverage (accounts opened) and the cashless rate (paid to
-- an account) are set apart, as provinces report them. target_bp stays the target for both
-- rates; a rate's own target wins over it. A unit's row may now hold only a rate's own
-- target, so its target_bp becomes optional (SQLite rebuilds the table for that).
-- Keep migrations/postgres/ in step.
ALTER TABLE periods ADD COLUMN account_target_bp INTEGER;
ALTER TABLE periods ADD COLUMN cashless_target_bp INTEGER;

CREATE TABLE period_targets_new (
    period_id          INTEGER NOT NULL REFERENCES periods (id),
    unit_code          TEXT NOT NULL REFERENCES units (code),
    -- Basis points (97.31% = 9731), as periods.target_bp.
    target_bp          INTEGER,
    set_at             TEXT NOT NULL,
    set_by             TEXT NOT NULL,
    account_target_bp  INTEGER,
    cashless_target_bp INTEGER,
    PRIMARY KEY (period_id, unit_code),
    CHECK (target_bp IS NOT NULL OR account_target_bp IS NOT NULL OR cashless_target_bp IS NOT NULL)
);
INSERT INTO period_targets_new (period_id, unit_code, target_bp, set_at, set_by)
SELECT period_id, unit_code, target_bp, set_at, set_by FROM period_targets;
DROP TABLE period_targets;
ALTER TABLE period_targets_new RENAME TO period_targets;

-- When a period's callbacks last changed, read from an index: the period page's table of
-- what banks sent is recounted only then (a national month holds millions of callbacks).
CREATE INDEX callback_payouts_changed ON callback_payouts (programme, period_code, updated_at);
