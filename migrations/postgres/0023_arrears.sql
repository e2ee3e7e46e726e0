-- Carrying over (issue 15): what an approved run left unpaid (unpaid, failed, returned,
-- the rest of an underpayment) becomes arrears (truy lĩnh) owed in a later period of the
-- same programme, for the run's unit. One carry-over per (period, run); its people are
-- the arrears rows. Amounts are exact decimals as text. Append-only.
-- Keep migrations/sqlite/ in step.
CREATE TABLE carry_overs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period_id        BIGINT NOT NULL REFERENCES periods (id),
    unit_code        TEXT NOT NULL,
    from_run         BIGINT NOT NULL REFERENCES reconciliations (id),
    from_period_code TEXT NOT NULL,
    people           BIGINT NOT NULL,
    amount           TEXT NOT NULL,
    skipped          BIGINT NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    actor            TEXT NOT NULL,
    actor_name       TEXT NOT NULL,
    UNIQUE (period_id, from_run)
);

CREATE TABLE arrears (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    carry_over_id    BIGINT NOT NULL REFERENCES carry_overs (id),
    period_id        BIGINT NOT NULL REFERENCES periods (id),
    unit_code        TEXT NOT NULL,
    population_id    TEXT NOT NULL,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    amount           TEXT NOT NULL
);
CREATE INDEX arrears_by_period ON arrears (period_id, id);
