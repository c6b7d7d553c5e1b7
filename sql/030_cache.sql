-- pgGit cache: tables whose rows change without an outbox event announce the change to the cache.
-- Loaded by a Django migration (cachemgmt 0002); also runnable with psql after 011 and 020.
--
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

-- Every engine operation is recorded in pggit.operations (Phase 7): performance summaries and the
-- dashboard are computed from it.
DROP TRIGGER IF EXISTS cache_announce_change ON pggit.operations;
CREATE TRIGGER cache_announce_change
    AFTER INSERT OR UPDATE OR DELETE ON pggit.operations
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_change('performance', 'dashboard');
