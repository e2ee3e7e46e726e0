-- Live cells now also keep the amount due to account holders (recon::cells::encode, last
-- field), so the amount due splits into cashless and cash. Cells kept before this lack it:
-- drop them and the period's state, and the next read recomputes from the stored rows (as
-- for a period never read). Pending callback changes stay; that recompute takes them in.
-- Keep migrations/postgres/ in step.
DELETE FROM live_cells;
DELETE FROM live_state;
