-- Units everywhere: an upload belongs to a unit (each unit has its own current list and
-- versions; a bank file's unmatched payouts count there); a list row counts in the commune
-- its commune column names (NULL: in its list's unit); a token reads and writes within
-- its unit's subtree; a run covers a unit's subtree; a callback may name the unit its
-- unmatched payouts count in (NULL: the nation). Existing rows all sit at the nation.
-- Codes are checked against the shipped tree by the application (SQLite cannot add a
-- column with both REFERENCES and a default). Keep migrations/postgres/ in step.
ALTER TABLE uploads ADD COLUMN unit_code TEXT NOT NULL DEFAULT 'VN';
ALTER TABLE beneficiary_rows ADD COLUMN unit_code TEXT;
ALTER TABLE api_tokens ADD COLUMN unit_code TEXT NOT NULL DEFAULT 'VN';
ALTER TABLE reconciliations ADD COLUMN unit_code TEXT NOT NULL DEFAULT 'VN';
ALTER TABLE callback_payouts ADD COLUMN unit_code TEXT;
CREATE INDEX uploads_period_unit ON uploads (period_id, kind, unit_code);
