-- Bank rows may say a transfer is still in progress ("Đang xử lý", "pending"): such a
-- row is stored and counted as pending, neither paid nor failed.
ALTER TABLE payout_rows DROP CONSTRAINT payout_rows_status_check;
ALTER TABLE payout_rows ADD CONSTRAINT payout_rows_status_check
    CHECK (status IN ('success', 'failed', 'returned', 'pending'));
