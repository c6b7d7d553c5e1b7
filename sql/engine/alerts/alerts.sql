-- Alerts: one row per open problem, identified by a stable fingerprint; raise, acknowledge,
-- resolve, auto-resolve, and their occurrences. docs/monitoring.md describes the lifecycle.
-- Re-runnable: applied again by the loader whenever this file changes.

CREATE OR REPLACE FUNCTION pggit.alert_severity_rank(p_severity text)
RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE p_severity WHEN 'info' THEN 0 WHEN 'warning' THEN 1 WHEN 'error' THEN 2
                           WHEN 'critical' THEN 3 END
$$;

CREATE OR REPLACE FUNCTION pggit.alert_event_data(a pggit.alerts)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT jsonb_build_object('alert_id', a.id, 'fingerprint', a.fingerprint, 'source', a.source,
        'severity', a.severity, 'status', a.status, 'title', a.title, 'message', a.message,
        'occurrences', a.occurrences, 'details', a.details)
$$;

------------------------------------------------------------------------------------------------
-- Silences
------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pggit.alert_silence_check_matchers(p_matchers jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    m jsonb;
BEGIN
    IF p_matchers IS NULL OR jsonb_typeof(p_matchers) <> 'array' OR jsonb_array_length(p_matchers) = 0 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'matchers must be a non-empty JSON array');
    END IF;
    FOR m IN SELECT value FROM jsonb_array_elements(p_matchers) LOOP
        IF jsonb_typeof(m) <> 'object' OR jsonb_typeof(m->'name') IS DISTINCT FROM 'string'
           OR jsonb_typeof(m->'value') IS DISTINCT FROM 'string' THEN
            PERFORM pggit.raise_error('INVALID_ARGUMENT',
                format('a matcher is {"name", "op", "value"} with text name and value, got %s', m));
        END IF;
        IF NOT (m->>'name' IN ('fingerprint', 'source', 'severity', 'title')
                OR m->>'name' ~ '^details\.[A-Za-z0-9_]+$') THEN
            PERFORM pggit.raise_error('INVALID_ARGUMENT', format(
                'matcher name %s is not fingerprint, source, severity, title or details.<key>',
                m->'name'));
        END IF;
        IF coalesce(m->>'op', '=') NOT IN ('=', '!=', '=~', '!~') THEN
            PERFORM pggit.raise_error('INVALID_ARGUMENT',
                format('matcher op %s is not one of =, !=, =~, !~', m->'op'));
        END IF;
        IF coalesce(m->>'op', '=') IN ('=~', '!~') THEN
            BEGIN
                PERFORM '' ~ (m->>'value');
            EXCEPTION WHEN invalid_regular_expression THEN
                PERFORM pggit.raise_error('INVALID_ARGUMENT',
                    format('matcher value %s is not a valid regular expression', m->'value'));
            END;
        END IF;
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.alert_silence_matches(p_matchers jsonb, a pggit.alerts)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(bool_and(CASE coalesce(m->>'op', '=')
                                 WHEN '=' THEN v.actual IS NOT DISTINCT FROM m->>'value'
                                 WHEN '!=' THEN v.actual IS DISTINCT FROM m->>'value'
                                 WHEN '=~' THEN coalesce(v.actual ~ ('^(?:' || (m->>'value') || ')$'), false)
                                 WHEN '!~' THEN NOT coalesce(v.actual ~ ('^(?:' || (m->>'value') || ')$'), false)
                             END), false)
      FROM jsonb_array_elements(p_matchers) m,
           LATERAL (SELECT CASE m->>'name'
                               WHEN 'fingerprint' THEN a.fingerprint
                               WHEN 'source' THEN a.source
                               WHEN 'severity' THEN a.severity
                               WHEN 'title' THEN a.title
                               ELSE a.details ->> substr(m->>'name', 9)
                           END AS actual) v
$$;

-- The active silence (oldest first) matching an alert, or NULL.
CREATE OR REPLACE FUNCTION pggit.alert_active_silence(a pggit.alerts)
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT s.id FROM pggit.alert_silences s
     WHERE s.starts_at <= clock_timestamp() AND s.ends_at > clock_timestamp()
       AND pggit.alert_silence_matches(s.matchers, a)
     ORDER BY s.id LIMIT 1
$$;

------------------------------------------------------------------------------------------------
-- Raising
------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pggit.alert_check_input(p_fingerprint text, p_source text,
                                                   p_severity text, p_title text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF coalesce(length(p_fingerprint), 0) NOT BETWEEN 1 AND 500 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'an alert fingerprint is 1..500 characters');
    END IF;
    IF p_source IS NULL OR p_source !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            format('alert source %L must be lower-case letters, digits, _ . - (1..63)', p_source));
    END IF;
    IF pggit.alert_severity_rank(p_severity) IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            format('alert severity %L is not critical, error, warning or info', p_severity));
    END IF;
    IF coalesce(length(btrim(p_title)), 0) NOT BETWEEN 1 AND 500 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'an alert title is 1..500 characters');
    END IF;
END;
$$;

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

-- Raises (or re-raises) the alert identified by p_fingerprint; returns it as it now is. Silences
-- are matched against the alert as it will be after the raise (with the severity it keeps), not
-- against the incoming occurrence.
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

------------------------------------------------------------------------------------------------
-- Acknowledge and resolve
------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pggit.alert_for_update(p_id bigint)
RETURNS pggit.alerts
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    a pggit.alerts;
BEGIN
    SELECT * INTO a FROM pggit.alerts WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('ALERT_NOT_FOUND', format('no alert %s', p_id));
    END IF;
    RETURN a;
END;
$$;

-- firing | silenced -> acknowledged. Acknowledging twice, or a resolved alert, is an error.
CREATE OR REPLACE FUNCTION pggit.alert_acknowledge(p_id bigint, p_actor text DEFAULT NULL,
                                                   p_note text DEFAULT NULL)
RETURNS pggit.alerts
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    a pggit.alerts := pggit.alert_for_update(p_id);
BEGIN
    IF a.status = 'acknowledged' THEN
        PERFORM pggit.raise_error('ALERT_ALREADY_ACKNOWLEDGED',
            format('alert %s was already acknowledged by %s', a.id, a.acknowledged_by));
    ELSIF a.status = 'resolved' THEN
        PERFORM pggit.raise_error('ALERT_ALREADY_RESOLVED',
            format('alert %s is resolved; a resolved alert cannot be acknowledged', a.id));
    END IF;
    UPDATE pggit.alerts
       SET status = 'acknowledged', acknowledged_at = clock_timestamp(),
           acknowledged_by = coalesce(p_actor, pggit.current_actor()),
           note = coalesce(nullif(btrim(p_note), ''), note)
     WHERE id = a.id
    RETURNING * INTO a;
    IF a.notified_at IS NOT NULL THEN
        PERFORM pggit.emit_event('alert.acknowledged', pggit.alert_event_data(a)
            || jsonb_build_object('acknowledged_by', a.acknowledged_by, 'note', a.note));
    END IF;
    RETURN a;
END;
$$;

-- Resolves a locked open alert (manual or automatic) and announces it if it was announced.
CREATE OR REPLACE FUNCTION pggit.alert_close(a pggit.alerts, p_actor text, p_note text,
                                             p_automatic boolean)
RETURNS pggit.alerts
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    UPDATE pggit.alerts
       SET status = 'resolved', resolved_at = clock_timestamp(), resolved_by = p_actor,
           note = coalesce(nullif(btrim(p_note), ''), note)
     WHERE id = a.id
    RETURNING * INTO a;
    IF a.notified_at IS NOT NULL THEN
        PERFORM pggit.emit_event('alert.resolved', pggit.alert_event_data(a)
            || jsonb_build_object('resolved_by', a.resolved_by, 'note', a.note,
                                  'automatic', p_automatic));
    END IF;
    RETURN a;
END;
$$;

-- firing | acknowledged | silenced -> resolved. Resolving a resolved alert is an error.
CREATE OR REPLACE FUNCTION pggit.alert_resolve(p_id bigint, p_actor text DEFAULT NULL,
                                               p_note text DEFAULT NULL)
RETURNS pggit.alerts
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    a pggit.alerts := pggit.alert_for_update(p_id);
BEGIN
    IF a.status = 'resolved' THEN
        PERFORM pggit.raise_error('ALERT_ALREADY_RESOLVED',
            format('alert %s was already resolved by %s', a.id, a.resolved_by));
    END IF;
    RETURN pggit.alert_close(a, coalesce(p_actor, pggit.current_actor()), p_note, false);
END;
$$;

-- Batch acknowledge: one outcome per distinct id: acknowledged, already_acknowledged,
-- resolved (cannot be acknowledged) or not_found. Never fails on an id.
CREATE OR REPLACE FUNCTION pggit.alert_acknowledge_many(p_ids bigint[], p_actor text DEFAULT NULL,
                                                        p_note text DEFAULT NULL)
RETURNS TABLE (alert_id bigint, outcome text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_id bigint;
    v_status text;
BEGIN
    FOR v_id IN SELECT DISTINCT u.id FROM unnest(p_ids) u(id) WHERE u.id IS NOT NULL ORDER BY 1 LOOP
        SELECT a.status INTO v_status FROM pggit.alerts a WHERE a.id = v_id FOR UPDATE;
        alert_id := v_id;
        outcome := CASE WHEN v_status IS NULL THEN 'not_found'
                        WHEN v_status = 'acknowledged' THEN 'already_acknowledged'
                        WHEN v_status = 'resolved' THEN 'resolved'
                        ELSE 'acknowledged' END;
        IF outcome = 'acknowledged' THEN
            PERFORM pggit.alert_acknowledge(v_id, p_actor, p_note);
        END IF;
        v_status := NULL;
        RETURN NEXT;
    END LOOP;
END;
$$;

------------------------------------------------------------------------------------------------
-- Automatic resolution
------------------------------------------------------------------------------------------------

-- Resolves the open alerts whose fingerprint is LIKE p_pattern and not in p_keep.
CREATE OR REPLACE FUNCTION pggit.alerts_resolve_where(p_pattern text, p_keep text[], p_reason text)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    a pggit.alerts;
    v_n integer := 0;
BEGIN
    FOR a IN SELECT * FROM pggit.alerts
              WHERE status <> 'resolved' AND fingerprint LIKE p_pattern
                AND fingerprint <> ALL (coalesce(p_keep, '{}'))
              ORDER BY id FOR UPDATE LOOP
        PERFORM pggit.alert_close(a, 'pggit', p_reason, true);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END;
$$;

-- Whether the condition of an open alert is known to have cleared:
--   slow_operation:<op>   alert_resolve_after_runs later runs of <op>, none slow (a slow one
--                         would have moved last_seen_at);
--   operation_failed:<op> a later successful run of <op>;
--   capture_failure:<tag> a later captured <tag> statement (a row of pggit.ddl_log after the
--                         alert was last seen: capture writes a synchronous audit row per
--                         statement there, and its batched 'capture' operation carries no
--                         command tag); capture_failure:ddl.captured (the events of audit rows
--                         not written) a later ddl.captured event.
-- Anomalies clear in pggit.perf_detect_anomalies; other sources are resolved by hand.
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
    ELSIF v_kind = 'capture_failure' AND v_arg = 'ddl.captured' THEN
        -- (the newest one, by the primary key backwards: ddl.captured is most of the outbox)
        RETURN coalesce((SELECT e.occurred_at FROM pggit.events e WHERE e.type = 'ddl.captured'
                          ORDER BY e.id DESC LIMIT 1) > a.last_seen_at, false);
    ELSIF v_kind = 'capture_failure' THEN
        RETURN EXISTS (SELECT 1 FROM pggit.ddl_log l
                        WHERE l.captured_at > a.last_seen_at AND l.command_tag = v_arg);
    END IF;
    RETURN false;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.alerts_auto_resolve()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    a pggit.alerts;
    v_n integer := 0;
BEGIN
    FOR a IN SELECT * FROM pggit.alerts
              WHERE status <> 'resolved'
                AND split_part(fingerprint, ':', 1) IN ('slow_operation', 'operation_failed',
                                                        'capture_failure')
              ORDER BY id FOR UPDATE SKIP LOCKED LOOP
        CONTINUE WHEN NOT pggit.alert_condition_cleared(a);
        PERFORM pggit.alert_close(a, 'pggit', 'the condition has cleared', true);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END;
$$;
