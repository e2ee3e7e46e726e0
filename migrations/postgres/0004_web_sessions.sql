-- Browser sessions of tokens signed in to the web pages. Only the SHA-256 of the random
-- session id in the cookie is kept, so a copy of the database cannot sign anyone in.
CREATE TABLE web_sessions (
    session_hash  TEXT NOT NULL PRIMARY KEY,
    token_id      BIGINT NOT NULL REFERENCES api_tokens (id),
    csrf_token    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
-- Revoking a token deletes its sessions.
CREATE INDEX web_sessions_token ON web_sessions (token_id);
