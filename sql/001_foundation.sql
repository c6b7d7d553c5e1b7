-- pgGit engine, part 1: the pggit schema, configuration, the event outbox and the operation log.
-- Loaded by a Django migration; also runnable with psql (psql -f sql/001_foundation.sql).

CREATE SCHEMA IF NOT EXISTS pggit;
COMMENT ON SCHEMA pggit IS 'pgGit: version control of this database''s schema';

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

-- Configuration: one row per key. Changes to it are audited in pggit.config_audit.
CREATE TABLE IF NOT EXISTS pggit.config (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    description text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT current_user
);

INSERT INTO pggit.config (key, value, description) VALUES
    ('capture_enabled', 'true',
     'Global capture switch (emergency off). Change it with pggit.set_capture(enabled, ''global'').'),
    ('capture_mode', '"lenient"',
     'lenient: a capture failure is recorded and the DDL succeeds; strict: a capture failure aborts the DDL.'),
    ('auto_commit', 'false',
     'When true, each DDL transaction becomes its own commit.'),
    ('capture_sync', 'false',
     'When true, capture reads canonical definitions during each DDL statement (slower DDL); by default they are read when the working state is next needed (status, commit, checkout...).'),
    ('excluded_schemas', '["pggit_console"]',
     'Schemas never tracked besides pggit*, pg_catalog, information_schema and pg_toast (pggit_console holds the console''s own tables).')
ON CONFLICT (key) DO NOTHING;

CREATE TABLE IF NOT EXISTS pggit.config_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text NOT NULL,
    old_value   jsonb,
    new_value   jsonb NOT NULL,
    role_name   text NOT NULL DEFAULT current_user,
    actor       text,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- The acting console user, when the console set one (SET LOCAL pggit.actor = 'alice').
CREATE OR REPLACE FUNCTION pggit.current_actor()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(nullif(current_setting('pggit.actor', true), ''), session_user::text)
$$;

CREATE OR REPLACE FUNCTION pggit.config_get(p_key text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$ SELECT value FROM pggit.config WHERE key = p_key $$;

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
    IF p_key IN ('capture_enabled', 'auto_commit', 'capture_sync') AND jsonb_typeof(p_value) <> 'boolean' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', format('%s takes a boolean', p_key));
    END IF;
    IF p_key = 'capture_mode' AND p_value NOT IN ('"lenient"'::jsonb, '"strict"'::jsonb) THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'capture_mode is ''lenient'' or ''strict''');
    END IF;
    IF p_key = 'excluded_schemas' AND jsonb_typeof(p_value) <> 'array' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'excluded_schemas takes a JSON array of names');
    END IF;
    UPDATE pggit.config SET value = p_value, updated_at = now(), updated_by = pggit.current_actor()
     WHERE key = p_key;
    INSERT INTO pggit.config_audit (key, old_value, new_value, actor)
    VALUES (p_key, v_old, p_value, pggit.current_actor());
END;
$$;

-- The event outbox. Every state change of interest is appended here in the transaction that makes
-- it, and announced on channel 'pggit_events' with the event id as payload (delivered on commit).
-- Envelope: {"id", "type", "occurred_at", "data"} -- see pggit.event_envelope().
CREATE TABLE IF NOT EXISTS pggit.events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type         text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    data         jsonb NOT NULL DEFAULT '{}',
    actor        text,
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX IF NOT EXISTS events_type_id_idx ON pggit.events (type, id);
CREATE INDEX IF NOT EXISTS events_occurred_at_idx ON pggit.events (occurred_at);

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

-- The operation log (Phase 7 builds baselines and alerts on it). Every engine operation records one
-- row: what it was, how long it took, how much it touched, on which branch, for whom.
CREATE TABLE IF NOT EXISTS pggit.operations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation     text NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   double precision NOT NULL,
    object_count  integer NOT NULL DEFAULT 0,
    statement_count integer NOT NULL DEFAULT 0,
    branch        text,
    actor         text NOT NULL DEFAULT pggit.current_actor(),
    success       boolean NOT NULL DEFAULT true,
    error         text,
    parent_id     bigint REFERENCES pggit.operations (id) ON DELETE SET NULL,
    details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS operations_operation_started_idx ON pggit.operations (operation, started_at);
CREATE INDEX IF NOT EXISTS operations_started_idx ON pggit.operations (started_at);

CREATE OR REPLACE FUNCTION pggit.record_operation(
    p_operation text, p_started_at timestamptz, p_object_count integer DEFAULT 0,
    p_statement_count integer DEFAULT 0, p_branch text DEFAULT NULL, p_success boolean DEFAULT true,
    p_error text DEFAULT NULL, p_details jsonb DEFAULT '{}', p_parent_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO pggit.operations (operation, started_at, duration_ms, object_count, statement_count,
                                  branch, success, error, details, parent_id)
    VALUES (p_operation, p_started_at,
            extract(epoch FROM clock_timestamp() - p_started_at) * 1000.0,
            coalesce(p_object_count, 0), coalesce(p_statement_count, 0), p_branch, p_success, p_error,
            coalesce(p_details, '{}'), p_parent_id)
    RETURNING id INTO v_id;
    RETURN v_id;
END;
$$;
