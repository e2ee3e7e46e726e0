-- A run's exceptions searched by account number as well as by personal ID: the account as
-- written (spaces removed), so a start of digits is an index range. Runs stored before this
-- have no account here (their search by ID and name is unchanged).
-- Keep migrations/postgres/ in step.
ALTER TABLE run_exceptions ADD COLUMN account TEXT;
CREATE INDEX run_exceptions_account ON run_exceptions (run_id, account);
