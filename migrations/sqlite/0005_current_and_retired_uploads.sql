-- Which list is current is a choice an accountant makes (a re-uploaded or chosen earlier
-- version becomes current again), and any upload can be retired; both are audited.
-- The current list of a period is its non-retired list with the latest current_since.
ALTER TABLE uploads ADD COLUMN current_since TEXT;
ALTER TABLE uploads ADD COLUMN retired_at TEXT;
ALTER TABLE uploads ADD COLUMN retired_by TEXT;
UPDATE uploads SET current_since = created_at WHERE kind = 'beneficiaries';
