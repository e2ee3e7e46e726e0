-- no-transaction
-- Programmes (chế độ) and periods per programme: a period is (programme, code), so every
-- programme has its own September. SQLite cannot drop the old UNIQUE (code) in place: the
-- periods table is rebuilt, with foreign keys off (uploads and runs point at it) and the
-- whole change in one transaction of its own (hence no-transaction for the migrator).
-- Periods stored before programmes existed become TCXH periods, whatever their free text said
-- (kept in legacy_programme): their callbacks were stored without a programme and count as
-- TCXH, so period and callbacks stay together, and the callbacks' digests stay valid.
-- Keep migrations/postgres/ in step: same file names, same tables and columns.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE programmes (
    code  TEXT PRIMARY KEY,
    name  TEXT NOT NULL
);
INSERT INTO programmes (code, name) VALUES
    ('TCXH', 'Trợ cấp xã hội hàng tháng'),
    ('NCC', 'Trợ cấp ưu đãi người có công'),
    ('HTXH', 'Trợ cấp hưu trí xã hội');

CREATE TABLE periods_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    code              TEXT NOT NULL,
    programme         TEXT NOT NULL REFERENCES programmes (code),
    locality          TEXT,
    -- Target percentage in basis points (97.31% = 9731): exact without a decimal type.
    target_bp         INTEGER,
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    -- What an earlier version stored as free text in `programme`.
    legacy_programme  TEXT,
    UNIQUE (programme, code)
);
INSERT INTO periods_new (id, code, programme, locality, target_bp, created_at, created_by,
    legacy_programme)
SELECT id, code, 'TCXH', locality, target_bp, created_at, created_by, programme
FROM periods;
DROP TABLE periods;
ALTER TABLE periods_new RENAME TO periods;

-- Callbacks name their period by code and, from now on, programme (TCXH when not named).
ALTER TABLE callback_payouts ADD COLUMN programme TEXT NOT NULL DEFAULT 'TCXH';
CREATE INDEX callback_payouts_programme_period ON callback_payouts (programme, period_code);

COMMIT;
PRAGMA foreign_keys = ON;
