-- PostgreSQL drops the foreign keys from list and payout rows to their upload here (each
-- cost a trigger per row there; the store writes rows only with their upload, in its
-- transaction). SQLite checks such a key with one index probe, and dropping it would
-- rebuild both tables, so it keeps them: nothing changes. Keep migrations/postgres/ in step.
SELECT 1;
