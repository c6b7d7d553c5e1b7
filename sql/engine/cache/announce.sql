-- Change announcements for tables written without outbox events (docs/cache.md).
-- Re-runnable: applied again by the loader whenever this file changes.

-- Most writes append an event to pggit.events, and what an event makes stale is looked up by its
-- type. Some writes have no event: the webhook worker updates an endpoint's health counters after
-- every attempt, a re-raised alert updates its occurrences without alert.fired, a baseline
-- recalculation moves thresholds, a branch is renamed or protected. These statement-level
-- triggers announce such a write by its table name (pggit.announce_change, engine/core/
-- foundation.sql), whoever writes (API, worker, engine, psql); the application looks the name up
-- in the same table as event types (cachemgmt.namespaces.EVENT_NAMESPACES).
CREATE OR REPLACE FUNCTION pggit.cache_announce_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pggit.announce_change(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS cache_announce_change ON pggit.webhook_endpoints;
CREATE TRIGGER cache_announce_change
    AFTER INSERT OR UPDATE OR DELETE ON pggit.webhook_endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_change();

DROP TRIGGER IF EXISTS cache_announce_change ON pggit.alerts;
CREATE TRIGGER cache_announce_change
    AFTER INSERT OR UPDATE OR DELETE ON pggit.alerts
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_change();

DROP TRIGGER IF EXISTS cache_announce_change ON pggit.perf_baselines;
CREATE TRIGGER cache_announce_change
    AFTER INSERT OR UPDATE OR DELETE ON pggit.perf_baselines
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_change();

-- Renames and protection changes have no event; HEAD moves and new or deleted branches come with
-- theirs (commit.created, branch.created...), so only the former fire this trigger (the WHEN
-- test costs a commit nothing measurable; a statement trigger would announce every commit).
DROP TRIGGER IF EXISTS cache_announce_change ON pggit.branches;
CREATE TRIGGER cache_announce_change
    AFTER UPDATE ON pggit.branches
    FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.protected IS DISTINCT FROM NEW.protected
          OR OLD.parent_branch IS DISTINCT FROM NEW.parent_branch)
    EXECUTE FUNCTION pggit.cache_announce_change();

-- Announces that users changed, so no process keeps serving cached answers on the strength of
-- what it last read about a user (active or not, existing or not).
--
-- The early hit path (cachemgmt.hitpath) remembers each token user's state under a user-state
-- generation kept with the cache. Saves and deletes through Django bump it directly; this
-- function covers every other writer (QuerySet.update(), psql, another application): the
-- migration attaches it, as a statement-level trigger, to the table of Django's user model (its
-- name and schema are Django's, so the trigger is created there (cachemgmt migration 0002), not
-- in this file). The
-- listener (and, without Redis, every web process) bumps the generation when it hears the notice.
CREATE OR REPLACE FUNCTION pggit.cache_announce_users()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pg_notify('pggit_cache', '{"ns": [], "users": true}');
    RETURN NULL;
END;
$$;

-- Rows inserted into pggit.operations are announced by the recording functions (and the
-- monitoring trigger, engine/monitoring/monitoring.sql); updates and deletes here.
DROP TRIGGER IF EXISTS cache_announce_change_written ON pggit.operations;
CREATE TRIGGER cache_announce_change_written
    AFTER UPDATE OR DELETE ON pggit.operations
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_change();
