-- doisoat schema (PostgreSQL). Money is integer đồng; IDs and account numbers are text.
-- Keep migrations/postgres/ in step: same file names, same tables and columns.

CREATE TABLE periods (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    programme   TEXT,
    locality    TEXT,
    -- Target percentage in basis points (97.31% = 9731): exact without a decimal type.
    target_bp   BIGINT,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL
);

CREATE TABLE uploads (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period_id               BIGINT NOT NULL REFERENCES periods (id),
    kind                    TEXT NOT NULL CHECK (kind IN ('beneficiaries', 'payouts')),
    -- Beneficiary lists: 1, 2, 3… (the highest is current). Payout files: NULL.
    version                 BIGINT,
    file_name               TEXT NOT NULL,
    format                  TEXT NOT NULL,
    sheet                   TEXT,
    bank_code               TEXT,
    sha256                  TEXT NOT NULL,
    size_bytes              BIGINT NOT NULL,
    uploaded_by             TEXT NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL,
    header_row              BIGINT NOT NULL,
    data_rows               BIGINT NOT NULL,
    accepted_rows           BIGINT NOT NULL,
    rejected_rows           BIGINT NOT NULL,
    control_total_row       BIGINT,
    control_total_stated    BIGINT,
    control_total_computed  BIGINT,
    errors_json             TEXT NOT NULL,
    notices_json            TEXT NOT NULL,
    UNIQUE (period_id, kind, sha256)
);
CREATE INDEX uploads_period ON uploads (period_id, kind);

CREATE TABLE beneficiary_rows (
    upload_id   BIGINT NOT NULL REFERENCES uploads (id),
    seq         BIGINT NOT NULL,
    row_no      BIGINT NOT NULL,
    id_status   TEXT NOT NULL CHECK (id_status IN ('valid', 'legacy', 'invalid', 'missing')),
    id_text     TEXT NOT NULL,
    id_problem  TEXT,
    name        TEXT NOT NULL,
    amount_due  BIGINT NOT NULL,
    account     TEXT,
    bank_code   TEXT,
    birth       TEXT,
    sex         TEXT,
    category    TEXT,
    commune     TEXT,
    PRIMARY KEY (upload_id, seq)
);

CREATE TABLE payout_rows (
    upload_id   BIGINT NOT NULL REFERENCES uploads (id),
    seq         BIGINT NOT NULL,
    row_no      BIGINT NOT NULL,
    bank_code   TEXT NOT NULL,
    reference   TEXT,
    id_status   TEXT NOT NULL CHECK (id_status IN ('valid', 'legacy', 'invalid', 'missing')),
    id_text     TEXT NOT NULL,
    id_problem  TEXT,
    account     TEXT,
    name        TEXT,
    amount      BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('success', 'failed', 'returned')),
    value_date  DATE,
    reason      TEXT,
    PRIMARY KEY (upload_id, seq)
);

-- Immutable reconciliation runs: inputs, options, result and their digests.
CREATE TABLE reconciliations (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period_id        BIGINT NOT NULL REFERENCES periods (id),
    list_upload_id   BIGINT NOT NULL REFERENCES uploads (id),
    created_at       TIMESTAMPTZ NOT NULL,
    created_by       TEXT NOT NULL,
    meta_json        TEXT NOT NULL,
    report_json      TEXT NOT NULL,
    exceptions_json  TEXT NOT NULL,
    report_sha256    TEXT NOT NULL
);
CREATE INDEX reconciliations_period ON reconciliations (period_id);

CREATE TABLE api_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'accountant', 'auditor', 'bank')),
    bank_code   TEXT,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  TIMESTAMPTZ
);

-- Append-only; each entry carries the hash of the one before.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    -- RFC 3339 text, millisecond precision: exactly what the hash covers.
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
