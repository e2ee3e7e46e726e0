-- A bank reads back its own payouts of a period (GET /api/v1/callbacks/payouts), a page
-- at a time in id order: one index range, however many other banks' payouts the period has.
-- Keep migrations/sqlite/ in step.
CREATE INDEX callback_payouts_bank_period ON callback_payouts (bank_code, programme, period_code, id);
