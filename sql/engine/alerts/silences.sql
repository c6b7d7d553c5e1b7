-- Alert silences, capture failures raised as alerts, and the periodic evaluation.
-- Re-runnable: applied again by the loader whenever this file changes.

-- Firing alerts matched by an active silence become silenced; silenced alerts whose silence has
-- ended (expired, deleted, or no longer matching) fire again and are announced then.
CREATE OR REPLACE FUNCTION pggit.alert_silences_apply()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    a pggit.alerts;
    v_silence bigint;
    v_n integer := 0;
BEGIN
    FOR a IN SELECT * FROM pggit.alerts WHERE status IN ('firing', 'silenced')
              ORDER BY id FOR UPDATE LOOP
        v_silence := pggit.alert_active_silence(a);
        IF a.status = 'firing' AND v_silence IS NOT NULL THEN
            UPDATE pggit.alerts SET status = 'silenced', silence_id = v_silence WHERE id = a.id;
            v_n := v_n + 1;
        ELSIF a.status = 'silenced' AND v_silence IS NULL THEN
            UPDATE pggit.alerts SET status = 'firing', silence_id = NULL,
                                    notified_at = clock_timestamp()
             WHERE id = a.id
            RETURNING * INTO a;
            PERFORM pggit.emit_event('alert.fired',
                pggit.alert_event_data(a) || jsonb_build_object('unsilenced', true));
            v_n := v_n + 1;
        ELSIF a.status = 'silenced' AND v_silence IS DISTINCT FROM a.silence_id THEN
            UPDATE pggit.alerts SET silence_id = v_silence WHERE id = a.id;
        END IF;
    END LOOP;
    RETURN v_n;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.alert_silence_create(p_matchers jsonb, p_ends_at timestamptz,
                                                      p_comment text DEFAULT '',
                                                      p_created_by text DEFAULT NULL,
                                                      p_starts_at timestamptz DEFAULT NULL)
RETURNS pggit.alert_silences
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    s pggit.alert_silences;
    v_starts timestamptz := coalesce(p_starts_at, clock_timestamp());
BEGIN
    PERFORM pggit.alert_silence_check_matchers(p_matchers);
    IF p_ends_at IS NULL OR p_ends_at <= greatest(v_starts, clock_timestamp()) THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            'a silence must end in the future and after it starts (ends_at)');
    END IF;
    INSERT INTO pggit.alert_silences (matchers, comment, created_by, starts_at, ends_at)
    VALUES (p_matchers, coalesce(p_comment, ''), coalesce(p_created_by, pggit.current_actor()),
            v_starts, p_ends_at)
    RETURNING * INTO s;
    PERFORM pggit.alert_silences_apply();
    RETURN s;
END;
$$;

-- Changes a silence (NULL arguments keep the current value). Ending it early is allowed.
CREATE OR REPLACE FUNCTION pggit.alert_silence_update(p_id bigint, p_matchers jsonb DEFAULT NULL,
                                                      p_ends_at timestamptz DEFAULT NULL,
                                                      p_comment text DEFAULT NULL,
                                                      p_starts_at timestamptz DEFAULT NULL)
RETURNS pggit.alert_silences
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    s pggit.alert_silences;
BEGIN
    SELECT * INTO s FROM pggit.alert_silences WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('SILENCE_NOT_FOUND', format('no silence %s', p_id));
    END IF;
    IF p_matchers IS NOT NULL THEN
        PERFORM pggit.alert_silence_check_matchers(p_matchers);
    END IF;
    IF coalesce(p_ends_at, s.ends_at) <= coalesce(p_starts_at, s.starts_at) THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'a silence must end after it starts');
    END IF;
    UPDATE pggit.alert_silences
       SET matchers = coalesce(p_matchers, matchers), ends_at = coalesce(p_ends_at, ends_at),
           starts_at = coalesce(p_starts_at, starts_at), comment = coalesce(p_comment, comment),
           updated_at = clock_timestamp()
     WHERE id = p_id
    RETURNING * INTO s;
    PERFORM pggit.alert_silences_apply();
    RETURN s;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.alert_silence_delete(p_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    DELETE FROM pggit.alert_silences WHERE id = p_id;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('SILENCE_NOT_FOUND', format('no silence %s', p_id));
    END IF;
    PERFORM pggit.alert_silences_apply();
END;
$$;

-- A capture failure (lenient mode: the DDL went through unrecorded) raises an error alert per
-- command tag. Alerting never makes the user's DDL fail.
CREATE OR REPLACE FUNCTION pggit.on_capture_error()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    BEGIN
        PERFORM pggit.alert_raise('capture_failure:' || coalesce(NEW.command_tag, 'unknown'),
            'capture', 'error',
            format('Capture of %s failed', coalesce(NEW.command_tag, 'a statement')),
            format('%s (SQLSTATE %s). The statement went through but was not recorded; '
                   'SELECT pggit.rescan() resynchronises.', NEW.message, NEW.sqlstate),
            jsonb_build_object('capture_error_id', NEW.id, 'command_tag', NEW.command_tag,
                               'sqlstate', NEW.sqlstate, 'actor', NEW.actor,
                               'role', NEW.role_name, 'statement', left(NEW.statement, 1000)));
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'pgGit: raising the alert for capture error % failed: %', NEW.id, SQLERRM;
    END;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS capture_errors_alert ON pggit.capture_errors;
CREATE TRIGGER capture_errors_alert AFTER INSERT ON pggit.capture_errors
    FOR EACH ROW EXECUTE FUNCTION pggit.on_capture_error();

-- The periodic evaluation (the scheduler runs it every minute; psql can too): anomaly detection,
-- automatic resolution, silences that started or ended.
CREATE OR REPLACE FUNCTION pggit.monitoring_evaluate()
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_result jsonb;
BEGIN
    v_result := jsonb_build_object(
        'anomalies', (SELECT count(*) FILTER (WHERE d.anomalous) FROM pggit.perf_detect_anomalies() d),
        'auto_resolved', pggit.alerts_auto_resolve(),
        'silence_changes', pggit.alert_silences_apply());
    PERFORM pggit.monitoring_mark('evaluate', v_started, v_result);
    RETURN v_result;
END;
$$;
