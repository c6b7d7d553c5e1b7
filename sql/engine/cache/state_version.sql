-- The engine-state version, a counter that moves with every transaction that appends to the
-- outbox (pggit.events), in commit order (its table: schema/002_foundation.sql).
--
-- A cached answer about the engine's state (status, branches, commits) is tagged with the version
-- read before it was computed, and served only while the version is unchanged, checked in the
-- lookup's own round trip to PostgreSQL: a change committed anywhere (the API, psql, the engine)
-- is seen by the very next read, without waiting for the listener to hear the event.
--
-- The counter is bumped by a deferred constraint trigger, so at commit time: the row lock is held
-- only between that moment and the commit (no deadlock with the transaction's other locks), and
-- the counter's committed values follow the commit order. A reader whose snapshot shows version
-- n therefore sees every change whose transaction bumped it to n or below.
--
-- A constraint trigger is a row trigger (no statement-level form): on pggit.events it would be
-- queued once per event row, and capture_announce writes a migration's ddl.captured events in one
-- statement (500 calls at commit, ~22 k instructions each: docs/benchmarks.md). So the outbox's
-- statement trigger queues one row in pggit.state_version_queue per transaction, and that row's
-- deferred trigger does the bump.

-- The deferred trigger of pggit.state_version_queue: bumps the version (once per transaction: a
-- second queued row, after a RESET ALL took the marks, finds it bumped unless RESET ALL took that
-- mark too, and bumping twice is harmless) and removes the transaction's rows.
CREATE OR REPLACE FUNCTION pggit.state_version_bump()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SECURITY DEFINER
AS $$
BEGIN
    IF current_setting('pggit.state_version_bumped', true) IS DISTINCT FROM 'y' THEN
        UPDATE pggit.state_version SET version = version + 1 WHERE singleton;
        PERFORM set_config('pggit.state_version_bumped', 'y', true);
    END IF;
    DELETE FROM pggit.state_version_queue WHERE txid = NEW.txid;
    RETURN NULL;
END;
$$;

-- The statement trigger of pggit.events: the transaction's first statement that inserts an event
-- queues the bump (a statement that inserted no row queues nothing). The mark is
-- transaction-local: a rolled-back savepoint takes it back together with the row it queued.
-- SECURITY DEFINER: whoever appends to the outbox queues the bump (one call per transaction).
CREATE OR REPLACE FUNCTION pggit.state_version_queued()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SECURITY DEFINER
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_events) THEN
        PERFORM set_config('pggit.state_version_queued', 'y', true);
        INSERT INTO pggit.state_version_queue DEFAULT VALUES;
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS state_version_bump ON pggit.state_version_queue;
CREATE CONSTRAINT TRIGGER state_version_bump
    AFTER INSERT ON pggit.state_version_queue
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    EXECUTE FUNCTION pggit.state_version_bump();

DROP TRIGGER IF EXISTS state_version_queued ON pggit.events;
CREATE TRIGGER state_version_queued
    AFTER INSERT ON pggit.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT
    WHEN (current_setting('pggit.state_version_queued', true) IS DISTINCT FROM 'y')
    EXECUTE FUNCTION pggit.state_version_queued();

-- The current version (what a cached engine-state answer is checked against).
CREATE OR REPLACE FUNCTION pggit.state_version()
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT version FROM pggit.state_version WHERE singleton
$$;
