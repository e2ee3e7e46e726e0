-- The SHA-256 of each file a run was downloaded as (per language), kept at the end of its
-- first complete download: the run page shows it, so an auditor can check a filed copy.
-- Downloads are byte-stable; a later download that hashes differently is logged, never
-- replaces the first. Keep migrations/postgres/ in step.
CREATE TABLE run_downloads (
    run_id      INTEGER NOT NULL REFERENCES reconciliations (id),
    file        TEXT NOT NULL,
    lang        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    first_at    TEXT NOT NULL,
    PRIMARY KEY (run_id, file, lang)
);
