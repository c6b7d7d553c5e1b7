-- Capture: the event triggers' functions (synchronous part: audit row and event), the deferred
-- flush that re-reads the captured catalog rows into the live state and the working changes, the
-- capture switch, rescan and auto-commit.
-- Re-runnable: applied again by the loader whenever this file changes.

------------------------------------------------------------------------------------------------
-- Live state maintenance (capture's memory of the live schema)
------------------------------------------------------------------------------------------------

-- Re-reads the given anchors from the catalogs, compares with live_state and stores the new
-- definitions (blobs, set-based). Returns one row per object whose definition or anchor changed:
-- key, change, old and new blob, anchor.
CREATE OR REPLACE FUNCTION pggit.refresh_anchors(p_anchors jsonb)
RETURNS TABLE (object_key text, kind text, schema_name text, object_name text, parent_name text,
               change text, old_blob text, new_blob text, anchor_classid oid, anchor_objid oid)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SET jit = off
SET work_mem = '64MB'  -- the definitions (with meta) of a large load sorted in memory, not in temp files
AS $$
#variable_conflict use_column
DECLARE
    v_many boolean := jsonb_array_length(p_anchors) >= 100;
    v_wanted jsonb := '[]';
BEGIN
    IF v_many THEN
        -- many anchors (a first status after a large load, a rescan): resolved set-based (the
        -- relations, indexes and sequences by joins; other catalog rows one by one through
        -- anchor_of), then their objects read together (live_objects_of), instead of thousands of
        -- per-anchor reads (a few ms each)
        WITH req AS MATERIALIZED (
            SELECT DISTINCT (a->>0)::oid AS classid, (a->>1)::oid AS objid
              FROM jsonb_array_elements(p_anchors) a
        ), rel AS MATERIALIZED (
            -- every relation asked for, looked up once; its kind says how it is resolved below. As
            -- _anchor_of_class: a table, view or materialized view stands for itself, an index for
            -- its table, a sequence for itself or the table of its identity column
            SELECT c.oid, c.relkind, c.relnamespace,
                   CASE WHEN c.relkind IN ('i', 'I') THEN i.indrelid
                        WHEN c.relkind = 'S' THEN coalesce(ident.refobjid, c.oid)
                        ELSE c.oid END AS target
              FROM req r
              JOIN pg_class c ON c.oid = r.objid
              -- (the index and sequence tests inside the lateral subqueries, kept from being pulled
              -- up by LIMIT: in a join condition they were applied after the probe, so every
              -- relation was looked up in pg_index and its dependencies read, not only the indexes'
              -- and the sequences')
              LEFT JOIN LATERAL (
                  SELECT x.indrelid FROM pg_index x
                   WHERE c.relkind IN ('i', 'I') AND x.indexrelid = c.oid
                   LIMIT 1) i ON true
              LEFT JOIN LATERAL (
                  SELECT d.refobjid FROM pg_depend d
                   WHERE c.relkind = 'S'
                     AND d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i'
                     AND d.refclassid = 'pg_class'::regclass
                   LIMIT 1) ident ON true
             WHERE r.classid = 'pg_class'::regclass
        ), resolved AS MATERIALIZED (
            -- (relkind: the anchor's, when known here, so that only sequences are looked up as
            -- owned sequences below)
            SELECT 'pg_class'::regclass::oid AS anchor_classid, a.oid AS anchor_objid, a.relkind
              FROM (-- a relation that is its own anchor: its row as read above (not looked up
                    -- again: 20,000 probes of pg_class at 10,000 tables)
                    SELECT rel.oid, rel.relkind, rel.relnamespace FROM rel
                     WHERE rel.target = rel.oid AND rel.relkind IN ('r', 'p', 'v', 'm', 'S')
                    UNION ALL
                    -- an index's table, an identity sequence's table
                    SELECT a.oid, a.relkind, a.relnamespace
                      FROM (SELECT DISTINCT target FROM rel
                             WHERE relkind IN ('S', 'i', 'I') AND target <> oid) rel
                      JOIN pg_class a ON a.oid = rel.target
                                     AND a.relkind IN ('r', 'p', 'v', 'm', 'S')) a
             -- (the tracked schemas listed once: as a semi-join, each relation probed
             -- pg_namespace and matched the schema's name against _ns' patterns)
             WHERE a.relnamespace = ANY (ARRAY(SELECT n.oid FROM pggit._ns n))
               AND NOT EXISTS (SELECT 1 FROM pg_depend e
                                WHERE e.classid = 'pg_class'::regclass AND e.objid = a.oid
                                  AND e.deptype = 'e')
            UNION
            -- the other catalog rows, and relations of other kinds, one by one (the relations'
            -- kinds from rel: not looked up again)
            SELECT x.anchor_classid, x.anchor_objid, NULL::"char"
              FROM (SELECT r.classid, r.objid FROM req r WHERE r.classid <> 'pg_class'::regclass
                    UNION ALL
                    SELECT 'pg_class'::regclass, rel.oid FROM rel
                     WHERE rel.relkind NOT IN ('r', 'p', 'v', 'm', 'S', 'i', 'I')) r,
                   LATERAL pggit.anchor_of(r.classid, r.objid) x
             WHERE x.anchor_classid IS NOT NULL
        ), wanted AS (
            SELECT anchor_classid, anchor_objid FROM resolved
            UNION
            -- a sequence owned by a column: its table's definition names it (as anchor_objects)
            SELECT 'pg_class'::regclass::oid, t.oid
              FROM resolved r
              JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = r.anchor_objid
                              AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a'
                              AND d.refobjsubid > 0
              JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
              JOIN pg_class t ON t.oid = d.refobjid
             WHERE r.anchor_classid = 'pg_class'::regclass AND (r.relkind = 'S' OR r.relkind IS NULL)
               AND t.relnamespace = ANY (ARRAY(SELECT n.oid FROM pggit._ns n))
               AND NOT EXISTS (SELECT 1 FROM pg_depend e
                                WHERE e.classid = 'pg_class'::regclass AND e.objid = t.oid
                                  AND e.deptype = 'e')
        )
        -- (pairs of oids as a two-dimensional array: the same JSON as a jsonb_build_array per
        -- anchor, without building and reading back a jsonb for each)
        SELECT coalesce(to_jsonb(array_agg(ARRAY[w.anchor_classid, w.anchor_objid])), '[]')
          INTO v_wanted
          FROM wanted w;
    END IF;
    -- the objects read, each once, and each definition hashed once, for the blobs and for the
    -- comparison with live_state; the new definitions stored in the same statement. (Not an array
    -- of the objects handed to pggit.blobs_put: with their definitions and metas, ~45 MB at 10,000
    -- tables, the array, its expanded copy in each function, the unnest's tuplestores and sorts
    -- made about ten copies of it, each new memory faulted in by the backend; here the read's sort,
    -- this CTE and the blobs' sort are the only ones.)
    RETURN QUERY
    WITH req AS (
        SELECT DISTINCT (a->>0)::oid AS classid, (a->>1)::oid AS objid
          FROM jsonb_array_elements(p_anchors) a
    ), fresh AS MATERIALIZED (
        SELECT DISTINCT ON (o.object_key) o.*, pggit.sha256_hex(o.definition) AS blob
          FROM (SELECT l.* FROM pggit.live_objects_of(v_wanted) l WHERE v_many
                UNION ALL
                SELECT x.* FROM req, LATERAL pggit.anchor_objects(req.classid, req.objid) x
                 WHERE NOT v_many) o
    ), stored AS (
        -- as pggit.blobs_put: the definitions not stored yet, each once (hashes sorted bytewise:
        -- hex digits, in the same order as under the database's collation, without calling its
        -- comparison function per pair)
        INSERT INTO pggit.blobs (hash, kind, object_key, schema_name, object_name, parent_name,
                                 definition, meta)
        SELECT DISTINCT ON (f.blob COLLATE "C") f.blob, f.kind, f.object_key, f.schema_name,
               f.object_name, f.parent_name, f.definition, coalesce(f.meta, '{}')
          FROM fresh f
         WHERE NOT EXISTS (SELECT 1 FROM pggit.blobs b WHERE b.hash = f.blob)
         ORDER BY f.blob COLLATE "C", f.object_key
        ON CONFLICT (hash) DO NOTHING
    ), covered AS (
        SELECT classid, objid FROM req
        UNION SELECT anchor_classid, anchor_objid FROM fresh
    ), old AS (
        SELECT l.* FROM pggit.live_state l
          JOIN covered c ON c.classid = l.anchor_classid AND c.objid = l.anchor_objid
    )
    SELECT coalesce(f.object_key, o.object_key), coalesce(f.kind, o.kind),
           coalesce(f.schema_name, o.schema_name), coalesce(f.object_name, o.object_name),
           coalesce(f.parent_name, o.parent_name),
           CASE WHEN o.object_key IS NULL THEN 'ADDED' WHEN f.object_key IS NULL THEN 'REMOVED'
                ELSE 'MODIFIED' END,
           o.blob_hash, f.blob, f.anchor_classid, f.anchor_objid
      FROM fresh f
      FULL JOIN old o ON o.object_key = f.object_key
     WHERE o.blob_hash IS DISTINCT FROM f.blob
        OR o.anchor_objid IS DISTINCT FROM f.anchor_objid;
END;
$$;

-- Re-reads anchors and records what changed, in set-based statements (no call per change).
-- p_touch holds, per anchor, the last statement that touched it ([classid, objid, ddl id,
-- record]); each change is recorded on the statement that last touched its anchor (an object
-- found through another anchor — a table whose column owns a touched sequence — on the last
-- statement of the batch), as a flush statement by statement would:
-- - live_state takes the new definitions (rows of removed objects deleted);
-- - when record is true (not the engine's own DDL), the working set: base_blob is HEAD's
--   definition, the live one before the first change since HEAD (live_state = HEAD + working); a
--   change back to it removes the row (the object is clean again);
-- - each statement of p_touch gets its changes in ddl_log.objects, and is marked flushed.
-- Used by the deferred flush (pggit.capture_flush_run) and by rescan. Returns the number of
-- changes.
CREATE OR REPLACE FUNCTION pggit.flush_anchors(p_touch jsonb)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SET jit = off
SET work_mem = '64MB'  -- the changes of a large load are sorted and hashed in memory
AS $$
DECLARE
    v_changes integer;
BEGIN
    WITH touch AS MATERIALIZED (
        SELECT (t->>0)::oid AS classid, (t->>1)::oid AS objid, (t->>2)::bigint AS id,
               (t->>3)::boolean AS record
          FROM jsonb_array_elements(p_touch) t
    ), ch AS MATERIALIZED (
        SELECT ch.*, coalesce(t.id, last.id) AS ddl_id, coalesce(t.record, last.record) AS record
          FROM pggit.refresh_anchors(
                   (SELECT to_jsonb(array_agg(ARRAY[classid, objid])) FROM touch)) ch
          LEFT JOIN pggit.live_state l ON l.object_key = ch.object_key
          LEFT JOIN touch t ON t.classid = coalesce(ch.anchor_classid, l.anchor_classid)
                           AND t.objid = coalesce(ch.anchor_objid, l.anchor_objid)
          CROSS JOIN (SELECT id, record FROM touch ORDER BY id DESC LIMIT 1) last
    ), live_removed AS (
        DELETE FROM pggit.live_state s USING ch
         WHERE ch.new_blob IS NULL AND s.object_key = ch.object_key
    ), live_written AS (
        INSERT INTO pggit.live_state (object_key, kind, schema_name, object_name, parent_name,
                                      blob_hash, anchor_classid, anchor_objid)
        SELECT object_key, kind, schema_name, object_name, parent_name, new_blob,
               anchor_classid, anchor_objid
          FROM ch WHERE new_blob IS NOT NULL
        ON CONFLICT (object_key) DO UPDATE
           SET blob_hash = EXCLUDED.blob_hash, kind = EXCLUDED.kind,
               schema_name = EXCLUDED.schema_name, object_name = EXCLUDED.object_name,
               parent_name = EXCLUDED.parent_name, anchor_classid = EXCLUDED.anchor_classid,
               anchor_objid = EXCLUDED.anchor_objid
    ), rec AS MATERIALIZED (
        SELECT ch.*, CASE WHEN w.object_key IS NULL THEN ch.old_blob ELSE w.base_blob END AS base
          FROM ch LEFT JOIN pggit.working w ON w.object_key = ch.object_key
         WHERE ch.record AND ch.old_blob IS DISTINCT FROM ch.new_blob
    ), clean_again AS (
        DELETE FROM pggit.working w USING rec
         WHERE rec.base IS NOT DISTINCT FROM rec.new_blob AND w.object_key = rec.object_key
    ), noted AS (
        INSERT INTO pggit.working (object_key, kind, schema_name, object_name, parent_name,
                                   base_blob, new_blob, ddl_id, captured_at)
        SELECT object_key, kind, schema_name, object_name, parent_name, base, new_blob, ddl_id,
               clock_timestamp()
          FROM rec WHERE base IS DISTINCT FROM new_blob
         ORDER BY ddl_id, object_key
        ON CONFLICT (object_key) DO UPDATE
           SET new_blob = EXCLUDED.new_blob, ddl_id = EXCLUDED.ddl_id,
               captured_at = EXCLUDED.captured_at, kind = EXCLUDED.kind,
               schema_name = EXCLUDED.schema_name, object_name = EXCLUDED.object_name,
               parent_name = EXCLUDED.parent_name
    ), logged AS (
        -- (flushed_at too: one new version of each row, not two)
        UPDATE pggit.ddl_log l SET objects = coalesce(c.objects, '[]'),
                                   flushed_at = coalesce(l.flushed_at, clock_timestamp())
          FROM (SELECT DISTINCT id FROM touch) t
          -- (each statement's objects in key order: aggregated over rows sorted once, by statement
          -- and key, not sorted again per statement by the aggregate: 20,000 small sorts cost
          -- ~0.5 s at 10,000 tables. Each object from two text arrays, every value a string or
          -- null: the same object as jsonb_build_object's, which looks up the type and calls the
          -- output function of each of its twelve arguments, for every change)
          LEFT JOIN (SELECT s.ddl_id, to_jsonb(array_agg(jsonb_object(
                                '{key,kind,schema,name,change,blob}'::text[],
                                ARRAY[s.object_key, s.kind, s.schema_name, s.object_name, s.change,
                                      s.new_blob]))) AS objects
                       FROM (SELECT * FROM ch WHERE old_blob IS DISTINCT FROM new_blob
                              ORDER BY ddl_id, object_key) s
                      GROUP BY s.ddl_id) c ON c.ddl_id = t.id
         WHERE l.id = t.id
    )
    SELECT count(*) INTO v_changes FROM ch WHERE old_blob IS DISTINCT FROM new_blob;
    RETURN v_changes;
END;
$$;

-- The tables to re-read beside partitioned tables that a statement altered or indexed (p_parents:
-- their oids; p_altered: those of them an ALTER TABLE named), which PostgreSQL names no more than
-- the parent (the flush re-reads its direct partitions, which depend on it): as (parent, table),
-- - after ALTER TABLE, the tables that the live state holds as its partitions (partition_of
--   names it): a partition detached (ALTER TABLE ... DETACH PARTITION) no longer depends on its
--   parent, nothing else finds it;
-- - its partitions at any depth with a versioned index that is now a partition of an index: an
--   index created on the parent (CREATE INDEX, or one made for an attached partition) adopts a
--   matching index of a partition instead of creating one, and that index stops being versioned;
-- - after ALTER TABLE, its partitions at any depth: the statement recurses to them, and a
--   partition's definition holds its NOT NULL and defaults that its parent does not give it (a
--   parent's SET NOT NULL makes a sub-partition's own NOT NULL its parent's; a parent's SET
--   DEFAULT changes the parent's default its children's own defaults name, or takes them away).
-- A table with inheritance children (INHERITS) in p_altered: its descendants at any depth, for
-- the same reason (pg_partition_tree gives none of them).
-- Set-based: the live state's tables are read once for all the parents of a flush.
CREATE OR REPLACE FUNCTION pggit.partition_touches(p_parents oid[], p_altered oid[])
RETURNS TABLE (parent oid, objid oid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
BEGIN
    IF coalesce(cardinality(p_parents), 0) = 0 THEN
        RETURN;  -- (most flushes: no statement on a partitioned table)
    END IF;
    RETURN QUERY
    -- (a detached partition: only after ALTER TABLE, the one statement that detaches; this reads
    -- every table's stored definition, ~10 us a table)
    SELECT par.anchor_objid, l.anchor_objid
      FROM pggit.live_state par
      JOIN pggit.live_state l ON l.kind = 'table' AND l.anchor_classid = 'pg_class'::regclass
      JOIN pggit.blobs b ON b.hash = l.blob_hash AND b.meta->>'partition_of' = par.object_key
     WHERE par.anchor_classid = 'pg_class'::regclass AND par.anchor_objid = ANY (p_altered)
       AND par.kind = 'table'
       AND EXISTS (SELECT 1 FROM pg_class pc WHERE pc.oid = par.anchor_objid AND pc.relkind = 'p')
    UNION
    SELECT d.root, d.relid
      FROM (WITH RECURSIVE d(root, relid) AS (
                SELECT i.inhparent, i.inhrelid
                  FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent AND pc.relkind = 'r'
                 WHERE i.inhparent = ANY (p_altered)
                UNION
                SELECT d.root, i.inhrelid FROM d JOIN pg_inherits i ON i.inhparent = d.relid)
            SELECT * FROM d) d
    UNION
    SELECT p.parent, t.relid
      FROM unnest(p_parents) p(parent)
     CROSS JOIN LATERAL pg_partition_tree(p.parent) t
     WHERE t.level > 0
       AND (p.parent = ANY (p_altered)
            OR EXISTS (SELECT 1 FROM pggit.live_state li
                         JOIN pg_class tc ON tc.oid = t.relid
                         JOIN pg_class ic ON ic.relname = li.object_name AND ic.relnamespace = tc.relnamespace
                        WHERE li.anchor_classid = 'pg_class'::regclass AND li.anchor_objid = t.relid
                          AND li.kind = 'index' AND ic.relispartition));
END;
$$;

------------------------------------------------------------------------------------------------
-- Capture
------------------------------------------------------------------------------------------------

-- 'on' (record working changes), 'engine' (the engine applies DDL: keep live_state only) or 'off'.
CREATE OR REPLACE FUNCTION pggit.capture_state()
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_tx text := current_setting('pggit.capture', true);
BEGIN
    IF v_tx = 'engine' THEN
        RETURN 'engine';
    END IF;
    IF v_tx = 'off' OR coalesce((pggit.config_get('capture_enabled'))::boolean, true) = false THEN
        RETURN 'off';
    END IF;
    RETURN 'on';
END;
$$;

CREATE OR REPLACE FUNCTION pggit.set_capture(p_enabled boolean, p_scope text DEFAULT 'transaction')
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_was boolean := coalesce((pggit.config_get('capture_enabled'))::boolean, true);
    v_found integer;
BEGIN
    IF p_enabled IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'enabled must be true or false');
    END IF;
    IF p_scope = 'transaction' THEN
        PERFORM set_config('pggit.capture', CASE WHEN p_enabled THEN 'on' ELSE 'off' END, true);
        RETURN format('capture %s for this transaction', CASE WHEN p_enabled THEN 'on' ELSE 'off' END);
    ELSIF p_scope = 'global' THEN
        PERFORM pggit.config_set('capture_enabled', to_jsonb(p_enabled));
        IF p_enabled AND NOT v_was THEN
            v_found := pggit.rescan('(changed while capture was off)');
            RETURN format('capture on globally; %s change(s) made while it was off were recorded', v_found);
        END IF;
        RETURN format('capture %s globally', CASE WHEN p_enabled THEN 'on' ELSE 'off' END);
    END IF;
    PERFORM pggit.raise_error('INVALID_ARGUMENT', format('scope %L is not transaction or global', p_scope));
    RETURN NULL;
END;
$$;

-- Compares the whole live schema with live_state and records every difference as a working change
-- (used after capture was off, and by operators to heal after a recorded capture failure).
-- Recorded as an engine operation (object_count: the changes it found); it opens its span, so its
-- capture flush is its child.
CREATE OR REPLACE FUNCTION pggit.rescan(p_reason text DEFAULT '(rescan)')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_anchors jsonb;
    v_ddl_id bigint;
    v_changes integer := 0;
    v_branch text;
BEGIN
    -- one rescan at a time: a second waits here, before it reads anything, and its statements
    -- below then see what the first one committed (read committed: a snapshot per statement).
    -- Without the wait it compared the catalog with the live state of before the first one's
    -- commit, and recorded the same change a second time.
    PERFORM pg_advisory_xact_lock(hashtext('pggit.rescan')::bigint);
    PERFORM pggit.trace_begin('rescan', v_started);
    SELECT jsonb_agg(DISTINCT jsonb_build_array(a.classid, a.objid)) INTO v_anchors
      FROM (SELECT anchor_classid AS classid, anchor_objid AS objid FROM pggit.live_objects()
            UNION SELECT anchor_classid, anchor_objid FROM pggit.live_state) a;
    PERFORM pggit.capture_flush();
    v_branch := (pggit.head_branch()).name;
    INSERT INTO pggit.ddl_log (statement, command_tag, application_name, client_addr, actor, branch,
                               flushed_at)
    VALUES (p_reason, 'RESCAN', current_setting('application_name', true), inet_client_addr(),
            pggit.current_actor(), v_branch, clock_timestamp())
    RETURNING id INTO v_ddl_id;
    -- every anchor, all recorded on the rescan's own audit row (which gets their list)
    IF v_anchors IS NOT NULL THEN
        v_changes := pggit.flush_anchors((SELECT jsonb_agg(a || jsonb_build_array(v_ddl_id, true))
                                            FROM jsonb_array_elements(v_anchors) a));
    END IF;
    IF v_changes = 0 THEN
        DELETE FROM pggit.ddl_log WHERE id = v_ddl_id;
    END IF;
    PERFORM pggit.record_operation('rescan', v_started, v_changes, 0, v_branch,
        true, NULL, jsonb_build_object('reason', p_reason));
    RETURN v_changes;
END;
$$;

-- A schema's name as capture keeps it among the excluded ones (pggit.capture_excluded_marks): its
-- backslashes doubled and its control characters \x01 written as a backslash and a 1, then a
-- \x01. A plain immutable expression (no SET clause, qualified names), inlined where it is used:
-- on_ddl_command_end tests every command's schema with it.
CREATE OR REPLACE FUNCTION pggit.capture_schema_mark(p_name text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT pg_catalog.replace(pg_catalog.replace(p_name, E'\\', E'\\\\'), E'\x01', E'\\1')
           OPERATOR(pg_catalog.||) E'\x01'
$$;

-- The schemas excluded by configuration (excluded_schemas) as capture keeps them for the rest of
-- the transaction (pggit.config_cache, after its three letters): a control character \x01, then
-- each name's mark (pggit.capture_schema_mark, which ends with one). No mark holds a \x01 but its
-- last character, and two names have the same mark only if they are equal, so
-- strpos(marks, E'\x01' || pggit.capture_schema_mark(name)) finds a name exactly, and cannot fail
-- as a parse of the kept text could. The rules of pggit._excluded_schemas: an array's elements as
-- text, not null.
CREATE OR REPLACE FUNCTION pggit.capture_excluded_marks(p_excluded jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT E'\x01' || coalesce(string_agg(pggit.capture_schema_mark(e.name), ''), '')
      FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(p_excluded) = 'array'
                                          THEN p_excluded ELSE '[]' END) e(name)
     WHERE e.name IS NOT NULL
$$;

-- The catalog rows the sql_drop trigger passed on (pggit.pending_anchors: a JSON array of
-- [classid, objid] pairs), parsed and checked as the capture flush will read them: any role can
-- set the setting, and a list that is not JSON, or whose pairs are not oids, would otherwise be
-- stored on the audit row and fail every flush after it. Raises on anything else (the caller
-- records it as a capture failure of that statement).
CREATE OR REPLACE FUNCTION pggit.capture_checked_anchors(p_anchors text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_anchors jsonb := p_anchors::jsonb;
BEGIN
    IF jsonb_typeof(v_anchors) IS DISTINCT FROM 'array'
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_anchors) a
                   WHERE CASE WHEN jsonb_typeof(a) = 'array'
                              THEN (a->>0)::oid IS NULL OR (a->>1)::oid IS NULL
                              ELSE true END) THEN
        RAISE EXCEPTION 'pggit.pending_anchors is not a list of [classid, objid] pairs: %',
            left(p_anchors, 200);
    END IF;
    RETURN v_anchors;
END;
$$;

-- Stores a client message's text for its audit rows (pggit.ddl_queries, once per message) and
-- keeps its id for the message's next statements (pggit.last_query_id, with the message's start in
-- pggit.last_query_at: on_ddl_command_end recognises the message by it). Returns the id.
CREATE OR REPLACE FUNCTION pggit.capture_store_query(p_query text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO pggit.ddl_queries (md5, query) VALUES (md5(p_query), p_query) RETURNING id INTO v_id;
    PERFORM set_config('pggit.last_query_id', v_id::text, true);
    PERFORM set_config('pggit.last_query_at', statement_timestamp()::text, true);
    RETURN v_id;
END;
$$;

-- Anchors touched by this statement and not seen by ddl_command_end (drops), passed from the
-- sql_drop trigger through a transaction-local setting.
CREATE OR REPLACE FUNCTION pggit.pending_anchors_push(p_anchors jsonb)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    SELECT set_config('pggit.pending_anchors',
        (coalesce(nullif(current_setting('pggit.pending_anchors', true), ''), '[]')::jsonb || p_anchors)::text,
        true)
$$;

-- Capture of DROP (the sql_drop event trigger). A dropped trigger, policy or rule has no
-- schema_name of its own (its address_names start with its table's schema). Nothing is passed on
-- when no dropped object is tracked: otherwise every DROP CONSTRAINT or DROP TRIGGER on pggit's
-- own tables would be audited and announced with no objects.
CREATE OR REPLACE FUNCTION pggit.on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SECURITY DEFINER
AS $$
DECLARE
    v_tx text := current_setting('pggit.capture', true);
    v_cfg_cached text := nullif(current_setting('pggit.config_cache', true), '');
    v_cfg jsonb;
    v_excluded text;
    v_anchors jsonb;
    v_dropped jsonb;
    v_set text;
BEGIN
    -- capture off (pggit.capture_state(), with the configuration on_ddl_command_end reads once per
    -- transaction: a lookup of pggit.config and a call per drop were half this function's cost)
    IF v_tx = 'off' THEN
        RETURN;
    END IF;
    IF v_cfg_cached IS NULL THEN
        SELECT jsonb_object_agg(key, value) INTO v_cfg FROM pggit.config
         WHERE key IN ('capture_enabled', 'excluded_schemas');
        IF v_tx IS DISTINCT FROM 'engine' AND v_cfg->'capture_enabled' = 'false'::jsonb THEN
            RETURN;
        END IF;
        v_excluded := pggit.capture_excluded_marks(v_cfg->'excluded_schemas');
    ELSE
        -- (the form pggit.on_ddl_command_end keeps)
        IF v_tx IS DISTINCT FROM 'engine' AND starts_with(v_cfg_cached, 'n') THEN
            RETURN;
        END IF;
        v_excluded := substr(v_cfg_cached, 4);
    END IF;
    -- A dropped anchor (table, view, function, type...) is found by its oid; a dropped sub-object
    -- (index, constraint, trigger, policy) by its name, and then its anchor is re-read.
    SELECT jsonb_agg(DISTINCT jsonb_build_array(l.anchor_classid, l.anchor_objid)) INTO v_anchors
      FROM pg_event_trigger_dropped_objects() d
      JOIN pggit.live_state l
        ON (l.anchor_classid = d.classid AND l.anchor_objid = d.objid)
        OR (d.object_type = 'index' AND l.kind = 'index'
            AND l.schema_name = d.address_names[1] AND l.object_name = d.address_names[2])
        OR (d.object_type IN ('table constraint', 'trigger', 'policy', 'rule')
            AND l.kind = CASE d.object_type WHEN 'table constraint' THEN 'constraint' ELSE d.object_type END
            AND l.schema_name = d.address_names[1] AND l.parent_name = d.address_names[2]
            AND l.object_name = d.address_names[3]);
    IF v_anchors IS NOT NULL THEN
        PERFORM pggit.pending_anchors_push(v_anchors);
    END IF;
    -- a drop in the engine's schema: the next audit row is written inside on_ddl_command_end's
    -- block again (see there)
    IF current_setting('pggit.capture_direct', true) <> ''
       AND EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() d
                    WHERE d.schema_name = 'pggit' OR d.address_names[1] = 'pggit') THEN
        v_set := set_config('pggit.capture_direct', '', true);
    END IF;
    SELECT jsonb_agg(jsonb_build_object('type', d.object_type, 'identity', d.object_identity,
                                        'change', 'dropped'))
      INTO v_dropped
      FROM pg_event_trigger_dropped_objects() d,
           LATERAL (SELECT coalesce(d.schema_name,
                                    CASE WHEN d.object_type IN ('trigger', 'policy', 'rule')
                                         THEN d.address_names[1] END) AS name) sch
     WHERE d.original
       AND (sch.name IS NULL  -- pggit.is_tracked_schema's rules, inline
            OR NOT (sch.name ~ '^(pggit|pg_catalog$|information_schema$|pg_toast$|pg_(toast_)?temp(_|$))'
                    OR strpos(v_excluded, E'\x01' || pggit.capture_schema_mark(sch.name)) > 0));
    IF v_dropped IS NOT NULL THEN
        v_set := set_config('pggit.pending_dropped',
            (coalesce(nullif(current_setting('pggit.pending_dropped', true), ''), '[]')::jsonb
             || v_dropped)::text,
            true);
    END IF;
EXCEPTION WHEN OTHERS THEN
    PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, 'sql_drop');
END;
$$;

-- Records a capture failure; re-raises in strict mode. A failure raised here already (strict mode:
-- pggit.capture_announce's, caught again by the statement's own block) is raised again as it is:
-- its message carries the prefix once. Any capture failure ends the transaction's direct writes
-- of audit rows (pggit.capture_direct, on_ddl_command_end): the next row is written inside the
-- capture block again.
CREATE OR REPLACE FUNCTION pggit.capture_failed(p_sqlstate text, p_message text, p_tag text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM set_config('pggit.capture_direct', '', true);
    IF pggit.config_get('capture_mode') = '"strict"' THEN
        RAISE EXCEPTION USING
            MESSAGE = CASE WHEN starts_with(p_message, '[PGGIT-CAPTURE_FAILED] ') THEN p_message
                           ELSE format('[PGGIT-CAPTURE_FAILED] capture failed (strict mode): %s', p_message) END,
            ERRCODE = p_sqlstate;
    END IF;
    INSERT INTO pggit.capture_errors (sqlstate, message, command_tag, statement, role_name, actor)
    VALUES (p_sqlstate, p_message, p_tag, left(current_query(), 10000), pggit.invoking_role(),
            pggit.current_actor());
    RAISE WARNING 'pgGit: capture of this % failed and was recorded (%); run SELECT pggit.rescan() to resync',
        coalesce(p_tag, 'statement'), p_message;
END;
$$;

-- One catalog lookup for an object the event trigger named: {classid, objid, schema} (text).
-- The first two are the catalog row whose definition holds the object (its anchor): a
-- constraint, trigger, policy, column default or rewrite rule belongs to its table, a domain
-- constraint to its domain; any other object is its own. The third is the schema of an object
-- the event trigger names without one (schema_name NULL): a schema's own name; a trigger's,
-- policy's, rewrite rule's or column default's is that of its table, read from the same lookup;
-- NULL otherwise. Called by pggit.on_ddl_command_end only for the commands that need one (one
-- index probe, a second for a table's schema); an index, which stands for its table, it looks up
-- itself. Names are qualified and there is no SET clause (it cost ~4 us a call): it runs under
-- its caller's search_path, and depends on none.
CREATE OR REPLACE FUNCTION pggit.capture_lookup(p_classid oid, p_objid oid)
RETURNS text[]
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_out text[];
BEGIN
    -- (one query per case, the table's schema joined in; the RETURN a plain expression: an
    -- expression holding a subquery runs the executor on every call)
    CASE p_classid
        WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN
            SELECT CASE WHEN con.contypid <> 0
                        THEN ARRAY['pg_catalog.pg_type'::pg_catalog.regclass::oid::text,
                                   con.contypid::text, NULL]
                        ELSE ARRAY['pg_catalog.pg_class'::pg_catalog.regclass::oid::text,
                                   con.conrelid::text, NULL] END
              INTO v_out
              FROM pg_catalog.pg_constraint con WHERE con.oid = p_objid;
        WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN
            SELECT ARRAY['pg_catalog.pg_class'::pg_catalog.regclass::oid::text, t.tgrelid::text,
                         n.nspname::text] INTO v_out
              FROM pg_catalog.pg_trigger t
              LEFT JOIN pg_catalog.pg_class r ON r.oid = t.tgrelid
              LEFT JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
             WHERE t.oid = p_objid;
        WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN
            SELECT ARRAY['pg_catalog.pg_class'::pg_catalog.regclass::oid::text, p.polrelid::text,
                         n.nspname::text] INTO v_out
              FROM pg_catalog.pg_policy p
              LEFT JOIN pg_catalog.pg_class r ON r.oid = p.polrelid
              LEFT JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
             WHERE p.oid = p_objid;
        WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN
            SELECT ARRAY['pg_catalog.pg_class'::pg_catalog.regclass::oid::text, a.adrelid::text,
                         n.nspname::text] INTO v_out
              FROM pg_catalog.pg_attrdef a
              LEFT JOIN pg_catalog.pg_class r ON r.oid = a.adrelid
              LEFT JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
             WHERE a.oid = p_objid;
        WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN
            SELECT ARRAY['pg_catalog.pg_class'::pg_catalog.regclass::oid::text, w.ev_class::text,
                         n.nspname::text] INTO v_out
              FROM pg_catalog.pg_rewrite w
              LEFT JOIN pg_catalog.pg_class r ON r.oid = w.ev_class
              LEFT JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
             WHERE w.oid = p_objid;
        WHEN 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN
            SELECT ARRAY[p_classid::text, p_objid::text, n.nspname::text] INTO v_out
              FROM pg_catalog.pg_namespace n WHERE n.oid = p_objid;
        ELSE
            NULL;
    END CASE;
    RETURN coalesce(v_out, ARRAY[p_classid::text, p_objid::text, NULL]);
END;
$$;

-- Capture, synchronous part (the ddl_command_end event trigger): one audit row per DDL command
-- touching tracked schemas (statement, the objects it named, the catalog rows to re-read, role,
-- application_name, client address, transaction, actor, branch), written by one INSERT in the
-- statement's transaction; its ddl.captured event is written by pggit.capture_announce at the
-- first read that needs it or at commit (capture_sync, auto_commit and strict mode: at once). The
-- engine's own DDL is audited, not announced.
-- Kept cheap (docs/benchmarks.md, "Capture at statement time, part by part" and later passes):
-- one loop reads pg_event_trigger_ddl_commands() once (refused kinds, the identities named, the
-- catalog rows to re-read resolved to the row that owns them by at most one index lookup each)
-- and builds JSON text, parsed once by the INSERT; the configuration and HEAD's branch are read
-- once per transaction; the statement text is recognised again by its message
-- (statement_timestamp()) instead of a hash of the whole script.
-- GRANT, REVOKE and ALTER DEFAULT PRIVILEGES name no catalog row (only an object type), DROP OWNED
-- only the objects it drops (through the sql_drop trigger): the rows they may have changed come
-- from pggit.privileges_capture_anchors() (privileges.sql).
CREATE OR REPLACE FUNCTION pggit.on_ddl_command_end()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SECURITY DEFINER
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_tx text := current_setting('pggit.capture', true);
    v_pending text := nullif(current_setting('pggit.pending_anchors', true), '');
    v_pending_dropped text := nullif(nullif(current_setting('pggit.pending_dropped', true), ''), '[]');
    v_tag text := tg_tag;
    v_grant boolean := tg_tag IN ('GRANT', 'REVOKE', 'ALTER DEFAULT PRIVILEGES', 'DROP OWNED');
    v_state text;
    v_cfg jsonb;
    v_branch text;
    -- (one row of pg_event_trigger_ddl_commands() in scalars: a record variable is rebuilt as an
    -- expanded record for every row)
    v_classid oid;
    v_objid oid;
    v_type text;
    v_identity text;
    v_cmd_tag text;
    v_cmd_schema text;
    v_look text[];
    v_schema text;
    v_targets text;
    v_typed text;
    v_raw_anchors text;
    v_anchor text;
    v_schema_tracked boolean;
    v_arm boolean := false;
    v_armed_now boolean := false;
    v_direct boolean := false;
    v_direct_mark text;
    v_engine_touched boolean := false;
    v_targets_j jsonb;
    v_anchors_j jsonb;
    v_app text;
    v_client inet;
    v_actor text;
    v_operation text;
    v_ms double precision;
    v_statement text;
    v_query text;
    v_query_id bigint;
    v_cached text;
    v_slow boolean;
    v_ddl_id bigint;
    v_refused text;
    v_cfg_cached text := nullif(current_setting('pggit.config_cache', true), '');
    v_role text;
    v_mark text;
    v_events_noted boolean := strpos(current_setting('pggit.changes', true), ',ddl.captured,') > 0;
BEGIN
    -- what the sql_drop trigger passed on is consumed by this statement whatever happens below
    -- (assignments, not PERFORM: a plain expression, no query)
    IF v_pending IS NOT NULL THEN
        v_cached := set_config('pggit.pending_anchors', '', true);
    END IF;
    IF current_setting('pggit.pending_dropped', true) <> '' THEN
        v_cached := set_config('pggit.pending_dropped', '', true);
    END IF;
    IF v_tx = 'off' THEN
        IF current_setting('pggit.capture_direct', true) <> '' THEN
            -- (what the transaction does with capture off is not seen: the next audit row is
            -- written inside the block again)
            v_cached := set_config('pggit.capture_direct', '', true);
        END IF;
        RETURN;
    END IF;
    -- the configuration, read once per transaction (pggit.config_set clears the cache) and kept
    -- as three letters and the excluded schemas: capture_enabled ('n' when false, else 'y'),
    -- auto_commit or capture_sync ('a' auto_commit, 's' capture_sync only, '-'), capture_mode
    -- ('x' strict, '-'), then excluded_schemas as pggit.capture_excluded_marks writes it. (The
    -- whole configuration kept as jsonb was parsed again by every statement, and looked up key by
    -- key: ~20 k instructions a statement.) Read in a block of its own (a query of a table).
    IF v_cfg_cached IS NULL THEN
        BEGIN
            SELECT jsonb_object_agg(key, value) INTO v_cfg FROM pggit.config
             WHERE key IN ('capture_enabled', 'excluded_schemas', 'auto_commit', 'capture_sync',
                           'capture_mode');
            v_cfg_cached := CASE WHEN v_cfg->'capture_enabled' = 'false'::jsonb THEN 'n' ELSE 'y' END
                || CASE WHEN v_cfg->'auto_commit' = 'true'::jsonb THEN 'a'
                        WHEN v_cfg->'capture_sync' = 'true'::jsonb THEN 's' ELSE '-' END
                || CASE WHEN v_cfg->'capture_mode' = '"strict"'::jsonb THEN 'x' ELSE '-' END
                || pggit.capture_excluded_marks(v_cfg->'excluded_schemas');
            v_cached := set_config('pggit.config_cache', v_cfg_cached, true);
        EXCEPTION WHEN OTHERS THEN
            IF v_tx = 'engine' THEN
                RAISE;  -- the engine's own apply step must never go unrecorded
            END IF;
            PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, v_tag);
            RETURN;
        END;
    END IF;
    IF v_tx IS DISTINCT FROM 'engine' AND starts_with(v_cfg_cached, 'n') THEN
        RETURN;  -- capture switched off globally
    END IF;
    -- What the command touched, only in tracked schemas (the rules of pggit.is_tracked_schema),
    -- never members of extensions: the identities it named (JSON objects of the event), the
    -- catalog rows to re-read and the schema of an object named without one
    -- (pggit.capture_lookup, one call per command that needs either), the kinds it would create
    -- that pgGit refuses. One pass over pg_event_trigger_ddl_commands() in a loop of plain
    -- expressions building JSON text (one query with an aggregate per list, its subquery levels
    -- and filters cost ~300 k instructions a statement, most of it the executor's start-up of its
    -- nodes on every statement).
    -- This loop and everything up to the audit row's values run outside a subtransaction:
    -- catalog reads by oid, JSON text built here, and settings read without a cast or a parse
    -- that could fail (any role can set a pggit.* setting: the configuration's, the sql_drop
    -- trigger's lists and the statement text's id are parsed in a block or checked first).
    -- (A subtransaction per statement cost ~40 k instructions in a migration that creates many
    -- relations: its end scans the whole relation cache once the transaction has created more
    -- than 32.)
    FOR v_classid, v_objid, v_type, v_identity, v_cmd_tag, v_cmd_schema IN
            SELECT d.classid, d.objid, d.object_type, d.object_identity, d.command_tag,
                   d.schema_name
              FROM pg_event_trigger_ddl_commands() d
             WHERE NOT d.in_extension LOOP
        -- (each test and value written once per command: every expression a plain one,
        -- evaluated from state built once per transaction, costs a few thousand instructions)
        IF v_classid IS NULL THEN
            -- GRANT, REVOKE, ALTER DEFAULT PRIVILEGES: an object type, no catalog row
            v_typed := coalesce(v_typed || ', ', '[')
                || '{"type":' || to_json(lower(v_type))::text
                || ',"change":' || to_json(lower(split_part(v_cmd_tag, ' ', 1)))::text
                || '}';
            CONTINUE;
        END IF;
        IF v_type = 'index' THEN
            -- (an index stands for its table: one probe, here; a call of pggit.capture_lookup
            -- cost as much again as its query, and an index is the most common lookup)
            SELECT ARRAY['pg_class'::regclass::oid::text, i.indrelid::text, NULL] INTO v_look
              FROM pg_index i WHERE i.indexrelid = v_objid;
        ELSE
            v_look := CASE WHEN v_cmd_schema IS NULL
                                OR v_classid IN ('pg_constraint'::regclass, 'pg_trigger'::regclass,
                                                 'pg_policy'::regclass, 'pg_attrdef'::regclass,
                                                 'pg_rewrite'::regclass)
                           THEN pggit.capture_lookup(v_classid, v_objid) END;
        END IF;
        v_schema := coalesce(v_cmd_schema, v_look[3], 'public');
        -- (pggit.is_tracked_schema's rules, inline: the pattern only for names that start as the
        -- engine's and the system's do, the excluded names only when there are some)
        v_schema_tracked := NOT ((starts_with(v_schema, 'pg')
                                  AND v_schema ~ '^(pggit|pg_catalog$|pg_toast$|pg_(toast_)?temp(_|$))')
                                 OR v_schema = 'information_schema'
                                 OR (length(v_cfg_cached) > 4
                                     AND strpos(v_cfg_cached, E'\x01' || pggit.capture_schema_mark(v_schema)) > 0));
        IF v_schema_tracked THEN
            -- (the object type and the command's first word are PostgreSQL's own words, never
            -- quoted or escaped in JSON; the identity is)
            v_targets := CASE WHEN v_identity IS NULL THEN v_targets
                              ELSE coalesce(v_targets || ', ', '[')
                                   || '{"type":"' || v_type
                                   || '","identity":' || to_json(v_identity)::text
                                   || ',"change":"' || lower(split_part(v_cmd_tag, ' ', 1)) || '"}'
                              END;
            -- oids as JSON strings, as json_build_array writes them for the GRANT and sql_drop
            -- rows: ddl_log.anchors holds one form; each catalog row once, in the order the
            -- commands name them (a table's index, constraints and default all stand for the
            -- table)
            v_anchor := CASE WHEN v_look IS NULL
                             THEN '["' || v_classid || '", "' || v_objid || '"]'
                             ELSE '["' || v_look[1] || '", "' || v_look[2] || '"]' END;
            v_raw_anchors := CASE WHEN v_raw_anchors IS NULL THEN '[' || v_anchor
                                  WHEN strpos(v_raw_anchors, v_anchor) = 0
                                  THEN v_raw_anchors || ', ' || v_anchor
                                  ELSE v_raw_anchors END;
        ELSIF v_schema = 'pggit' THEN
            v_engine_touched := true;  -- an object of the engine's own (see below)
        END IF;
        IF v_refused IS NULL AND starts_with(v_cmd_tag, 'CREATE ')
           AND v_type IN ('foreign table', 'operator class', 'operator family',
                          'text search parser', 'text search template', 'conversion',
                          'foreign-data wrapper', 'server', 'user mapping')
           AND (v_cmd_schema IS NULL OR v_schema_tracked) THEN
            v_refused := format('%s %s', v_type, v_identity);
        END IF;
    END LOOP;
    -- kinds pgGit cannot version are refused where they would be tracked
    -- (docs/engine-catalog.md, "Refused at capture"): left alone, a checkout could not re-create
    -- what depends on them
    IF v_refused IS NOT NULL AND pggit.capture_state() = 'on' THEN
        PERFORM pggit.raise_error('UNTRACKED_KIND',
            format('%s: pgGit cannot version this kind of object, so it is refused while capture is on', v_refused),
            'create it in a schema listed in the configuration excluded_schemas, or in a transaction with '
            'capture off (SELECT pggit.set_capture(false)); docs/engine-catalog.md lists what is tracked');
    END IF;
    -- (every tracked command adds its catalog row: none, nothing tracked was named)
    IF v_raw_anchors IS NULL AND v_pending IS NULL AND v_pending_dropped IS NULL AND NOT v_grant THEN
        IF v_engine_touched THEN
            v_cached := set_config('pggit.capture_direct', '', true);
        END IF;
        RETURN;  -- nothing tracked was touched
    END IF;

    -- HEAD's branch, read once per transaction like the configuration (kept in
    -- pggit.branch_cache, a transaction-local setting that pggit.branch_cache_clear empties when
    -- HEAD moves or a branch is renamed or removed in this transaction; a checkout committed by
    -- another session applies from this session's next transaction); read in the block below when
    -- it is not kept. Read per statement (two index probes and four relation locks) it was ~45 k
    -- instructions a statement. (A join of head and branches was planned as a hash join, whose
    -- hash table was built on every statement: ~20 us.)
    v_branch := nullif(current_setting('pggit.branch_cache', true), '');
    -- the role that ran the DDL (this function runs as the engine's owner: not current_user)
    -- (pggit.invoking_role() inline: a function call per use was a tenth of capture's cost)
    v_role := coalesce(nullif(current_setting('role'), 'none'), session_user::text);
    -- the audit row's values (computed by plain assignments: evaluated from state built once per
    -- transaction, where the same expressions in the VALUES list were compiled again by every
    -- execution of the INSERT). Its targets: what the trigger named in tracked schemas in its
    -- order, then the object types of GRANT-like commands, then what the sql_drop trigger passed
    -- on; its anchors: the tracked objects' catalog rows, then a GRANT's (added in the block), then
    -- what the sql_drop trigger passed on. (The loop's lists, closed here, are JSON text this
    -- function built; what the sql_drop trigger passed on is read from settings, which any role
    -- can set: parsed in a block of its own, only when there is some. Such a block writes
    -- nothing: it takes no transaction id.)
    v_targets_j := CASE WHEN v_typed IS NULL THEN coalesce(v_targets || ']', '[]')::jsonb
                        ELSE coalesce(v_targets || ']', '[]')::jsonb || (v_typed || ']')::jsonb END;
    v_anchors_j := coalesce(v_raw_anchors || ']', '[]')::jsonb;
    IF v_pending_dropped IS NOT NULL OR (v_pending IS NOT NULL AND NOT v_grant) THEN
        BEGIN
            v_targets_j := v_targets_j || coalesce(v_pending_dropped, '[]')::jsonb;
            IF v_pending IS NOT NULL AND NOT v_grant THEN
                v_anchors_j := v_anchors_j || pggit.capture_checked_anchors(v_pending);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            IF v_tx = 'engine' THEN
                RAISE;  -- the engine's own apply step must never go unrecorded
            END IF;
            PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, v_tag);
            RETURN;
        END;
    END IF;
    v_app := current_setting('application_name', true);
    v_client := inet_client_addr();
    v_actor := coalesce(nullif(current_setting('pggit.actor', true), ''), v_role);
    v_operation := nullif(current_setting('pggit.operation', true), '');
    -- The audit row (and a new message's statement text) is written without a subtransaction
    -- when the transaction has written one inside it already, the two tables take any row
    -- (pggit.audit_tables_plain), the transaction runs at READ COMMITTED and nothing can have
    -- changed the tables since (pggit.capture_direct), and HEAD's branch is kept: a write inside
    -- the block gives the subtransaction a transaction id of its own, one per statement, and past
    -- 64 of them PostgreSQL's cache of a backend's subtransactions overflows, which slows every
    -- other session's visibility checks while the migration runs. After that first write the
    -- transaction holds locks on the tables that keep other sessions from altering them; its own
    -- statements that could (any on an object of the engine's schema or naming either table,
    -- GRANT-like ones) are written inside the block and end the direct writes until the next one
    -- written there succeeds; so do a capture failure, capture switched off, the configuration
    -- set, a DROP in the engine's schema, RESET ALL and the commit trigger fired early.
    -- (pggit.capture_direct holds the two tables' anchors, as the loop writes them: not constants
    -- of this expression, whose parse would fail once either table is renamed.)
    v_direct_mark := nullif(current_setting('pggit.capture_direct', true), '');
    -- (neither auto_commit nor capture_sync nor strict mode: '--')
    v_direct := v_direct_mark IS NOT NULL AND v_tx IS DISTINCT FROM 'engine'
                AND substr(v_cfg_cached, 2, 2) = '--'
                AND NOT v_grant AND NOT v_engine_touched
                AND v_branch IS NOT NULL
                AND current_setting('pggit.capture_armed', true) = 'y'
                AND (v_raw_anchors IS NULL
                     OR (strpos(v_raw_anchors, split_part(v_direct_mark, '|', 1)) = 0
                         AND strpos(v_raw_anchors, split_part(v_direct_mark, '|', 2)) = 0));
    -- the statement: set by the engine for the DDL it runs, else the client's query, stored once
    -- per client message (a 500-statement script is one row, not 500), recognised by the
    -- message's start (pggit.last_query_at, the row's id in pggit.last_query_id)
    v_cached := current_setting('pggit.last_query_id', true);
    IF current_setting('pggit.statement', true) <> '' THEN
        v_statement := current_setting('pggit.statement', true);
    ELSIF current_setting('pggit.last_query_at', true) = statement_timestamp()::text
          AND ltrim(v_cached, '0123456789') = '' AND length(v_cached) BETWEEN 1 AND 18 THEN
        -- (the id checked before its cast, without a regular expression: any role can set it)
        v_query_id := v_cached::bigint;
    ELSE
        v_query := current_query();
    END IF;
    IF v_direct THEN
        IF v_query IS NOT NULL THEN
            v_query_id := pggit.capture_store_query(v_query);
        END IF;
        v_ms := date_part('epoch', clock_timestamp() - v_started) * 1000.0;
        INSERT INTO pggit.ddl_log (query_id, statement, command_tag, targets, anchors,
                                   application_name, client_addr, role_name, actor, branch,
                                   engine_operation, capture_ms, captured_at)
        VALUES (v_query_id, v_statement, v_tag, v_targets_j, v_anchors_j, v_app, v_client, v_role,
                v_actor, v_branch, v_operation, v_ms, v_started);
        IF v_events_noted IS DISTINCT FROM true THEN
            PERFORM pggit.note_change('ddl.captured');  -- what pggit.emit_event does
        END IF;
        RETURN;
    END IF;
    BEGIN
        -- ('on': users' DDL; 'engine': the engine's own apply steps, audited, not announced)
        v_state := CASE WHEN v_tx = 'engine' THEN 'engine' ELSE 'on' END;
        v_slow := v_state = 'on' AND substr(v_cfg_cached, 2, 1) <> '-';
        IF v_branch IS NULL THEN
            v_branch := (SELECT b.name FROM pggit.branches b
                          WHERE b.id = (SELECT h.branch_id FROM pggit.head h WHERE h.singleton));
            v_cached := set_config('pggit.branch_cache', coalesce(v_branch, ''), true);
        END IF;
        IF v_grant THEN
            -- the rows a GRANT-like statement may have changed (privileges.sql), then what the
            -- sql_drop trigger passed on (DROP OWNED)
            v_anchors_j := v_anchors_j || pggit.privileges_capture_anchors(v_tag)
                           || CASE WHEN v_pending IS NULL THEN '[]'
                                   ELSE pggit.capture_checked_anchors(v_pending) END;
        END IF;
        IF v_query IS NOT NULL THEN
            v_query_id := pggit.capture_store_query(v_query);
        END IF;
        -- users' DDL: the transaction's first audit row arms the announcement at commit (below);
        -- pggit.capture_armed says it is armed without a lookup (a RESET ALL only costs the lookup)
        IF v_state = 'on' AND current_setting('pggit.capture_armed', true) IS DISTINCT FROM 'y' THEN
            v_cached := set_config('pggit.capture_armed', 'y', true);
            v_arm := NOT EXISTS (SELECT 1 FROM pggit.capture_pending
                                  WHERE txid = pg_current_xact_id());
            v_armed_now := true;
        END IF;
        v_ms := date_part('epoch', clock_timestamp() - v_started) * 1000.0;
        -- its cmin marks where this statement's catalog writes end (read at once:
        -- pggit.privileges_capture_anchors() compares with it)
        INSERT INTO pggit.ddl_log (query_id, statement, command_tag, targets, anchors,
                                   application_name, client_addr, role_name, actor, branch,
                                   engine_operation, capture_ms, captured_at)
        VALUES (v_query_id, v_statement, v_tag, v_targets_j, v_anchors_j, v_app, v_client, v_role,
                v_actor, v_branch, v_operation, v_ms, v_started)
        RETURNING id, cmin::text INTO v_ddl_id, v_mark;
        IF v_arm THEN
            -- announced: the audit rows of this transaction from the next one on get their
            -- ddl.captured event from pggit.capture_announce (at the first read that needs
            -- them, or at commit: this row's deferred trigger)
            INSERT INTO pggit.capture_pending (announced) VALUES (v_ddl_id - 1);
        END IF;
        -- (the mark: after the transaction's first statement, or its first after a RESET ALL,
        -- after each GRANT-like one, after each announced at once)
        IF v_armed_now OR v_grant OR v_state <> 'on' OR v_slow OR substr(v_cfg_cached, 3, 1) = 'x' THEN
            v_cached := set_config('pggit.capture_mark', v_mark, true);
        END IF;
        IF v_state = 'on' THEN
            -- (the next statements write their rows without the block when this one was written
            -- inside it, nothing of the engine's was touched, the tables take any row, and the
            -- transaction reads the catalogs as they are now: under REPEATABLE READ or
            -- SERIALIZABLE its snapshot could predate a change another session committed)
            v_cached := set_config('pggit.capture_direct',
                CASE WHEN NOT v_slow AND substr(v_cfg_cached, 3, 1) <> 'x' AND NOT v_grant
                          AND NOT v_engine_touched
                          AND current_setting('transaction_isolation') = 'read committed'
                          AND pggit.audit_tables_plain()
                     THEN '["' || 'pg_class'::regclass::oid || '", "'
                          || 'pggit.ddl_log'::regclass::oid || '"]|["'
                          || 'pg_class'::regclass::oid || '", "'
                          || 'pggit.ddl_queries'::regclass::oid || '"]'
                     ELSE '' END, true);
            IF v_events_noted IS DISTINCT FROM true THEN
                PERFORM pggit.note_change('ddl.captured');  -- what pggit.emit_event does
            END IF;
            -- capture_sync, auto_commit and strict mode announce at once (strict: a failure to
            -- write the event fails the statement itself)
            IF v_slow OR substr(v_cfg_cached, 3, 1) = 'x' THEN
                PERFORM pggit.capture_announce();
            END IF;
        END IF;
        IF v_slow THEN
            PERFORM pggit.capture_flush();
            IF substr(v_cfg_cached, 2, 1) = 'a' THEN
                PERFORM pggit.auto_commit(v_ddl_id);
            END IF;
            UPDATE pggit.ddl_log
               SET capture_ms = date_part('epoch', clock_timestamp() - v_started) * 1000.0
             WHERE id = v_ddl_id;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        IF v_tx = 'engine' THEN
            RAISE;  -- the engine's own apply step must never go unrecorded
        END IF;
        PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, v_tag);
    END;
END;
$$;

-- Whether pggit.ddl_log and pggit.ddl_queries are as schema/004_core.sql makes them, in all that
-- could make an INSERT of capture's fail for some values and not for others: their columns (names,
-- types, NOT NULL, identity, generated), and no CHECK constraint, trigger (foreign keys included),
-- rule or forced row security, no index but plain ones (no unique one but the primary key, no
-- expression, no predicate). pggit.on_ddl_command_end writes audit rows outside its
-- subtransaction only then. (The columns are listed here once more: a change of the tables
-- changes this text too, or the test of a fresh install fails.)
CREATE OR REPLACE FUNCTION pggit.audit_tables_plain()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT count(*) = 2
           AND bool_and(c.relkind = 'r' AND c.relchecks = 0 AND NOT c.relhastriggers
                        AND NOT c.relhasrules AND NOT c.relforcerowsecurity
                        AND NOT EXISTS (
                            SELECT 1 FROM pg_index i
                             WHERE i.indrelid = c.oid
                               AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL
                                    OR ((i.indisunique OR i.indisexclusion)
                                        AND NOT i.indisprimary)))
                        AND (SELECT string_agg(a.attname || ' '
                                               || format_type(a.atttypid, a.atttypmod)
                                               || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                                               || CASE WHEN a.attidentity <> '' THEN ' identity'
                                                       ELSE '' END
                                               || CASE WHEN a.attgenerated <> '' THEN ' generated'
                                                       ELSE '' END,
                                               ', ' ORDER BY a.attnum)
                               FROM pg_attribute a
                              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
                            = CASE c.relname
                                  WHEN 'ddl_log' THEN
                                      'id bigint not null identity, query_id bigint, '
                                      'statement text, command_tag text not null, '
                                      'targets jsonb not null, anchors jsonb not null, '
                                      'objects jsonb not null, '
                                      'flushed_at timestamp with time zone, '
                                      'capture_ms double precision, role_name text not null, '
                                      'session_role text not null, application_name text, '
                                      'client_addr inet, txid xid8 not null, '
                                      'backend_pid integer not null, actor text, branch text, '
                                      'engine_operation text, '
                                      'captured_at timestamp with time zone not null, '
                                      'commit_id bigint'
                                  ELSE 'id bigint not null identity, md5 text not null, '
                                       'query text not null' END)
      FROM pg_class c
     WHERE c.oid IN ('pggit.ddl_log'::regclass, 'pggit.ddl_queries'::regclass)
$$;

-- Empties pggit.branch_cache (HEAD's branch as on_ddl_command_end read it in this transaction):
-- statement triggers on pggit.head and on the renames and removals of pggit.branches. A savepoint
-- rolled back restores the setting with the rows.
CREATE OR REPLACE FUNCTION pggit.branch_cache_clear()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM set_config('pggit.branch_cache', '', true);
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS head_branch_cache ON pggit.head;
CREATE TRIGGER head_branch_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pggit.head
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.branch_cache_clear();
DROP TRIGGER IF EXISTS branches_branch_cache ON pggit.branches;
CREATE TRIGGER branches_branch_cache AFTER UPDATE OF name OR DELETE OR TRUNCATE ON pggit.branches
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.branch_cache_clear();

-- Capture, deferred part: flushes the captured DDL (pggit.capture_flush_run) and records the flush
-- (a child span of the operation running, if any); returns the number of statements flushed.
CREATE OR REPLACE FUNCTION pggit.capture_flush()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SECURITY DEFINER
AS $$
DECLARE
    r pggit.operations := pggit.capture_flush_run();
BEGIN
    IF r.operation IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pggit.record_operation(r.operation, r.started_at, r.object_count, r.statement_count,
                                   r.branch, true, NULL, r.details);
    RETURN r.statement_count;
END;
$$;

-- The data of an audit row's ddl.captured event (docs/api.md, the events): a row of
-- pggit.ddl_captured_event as JSON (its fields named once, not looked up per event as
-- jsonb_build_object's arguments are: ~8 k instructions an event less). A plain SQL expression
-- with qualified names and no SET clause, so that pggit.capture_announce's set-based INSERT
-- inlines it (no call per event).
CREATE OR REPLACE FUNCTION pggit.ddl_captured_data(p_ddl_id bigint, p_command_tag text,
                                                   p_branch text, p_role text, p_actor text,
                                                   p_application_name text, p_objects jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT pg_catalog.to_jsonb(ROW(p_ddl_id, p_command_tag, p_branch, p_role, p_actor,
                                   p_application_name, p_objects)::pggit.ddl_captured_event)
$$;

-- Announces this transaction's audit rows of users' DDL not announced yet: one ddl.captured event
-- each, in statement order, with its row's id, data and statement time, announced (NOTIFY
-- pggit_events, delivered at commit) as emit_event does. The transaction's pggit.capture_pending
-- row (written with its first audit row of users' DDL) holds the last row id announced; nothing
-- to do without one. Called at the first read that needs the events (pggit.capture_flush_run:
-- status, commit, diff, checkout...), by statements announced at once (capture_sync, auto_commit,
-- strict mode) and at commit (pggit.capture_announce_at_commit). The events are written in the
-- transaction's last moments, so that their ids follow the order in which transactions commit (a
-- reader of the outbox by id never passes over an event committed later with a lower id).
-- Announced: the rows of users' statements, which are announced before they are flushed; the rows
-- the engine writes for itself are not (its own DDL, engine_operation set; a rescan's row and a
-- full checkout's, written flushed). Moves pggit.capture_mark (the end of this transaction's last
-- captured statement for pggit.privileges_capture_anchors) to now, as a write of audit rows did.
-- A failure to write the events is a capture failure (recorded, an alert; strict mode raises it),
-- never a failed read. Returns the number of events written.
CREATE OR REPLACE FUNCTION pggit.capture_announce()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SECURITY DEFINER
AS $$
DECLARE
    -- (no transaction id assigned for it: a read in a transaction that wrote nothing has none,
    -- and so nothing to announce)
    v_txid xid8 := pg_current_xact_id_if_assigned();
    v_from bigint;
    v_to bigint;
    v_count integer;
    v_mark text;
    v_row pggit.ddl_log;
    v_event bigint;
BEGIN
    IF v_txid IS NULL THEN
        RETURN 0;
    END IF;
    SELECT p.announced INTO v_from FROM pggit.capture_pending p WHERE p.txid = v_txid;
    IF v_from IS NULL THEN
        RETURN 0;
    END IF;
    BEGIN
        -- (the transaction's rows from the mark on, by the primary key)
        WITH mine AS MATERIALIZED (
            SELECT l.id, l.command_tag, l.branch, l.role_name, l.actor, l.application_name,
                   l.targets, l.captured_at, l.engine_operation, l.flushed_at
              FROM pggit.ddl_log l
             WHERE l.id > v_from AND l.txid = v_txid
        ), event AS (
            INSERT INTO pggit.events (type, data, actor, occurred_at)
            SELECT 'ddl.captured',
                   pggit.ddl_captured_data(m.id, m.command_tag, m.branch, m.role_name, m.actor,
                                           m.application_name, m.targets),
                   m.actor, m.captured_at
              FROM mine m
             WHERE m.engine_operation IS NULL AND m.flushed_at IS NULL
             ORDER BY m.id
            RETURNING pg_notify('pggit_events', id::text)
        )
        SELECT (SELECT max(id) FROM mine), (SELECT count(*) FROM event) INTO v_to, v_count;
    EXCEPTION WHEN OTHERS THEN
        -- one event at a time, so that a failure loses only its own statement's event, recorded
        -- as a capture failure
        v_count := 0;
        FOR v_row IN SELECT l.* FROM pggit.ddl_log l WHERE l.id > v_from AND l.txid = v_txid
                      ORDER BY l.id LOOP
            v_to := v_row.id;
            CONTINUE WHEN v_row.engine_operation IS NOT NULL OR v_row.flushed_at IS NOT NULL;
            BEGIN
                INSERT INTO pggit.events (type, data, actor, occurred_at)
                VALUES ('ddl.captured',
                        pggit.ddl_captured_data(v_row.id, v_row.command_tag, v_row.branch,
                                                v_row.role_name, v_row.actor,
                                                v_row.application_name, v_row.targets),
                        v_row.actor, v_row.captured_at)
                RETURNING id INTO v_event;
                PERFORM pg_notify('pggit_events', v_event::text);
                v_count := v_count + 1;
            EXCEPTION WHEN OTHERS THEN
                PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, 'ddl.captured');
            END;
        END LOOP;
    END;
    -- (the mark moved also when nothing was left to announce; read from the version just
    -- written: read later, a version replaced inside a savepoint rolled back shows a combo command
    -- id)
    UPDATE pggit.capture_pending SET announced = coalesce(v_to, announced) WHERE txid = v_txid
    RETURNING cmin::text INTO v_mark;
    PERFORM set_config('pggit.capture_mark', v_mark, true);
    RETURN v_count;
END;
$$;

-- At commit (the deferred trigger of pggit.capture_pending, armed by the transaction's first audit
-- row of users' DDL): announces what is not announced yet and removes the transaction's row (a
-- failure to write the events is a capture failure: the DDL and its audit rows commit, unless
-- strict mode fails the commit).
CREATE OR REPLACE FUNCTION pggit.capture_announce_at_commit()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SECURITY DEFINER
AS $$
BEGIN
    BEGIN
        PERFORM pggit.capture_announce();
    EXCEPTION WHEN OTHERS THEN
        PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, 'ddl.captured');
    END;
    DELETE FROM pggit.capture_pending WHERE txid = NEW.txid;
    -- fired before the commit (SET CONSTRAINTS ... IMMEDIATE): the next statement arms it again
    PERFORM set_config('pggit.capture_armed', '', true);
    PERFORM set_config('pggit.capture_direct', '', true);
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS capture_announce_at_commit ON pggit.capture_pending;
CREATE CONSTRAINT TRIGGER capture_announce_at_commit
    AFTER INSERT ON pggit.capture_pending
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION pggit.capture_announce_at_commit();

-- auto_commit: each DDL transaction becomes one commit. Later DDL of the same transaction amends
-- the commit that transaction made (nobody else can have seen it yet).
CREATE OR REPLACE FUNCTION pggit.auto_commit(p_ddl_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_branch pggit.branches := pggit.head_branch();
    v_prev pggit.commits;
    v_parents text[] := ARRAY[v_branch.head_commit];
    v_commit pggit.commits;
    v_changes jsonb := pggit.working_changes_map();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pggit.working) THEN
        RETURN;
    END IF;
    SELECT * INTO v_prev FROM pggit.commits WHERE hash = v_branch.head_commit;
    IF v_prev.kind = 'auto' AND v_prev.txid = pg_current_xact_id() THEN
        v_parents := v_prev.parents;
        v_changes := coalesce((SELECT jsonb_object_agg(object_key, new_blob) FROM pggit.commit_changes
                                WHERE commit_id = v_prev.id), '{}') || v_changes;
        UPDATE pggit.branches SET head_commit = v_prev.parents[1] WHERE id = v_branch.id;
        UPDATE pggit.ddl_log SET commit_id = NULL WHERE commit_id = v_prev.id;
        DELETE FROM pggit.events WHERE type = 'commit.created' AND data->>'hash' = v_prev.hash
                                   AND txid = pg_current_xact_id();
        DELETE FROM pggit.commits WHERE id = v_prev.id;
    END IF;
    v_commit := pggit.commit_create(v_branch.id, v_changes, v_parents,
        'auto-commit: ' || coalesce((SELECT string_agg(DISTINCT command_tag, ', ') FROM pggit.ddl_log
                                      WHERE commit_id IS NULL AND txid = pg_current_xact_id()), 'DDL'),
        NULL, 'auto');
    -- (the rows flushed: those of a transaction committed after the flush above are flushed by a
    -- later read, and a row not flushed has no commit, as ddl_log_commit_flushed_idx finds them)
    UPDATE pggit.ddl_log SET commit_id = v_commit.id
     WHERE commit_id IS NULL AND flushed_at IS NOT NULL AND engine_operation IS NULL;
    DELETE FROM pggit.working;
END;
$$;
