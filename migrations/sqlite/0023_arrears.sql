-- Carrying over (issue 15): what an approved run left unpaid (unpaid, failed, returned,
-- the rest of an underpayment) becomes arrears (truy lĩnh) owed in a later period of the
-- same programme, for the run's unit. One carry-over per (period, run); its people are
-- the arrears rows. Amounts are exact decimals as text. Append-only.
-- Keep migrations/postgres/ in step.
CREATE TABLE carry_overs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id        INTEGER NOT NULL REFERENCES periods (id),
    unit_code        TEXT NOT NULL,
    from_run         INTEGER NOT NULL REFERENCES reconciliations (id),
    from_period_code TEXT NOT NULL,
    people           INTEGER NOT NULL,
    amount           TEXT NOT NULL,
    skipped          INTEGER NOT NULL,
    at               TEXT NOT NULL,
    actor            TEXT NOT NULL,
    actor_name       TEXT NOT NULL,
    UNIQUE (period_id, from_run)
);

CREATE TABLE arrears (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    carry_over_id    INTEGER NOT NULL REFERENCES carry_overs (id),
    period_id        INTEGER NOT NULL REFERENCES periods (id),
    unit_code        TEXT NOT NULL,
    population_id    TEXT NOT NULL,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    amount           TEXT NOT NULL
);
CREATE INDEX arrears_by_period ON arrears (period_id, id);
