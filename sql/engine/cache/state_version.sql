-- The engine-state version, a counter that moves with every transaction that appends to the
-- outbox (pggit.events), in commit order (its table: schema/008_state_version.sql).
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

DROP TRIGGER IF EXISTS state_version_bump ON pggit.events;
CREATE CONSTRAINT TRIGGER state_version_bump
    AFTER INSERT ON pggit.events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION pggit.state_version_bump();

-- The current version (what a cached engine-state answer is checked against).
CREATE OR REPLACE FUNCTION pggit.state_version()
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT version FROM pggit.state_version WHERE singleton
$$;
