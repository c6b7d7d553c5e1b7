-- pgGit engine, Phase 7 (part 4): capture is now recorded in two steps (a synchronous audit row
-- per statement in pggit.ddl_log, then a batched re-read whose 'capture' operation carries no
-- command tag), so a capture-failure alert clears when a later statement of the same command tag
-- was captured (a row of pggit.ddl_log after the alert was last seen).
CREATE OR REPLACE FUNCTION pggit.alert_condition_cleared(a pggit.alerts)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_kind text := split_part(a.fingerprint, ':', 1);
    v_arg text := substr(a.fingerprint, length(v_kind) + 2);
    v_needed integer;
BEGIN
    IF v_kind = 'slow_operation' THEN
        v_needed := pggit.config_number('alert_resolve_after_runs')::integer;
        RETURN (SELECT count(*) FROM (SELECT 1 FROM pggit.operations o
                                       WHERE o.operation = v_arg AND o.started_at > a.last_seen_at
                                       LIMIT v_needed) r) >= v_needed;
    ELSIF v_kind = 'operation_failed' THEN
        RETURN EXISTS (SELECT 1 FROM pggit.operations o WHERE o.operation = v_arg
                          AND o.started_at > a.last_seen_at AND o.success);
    ELSIF v_kind = 'capture_failure' THEN
        RETURN EXISTS (SELECT 1 FROM pggit.ddl_log l
                        WHERE l.captured_at > a.last_seen_at AND l.command_tag = v_arg);
    END IF;
    RETURN false;
END;
$$;
