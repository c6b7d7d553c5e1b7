-- pgGit engine, part 7: a cheaper synchronous capture (replaces on_ddl_command_end and on_sql_drop
-- of 003_core.sql).
-- Loaded by a Django migration; also runnable with psql (psql -f sql/007_capture.sql).
--
-- What capture records is unchanged: one audit row per DDL command in tracked schemas (statement,
-- the objects it named, the catalog rows to re-read, role, application_name, client address,
-- transaction, backend, actor, branch) and one ddl.captured event with its NOTIFY, in the
-- statement's transaction. What changed is how: 003 spent most of its time on the way there, not
-- in the writes (about ten nested function calls per statement, each one switching search_path,
-- four reads of pggit.config, a catalog join planned for fifty rows that scanned pg_trigger and
-- pg_namespace whole, an MD5 of the whole script text for every statement of it, and an UPDATE of
-- the audit row after inserting it). Here one function does it all: the configuration and HEAD
-- are read in one query, each command resolves its anchor with at most one index lookup, the
-- statement text is recognised again by its message (statement_timestamp() and length) instead
-- of its MD5, and the audit row and the event are written by one statement.

CREATE OR REPLACE FUNCTION pggit.on_ddl_command_end()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_tx text := current_setting('pggit.capture', true);
    v_pending text := nullif(current_setting('pggit.pending_anchors', true), '');
    v_pending_dropped text := nullif(nullif(current_setting('pggit.pending_dropped', true), ''), '[]');
    v_tag text := tg_tag;
    v_state text;
    v_cfg jsonb;
    v_branch text;
    v_anchors jsonb;
    v_targets jsonb;
    v_statement text;
    v_query text;
    v_query_key text;
    v_query_id bigint;
    v_cached text;
    v_actor text;
    v_app text;
    v_ddl_id bigint;
    v_events integer;
    v_slow boolean;
BEGIN
    -- what the sql_drop trigger passed on is consumed by this statement whatever happens below
    IF v_pending IS NOT NULL THEN
        PERFORM set_config('pggit.pending_anchors', '', true);
    END IF;
    IF current_setting('pggit.pending_dropped', true) <> '' THEN
        PERFORM set_config('pggit.pending_dropped', '', true);
    END IF;
    IF v_tx = 'off' THEN
        RETURN;
    END IF;
    v_state := CASE WHEN v_tx = 'engine' THEN 'engine' ELSE 'on' END;
    BEGIN
        -- one query: the configuration, HEAD's branch, and what the command touched - the
        -- identities it named and the catalog rows to re-read, resolved to the row that owns
        -- them (an index, constraint, trigger, policy, default or rewrite rule to its table; a
        -- domain constraint to its domain) by at most one index lookup each; only tracked
        -- schemas (the rules of pggit.is_tracked_schema), never members of extensions
        WITH cfg AS MATERIALIZED (
            SELECT coalesce(nullif(current_setting('pggit.config_cache', true), '')::jsonb,
                            (SELECT jsonb_object_agg(key, value) FROM pggit.config
                              WHERE key IN ('capture_enabled', 'excluded_schemas', 'auto_commit',
                                            'capture_sync'))) AS v
        ), cmd AS (
            SELECT d.classid, d.objid, d.object_type, d.object_identity, d.command_tag,
                   -- triggers, policies, rules and column defaults have no schema of their own
                   -- (schema_name is NULL): theirs is their table's, so one on a table of an
                   -- untracked schema (pggit's own, the console's, an excluded one) is untracked
                   coalesce(d.schema_name,
                            CASE d.classid
                                WHEN 'pg_namespace'::regclass THEN
                                    (SELECT n.nspname::text FROM pg_namespace n
                                      WHERE n.oid = d.objid)
                                WHEN 'pg_trigger'::regclass THEN
                                    (SELECT n.nspname::text
                                       FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
                                       JOIN pg_namespace n ON n.oid = r.relnamespace
                                      WHERE t.oid = d.objid)
                                WHEN 'pg_policy'::regclass THEN
                                    (SELECT n.nspname::text
                                       FROM pg_policy p JOIN pg_class r ON r.oid = p.polrelid
                                       JOIN pg_namespace n ON n.oid = r.relnamespace
                                      WHERE p.oid = d.objid)
                                WHEN 'pg_rewrite'::regclass THEN
                                    (SELECT n.nspname::text
                                       FROM pg_rewrite w JOIN pg_class r ON r.oid = w.ev_class
                                       JOIN pg_namespace n ON n.oid = r.relnamespace
                                      WHERE w.oid = d.objid)
                                WHEN 'pg_attrdef'::regclass THEN
                                    (SELECT n.nspname::text
                                       FROM pg_attrdef a JOIN pg_class r ON r.oid = a.adrelid
                                       JOIN pg_namespace n ON n.oid = r.relnamespace
                                      WHERE a.oid = d.objid)
                            END,
                            'public') AS schema_name
              FROM pg_event_trigger_ddl_commands() d
             WHERE NOT d.in_extension AND d.classid IS NOT NULL
        ), tracked AS (
            SELECT c.*,
                   coalesce(CASE c.classid
                       WHEN 'pg_class'::regclass THEN
                           CASE WHEN c.object_type = 'index' THEN
                               (SELECT jsonb_build_array('pg_class'::regclass::oid, i.indrelid)
                                  FROM pg_index i WHERE i.indexrelid = c.objid) END
                       WHEN 'pg_constraint'::regclass THEN
                           (SELECT CASE WHEN con.contypid <> 0
                                        THEN jsonb_build_array('pg_type'::regclass::oid, con.contypid)
                                        ELSE jsonb_build_array('pg_class'::regclass::oid, con.conrelid) END
                              FROM pg_constraint con WHERE con.oid = c.objid)
                       WHEN 'pg_trigger'::regclass THEN
                           (SELECT jsonb_build_array('pg_class'::regclass::oid, t.tgrelid)
                              FROM pg_trigger t WHERE t.oid = c.objid)
                       WHEN 'pg_policy'::regclass THEN
                           (SELECT jsonb_build_array('pg_class'::regclass::oid, p.polrelid)
                              FROM pg_policy p WHERE p.oid = c.objid)
                       WHEN 'pg_attrdef'::regclass THEN
                           (SELECT jsonb_build_array('pg_class'::regclass::oid, a.adrelid)
                              FROM pg_attrdef a WHERE a.oid = c.objid)
                       WHEN 'pg_rewrite'::regclass THEN
                           (SELECT jsonb_build_array('pg_class'::regclass::oid, r.ev_class)
                              FROM pg_rewrite r WHERE r.oid = c.objid)
                       END, jsonb_build_array(c.classid, c.objid)) AS anchor
              FROM cmd c, cfg
             WHERE c.schema_name NOT LIKE 'pggit%'
               AND c.schema_name NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
               AND c.schema_name !~ '^pg_(toast_)?temp_'
               AND NOT (CASE WHEN jsonb_typeof(cfg.v->'excluded_schemas') = 'array'
                             THEN cfg.v->'excluded_schemas' ELSE '[]' END ? c.schema_name)
        )
        SELECT cfg.v,
               (SELECT b.name FROM pggit.head h JOIN pggit.branches b ON b.id = h.branch_id),
               (SELECT coalesce(jsonb_agg(DISTINCT t.anchor), '[]') FROM tracked t),
               (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'type', t.object_type, 'identity', t.object_identity,
                           'change', lower(split_part(t.command_tag, ' ', 1)))), '[]')
                  FROM tracked t WHERE t.object_identity IS NOT NULL)
               || (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'type', lower(d.object_type),
                           'change', lower(split_part(d.command_tag, ' ', 1)))), '[]')
                     FROM pg_event_trigger_ddl_commands() d
                    WHERE d.classid IS NULL AND NOT d.in_extension)
          INTO v_cfg, v_branch, v_anchors, v_targets
          FROM cfg;
        IF current_setting('pggit.config_cache', true) IS DISTINCT FROM v_cfg::text THEN
            PERFORM set_config('pggit.config_cache', v_cfg::text, true);
        END IF;
        IF v_state = 'on' AND v_cfg->'capture_enabled' = 'false'::jsonb THEN
            RETURN;
        END IF;
        IF v_pending IS NOT NULL THEN
            v_anchors := v_anchors || v_pending::jsonb;
        END IF;
        IF v_pending_dropped IS NOT NULL THEN
            v_targets := v_targets || v_pending_dropped::jsonb;
        END IF;
        IF jsonb_array_length(v_anchors) = 0 AND v_pending_dropped IS NULL
           AND v_tag NOT IN ('GRANT', 'REVOKE', 'ALTER DEFAULT PRIVILEGES') THEN
            RETURN;  -- nothing tracked was touched
        END IF;

        -- the statement: set by the engine for the DDL it runs, else the client's query, stored
        -- once per client message (a 500-statement script is one row, not 500)
        v_statement := nullif(current_setting('pggit.statement', true), '');
        IF v_statement IS NULL THEN
            v_query_key := statement_timestamp()::text || '=';
            v_cached := current_setting('pggit.last_query', true);
            IF starts_with(v_cached, v_query_key) THEN
                v_query_id := substr(v_cached, length(v_query_key) + 1)::bigint;
            ELSE
                v_query := current_query();
                INSERT INTO pggit.ddl_queries (md5, query) VALUES (md5(v_query), v_query)
                RETURNING id INTO v_query_id;
                PERFORM set_config('pggit.last_query', v_query_key || v_query_id, true);
            END IF;
        END IF;

        v_actor := coalesce(nullif(current_setting('pggit.actor', true), ''), session_user::text);
        v_app := current_setting('application_name', true);
        v_slow := v_state = 'on' AND (v_cfg->'auto_commit' = 'true'::jsonb
                                      OR v_cfg->'capture_sync' = 'true'::jsonb);
        -- the audit row and (for users' DDL) its ddl.captured event, announced, in one statement;
        -- capture_ms is the time taken up to this write
        WITH audit AS (
            INSERT INTO pggit.ddl_log (query_id, statement, command_tag, targets, anchors,
                                       application_name, client_addr, actor, branch,
                                       engine_operation, capture_ms)
            VALUES (v_query_id, v_statement, v_tag, v_targets, v_anchors, v_app,
                    inet_client_addr(), v_actor, v_branch,
                    nullif(current_setting('pggit.operation', true), ''),
                    extract(epoch FROM clock_timestamp() - v_started) * 1000.0)
            RETURNING id
        ), event AS (
            INSERT INTO pggit.events (type, data, actor)
            SELECT 'ddl.captured',
                   jsonb_build_object('ddl_id', a.id, 'command_tag', v_tag, 'branch', v_branch,
                                      'role', current_user, 'actor', v_actor,
                                      'application_name', v_app, 'objects', v_targets),
                   v_actor
              FROM audit a
             WHERE v_state = 'on'
            RETURNING pg_notify('pggit_events', id::text)
        )
        SELECT a.id, (SELECT count(*) FROM event) INTO v_ddl_id, v_events FROM audit a;

        IF v_slow THEN
            PERFORM pggit.capture_flush();
            IF v_cfg->'auto_commit' = 'true'::jsonb THEN
                PERFORM pggit.auto_commit(v_ddl_id);
            END IF;
            UPDATE pggit.ddl_log
               SET capture_ms = extract(epoch FROM clock_timestamp() - v_started) * 1000.0
             WHERE id = v_ddl_id;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        IF v_state = 'engine' THEN
            RAISE;  -- the engine's own apply step must never go unrecorded
        END IF;
        PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, v_tag);
    END;
END;
$$;

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
END;
$$;

-- The audit row's statement text is written by capture in the same statement as the row (and
-- never deleted); the foreign key's check cost a catalog-style lookup on every captured DDL.
ALTER TABLE pggit.ddl_log DROP CONSTRAINT IF EXISTS ddl_log_query_id_fkey;


-- sql/003_core.sql's sql_drop trigger, with the same rule for what is tracked: a dropped trigger,
-- policy or rule has no schema_name of its own (its address_names start with its table's schema),
-- and nothing is passed on when no dropped object is tracked (003 passed on an empty list, and the
-- statement was then audited and announced with no objects: every DROP CONSTRAINT or DROP TRIGGER
-- on pggit's own tables, as the migrations run them).
CREATE OR REPLACE FUNCTION pggit.on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_anchors jsonb;
    v_dropped jsonb;
BEGIN
    IF pggit.capture_state() = 'off' THEN
        RETURN;
    END IF;
    -- A dropped anchor (table, view, function, type...) is found by its oid; a dropped sub-object
    -- (index, constraint, trigger, policy) by its name, and then its anchor is re-read.
    SELECT jsonb_agg(DISTINCT jsonb_build_array(l.anchor_classid, l.anchor_objid)) INTO v_anchors
      FROM pg_event_trigger_dropped_objects() d
      JOIN pggit.live_state l
        ON (l.anchor_classid = d.classid AND l.anchor_objid = d.objid)
        OR (d.object_type = 'index' AND l.kind = 'index'
            AND l.schema_name = d.address_names[1] AND l.object_name = d.address_names[2])
        OR (d.object_type IN ('table constraint', 'trigger', 'policy')
            AND l.kind = CASE d.object_type WHEN 'table constraint' THEN 'constraint' ELSE d.object_type END
            AND l.schema_name = d.address_names[1] AND l.parent_name = d.address_names[2]
            AND l.object_name = d.address_names[3]);
    IF v_anchors IS NOT NULL THEN
        PERFORM pggit.pending_anchors_push(v_anchors);
    END IF;
    SELECT jsonb_agg(jsonb_build_object('type', d.object_type, 'identity', d.object_identity,
                                        'change', 'dropped'))
      INTO v_dropped
      FROM pg_event_trigger_dropped_objects() d,
           LATERAL (SELECT coalesce(d.schema_name,
                                    CASE WHEN d.object_type IN ('trigger', 'policy', 'rule')
                                         THEN d.address_names[1] END) AS name) sch
     WHERE d.original AND (sch.name IS NULL OR pggit.is_tracked_schema(sch.name));
    IF v_dropped IS NOT NULL THEN
        PERFORM set_config('pggit.pending_dropped',
            (coalesce(nullif(current_setting('pggit.pending_dropped', true), ''), '[]')::jsonb
             || v_dropped)::text,
            true);
    END IF;
EXCEPTION WHEN OTHERS THEN
    PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, 'sql_drop');
END;
$$;
