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

CREATE OR REPLACE FUNCTION pggit.state_version_bump()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SECURITY DEFINER
AS $$
BEGIN
    -- once per transaction: every later firing (one per event row) would update the same row
    -- again, each update walking the row's growing chain of versions (quadratic in the events of
    -- a transaction: 10,000 commits in one transaction spent a second here). The mark is
    -- transaction-local, so a new transaction (or a rolled-back one) bumps again.
    IF current_setting('pggit.state_version_bumped', true) = 'y' THEN
        RETURN NULL;
    END IF;
    UPDATE pggit.state_version SET version = version + 1 WHERE singleton;
    PERFORM set_config('pggit.state_version_bumped', 'y', true);
    RETURN NULL;
END;
$$;

-- A constraint trigger is a row trigger (no statement-level or transition-table form): so that a
-- batch of N events (pggit.capture_announce writes one per captured DDL statement) does not queue
-- N deferred calls, only the rows of the transaction's first statement that appends to the outbox
-- queue it (WHEN is evaluated as each row is inserted, not deferred); the statement trigger
-- below marks the transaction once that statement has inserted a row. The mark is
-- transaction-local: a rolled-back savepoint takes it back together with the calls it queued.
CREATE OR REPLACE FUNCTION pggit.state_version_queued()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_mark text;
BEGIN
    IF EXISTS (SELECT 1 FROM new_events) THEN
        v_mark := set_config('pggit.state_version_queued', 'y', true);
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS state_version_bump ON pggit.events;
CREATE CONSTRAINT TRIGGER state_version_bump
    AFTER INSERT ON pggit.events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (current_setting('pggit.state_version_queued', true) IS DISTINCT FROM 'y')
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
