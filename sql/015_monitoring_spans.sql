-- pgGit engine, Phase 7 (part 5): a commit's recording in one statement, and no per-statement
-- trigger work for the engine's own rows.
--   * pggit.operations.judged: true for the runs pggit.record_operation (and pggit.record_span)
--     judged against their baseline as they recorded them; false (the default) for rows inserted
--     into the table otherwise. The monitoring trigger fires only for the latter
--     (WHEN (NOT NEW.judged)): it judges them, links them into their trace and announces them to
--     the cache. It replaces sql/014's WHEN on a transaction-local setting (pggit.recording) and
--     the cache's INSERT statement trigger of sql/032 (dropped by sql/033): PostgreSQL reads a
--     trigger's WHEN clause back from its stored form and prepares it at every statement, so two
--     such clauses cost every recording more than the recording's own index entries did.
--     Existing rows read true (they were judged when they were inserted).
--   * pggit.capture_flush_run(): the capture flush without its recording; it returns the run (a
--     pggit.operations row without id). pggit.capture_flush() is that plus pggit.record_operation,
--     as before.
--   * pggit.record_span(span, flush, operation, started_at, ...): ends a span that
--     pggit.trace_begin opened, and records it together with the capture flush it ran (its child
--     span), in one INSERT. A commit used to record the two with two statements; inside a commit
--     each statement's fixed cost (its plan's locks, its executor, its index entries) is paid on
--     cold caches, and the two recordings were most of the monitoring's cost.
--   * pggit.commit ends its span with pggit.record_span (latest definition: sql/014).
--   * an index on pggit.operations.parent_id, for reading traces.
-- Measured in docs/benchmarks.md (Performance monitoring).
-- Loaded by a Django migration of the alerts app; also runnable with psql after 001..014.

ALTER TABLE pggit.operations ADD COLUMN IF NOT EXISTS judged boolean NOT NULL DEFAULT true;
ALTER TABLE pggit.operations ALTER COLUMN judged SET DEFAULT false;
COMMENT ON COLUMN pggit.operations.judged IS
    'true: judged against its baseline when it was recorded (pggit.record_operation, '
    'pggit.record_span); false: inserted otherwise, judged by the operations_monitor trigger';

-- A trace is read down its parent links (pggit.operation_trace, and the self time of each span)
-- and deleting operations clears their children's parent_id (sql/014): without an index each
-- of them scanned the whole table (~0.5 s for one trace among 1,000,000 runs). Not partial
-- (WHERE parent_id IS NOT NULL): a partial index's predicate is prepared again at every INSERT,
-- which measured no cheaper than the top-level rows' entries.
CREATE INDEX IF NOT EXISTS operations_parent_idx ON pggit.operations (parent_id);

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

-- Rows inserted into pggit.operations otherwise than by the recording functions: linked into
-- their trace, judged, and announced to the cache (what the recording functions do inside their
-- INSERT; pg_notify sends a payload once per transaction).
CREATE OR REPLACE FUNCTION pggit.on_operation_recorded()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_threshold double precision;
BEGIN
    PERFORM pg_notify('pggit_cache', '{"ns": ["performance", "dashboard"]}');
    IF NEW.parent_id IS NULL THEN
        PERFORM pggit.trace_link(NEW.id, NEW.started_at);
    END IF;
    IF NEW.success THEN
        SELECT b.threshold_ms INTO v_threshold FROM pggit.perf_baselines b
         WHERE b.operation = NEW.operation;
        IF v_threshold IS NULL OR NEW.duration_ms <= v_threshold THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM pggit.perf_judge(ARRAY[NEW.id]);
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS operations_monitor ON pggit.operations;
CREATE TRIGGER operations_monitor AFTER INSERT ON pggit.operations
    FOR EACH ROW WHEN (NOT NEW.judged) EXECUTE FUNCTION pggit.on_operation_recorded();

-- sql/014's pggit.record_operation, writing judged = true instead of setting pggit.recording
-- (nothing reads it any more). No SET search_path, like trace_begin (sql/014 says why that is
-- safe).
CREATE OR REPLACE FUNCTION pggit.record_operation(
    p_operation text, p_started_at timestamptz, p_object_count integer DEFAULT 0,
    p_statement_count integer DEFAULT 0, p_branch text DEFAULT NULL, p_success boolean DEFAULT true,
    p_error text DEFAULT NULL, p_details jsonb DEFAULT '{}', p_parent_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
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
    -- judged here, announced to the cache here (sql/014 says why inside this statement)
    INSERT INTO pggit.operations (id, operation, started_at, duration_ms, object_count,
                                  statement_count, branch, actor, success, error, details,
                                  parent_id, judged)
    OVERRIDING SYSTEM VALUE
    VALUES (coalesce(v_id, pg_catalog.nextval('pggit.operations_id_seq')),
            p_operation, p_started_at,
            extract(epoch FROM pg_catalog.clock_timestamp() - p_started_at) * 1000.0,
            coalesce(p_object_count, 0), coalesce(p_statement_count, 0), p_branch,
            coalesce(nullif(pg_catalog.current_setting('pggit.actor', true), ''),
                     session_user::text),
            p_success, p_error, coalesce(p_details, '{}'), v_parent, true)
    RETURNING id,
              NOT success OR duration_ms > (SELECT b.threshold_ms FROM pggit.perf_baselines b
                                             WHERE b.operation = p_operation),
              pg_catalog.pg_notify('pggit_cache', '{"ns": ["performance", "dashboard"]}')
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
                        session_user::text),
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
           pg_catalog.pg_notify('pggit_cache', '{"ns": ["performance", "dashboard"]}')
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

-- sql/008_fixes.sql's capture_flush without its recording: flushes the captured DDL and returns
-- the run (operation 'capture', start, duration, objects, statements, HEAD's branch, details; no
-- id), or an empty row when nothing was waiting (or the transaction is read-only).
CREATE OR REPLACE FUNCTION pggit.capture_flush_run()
RETURNS pggit.operations
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_ids bigint[];
    v_objects integer := 0;
    g record;
    r pggit.operations;
BEGIN
    IF current_setting('transaction_read_only') = 'on' THEN
        RETURN r;
    END IF;
    SELECT array_agg(id ORDER BY id) INTO v_ids
      FROM (SELECT id FROM pggit.ddl_log WHERE flushed_at IS NULL ORDER BY id FOR UPDATE) l;
    IF v_ids IS NULL THEN
        RETURN r;
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
    r.operation := 'capture';
    r.started_at := v_started;
    r.object_count := v_objects;
    r.statement_count := cardinality(v_ids);
    r.branch := (SELECT b.name FROM pggit.head h JOIN pggit.branches b ON b.id = h.branch_id);
    r.success := true;
    r.details := jsonb_build_object('statements', cardinality(v_ids),
        'capture_ms', (SELECT sum(capture_ms) FROM pggit.ddl_log WHERE id = ANY (v_ids)));
    r.duration_ms := extract(epoch FROM clock_timestamp() - v_started) * 1000.0;
    RETURN r;
END;
$$;

-- Flushes the captured DDL and records the flush (a child span of the operation running, if
-- any); returns the number of statements flushed.
CREATE OR REPLACE FUNCTION pggit.capture_flush()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
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

-- sql/014's commit, ending its span with its capture flush in one recording.
CREATE OR REPLACE FUNCTION pggit.commit(p_message text, p_author text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_span bigint;
    v_flush pggit.operations;
    v_branch pggit.branches;
    v_commit pggit.commits;
BEGIN
    v_span := pggit.trace_begin('commit', v_started);
    IF p_message IS NULL OR btrim(p_message) = '' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'a commit message is required');
    END IF;
    PERFORM pggit.engine_lock('commit');
    v_flush := pggit.capture_flush_run();
    v_branch := pggit.head_branch();
    PERFORM 1 FROM pggit.working FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('NOTHING_TO_COMMIT',
            format('nothing to commit on %s: the schema equals HEAD', v_branch.name));
    END IF;
    v_commit := pggit.commit_create(v_branch.id, pggit.working_changes_map(),
                                    ARRAY[v_branch.head_commit], btrim(p_message), p_author, 'commit');
    UPDATE pggit.ddl_log SET commit_id = v_commit.id WHERE commit_id IS NULL AND engine_operation IS NULL;
    DELETE FROM pggit.working;
    PERFORM pggit.record_span(v_span, v_flush, 'commit', v_started, v_commit.change_count, 0,
                              v_branch.name);
    RETURN v_commit.hash;
END;
$$;
