-- Browser sessions of tokens signed in to the web pages. Only the SHA-256 of the random
-- session id in the cookie is kept, so a copy of the database cannot sign anyone in.
-- Times are RFC 3339 text like every other SQLite table (always +00:00, at most
-- microseconds), so they compare in time order as text.
CREATE TABLE web_sessions (
    session_hash  TEXT NOT NULL PRIMARY KEY,
    token_id      INTEGER NOT NULL REFERENCES api_tokens (id),
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
-- Revoking a token deletes its sessions.
CREATE INDEX web_sessions_token ON web_sessions (token_id);
