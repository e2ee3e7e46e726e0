-- A unit's own target for a period, where it differs from the period's: the period's
-- target_bp applies everywhere else. Keep migrations/postgres/ in step.
CREATE TABLE period_targets (
    period_id  BIGINT NOT NULL REFERENCES periods (id),
    unit_code  TEXT NOT NULL REFERENCES units (code),
    -- Basis points (97.31% = 9731), as periods.target_bp.
    target_bp  BIGINT NOT NULL,
    set_at     TIMESTAMPTZ NOT NULL,
    set_by     TEXT NOT NULL,
    PRIMARY KEY (period_id, unit_code)
);
