-- pgGit engine, Phase 7 (part 4): silences judged on the alert as it will be after a raise.
-- Replaces two functions of sql/011_alerts.sql:
--   * pggit.alert_raise matched silences against the incoming occurrence, so a repeat at a lower
--     severity could silence an open alert whose kept (highest) severity the silence excludes
--     (a "severity != critical" silence silenced a critical alert raised again as a warning);
--     it now matches them against the alert with the severity it keeps.
--   * pggit.alert_next_status left an acknowledged alert whose severity rose as 'firing', without
--     announcing it, when a silence covered it; it is now 'silenced' (and fires, announced, when
--     the silence ends), like any other alert a silence covers.
-- Loaded by a Django migration of the alerts app; also runnable with psql after 001..012.

-- The next state of an open alert raised again (p_severity: the occurrence's severity; p_silence:
-- the active silence matching the alert as it will be), and whether the raise is announced.
--   acknowledged, severity not rising     -> acknowledged, quiet
--   covered by a silence                  -> silenced, quiet
--   otherwise                             -> firing; announced when it was silenced or rises
CREATE OR REPLACE FUNCTION pggit.alert_next_status(a pggit.alerts, p_severity text,
                                                   p_silence bigint, OUT status text,
                                                   OUT notify boolean)
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN a.status = 'acknowledged' AND NOT rises THEN 'acknowledged'
                WHEN p_silence IS NOT NULL THEN 'silenced'
                ELSE 'firing' END,
           NOT (a.status = 'acknowledged' AND NOT rises) AND p_silence IS NULL
               AND (a.status = 'silenced' OR rises)
      FROM (SELECT coalesce(pggit.alert_severity_rank(p_severity)
                            > pggit.alert_severity_rank(a.severity), false) AS rises) r
$$;

-- Raises (or re-raises) the alert identified by p_fingerprint; returns it as it now is.
CREATE OR REPLACE FUNCTION pggit.alert_raise(p_fingerprint text, p_source text, p_severity text,
                                             p_title text, p_message text DEFAULT '',
                                             p_details jsonb DEFAULT '{}')
RETURNS pggit.alerts
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    a pggit.alerts;
    v_new pggit.alerts;
    v_next record;
    v_silence bigint;
    v_notify boolean;
BEGIN
    PERFORM pggit.alert_check_input(p_fingerprint, p_source, p_severity, p_title);
    v_new.fingerprint := p_fingerprint;
    v_new.source := p_source;
    v_new.title := btrim(p_title);
    v_new.message := coalesce(p_message, '');
    v_new.details := coalesce(p_details, '{}');
    LOOP
        SELECT * INTO a FROM pggit.alerts WHERE fingerprint = p_fingerprint AND status <> 'resolved'
           FOR UPDATE;
        IF FOUND THEN
            -- the alert keeps the highest severity seen; silences judge it with that one
            v_new.severity := CASE WHEN pggit.alert_severity_rank(p_severity)
                                        > pggit.alert_severity_rank(a.severity)
                                   THEN p_severity ELSE a.severity END;
            v_silence := pggit.alert_active_silence(v_new);
            v_next := pggit.alert_next_status(a, p_severity, v_silence);
            v_notify := v_next.notify;
            UPDATE pggit.alerts
               SET occurrences = occurrences + 1, last_seen_at = clock_timestamp(),
                   severity = v_new.severity,
                   status = v_next.status, silence_id = v_silence,
                   acknowledged_at = CASE WHEN v_next.status = 'acknowledged' THEN acknowledged_at END,
                   acknowledged_by = CASE WHEN v_next.status = 'acknowledged' THEN acknowledged_by END,
                   title = v_new.title, message = v_new.message, details = v_new.details,
                   notified_at = CASE WHEN v_notify THEN clock_timestamp() ELSE notified_at END
             WHERE id = a.id
            RETURNING * INTO a;
            EXIT;
        END IF;
        v_new.severity := p_severity;
        v_silence := pggit.alert_active_silence(v_new);
        v_notify := v_silence IS NULL;
        INSERT INTO pggit.alerts (fingerprint, source, severity, status, title, message, details,
                                  silence_id, notified_at)
        VALUES (p_fingerprint, p_source, p_severity,
                CASE WHEN v_silence IS NULL THEN 'firing' ELSE 'silenced' END, v_new.title,
                v_new.message, v_new.details, v_silence,
                CASE WHEN v_notify THEN clock_timestamp() END)
        ON CONFLICT (fingerprint) WHERE status <> 'resolved' DO NOTHING
        RETURNING * INTO a;
        EXIT WHEN FOUND;  -- otherwise a concurrent raise created it: take the update path
    END LOOP;
    INSERT INTO pggit.alert_occurrences (alert_id, severity, status, message, details, notified,
                                         silence_id)
    VALUES (a.id, p_severity, a.status, v_new.message, v_new.details, v_notify, v_silence);
    IF v_notify THEN
        PERFORM pggit.emit_event('alert.fired', pggit.alert_event_data(a));
    END IF;
    RETURN a;
END;
$$;
