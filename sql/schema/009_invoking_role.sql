-- Who ran a statement is the role its session runs it as (pggit.invoking_role(): SET ROLE's role,
-- else the session's user), not current_user: capture's event triggers run as the engine's owner
-- (SECURITY DEFINER), where current_user is that owner. Idempotent.

ALTER TABLE pggit.ddl_log ALTER COLUMN role_name SET DEFAULT pggit.invoking_role();
ALTER TABLE pggit.capture_errors ALTER COLUMN role_name SET DEFAULT pggit.invoking_role();
ALTER TABLE pggit.config_audit ALTER COLUMN role_name SET DEFAULT pggit.invoking_role();
ALTER TABLE pggit.config ALTER COLUMN updated_by SET DEFAULT pggit.invoking_role();
