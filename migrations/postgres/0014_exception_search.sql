-- A search of a run's exceptions by part of a name (`q=hung`) is an index lookup, not a
-- scan of every exception stored: trigram indexes (pg_trgm, shipped with PostgreSQL and
-- trusted: a database owner may create it). IDs are searched by their start through
-- run_exceptions_id; the rare ID that is not all digits (a raw, invalid one) is found by
-- part too, through a partial index of just those. Keep migrations/sqlite/ in step.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX run_exceptions_name_search ON run_exceptions USING gin (name_key gin_trgm_ops);
CREATE INDEX run_exceptions_odd_id_search ON run_exceptions USING gin (lower(population_id) gin_trgm_ops)
    WHERE population_id !~ '^[0-9]*$';
