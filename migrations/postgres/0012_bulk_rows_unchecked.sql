-- List and payout rows are written only together with their upload, in its transaction
-- (store::shared, save_beneficiary_list and save_payout_file), and never deleted, so the
-- foreign key to `uploads` checked nothing the store does not already ensure; it cost a
-- trigger per row, two thirds of the time a national list (3.35 million rows) took to
-- COPY. Keep migrations/sqlite/ in step (SQLite checks a row's key with one index probe,
-- and dropping it there would rebuild both tables: it keeps it).
ALTER TABLE beneficiary_rows DROP CONSTRAINT IF EXISTS beneficiary_rows_upload_id_fkey;
ALTER TABLE payout_rows DROP CONSTRAINT IF EXISTS payout_rows_upload_id_fkey;
