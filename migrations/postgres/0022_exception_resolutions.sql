-- Resolving exceptions (issue 15). Each run's exceptions keep a history of what was done
-- about them (by the exception's key: `b:<ID>`, `b:row:<row>`, `p:<bank>:<ref>`); the
-- latest entry's state is the exception's (none: `open`). A link or a payment in cash is
-- also an adjustment of the period, for the unit of the run: the live figures and the
-- next runs apply it (stored runs never change). Both are append-only.
-- Keep migrations/sqlite/ in step.
CREATE TABLE exception_resolutions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          BIGINT NOT NULL REFERENCES reconciliations (id),
    exception_key   TEXT NOT NULL,
    action          TEXT NOT NULL CHECK (action IN ('note', 'link', 'paid_in_cash', 'confirm')),
    state           TEXT NOT NULL CHECK (state IN ('open', 'in_progress', 'resolved', 'wont_fix')),
    note            TEXT NOT NULL,
    beneficiary     TEXT,
    actor           TEXT NOT NULL,
    actor_name      TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX exception_resolutions_by_key ON exception_resolutions (run_id, exception_key, id);

CREATE TABLE period_adjustments (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period_id       BIGINT NOT NULL REFERENCES periods (id),
    unit_code       TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('link', 'paid_in_cash')),
    payout_key      TEXT,
    beneficiary_key TEXT NOT NULL,
    list_upload_id  BIGINT REFERENCES uploads (id),
    resolution_id   BIGINT NOT NULL REFERENCES exception_resolutions (id),
    at              TIMESTAMPTZ NOT NULL,
    actor           TEXT NOT NULL
);
CREATE INDEX period_adjustments_by_period ON period_adjustments (period_id, id);
