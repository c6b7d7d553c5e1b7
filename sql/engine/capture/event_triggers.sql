-- The event triggers that switch capture on.
-- Re-runnable: applied again by the loader whenever this file changes.

DROP EVENT TRIGGER IF EXISTS pggit_sql_drop;
CREATE EVENT TRIGGER pggit_sql_drop ON sql_drop
    EXECUTE FUNCTION pggit.on_sql_drop();

DROP EVENT TRIGGER IF EXISTS pggit_ddl_command_end;
CREATE EVENT TRIGGER pggit_ddl_command_end ON ddl_command_end
    EXECUTE FUNCTION pggit.on_ddl_command_end();
