-- Traces: an operation that can contain others (commit, checkout, rescan) opens its span when it
-- starts (pggit.trace_begin), so the operations recorded inside it are inserted with their
-- parent_id at once; pggit.record_span records a span together with the capture flush it ran, in
-- one INSERT; deleting operations clears their children's parent_id (pggit.operations has no
-- foreign key on it: a child is inserted before its parent's row, by the same transaction).
-- Re-runnable: applied again by the loader whenever this file changes.

-- What the dropped foreign key's ON DELETE SET NULL did, once per statement.
CREATE OR REPLACE FUNCTION pggit.on_operations_deleted()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    UPDATE pggit.operations o SET parent_id = NULL
      FROM deleted_operations d
     WHERE o.parent_id = d.id;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS operations_orphan_children ON pggit.operations;
CREATE TRIGGER operations_orphan_children AFTER DELETE ON pggit.operations
    REFERENCING OLD TABLE AS deleted_operations
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.on_operations_deleted();

-- pggit.trace_begin and pggit.record_operation run inside every engine operation, so, unlike the
-- engine's other functions, they carry no SET search_path: entering a function with its own
-- configuration costs ~30 us a call inside a commit (after its DDL and capture work), against a
-- few us without. They are safe without it: they are not SECURITY
-- DEFINER (they run with the caller's rights), every table, sequence and function they name is
-- schema-qualified, and pg_catalog is searched first for their operators and types unless a
-- caller lists it explicitly after another schema (the engine's callers run with
-- search_path = pg_catalog, pggit).

-- An entry of pggit.trace_open ("id:operation:start-microseconds") as trace_begin writes it,
-- checked without a regular expression (see pggit.record_operation). Inlined by the planner.
CREATE OR REPLACE FUNCTION pggit.trace_entry_valid(p_entry text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT pg_catalog.split_part($1, ':', 4) = ''
       AND pg_catalog.split_part($1, ':', 1) <> ''
       AND pg_catalog.translate(pg_catalog.split_part($1, ':', 1), '0123456789', '') = ''
       AND pg_catalog.length(pg_catalog.split_part($1, ':', 1)) <= 18
       AND pg_catalog.split_part($1, ':', 2) <> ''
       AND pg_catalog.translate(pg_catalog.split_part($1, ':', 2),
                                'abcdefghijklmnopqrstuvwxyz_', '') = ''
       AND pg_catalog.split_part($1, ':', 3) <> ''
       AND pg_catalog.translate(pg_catalog.split_part($1, ':', 3), '0123456789', '') = ''
       AND pg_catalog.length(pg_catalog.split_part($1, ':', 3)) <= 18
$$;

-- Opens the span of an operation that starts now: allocates its row id and pushes
-- "id:operation:start-microseconds" on pggit.trace_open (newest first, comma-separated). The
-- operation's own pggit.record_operation(operation, started_at, ...) finds it on top, inserts
-- its row with that id and pops it; any other recording meanwhile becomes its child. An entry
-- this function did not write is dropped when record_operation meets it (the stack starts
-- afresh). A SQL function the planner inlines into its caller: no function call of its own.
CREATE OR REPLACE FUNCTION pggit.trace_begin(p_operation text, p_started_at timestamptz)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT pg_catalog.split_part(pg_catalog.set_config('pggit.trace_open',
               pg_catalog.nextval('pggit.operations_id_seq') || ':' || p_operation || ':'
               || (extract(epoch FROM p_started_at) * 1000000)::bigint
               || coalesce(',' || nullif(pg_catalog.current_setting('pggit.trace_open', true), ''),
                           ''),
               true), ':', 1)::bigint
$$;

-- Judges recorded runs against their baselines (the runs whose recording found them slow or
-- failed). Monitoring never makes the engine operation fail: an error raising the alert is
-- reported as a WARNING and the operation stands.
CREATE OR REPLACE FUNCTION pggit.perf_judge(p_ids bigint[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    r pggit.operations;
BEGIN
    FOR r IN SELECT * FROM pggit.operations WHERE id = ANY (p_ids) ORDER BY id LOOP
        BEGIN
            PERFORM pggit.perf_check_run(r);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'pgGit: monitoring of operation % (%) failed: %', r.id, r.operation,
                SQLERRM;
        END;
    END LOOP;
END;
$$;

-- Pushes a recorded top-level span on pggit.trace_stack as pggit.trace_link does (its children
-- were linked as they were recorded), bounded at 2,000 characters: an entry cut in two ends the
-- stack when read. A SQL function the planner inlines into its caller.
CREATE OR REPLACE FUNCTION pggit.trace_push(p_id bigint, p_started_at timestamptz)
RETURNS text
LANGUAGE sql
AS $$
    SELECT pg_catalog.set_config('pggit.trace_stack', pg_catalog.left(
        '|' || p_id || '@' || extract(epoch FROM p_started_at)
        || coalesce(',' || nullif(pg_catalog.current_setting('pggit.trace_stack', true), ''), ''),
        2000), true)
$$;

-- Ends the span pggit.trace_begin opened (p_span: the id it returned) and records it, with the
-- capture flush it ran (p_flush, from pggit.capture_flush_run(); an empty row when nothing was
-- flushed) as its child span, in one INSERT. The span's entry is found on pggit.trace_open and
-- popped, with the entries above it (spans opened inside it that were never recorded); the entry
-- below it, if any, is its parent. An id that is not on the stack (a caller's own, or a stack
-- changed meanwhile) is not taken: the run gets a new id and no parent. Both runs are judged
-- against their baselines and announced to the cache like pggit.record_operation's.
CREATE OR REPLACE FUNCTION pggit.record_span(
    p_span bigint, p_flush pggit.operations, p_operation text, p_started_at timestamptz,
    p_object_count integer DEFAULT 0, p_statement_count integer DEFAULT 0,
    p_branch text DEFAULT NULL, p_details jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    v_open text := coalesce(pg_catalog.current_setting('pggit.trace_open', true), '');
    v_at integer := pg_catalog.strpos(',' || v_open, ',' || p_span || ':');
    v_rest text;
    v_id bigint;
    v_parent bigint;
    v_slow bigint[];
    v_announced text;
BEGIN
    IF p_operation IS NULL OR p_started_at IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'a span needs its operation and start');
    END IF;
    IF v_at > 0 THEN
        v_id := p_span;
        v_rest := pg_catalog.substr(v_open, v_at);
        v_at := pg_catalog.strpos(v_rest, ',');
        v_rest := CASE WHEN v_at = 0 THEN '' ELSE pg_catalog.substr(v_rest, v_at + 1) END;
        IF v_rest <> '' THEN
            IF pggit.trace_entry_valid(pg_catalog.split_part(v_rest, ',', 1)) THEN
                v_parent := pg_catalog.split_part(v_rest, ':', 1)::bigint;
            ELSE
                v_rest := '';  -- not a stack trace_begin wrote: start afresh
            END IF;
        END IF;
        PERFORM pg_catalog.set_config('pggit.trace_open', v_rest, true);
    ELSE
        v_id := pg_catalog.nextval('pggit.operations_id_seq');
    END IF;
    WITH runs AS (
        INSERT INTO pggit.operations (id, operation, started_at, duration_ms, object_count,
                                      statement_count, branch, actor, success, details, parent_id,
                                      judged)
        OVERRIDING SYSTEM VALUE
        SELECT coalesce(r.id, pg_catalog.nextval('pggit.operations_id_seq')), r.operation,
               r.started_at, r.duration_ms, coalesce(r.object_count, 0),
               coalesce(r.statement_count, 0), r.branch,
               coalesce(nullif(pg_catalog.current_setting('pggit.actor', true), ''),
                        nullif(pg_catalog.current_setting('role'), 'none'), session_user::text),
               true, coalesce(r.details, '{}'), r.parent_id, true
          FROM (VALUES (v_id, p_operation, p_started_at,
                        extract(epoch FROM pg_catalog.clock_timestamp() - p_started_at) * 1000.0,
                        p_object_count, p_statement_count, p_branch, p_details, v_parent),
                       (NULL, (p_flush).operation, (p_flush).started_at, (p_flush).duration_ms,
                        (p_flush).object_count, (p_flush).statement_count, (p_flush).branch,
                        (p_flush).details, v_id))
               AS r (id, operation, started_at, duration_ms, object_count, statement_count,
                     branch, details, parent_id)
         WHERE r.operation IS NOT NULL
        RETURNING id, operation, duration_ms
    )
    SELECT array_agg(runs.id) FILTER (WHERE runs.duration_ms > b.threshold_ms),
           pggit.announce_change('pggit.operations')
      INTO v_slow, v_announced
      FROM runs LEFT JOIN pggit.perf_baselines b ON b.operation = runs.operation;
    IF v_slow IS NOT NULL THEN
        PERFORM pggit.perf_judge(v_slow);
    END IF;
    IF v_parent IS NULL THEN
        PERFORM pggit.trace_push(v_id, p_started_at);
    END IF;
    RETURN v_id;
END;
$$;

-- The capture flush without its recording: flushes the captured DDL and returns
-- the run (operation 'capture', start, duration, objects, statements, HEAD's branch, details; no
-- id), or an empty row when nothing was waiting (or the transaction is read-only).
CREATE OR REPLACE FUNCTION pggit.capture_flush_run()
RETURNS pggit.operations
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SET jit = off  -- (its anchors query, over 20,000 statements, was JIT-compiled for 0.7 s)
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_ids bigint[];
    v_capture_ms double precision;
    v_touch jsonb;
    v_rest bigint[];
    v_objects integer := 0;
    r pggit.operations;
BEGIN
    IF current_setting('transaction_read_only') = 'on' THEN
        RETURN r;
    END IF;
    PERFORM pggit.capture_announce();  -- the events of this transaction's audit rows not written yet
    SELECT array_agg(id ORDER BY id), sum(capture_ms) INTO v_ids, v_capture_ms
      FROM (SELECT id, capture_ms FROM pggit.ddl_log
             WHERE commit_id IS NULL AND flushed_at IS NULL  -- (ddl_log_commit_flushed_idx)
             ORDER BY id FOR UPDATE) l;
    IF v_ids IS NULL THEN
        RETURN r;
    END IF;
    -- anchors of each statement; after ALTER/COMMENT also the anchors whose text names them
    -- (anchors as oids, not jsonb: the last statement per anchor is found by a sort on them, and
    -- comparing jsonb arrays made that sort cost ~0.1 s at 20,000 statements)
    WITH parted AS MATERIALIZED (
        -- the partitioned tables named by ALTER TABLE, CREATE INDEX and ALTER INDEX statements,
        -- and the tables with inheritance children named by ALTER TABLE
        SELECT l.id, l.engine_operation IS NULL AS record, l.command_tag, c.oid AS objid
          FROM pggit.ddl_log l, jsonb_array_elements(l.anchors) a, pg_class c
         WHERE l.id = ANY (v_ids) AND a.value->>1 IS NOT NULL
           AND l.command_tag IN ('ALTER TABLE', 'CREATE INDEX', 'ALTER INDEX')
           AND (a.value->>0)::oid = 'pg_class'::regclass
           AND c.oid = (a.value->>1)::oid
           AND (c.relkind = 'p' OR (c.relkind = 'r' AND c.relhassubclass AND l.command_tag = 'ALTER TABLE'))
    ), touched AS (
        SELECT l.id, l.engine_operation IS NULL AS record, (a.value->>0)::oid AS classid,
               (a.value->>1)::oid AS objid
          FROM pggit.ddl_log l, jsonb_array_elements(l.anchors) a
         WHERE l.id = ANY (v_ids) AND a.value->>0 IS NOT NULL AND a.value->>1 IS NOT NULL
        UNION ALL
        SELECT l.id, l.engine_operation IS NULL, d.classid, d.objid
          FROM pggit.ddl_log l, jsonb_array_elements(l.anchors) a,
               LATERAL pggit.anchor_dependents((a->>0)::oid, (a->>1)::oid) d
         WHERE l.id = ANY (v_ids) AND a.value->>0 IS NOT NULL AND a.value->>1 IS NOT NULL
           AND (l.command_tag LIKE 'ALTER %' OR l.command_tag LIKE 'COMMENT%')
        UNION ALL
        -- after ALTER TABLE, CREATE INDEX or ALTER INDEX on a partitioned table, the partitions
        -- PostgreSQL did not name (pggit.partition_touches: a detached one, one whose index the
        -- parent's new index adopted, after ALTER TABLE every one); after ALTER TABLE on a table
        -- with inheritance children, every descendant
        SELECT s.id, s.record, 'pg_class'::regclass::oid, x.objid
          FROM parted s
          JOIN pggit.partition_touches(
                   ARRAY(SELECT DISTINCT p.objid FROM parted p),
                   ARRAY(SELECT DISTINCT p.objid FROM parted p WHERE p.command_tag = 'ALTER TABLE')) x
            ON x.parent = s.objid
    ), last_touch AS (
        SELECT DISTINCT ON (classid, objid) classid, objid, id, record
          FROM touched ORDER BY classid, objid, id DESC
    )
    SELECT to_jsonb(array_agg(jsonb_build_array(classid::bigint, objid::bigint, id, record))),
           -- the statements that are no anchor's last (flush_anchors marks the others)
           ARRAY(SELECT u.id FROM unnest(v_ids) u(id) EXCEPT SELECT t.id FROM last_touch t)
      INTO v_touch, v_rest
      FROM last_touch;
    -- all statements' anchors re-read together, each change recorded on the statement that last
    -- touched its anchor (pggit.flush_anchors)
    IF v_touch IS NOT NULL THEN
        v_objects := pggit.flush_anchors(v_touch);
    END IF;
    -- the others (the statements flush_anchors recorded on are marked already: looking for them
    -- among all v_ids again read 40,000 row versions at 20,000 statements)
    IF cardinality(v_rest) > 0 THEN
        UPDATE pggit.ddl_log SET flushed_at = clock_timestamp()
         WHERE id = ANY (v_rest) AND flushed_at IS NULL;
    END IF;
    r.operation := 'capture';
    r.started_at := v_started;
    r.object_count := v_objects;
    r.statement_count := cardinality(v_ids);
    r.branch := (SELECT b.name FROM pggit.head h JOIN pggit.branches b ON b.id = h.branch_id);
    r.success := true;
    r.details := jsonb_build_object('statements', cardinality(v_ids),
        'capture_ms', v_capture_ms);
    r.duration_ms := extract(epoch FROM clock_timestamp() - v_started) * 1000.0;
    RETURN r;
END;
$$;
