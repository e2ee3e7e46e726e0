-- doisoat schema. Money is integer đồng; IDs and account numbers are text.
-- Keep migrations/postgres/ in step: same file names, same tables and columns.

CREATE TABLE periods (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL UNIQUE,
    programme   TEXT,
    locality    TEXT,
    -- Target percentage in basis points (97.31% = 9731): exact without a decimal type.
    target_bp   INTEGER,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

CREATE TABLE uploads (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id               INTEGER NOT NULL REFERENCES periods (id),
    kind                    TEXT NOT NULL CHECK (kind IN ('beneficiaries', 'payouts')),
    -- Beneficiary lists: 1, 2, 3… (the highest is current). Payout files: NULL.
    version                 INTEGER,
    file_name               TEXT NOT NULL,
    format                  TEXT NOT NULL,
    sheet                   TEXT,
    bank_code               TEXT,
    sha256                  TEXT NOT NULL,
    size_bytes              INTEGER NOT NULL,
    uploaded_by             TEXT NOT NULL,
    created_at              TEXT NOT NULL,
    header_row              INTEGER NOT NULL,
    data_rows               INTEGER NOT NULL,
    accepted_rows           INTEGER NOT NULL,
    rejected_rows           INTEGER NOT NULL,
    control_total_row       INTEGER,
    control_total_stated    INTEGER,
    control_total_computed  INTEGER,
    errors_json             TEXT NOT NULL,
    notices_json            TEXT NOT NULL,
    UNIQUE (period_id, kind, sha256)
);
CREATE INDEX uploads_period ON uploads (period_id, kind);

CREATE TABLE beneficiary_rows (
    upload_id   INTEGER NOT NULL REFERENCES uploads (id),
    seq         INTEGER NOT NULL,
    row_no      INTEGER NOT NULL,
    id_status   TEXT NOT NULL CHECK (id_status IN ('valid', 'legacy', 'invalid', 'missing')),
    id_text     TEXT NOT NULL,
    id_problem  TEXT,
    name        TEXT NOT NULL,
    amount_due  INTEGER NOT NULL,
    account     TEXT,
    bank_code   TEXT,
    birth       TEXT,
    sex         TEXT,
    category    TEXT,
    commune     TEXT,
    PRIMARY KEY (upload_id, seq)
);

CREATE TABLE payout_rows (
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
    status      TEXT NOT NULL CHECK (status IN ('success', 'failed', 'returned')),
    value_date  TEXT,
    reason      TEXT,
    PRIMARY KEY (upload_id, seq)
);

-- Immutable reconciliation runs: inputs, options, result and their digests.
CREATE TABLE reconciliations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id        INTEGER NOT NULL REFERENCES periods (id),
    list_upload_id   INTEGER NOT NULL REFERENCES uploads (id),
    created_at       TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    meta_json        TEXT NOT NULL,
    report_json      TEXT NOT NULL,
    exceptions_json  TEXT NOT NULL,
    report_sha256    TEXT NOT NULL
);
CREATE INDEX reconciliations_period ON reconciliations (period_id);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'accountant', 'auditor', 'bank')),
    bank_code   TEXT,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Append-only; each entry carries the hash of the one before.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    -- RFC 3339 text, millisecond precision: exactly what the hash covers.
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
