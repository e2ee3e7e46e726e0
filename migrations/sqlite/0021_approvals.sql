-- Maker-checker and closing. An approver (kế toán trưởng, lãnh đạo đơn vị) approves or
-- returns the runs accountants submit; approving closes the period for the run's subtree
-- until an approver reopens it. Keep migrations/postgres/ in step.

-- The role joins the CHECK. SQLite cannot alter a constraint: the table is rebuilt. Renaming
-- it first points web_sessions at the old table, so web_sessions is rebuilt after it.
ALTER TABLE api_tokens RENAME TO api_tokens_old;
CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'accountant', 'approver', 'auditor', 'bank')),
    bank_code       TEXT,
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    revoked_at      TEXT,
    webhook_secret  TEXT,
    unit_code       TEXT NOT NULL DEFAULT 'VN',
    display_name    TEXT
);
INSERT INTO api_tokens (id, name, role, bank_code, token_hash, created_at, created_by, revoked_at, webhook_secret, unit_code, display_name)
SELECT id, name, role, bank_code, token_hash, created_at, created_by, revoked_at, webhook_secret, unit_code, display_name FROM api_tokens_old;

CREATE TABLE web_sessions_new (
    session_hash  TEXT NOT NULL PRIMARY KEY,
    token_id      INTEGER NOT NULL REFERENCES api_tokens (id),
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
INSERT INTO web_sessions_new (session_hash, token_id, csrf_token, created_at, expires_at)
SELECT session_hash, token_id, csrf_token, created_at, expires_at FROM web_sessions;
DROP TABLE web_sessions;
ALTER TABLE web_sessions_new RENAME TO web_sessions;
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_token ON web_sessions (token_id);
DROP TABLE api_tokens_old;

-- A run's state: draft → submitted → approved, or → returned (and submitted again).
ALTER TABLE reconciliations ADD COLUMN state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'submitted', 'approved', 'returned'));

-- Each step a run went through, in order: who (the token, its actor and the person as pages
-- named them then: the signature block prints it), when, why.
CREATE TABLE run_steps (
    run_id      INTEGER NOT NULL REFERENCES reconciliations (id),
    seq         INTEGER NOT NULL,
    step        TEXT NOT NULL CHECK (step IN ('submit', 'approve', 'return', 'reopen')),
    token_id    INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    person      TEXT NOT NULL,
    reason      TEXT,
    at          TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- A unit's subtree closed for a period by the approval of a run; reopening deletes the row
-- (the run_steps and the audit trail keep that it was).
CREATE TABLE period_closures (
    period_id   INTEGER NOT NULL REFERENCES periods (id),
    unit_code   TEXT NOT NULL,
    run_id      INTEGER NOT NULL REFERENCES reconciliations (id),
    closed_at   TEXT NOT NULL,
    closed_by   TEXT NOT NULL,
    PRIMARY KEY (period_id, unit_code)
);
