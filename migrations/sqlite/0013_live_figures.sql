-- Live figures kept, not recomputed on every read: a period's figures as cells that add up
-- (recon::cells: one per unit, commune, category and bank of the people, one per unit and
-- bank of the payouts that link to nobody). A read sums the cells of a subtree.
-- Keep migrations/postgres/ in step.

-- What a period's cells were computed from: its current lists and payout files in use
-- (their ids and digests). Other uploads, or others made current, mean a full recompute.
-- `version` counts the writes to the cells: a refresh reads without the write lock and
-- writes only if it is still the version it read.
CREATE TABLE live_state (
    period_id     BIGINT PRIMARY KEY REFERENCES periods (id),
    inputs_key    TEXT NOT NULL,
    version       BIGINT NOT NULL,
    refreshed_at  TEXT NOT NULL
);

CREATE TABLE live_cells (
    period_id      BIGINT NOT NULL,
    -- kind, unit, commune, category and bank joined: the cell's identity.
    cell_key       TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('people', 'unmatched')),
    unit_code      TEXT,
    -- The unit's province (the filter by a province's subtree).
    province_code  TEXT,
    commune_key    TEXT,
    category_key   TEXT,
    bank_code      TEXT,
    -- As the cell's first person spells them, and where that person is in the lists.
    commune_text   TEXT,
    category_text  TEXT,
    first_pos      BIGINT NOT NULL,
    -- The cell's counts and exact amounts (recon::cells::encode).
    figures        TEXT NOT NULL,
    PRIMARY KEY (period_id, cell_key)
);
CREATE INDEX live_cells_province ON live_cells (period_id, province_code);
CREATE INDEX live_cells_unit ON live_cells (period_id, unit_code);

-- Callback payouts changed since the cells last took them in: the payout and the state the
-- cells counted (before_status NULL: none, the payout is new). Written in the callback's
-- transaction; a refresh applies and deletes them in one transaction.
CREATE TABLE live_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    programme          TEXT NOT NULL,
    period_code        TEXT NOT NULL,
    callback_id        BIGINT NOT NULL,
    before_status      TEXT,
    before_reason      TEXT,
    before_value_date  TEXT
);
CREATE INDEX live_changes_period ON live_changes (programme, period_code, id);

-- A change touches only the rows linked to it (by ID, by account without leading zeros, by
-- bank reference). Callbacks are found by these; list and payout rows by an index each
-- server keeps in memory (an index on those tables would cost every national upload more
-- than its COPY does).
CREATE INDEX callback_payouts_id ON callback_payouts (population_id);
CREATE INDEX callback_payouts_account ON callback_payouts (ltrim(account_number, '0'));
