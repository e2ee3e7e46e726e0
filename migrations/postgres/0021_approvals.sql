-- Maker-checker and closing. An approver (kế toán trưởng, lãnh đạo đơn vị) approves or
-- returns the runs accountants submit; approving closes the period for the run's subtree
-- until an approver reopens it. Keep migrations/sqlite/ in step.

ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('admin', 'accountant', 'approver', 'auditor', 'bank'));

-- A run's state: draft → submitted → approved, or → returned (and submitted again).
ALTER TABLE reconciliations ADD COLUMN state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'submitted', 'approved', 'returned'));

-- Each step a run went through, in order: who (the token, its actor and the person as pages
-- named them then: the signature block prints it), when, why.
CREATE TABLE run_steps (
    run_id      BIGINT NOT NULL REFERENCES reconciliations (id),
    seq         BIGINT NOT NULL,
    step        TEXT NOT NULL CHECK (step IN ('submit', 'approve', 'return', 'reopen')),
    token_id    BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    person      TEXT NOT NULL,
    reason      TEXT,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- A unit's subtree closed for a period by the approval of a run; reopening deletes the row
-- (the run_steps and the audit trail keep that it was).
CREATE TABLE period_closures (
    period_id   BIGINT NOT NULL REFERENCES periods (id),
    unit_code   TEXT NOT NULL,
    run_id      BIGINT NOT NULL REFERENCES reconciliations (id),
    closed_at   TIMESTAMPTZ NOT NULL,
    closed_by   TEXT NOT NULL,
    PRIMARY KEY (period_id, unit_code)
);
