-- pgGit cache, after sql/032 and sql/015: rows inserted into pggit.operations are announced to
-- the cache by whoever inserts them. The recording functions (pggit.record_operation,
-- pggit.record_span) announce inside their INSERT (sql/014, sql/015); every other insert is a
-- row the monitoring trigger handles (judged = false), and its function announces it (sql/015).
-- The INSERT statement trigger of sql/032 is dropped: its WHEN clause was prepared again at every
-- recording's statement, for nothing. UPDATE and DELETE keep their statement trigger.
-- Loaded by the cache app's migration 0005; also runnable with psql after 030, 032 and 015.

DROP TRIGGER IF EXISTS cache_announce_change_inserted ON pggit.operations;
