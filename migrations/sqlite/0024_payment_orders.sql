-- Payment orders (issue 16): what doisoat asked a bank to pay, one row per order line,
-- so a bank's answer that names only the end-to-end reference (pain.002, camt, MT940)
-- links back to the list row it pays, also after the list is replaced. A reference is
-- made of the period, the list version and the row: unique in a period, stored once (a
-- second export of the same orders stores nothing new). The messages say which payment
-- information blocks each pain.001 sent, for a status on a whole message. Append-only.
-- Keep migrations/postgres/ in step.
CREATE TABLE payment_orders (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id        INTEGER NOT NULL REFERENCES periods (id),
    list_upload_id   INTEGER NOT NULL REFERENCES uploads (id),
    unit_code        TEXT NOT NULL,
    bank_code        TEXT NOT NULL,
    payment_info_id  TEXT NOT NULL,
    end_to_end_id    TEXT NOT NULL,
    row_no           INTEGER NOT NULL,
    id_status        TEXT NOT NULL,
    id_text          TEXT NOT NULL,
    account          TEXT NOT NULL,
    name             TEXT NOT NULL,
    amount           TEXT NOT NULL,
    at               TEXT NOT NULL,
    actor            TEXT NOT NULL,
    UNIQUE (period_id, end_to_end_id)
);
CREATE INDEX payment_orders_by_bank ON payment_orders (period_id, bank_code);

CREATE TABLE payment_order_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    period_id        INTEGER NOT NULL REFERENCES periods (id),
    message_id       TEXT NOT NULL,
    payment_info_id  TEXT NOT NULL,
    UNIQUE (period_id, message_id, payment_info_id)
);
