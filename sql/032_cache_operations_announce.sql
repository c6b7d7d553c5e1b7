-- pgGit cache, after sql/030 and sql/014: the change announcement of pggit.operations for the rows
-- pggit.record_operation inserts is made by that function, inside its INSERT (sql/014), not by
-- the statement-level trigger of sql/030: the trigger's firing (after-trigger queue, a PL/pgSQL
-- call, building its payload) was about 2.5 % of a commit, which records two runs.
-- Loaded by the cache app's migration 0004; also runnable with psql after 030 and 014.
--
-- The trigger stays for every other write of the table: UPDATE and DELETE (retention, hand
-- edits), and an INSERT made while no recording has happened in the transaction
-- (pggit.recording, a transaction-local setting record_operation writes, is then empty).
-- An INSERT after a recording in the same transaction needs no trigger of its own:
-- pg_notify sends one notification per distinct payload per transaction, and record_operation
-- already queued this one.

DROP TRIGGER IF EXISTS cache_announce_change ON pggit.operations;
DROP TRIGGER IF EXISTS cache_announce_change_written ON pggit.operations;
CREATE TRIGGER cache_announce_change_written
    AFTER UPDATE OR DELETE ON pggit.operations
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_change('performance', 'dashboard');

DROP TRIGGER IF EXISTS cache_announce_change_inserted ON pggit.operations;
CREATE TRIGGER cache_announce_change_inserted
    AFTER INSERT ON pggit.operations
    FOR EACH STATEMENT
    WHEN (coalesce(current_setting('pggit.recording', true), '') = '')
    EXECUTE FUNCTION pggit.cache_announce_change('performance', 'dashboard');
