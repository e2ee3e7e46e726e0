-- The person (or office) a token belongs to, as pages name them ("Nguyễn Thị Hoa", "Kế
-- toán xã Tân Lập"): NULL shows the token's name. Stored actors stay "role:name" (the audit
-- chain hashes them); pages look the display name up by name.
ALTER TABLE api_tokens ADD COLUMN display_name TEXT;
