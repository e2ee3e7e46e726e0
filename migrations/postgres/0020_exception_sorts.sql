-- A run's exceptions sorted by the columns a page shows: the amounts (whole đồng) and the
-- difference (due minus paid; NULL where nothing is owed here: unmatched payouts and people
-- paid in cash), and the payouts' earliest value date, each with an index in the run's
-- order, so a page at any depth of a sort is an index range. Rows stored before keep them
-- empty: filling them from every stored row's JSON here took minutes per national run (352
-- s for 2.6 M rows on PostgreSQL), the service down meanwhile, at the first start after the
-- upgrade. Their runs sort by these columns in the run's order (no value, as a row without
-- one). They have no value date either (it was not kept).
-- The texts a page sorts by compare bytewise (COLLATE "C"), as SQLite compares them,
-- whatever the database's locale: the same order on both backends (their indexes are
-- rebuilt; the rows are not rewritten).
-- Keep migrations/sqlite/ in step.
ALTER TABLE run_exceptions
    ALTER COLUMN kind TYPE TEXT COLLATE "C",
    ALTER COLUMN commune_key TYPE TEXT COLLATE "C",
    ALTER COLUMN bank_code TYPE TEXT COLLATE "C",
    ALTER COLUMN name_key TYPE TEXT COLLATE "C";
ALTER TABLE run_exceptions ADD COLUMN amount_due BIGINT;
ALTER TABLE run_exceptions ADD COLUMN amount_paid BIGINT;
ALTER TABLE run_exceptions ADD COLUMN difference BIGINT;
ALTER TABLE run_exceptions ADD COLUMN value_date DATE;

-- The ID's index in the run's order too (a sort by ID breaks ties by seq; the search by
-- an ID's start reads it as before).
DROP INDEX run_exceptions_id;
CREATE INDEX run_exceptions_id ON run_exceptions (run_id, population_id, seq);
CREATE INDEX run_exceptions_name ON run_exceptions (run_id, name_key, seq);
CREATE INDEX run_exceptions_due ON run_exceptions (run_id, amount_due, seq);
CREATE INDEX run_exceptions_paid ON run_exceptions (run_id, amount_paid, seq);
-- The difference and the value date only where a row has one: three in four exceptions
-- of a national month are cash payees (no payout, nothing owed here), so a run writes a
-- quarter of the entries; a sort reads the rows with a value from them, as before.
CREATE INDEX run_exceptions_difference ON run_exceptions (run_id, difference, seq)
    WHERE difference IS NOT NULL;
CREATE INDEX run_exceptions_value_date ON run_exceptions (run_id, value_date, seq)
    WHERE value_date IS NOT NULL;
