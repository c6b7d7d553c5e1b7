-- pgGit cache: announce that users changed, so no process keeps serving cached answers on the
-- strength of what it last read about a user (active or not, existing or not).
-- Loaded by a Django migration (cachemgmt 0003); also runnable with psql after 001.
--
-- The early hit path (cachemgmt.hitpath) remembers each token user's state under a user-state
-- generation kept with the cache. Saves and deletes through Django bump it directly; this
-- function covers every other writer (QuerySet.update(), psql, another application): the
-- migration attaches it, as a statement-level trigger, to the table of Django's user model (its
-- name and schema are Django's, so the trigger is created there, not in this file). The
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
