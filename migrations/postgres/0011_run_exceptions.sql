-- A run's exceptions as indexed rows (one JSON document per run made every exceptions page
-- parse the whole list): one row per exception in the run's order (`seq`, from 0), with the
-- columns its filters use, and the row itself as JSON. `exception_rows` on the run is how
-- many there are; NULL marks a run stored before this migration, whose `exceptions_json`
-- the application moves into rows the first time the run is read (then it is emptied).
-- Keep migrations/sqlite/ in step. IDs compare bytewise (COLLATE "C"), so an ID prefix is an
-- index range whatever the database's locale.
ALTER TABLE reconciliations ADD COLUMN exception_rows BIGINT;

CREATE TABLE run_exceptions (
    -- No REFERENCES: the rows are written with their run, in its transaction, and a
    -- foreign key is checked row by row (on PostgreSQL, a trigger per row: most of the time
    -- a national run's 1.3 million rows take to store).
    run_id         BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    -- The unit the person or payout counts in, and that unit's province (the filter by a
    -- province's subtree); NULL where rows name no unit.
    unit_code      TEXT,
    province_code  TEXT,
    -- Commune as written, folded (case and diacritics), for the commune filter.
    commune_key    TEXT,
    bank_code      TEXT,
    population_id  TEXT COLLATE "C" NOT NULL,
    -- The name folded, for search.
    name_key       TEXT NOT NULL,
    row_json       TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX run_exceptions_kind ON run_exceptions (run_id, kind, seq);
CREATE INDEX run_exceptions_unit ON run_exceptions (run_id, unit_code, seq);
CREATE INDEX run_exceptions_province ON run_exceptions (run_id, province_code, seq);
CREATE INDEX run_exceptions_commune ON run_exceptions (run_id, commune_key, seq);
CREATE INDEX run_exceptions_bank ON run_exceptions (run_id, bank_code, seq);
CREATE INDEX run_exceptions_id ON run_exceptions (run_id, population_id);

-- One row per (exception, flag): the flag filter is an index range too.
CREATE TABLE run_exception_flags (
    run_id  BIGINT NOT NULL,
    flag    TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (run_id, flag, seq)
);
