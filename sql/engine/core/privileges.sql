-- The roles pggit_reader and pggit_operator, and what each may do (docs/security.md, "Database
-- roles"). Listed last in sql/install.sql: every function exists by then. pggit.install() applies
-- the privileges again on every load, so functions and tables added later get them too.
-- Re-runnable: applied again by the loader whenever this file changes.
--
-- The model: nobody but the engine's owner may write pggit's tables directly except
-- pggit_operator; writes made on behalf of anyone (capture of DDL, recording an operation,
-- flushing captured DDL) go through SECURITY DEFINER functions with a fixed search_path
-- (pggit.on_ddl_command_end, pggit.on_sql_drop, pggit.capture_flush, pggit.capture_announce and
-- pggit.capture_announce_at_commit, pggit.record_operation, pggit.state_version_queued and
-- pggit.state_version_bump). So any role may run DDL and have it captured; a reader reads the
-- history (status, log, diff, show...); an operator also runs the operations that change the
-- engine's state (commit, branches, checkout, merge, revert), which execute their DDL as the
-- operator (it needs the rights on the objects a checkout changes, like any migration role).

-- The functions only pggit_operator (and the owner) may execute, by name (every overload). An
-- operation added to the engine that changes its state goes here; a name not (yet) defined is
-- simply skipped.
CREATE OR REPLACE FUNCTION pggit.operator_functions()
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT ARRAY['commit', 'branch_create', 'branch_delete', 'branch_rename', 'branch_protect',
                 'checkout', 'merge', 'merge_resolve', 'merge_complete', 'merge_abort',
                 'merge_finish', 'revert', 'reset', 'undo', 'rollback_run', 'rollback_start',
                 'apply_to_head', 'head_migration', 'rescan', 'set_capture']
$$;

-- The functions only the owner may execute: installation, privileges, configuration.
CREATE OR REPLACE FUNCTION pggit.owner_functions()
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT ARRAY['install', 'apply_privileges', 'config_set', 'operator_functions',
                 'owner_functions']
$$;

-- Creates the two roles when missing (NOLOGIN: grant them to login roles) and sets the privileges
-- of everything in schema pggit:
--   PUBLIC          nothing (no USAGE on pggit, no EXECUTE on its functions)
--   pggit_reader    USAGE on pggit; SELECT on its tables and views; USAGE on its sequences;
--                   EXECUTE on every function except the operators' and the owner's
--   pggit_operator  pggit_reader, plus INSERT/UPDATE/DELETE on the tables, and EXECUTE on
--                   pggit.operator_functions()
-- Roles are per cluster: creating them needs CREATEROLE; without it (and without the roles) the
-- grants are skipped with a warning saying what to run.
CREATE OR REPLACE FUNCTION pggit.apply_privileges()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SET pggit.capture = 'off'  -- the grants on pggit's own objects are not users' DDL
AS $$
DECLARE
    r record;
    v_can_create boolean := EXISTS (SELECT 1 FROM pg_roles
                                     WHERE rolname = current_user AND (rolsuper OR rolcreaterole));
BEGIN
    FOR r IN SELECT unnest(ARRAY['pggit_reader', 'pggit_operator']) AS role LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.role) THEN
            IF NOT v_can_create THEN
                RAISE WARNING 'pgGit: role % does not exist and % may not create roles; create it (CREATE ROLE % NOLOGIN) and load the engine again',
                    r.role, current_user, r.role;
                RETURN 'roles missing';
            END IF;
            EXECUTE format('CREATE ROLE %I NOLOGIN', r.role);
        END IF;
    END LOOP;
    IF NOT pg_has_role('pggit_operator', 'pggit_reader', 'MEMBER') THEN
        GRANT pggit_reader TO pggit_operator;
    END IF;

    REVOKE ALL ON SCHEMA pggit FROM PUBLIC;
    GRANT USAGE ON SCHEMA pggit TO pggit_reader;
    REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA pggit FROM PUBLIC;
    GRANT SELECT ON ALL TABLES IN SCHEMA pggit TO pggit_reader;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA pggit TO pggit_reader;
    GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pggit TO pggit_operator;
    FOR r IN
        SELECT p.oid::regprocedure AS fn, p.proname
          FROM pg_proc p
         WHERE p.pronamespace = 'pggit'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                              AND d.deptype = 'e')
    LOOP
        IF r.proname = ANY (pggit.owner_functions()) THEN
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM pggit_reader, pggit_operator', r.fn);
        ELSIF r.proname = ANY (pggit.operator_functions()) THEN
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM pggit_reader', r.fn);
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO pggit_operator', r.fn);
        ELSE
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO pggit_reader', r.fn);
        END IF;
    END LOOP;
    RETURN 'privileges applied';
END;
$$;

SELECT pggit.apply_privileges();
