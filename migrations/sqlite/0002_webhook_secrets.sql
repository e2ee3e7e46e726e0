-- Bank tokens carry the secret banks sign callbacks with (Standard Webhooks, whsec_…).
-- Kept in clear because verifying an HMAC needs the key itself; NULL for other roles.
ALTER TABLE api_tokens ADD COLUMN webhook_secret TEXT;
