-- Programmes (chế độ) and periods per programme: a period is (programme, code), so every
-- programme has its own September. Periods stored before programmes existed become TCXH
-- periods, whatever their free text said (kept in legacy_programme): their callbacks were
-- stored without a programme and count as TCXH, so period and callbacks stay together, and
-- the callbacks' digests stay valid.
-- Keep migrations/postgres/ in step: same file names, same tables and columns.
CREATE TABLE programmes (
    code  TEXT PRIMARY KEY,
    name  TEXT NOT NULL
);
INSERT INTO programmes (code, name) VALUES
    ('TCXH', 'Trợ cấp xã hội hàng tháng'),
    ('NCC', 'Trợ cấp ưu đãi người có công'),
    ('HTXH', 'Trợ cấp hưu trí xã hội');

-- What an earlier version stored as free text in `programme`.
ALTER TABLE periods ADD COLUMN legacy_programme TEXT;
UPDATE periods SET legacy_programme = programme, programme = 'TCXH';
ALTER TABLE periods ALTER COLUMN programme SET NOT NULL;
ALTER TABLE periods ADD CONSTRAINT periods_programme_fkey
    FOREIGN KEY (programme) REFERENCES programmes (code);
ALTER TABLE periods DROP CONSTRAINT periods_code_key;
ALTER TABLE periods ADD CONSTRAINT periods_programme_code_key UNIQUE (programme, code);

-- Callbacks name their period by code and, from now on, programme (TCXH when not named).
ALTER TABLE callback_payouts ADD COLUMN programme TEXT NOT NULL DEFAULT 'TCXH';
CREATE INDEX callback_payouts_programme_period ON callback_payouts (programme, period_code);
