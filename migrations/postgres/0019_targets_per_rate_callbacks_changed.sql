-- One target per rate: account coverage (accounts opened) and the cashless rate (paid to
-- an account) are set apart, as provinces report them. target_bp stays the target for both
-- rates; a rate's own target wins over it. A unit's row may now hold only a rate's own
-- target, so its target_bp becomes optional. Keep migrations/sqlite/ in step.
ALTER TABLE periods ADD COLUMN account_target_bp BIGINT;
ALTER TABLE periods ADD COLUMN cashless_target_bp BIGINT;

ALTER TABLE period_targets ALTER COLUMN target_bp DROP NOT NULL;
ALTER TABLE period_targets ADD COLUMN account_target_bp BIGINT;
ALTER TABLE period_targets ADD COLUMN cashless_target_bp BIGINT;
ALTER TABLE period_targets ADD CONSTRAINT period_targets_some CHECK (target_bp IS NOT NULL OR account_target_bp IS NOT NULL OR cashless_target_bp IS NOT NULL);

-- When a period's callbacks last changed, read from an index: the period page's table of
-- what banks sent is recounted only then (a national month holds millions of callbacks).
CREATE INDEX callback_payouts_changed ON callback_payouts (programme, period_code, updated_at);
