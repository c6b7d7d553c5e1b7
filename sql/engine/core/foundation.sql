-- Engine foundation: error formatting, configuration access, the event outbox (emit_event,
-- event_envelope), the change notes (note_change, announce_change) and the operation log
-- (record_operation).
-- Re-runnable: applied again by the loader whenever this file changes.

-- Errors: every engine error message starts with "[PGGIT-<CODE>] " and uses SQLSTATE P0001 unless a
-- more precise one fits. pggit.raise_error() is the one place that formats them.
CREATE OR REPLACE FUNCTION pggit.raise_error(p_code text, p_message text, p_hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_hint IS NULL THEN
        RAISE EXCEPTION USING MESSAGE = format('[PGGIT-%s] %s', p_code, p_message),
                              ERRCODE = 'P0001';
    END IF;
    RAISE EXCEPTION USING MESSAGE = format('[PGGIT-%s] %s', p_code, p_message),
                          HINT = p_hint, ERRCODE = 'P0001';
END;
$$;

CREATE OR REPLACE FUNCTION pggit.config_get(p_key text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$ SELECT value FROM pggit.config WHERE key = p_key $$;

-- Sets one configuration key (audited in pggit.config_audit).
-- The configuration capture uses is read once per transaction (kept in pggit.config_cache, a
-- transaction-local setting): a change made by another session applies from this session's next
-- transaction, so one transaction's DDL is captured under one configuration. A change made in
-- this transaction applies at once.
CREATE OR REPLACE FUNCTION pggit.config_set(p_key text, p_value jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_old jsonb;
BEGIN
    SELECT value INTO v_old FROM pggit.config WHERE key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('CONFIG_UNKNOWN_KEY', format('unknown configuration key %L', p_key),
                                  'SELECT key FROM pggit.config lists the keys');
    END IF;
    IF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', format('%s needs a value', p_key));
    END IF;
    IF p_key IN ('capture_enabled', 'auto_commit', 'capture_sync') AND jsonb_typeof(p_value) <> 'boolean' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', format('%s takes a boolean', p_key));
    END IF;
    IF p_key = 'capture_mode' AND p_value NOT IN ('"lenient"'::jsonb, '"strict"'::jsonb) THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'capture_mode is ''lenient'' or ''strict''');
    END IF;
    IF p_key = 'excluded_schemas' AND (jsonb_typeof(p_value) <> 'array' OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(p_value) e
             WHERE jsonb_typeof(e) <> 'string' OR e #>> '{}' = '')) THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'excluded_schemas takes a JSON array of schema names');
    END IF;
    UPDATE pggit.config SET value = p_value, updated_at = now(), updated_by = pggit.current_actor()
     WHERE key = p_key;
    INSERT INTO pggit.config_audit (key, old_value, new_value, actor)
    VALUES (p_key, v_old, p_value, pggit.current_actor());
    PERFORM set_config('pggit.config_cache', '', true);
    PERFORM set_config('pggit.capture_direct', '', true);  -- (capture.sql, on_ddl_command_end)
END;
$$;

-- What changed, for those who keep copies of what they read (the response cache: docs/cache.md,
-- docs/architecture.md "Cache invalidation"). A change is named by its outbox event type
-- ('commit.created') or, for rows written without an outbox event, by its table
-- ('pggit.operations'); the application maps each name to what it makes stale, in one table.
--
-- pggit.note_change(name) adds the name to the session's setting pggit.changes (',a,b,': each
-- name once). The setting is transactional: a rolled-back transaction (or savepoint) takes its
-- names back. The application reads and clears it after each write request and, once that
-- request's transaction has committed, applies the names in its own process before answering
-- (read-your-writes without waiting for the listener). Other processes learn of the same change
-- from the outbox (NOTIFY pggit_events) or, for the rows without an outbox event, from
-- pggit.announce_change's NOTIFY pggit_cache.
CREATE OR REPLACE FUNCTION pggit.note_change(p_name text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_noted text := coalesce(pg_catalog.current_setting('pggit.changes', true), '');
BEGIN
    IF pg_catalog.strpos(v_noted, ',' || p_name || ',') = 0 THEN
        PERFORM pg_catalog.set_config('pggit.changes',
            CASE WHEN v_noted = '' THEN ',' ELSE v_noted END || p_name || ',', false);
    END IF;
END;
$$;

-- The names noted on this session since the last call, cleared (',a,b,'; '' for none).
CREATE OR REPLACE FUNCTION pggit.take_changes()
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_noted text := coalesce(pg_catalog.current_setting('pggit.changes', true), '');
BEGIN
    IF v_noted <> '' THEN
        PERFORM pg_catalog.set_config('pggit.changes', '', false);
    END IF;
    RETURN v_noted;
END;
$$;

-- A change of rows that have no outbox event (endpoint health counters, re-raised alerts,
-- recorded runs, baselines, branch renames): noted, and announced on channel pggit_cache as
-- {"changed": "<schema>.<table>"} (delivered at commit, once per distinct payload per
-- transaction). Not an outbox event: a recorded run is written by reads too (every diff), and an
-- event per run would reach every webhook subscribed to '*', the dashboard's recent events and
-- the engine-state version (docs/benchmarks.md, "Change notices").
CREATE OR REPLACE FUNCTION pggit.announce_change(p_table text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('pggit_cache', '{"changed": "' || p_table || '"}');
    PERFORM pggit.note_change(p_table);
END;
$$;

CREATE OR REPLACE FUNCTION pggit.emit_event(p_type text, p_data jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO pggit.events (type, data, actor)
    VALUES (p_type, coalesce(p_data, '{}'), pggit.current_actor())
    RETURNING id INTO v_id;
    PERFORM pg_notify('pggit_events', v_id::text);
    PERFORM pggit.note_change(p_type);
    RETURN v_id;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.event_envelope(e pggit.events)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT jsonb_build_object(
        'id', e.id,
        'type', e.type,
        'occurred_at', to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
        'data', e.data)
$$;

-- Records one run: links it into its trace and judges it against its baseline; the row is written
-- with judged = true, so the monitoring trigger (operations_monitor, for rows inserted into
-- pggit.operations otherwise) skips it.
-- Linking:
--   * the run is the open span on top of pggit.trace_open: it takes the span's id, pops it, and
--     its parent is the enclosing open span, if any;
--   * another open span is on top: the run is its child (inserted before its parent's row);
--   * no open span: the run adopts the earlier recorded spans of its transaction that started at
--     or after it did (pggit.trace_link);
-- and a top-level run is pushed on pggit.trace_stack (inline for an opened span: its children
-- were linked as they were recorded).
-- No regular expressions on this path: inside a commit they were recompiled every time
-- (apparently pushed out of PostgreSQL's small cache of compiled ones by the capture's), ~75 us a
-- commit for two.
-- The actor is computed inline rather than by the column default pggit.current_actor() (same
-- value; a function call is a noticeable part of a recording's cost).
-- SECURITY DEFINER (with a fixed search_path): read functions granted to pggit_reader record
-- their operation through it without the right to write pggit's tables (docs/security.md).
CREATE OR REPLACE FUNCTION pggit.record_operation(
    p_operation text, p_started_at timestamptz, p_object_count integer DEFAULT 0,
    p_statement_count integer DEFAULT 0, p_branch text DEFAULT NULL, p_success boolean DEFAULT true,
    p_error text DEFAULT NULL, p_details jsonb DEFAULT '{}', p_parent_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SECURITY DEFINER
AS $$
DECLARE
    v_open text := pg_catalog.current_setting('pggit.trace_open', true);
    v_top text;
    v_id bigint;
    v_opened boolean := false;
    v_parent bigint;
    v_judge boolean;
    v_announced text;
BEGIN
    IF v_open <> '' THEN
        v_top := pg_catalog.split_part(v_open, ',', 1);
        IF NOT pggit.trace_entry_valid(v_top) THEN
            v_open := '';  -- not a stack trace_begin wrote: start afresh
            PERFORM pg_catalog.set_config('pggit.trace_open', '', true);
        ELSIF pg_catalog.split_part(v_top, ':', 2) = p_operation
              AND pg_catalog.split_part(v_top, ':', 3)::bigint
                  = (extract(epoch FROM p_started_at) * 1000000)::bigint THEN
            -- the open span itself ends: its id, the enclosing open span as its parent
            v_opened := true;
            v_id := pg_catalog.split_part(v_top, ':', 1)::bigint;
            v_open := pg_catalog.substr(v_open, pg_catalog.length(v_top) + 2);
            v_parent := nullif(pg_catalog.split_part(v_open, ':', 1), '')::bigint;
            PERFORM pg_catalog.set_config('pggit.trace_open', v_open, true);
        ELSE
            v_parent := pg_catalog.split_part(v_top, ':', 1)::bigint;
        END IF;
    END IF;
    IF p_parent_id IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM pggit.operations WHERE id = p_parent_id)
           AND NOT (',' || coalesce(v_open, '') || ',') LIKE ('%,' || p_parent_id || ':%') THEN
            PERFORM pggit.raise_error('OPERATION_NOT_FOUND',
                pg_catalog.format('no recorded operation %s to be the parent span', p_parent_id));
        END IF;
        v_parent := p_parent_id;
    END IF;
    -- judged here, and announced (pggit.announce_change) inside this statement (no trigger of
    -- its own: one statement per recording; one notification per transaction reaches listeners)
    INSERT INTO pggit.operations (id, operation, started_at, duration_ms, object_count,
                                  statement_count, branch, actor, success, error, details,
                                  parent_id, judged)
    OVERRIDING SYSTEM VALUE
    VALUES (coalesce(v_id, pg_catalog.nextval('pggit.operations_id_seq')),
            p_operation, p_started_at,
            extract(epoch FROM pg_catalog.clock_timestamp() - p_started_at) * 1000.0,
            coalesce(p_object_count, 0), coalesce(p_statement_count, 0), p_branch,
            coalesce(nullif(pg_catalog.current_setting('pggit.actor', true), ''),
                     nullif(pg_catalog.current_setting('role'), 'none'), session_user::text),
            p_success, p_error, coalesce(p_details, '{}'), v_parent, true)
    RETURNING id,
              NOT success OR duration_ms > (SELECT b.threshold_ms FROM pggit.perf_baselines b
                                             WHERE b.operation = p_operation),
              pggit.announce_change('pggit.operations')
         INTO v_id, v_judge, v_announced;
    IF v_judge THEN
        PERFORM pggit.perf_judge(ARRAY[v_id]);
    END IF;
    IF v_parent IS NULL THEN
        IF v_opened THEN
            PERFORM pggit.trace_push(v_id, p_started_at);
        ELSE
            PERFORM pggit.trace_link(v_id, p_started_at);
        END IF;
    END IF;
    RETURN v_id;
END;
$$;
