-- Bank rows may say a transfer is still in progress ("Đang xử lý", "pending"): such a
-- row is stored and counted as pending, neither paid nor failed. SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt with the same columns.
CREATE TABLE payout_rows_new (
    upload_id   INTEGER NOT NULL REFERENCES uploads (id),
    seq         INTEGER NOT NULL,
    row_no      INTEGER NOT NULL,
    bank_code   TEXT NOT NULL,
    reference   TEXT,
    id_status   TEXT NOT NULL CHECK (id_status IN ('valid', 'legacy', 'invalid', 'missing')),
    id_text     TEXT NOT NULL,
    id_problem  TEXT,
    account     TEXT,
    name        TEXT,
    amount      INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('success', 'failed', 'returned', 'pending')),
    value_date  TEXT,
    reason      TEXT,
    PRIMARY KEY (upload_id, seq)
);
INSERT INTO payout_rows_new SELECT upload_id, seq, row_no, bank_code, reference, id_status,
    id_text, id_problem, account, name, amount, status, value_date, reason FROM payout_rows;
DROP TABLE payout_rows;
ALTER TABLE payout_rows_new RENAME TO payout_rows;
