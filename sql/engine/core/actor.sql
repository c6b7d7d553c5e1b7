-- The acting user. Listed before the schema files in sql/install.sql: table columns default to it.
-- Re-runnable: applied again by the loader whenever this file changes.

-- The acting console user, when the console set one (SET LOCAL pggit.actor = 'alice').
CREATE OR REPLACE FUNCTION pggit.current_actor()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(nullif(current_setting('pggit.actor', true), ''), session_user::text)
$$;
