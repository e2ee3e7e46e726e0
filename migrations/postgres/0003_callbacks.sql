-- Payout results banks post one by one (signed callbacks). Keyed by the period *code*, so a
-- callback for a period or list that does not exist yet is kept and links when it arrives.
CREATE TABLE callback_payouts (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bank_code        TEXT NOT NULL,
    transaction_ref  TEXT NOT NULL,
    period_code      TEXT NOT NULL,
    population_id    TEXT,
    account_number   TEXT NOT NULL,
    beneficiary_name TEXT,
    amount           BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('success', 'failed', 'returned')),
    value_date       DATE NOT NULL,
    reason           TEXT,
    -- SHA-256 of the normalised content; a replay with the same digest gets the same answer.
    content_sha256   TEXT NOT NULL,
    version          BIGINT NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (bank_code, transaction_ref)
);
CREATE INDEX callback_payouts_period ON callback_payouts (period_code);

-- Every state a payout passed through, with the answer given for it.
CREATE TABLE callback_events (
    payout_id       BIGINT NOT NULL REFERENCES callback_payouts (id),
    version         BIGINT NOT NULL,
    content_sha256  TEXT NOT NULL,
    content_json    TEXT NOT NULL,
    answer_json     TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    token_name      TEXT NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (payout_id, version)
);
