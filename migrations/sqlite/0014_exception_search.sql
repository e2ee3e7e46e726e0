-- In step with migrations/postgres/0014 (trigram indexes for searching a run's exceptions
-- by part of a name). SQLite has no such index in its default build: a search reads the
-- run's rows, and stops at a page or at the count's cap (`SEARCH_COUNT_CAP`).
SELECT 1;
