-- pgGit engine, part 8: privilege commands in capture, and argument checks of the history
-- functions. Loaded by a Django migration; also runnable with psql (psql -f sql/008_fixes.sql).
--
-- GRANT, REVOKE and ALTER DEFAULT PRIVILEGES name no catalog row (pg_event_trigger_ddl_commands()
-- gives them no classid, objid or identity). Capture of 003/007 turned that into an anchor of two
-- NULLs, and every later reader of the working state (status, commit, checkout) failed on it with
-- INVALID_ARGUMENT until the audit row was removed by hand. Privileges are not tracked (they are
-- not part of any definition, see engine-catalog.md); the statements are recorded in the audit
-- trail (and announced as ddl.captured) with their object type and no objects to re-read.
-- capture_flush() skips such anchors, so a database that captured one before this file heals.

CREATE OR REPLACE FUNCTION pggit.on_ddl_command_end()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_tx text := current_setting('pggit.capture', true);
    v_pending text := nullif(current_setting('pggit.pending_anchors', true), '');
    v_pending_dropped text := nullif(current_setting('pggit.pending_dropped', true), '');
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
    IF v_pending_dropped IS NOT NULL THEN
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
                   coalesce(d.schema_name,
                            CASE WHEN d.classid = 'pg_namespace'::regclass
                                 THEN (SELECT n.nspname::text FROM pg_namespace n
                                        WHERE n.oid = d.objid) END,
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


CREATE OR REPLACE FUNCTION pggit.capture_flush()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_ids bigint[];
    v_objects integer := 0;
    g record;
BEGIN
    IF current_setting('transaction_read_only') = 'on' THEN
        RETURN 0;
    END IF;
    SELECT array_agg(id ORDER BY id) INTO v_ids
      FROM (SELECT id FROM pggit.ddl_log WHERE flushed_at IS NULL ORDER BY id FOR UPDATE) l;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    -- anchors of each statement; after ALTER/COMMENT also the anchors whose text names them
    FOR g IN
        WITH touched AS (
            SELECT l.id, l.engine_operation IS NULL AS record, a.value AS anchor
              FROM pggit.ddl_log l, jsonb_array_elements(l.anchors) a
             WHERE l.id = ANY (v_ids) AND a.value->>0 IS NOT NULL AND a.value->>1 IS NOT NULL
            UNION ALL
            SELECT l.id, l.engine_operation IS NULL, jsonb_build_array(d.classid, d.objid)
              FROM pggit.ddl_log l, jsonb_array_elements(l.anchors) a,
                   LATERAL pggit.anchor_dependents((a->>0)::oid, (a->>1)::oid) d
             WHERE l.id = ANY (v_ids) AND a.value->>0 IS NOT NULL AND a.value->>1 IS NOT NULL
               AND (l.command_tag LIKE 'ALTER %' OR l.command_tag LIKE 'COMMENT%')
        ), last_touch AS (
            SELECT DISTINCT ON (anchor) anchor, id, record FROM touched ORDER BY anchor, id DESC
        )
        SELECT id, record, jsonb_agg(anchor) AS anchors FROM last_touch GROUP BY id, record ORDER BY id
    LOOP
        UPDATE pggit.ddl_log SET objects = pggit.apply_live_changes(g.anchors, g.record, g.id)
         WHERE id = g.id
        RETURNING v_objects + jsonb_array_length(objects) INTO v_objects;
    END LOOP;
    UPDATE pggit.ddl_log SET flushed_at = clock_timestamp() WHERE id = ANY (v_ids);
    PERFORM pggit.record_operation('capture', v_started, v_objects, cardinality(v_ids),
        (SELECT b.name FROM pggit.head h JOIN pggit.branches b ON b.id = h.branch_id), true, NULL,
        jsonb_build_object('statements', cardinality(v_ids),
            'capture_ms', (SELECT sum(capture_ms) FROM pggit.ddl_log WHERE id = ANY (v_ids))));
    RETURN cardinality(v_ids);
END;
$$;


-- object_history and audit: bad paging arguments and an empty object are INVALID_ARGUMENT, not
-- PostgreSQL's own "LIMIT must not be negative".
CREATE OR REPLACE FUNCTION pggit.object_history(p_object text, p_limit integer DEFAULT 100)
RETURNS TABLE (commit_hash text, committed_at timestamptz, author text, message text, branch text,
               object_key text, change text, definition text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
BEGIN
    IF p_object IS NULL OR btrim(p_object) = '' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'an object key or schema.name is required');
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'limit is 1..10000');
    END IF;
    RETURN QUERY
    SELECT c.hash, c.committed_at, c.author, c.message, c.branch, cc.object_key, cc.change, b.definition
      FROM pggit.commit_changes cc
      JOIN pggit.commits c ON c.id = cc.commit_id
      LEFT JOIN pggit.blobs b ON b.hash = cc.new_blob
     WHERE cc.object_key = p_object OR cc.schema_name || '.' || cc.object_name = p_object
     ORDER BY cc.commit_id DESC
     LIMIT p_limit;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.audit(
    p_since timestamptz DEFAULT NULL, p_until timestamptz DEFAULT NULL, p_role text DEFAULT NULL,
    p_actor text DEFAULT NULL, p_limit integer DEFAULT 100, p_offset integer DEFAULT 0)
RETURNS SETOF pggit.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 OR p_offset IS NULL OR p_offset < 0 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'limit is 1..10000 and offset >= 0');
    END IF;
    RETURN QUERY
    SELECT * FROM pggit.audit_log a
     WHERE (p_since IS NULL OR a.captured_at >= p_since)
       AND (p_until IS NULL OR a.captured_at <= p_until)
       AND (p_role IS NULL OR a.role_name = p_role OR a.session_role = p_role)
       AND (p_actor IS NULL OR a.actor = p_actor)
     ORDER BY a.captured_at DESC, a.id DESC
     LIMIT p_limit OFFSET p_offset;
END;
$$;
