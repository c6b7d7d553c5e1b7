-- Change announcements to the response cache for tables written without outbox events
-- (docs/cache.md).
-- Re-runnable: applied again by the loader whenever this file changes.

-- Most writes append an event to pggit.events, and the event listener maps event types to cache
-- namespaces. Some do not: the webhook worker updates an endpoint's health counters after every
-- attempt, and a re-raised alert updates its occurrences without announcing alert.fired again.
-- These statement-level triggers send pg_notify('pggit_cache', '{"ns": [...]}') instead, whoever
-- writes (API, worker, engine, psql): delivered at commit, once per distinct payload per
-- transaction. The listener (and, without Redis, every web process) bumps the named namespaces.
CREATE OR REPLACE FUNCTION pggit.cache_announce_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    -- TG_ARGV: the cache namespaces this table's rows appear in.
    PERFORM pg_notify('pggit_cache', jsonb_build_object('ns', to_jsonb(TG_ARGV))::text);
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS cache_announce_change ON pggit.webhook_endpoints;
CREATE TRIGGER cache_announce_change
    AFTER INSERT OR UPDATE OR DELETE ON pggit.webhook_endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_change('webhooks', 'dashboard');

DROP TRIGGER IF EXISTS cache_announce_change ON pggit.alerts;
CREATE TRIGGER cache_announce_change
    AFTER INSERT OR UPDATE OR DELETE ON pggit.alerts
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_change('alerts', 'dashboard',
                                                                      'performance');

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

DROP TRIGGER IF EXISTS cache_announce_change_written ON pggit.operations;
CREATE TRIGGER cache_announce_change_written
    AFTER UPDATE OR DELETE ON pggit.operations
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_change('performance', 'dashboard');
