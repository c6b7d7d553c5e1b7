-- pgGit engine, part 8: privilege commands in capture, and argument checks of the history
-- functions. Loaded by a Django migration; also runnable with psql (psql -f sql/008_fixes.sql).
--
-- GRANT, REVOKE and ALTER DEFAULT PRIVILEGES name no catalog row (pg_event_trigger_ddl_commands()
-- gives them no classid, objid or identity). Capture of 003 turned that into an anchor of two
-- NULLs, and every later reader of the working state (status, commit, checkout) failed on it with
-- INVALID_ARGUMENT until the audit row was removed by hand. Privileges are not tracked (they are
-- not part of any definition, see engine-catalog.md); capture (sql/007) records the statements in
-- the audit trail (and announces them as ddl.captured) with their object type and no objects to
-- re-read. capture_flush() skips such anchors, so a database that captured one before heals.

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
