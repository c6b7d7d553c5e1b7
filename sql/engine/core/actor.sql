-- The acting user. Listed before the schema files in sql/install.sql: table columns default to it.
-- Re-runnable: applied again by the loader whenever this file changes.

-- The role that runs the statement, as its session sees it: the role set by SET ROLE, else the
-- session's user. Unlike current_user it stays the same inside SECURITY DEFINER functions (the
-- capture's event triggers run as the engine's owner), so capture records who ran the DDL.
CREATE OR REPLACE FUNCTION pggit.invoking_role()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(nullif(current_setting('role'), 'none'), session_user::text)
$$;

-- The acting user: the console user when the console set one (SET LOCAL pggit.actor = 'alice'),
-- else the role that runs the statement (pggit.invoking_role()).
CREATE OR REPLACE FUNCTION pggit.current_actor()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(nullif(current_setting('pggit.actor', true), ''),
                    nullif(current_setting('role'), 'none'), session_user::text)
$$;
