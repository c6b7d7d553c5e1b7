-- pgGit engine, Phase 7 (part 4): cheaper trace links, and every engine operation recorded.
--   * An operation that can contain others (commit, checkout, rescan) opens its span when it
--     starts (pggit.trace_begin): its row id is allocated then and kept on a transaction-local
--     stack of open spans (pggit.trace_open), so the operations recorded inside it (the capture
--     flush of a commit, the captures of a checkout) are inserted with their parent_id at once.
--     Linking a span no longer updates its children's rows (sql/010_monitoring.sql's
--     trace_link did, with a foreign-key check per row: 4-5 % of a 1,000-table commit).
--     A span recorded without trace_begin (an operation recorded from psql with
--     pggit.record_operation, as before) still adopts the spans recorded before it that started at
--     or after it did (pggit.trace_link), so the trace semantics are unchanged.
--   * The foreign key on pggit.operations.parent_id is dropped: a child is now inserted before its
--     parent's row exists. Integrity is kept otherwise: an open span's id comes from the table's
--     own identity sequence and its row is inserted by the same transaction as its children (they
--     commit or roll back together; a subtransaction that fails takes its set_config of the stack
--     with it); an explicit p_parent_id must name a recorded operation; and deleting operations
--     clears their children's parent_id (the foreign key's former ON DELETE SET NULL), by a
--     statement-level trigger.
--   * pggit.record_operation judges the run it records (the monitoring trigger now only judges and
--     links rows inserted into pggit.operations directly) and, like trace_begin, has no
--     SET search_path of its own (why it is safe: below).
--   * branch_delete, branch_rename, branch_protect and rescan record themselves like every other
--     engine operation (latest definitions: sql/003_core.sql).
-- Measured in docs/benchmarks.md (Performance monitoring).
-- Loaded by a Django migration of the alerts app; also runnable with psql after 001..013.

DO $$
DECLARE
    v_name text;
BEGIN
    FOR v_name IN
        SELECT c.conname FROM pg_constraint c
         WHERE c.conrelid = 'pggit.operations'::regclass AND c.contype = 'f'
           AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_attribute a
                                  WHERE a.attrelid = 'pggit.operations'::regclass
                                    AND a.attname = 'parent_id')]
    LOOP
        EXECUTE format('ALTER TABLE pggit.operations DROP CONSTRAINT %I', v_name);
    END LOOP;
END;
$$;

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

-- Records one run: links it into its trace and judges it against its baseline. The monitoring
-- trigger of sql/010_monitoring.sql stays for rows inserted into pggit.operations directly; rows
-- inserted here are judged here (the trigger is skipped for them: pggit.recording), which saves a
-- trigger call per recording.
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
    v_duration double precision;
    v_threshold double precision;
    v_announced text;
    r pggit.operations;
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
    -- the id: the open span's, or a new one; written to pggit.recording in the same expression
    -- (one statement fewer: inside a commit each statement costs several us), so the monitoring
    -- trigger skips the row (it is judged below) and the cache's INSERT trigger stays silent
    INSERT INTO pggit.operations (id, operation, started_at, duration_ms, object_count,
                                  statement_count, branch, actor, success, error, details,
                                  parent_id)
    OVERRIDING SYSTEM VALUE
    VALUES (pg_catalog.set_config('pggit.recording',
                coalesce(v_id, pg_catalog.nextval('pggit.operations_id_seq'))::text, true)::bigint,
            p_operation, p_started_at,
            extract(epoch FROM pg_catalog.clock_timestamp() - p_started_at) * 1000.0,
            coalesce(p_object_count, 0), coalesce(p_statement_count, 0), p_branch,
            coalesce(nullif(pg_catalog.current_setting('pggit.actor', true), ''),
                     session_user::text),
            p_success, p_error, coalesce(p_details, '{}'), v_parent)
    -- the cache's change announcement for performance summaries and the dashboard (what the
    -- statement trigger of sql/030 sends for rows written otherwise, see sql/032), inside this
    -- statement rather than as a trigger of its own; one per transaction reaches listeners
    RETURNING id, duration_ms, (SELECT b.threshold_ms FROM pggit.perf_baselines b
                                 WHERE b.operation = p_operation),
              pg_catalog.pg_notify('pggit_cache', '{"ns": ["performance", "dashboard"]}')
         INTO v_id, v_duration, v_threshold, v_announced;
    -- judged as the trigger judges a direct insert; only an alert enters the guarded block
    IF NOT p_success OR v_duration > v_threshold THEN
        SELECT * INTO r FROM pggit.operations WHERE id = v_id;
        BEGIN
            PERFORM pggit.perf_check_run(r);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'pgGit: monitoring of operation % (%) failed: %', v_id, p_operation,
                SQLERRM;
        END;
    END IF;
    IF v_parent IS NULL THEN
        IF v_opened THEN
            -- pushed as trace_link pushes (its children were linked as they were recorded),
            -- bounded at 2,000 characters: an entry cut in two ends the stack when read
            PERFORM pg_catalog.set_config('pggit.trace_stack', pg_catalog.left(
                '|' || v_id || '@' || extract(epoch FROM p_started_at)
                || coalesce(',' || nullif(pg_catalog.current_setting('pggit.trace_stack', true), ''),
                            ''), 2000), true);
        ELSE
            PERFORM pggit.trace_link(v_id, p_started_at);
        END IF;
    END IF;
    RETURN v_id;
END;
$$;

-- sql/010_monitoring.sql's trigger, for rows inserted directly (not by pggit.record_operation,
-- which judges its own rows and links them): judges the run against its baseline and links it
-- into its trace as before.
DROP TRIGGER IF EXISTS operations_monitor ON pggit.operations;
CREATE TRIGGER operations_monitor AFTER INSERT ON pggit.operations
    FOR EACH ROW
    WHEN (NEW.id::text IS DISTINCT FROM current_setting('pggit.recording', true))
    EXECUTE FUNCTION pggit.on_operation_recorded();

------------------------------------------------------------------------------------------------
-- Engine operations that open their span (children linked as they are recorded)
------------------------------------------------------------------------------------------------

-- sql/003_core.sql's commit, opening its span.
CREATE OR REPLACE FUNCTION pggit.commit(p_message text, p_author text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_branch pggit.branches;
    v_commit pggit.commits;
BEGIN
    PERFORM pggit.trace_begin('commit', v_started);
    IF p_message IS NULL OR btrim(p_message) = '' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'a commit message is required');
    END IF;
    PERFORM pggit.engine_lock('commit');
    PERFORM pggit.capture_flush();
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
    PERFORM pggit.record_operation('commit', v_started, v_commit.change_count, 0, v_branch.name);
    RETURN v_commit.hash;
END;
$$;

-- sql/004_diff.sql's checkout, opening its span.
CREATE OR REPLACE FUNCTION pggit.checkout(p_branch text, p_force boolean DEFAULT false)
RETURNS TABLE (branch text, commit_hash text, statements text[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_started timestamptz := clock_timestamp();
    v_target pggit.branches;
    v_head pggit.branches;
    v_from jsonb;
    v_to jsonb;
    v_pending integer;
    v_findings text;
    v_done text[];
BEGIN
    PERFORM pggit.trace_begin('checkout', v_started);
    PERFORM pggit.engine_lock('checkout');
    PERFORM pggit.capture_flush();
    v_target := pggit.active_branch(p_branch);
    v_head := pggit.head_branch();
    SELECT count(*) INTO v_pending FROM pggit.working;
    IF v_pending > 0 AND NOT coalesce(p_force, false) THEN
        PERFORM pggit.raise_error('WORKING_CHANGES',
            format('%s uncommitted change(s) on %s would be lost', v_pending, v_head.name),
            'commit them (SELECT pggit.commit(''message'')) or check out with force => true');
    END IF;
    v_from := pggit.live_state_tree();
    v_to := pggit.commit_tree(v_target.head_commit);
    SELECT string_agg(f.message, '; ') INTO v_findings FROM pggit.data_loss_findings(v_from, v_to) f;
    IF v_findings IS NOT NULL AND NOT coalesce(p_force, false) THEN
        PERFORM pggit.raise_error('DATA_LOSS', format('checkout of %s refused: %s', p_branch, v_findings),
                                  'check out with force => true to destroy that data');
    END IF;
    v_done := pggit.apply_plan('checkout', v_from, v_to);
    DELETE FROM pggit.working;
    UPDATE pggit.head SET branch_id = v_target.id, moved_at = now(), moved_by = pggit.current_actor();
    PERFORM pggit.emit_event('branch.checked_out', jsonb_build_object(
        'branch', v_target.name, 'previous', v_head.name, 'commit', v_target.head_commit,
        'statement_count', cardinality(v_done), 'forced', coalesce(p_force, false)));
    PERFORM pggit.record_operation('checkout', v_started, (SELECT count(*) FROM pggit.tree_diff(v_from, v_to))::integer,
                                   cardinality(v_done), v_target.name);
    branch := v_target.name;
    commit_hash := v_target.head_commit;
    statements := v_done;
    RETURN NEXT;
END;
$$;

-- sql/003_core.sql's rescan, recorded (object_count: the changes it found), opening its span
-- (its capture flush is its child).
CREATE OR REPLACE FUNCTION pggit.rescan(p_reason text DEFAULT '(rescan)')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_anchors jsonb;
    v_ddl_id bigint;
    v_changes jsonb;
    v_branch text;
BEGIN
    PERFORM pggit.trace_begin('rescan', v_started);
    SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_array(a.classid, a.objid)), '[]') INTO v_anchors
      FROM (SELECT anchor_classid AS classid, anchor_objid AS objid FROM pggit.live_objects()
            UNION SELECT anchor_classid, anchor_objid FROM pggit.live_state) a;
    PERFORM pggit.capture_flush();
    v_branch := (pggit.head_branch()).name;
    INSERT INTO pggit.ddl_log (statement, command_tag, application_name, client_addr, actor, branch,
                               flushed_at)
    VALUES (p_reason, 'RESCAN', current_setting('application_name', true), inet_client_addr(),
            pggit.current_actor(), v_branch, clock_timestamp())
    RETURNING id INTO v_ddl_id;
    v_changes := pggit.apply_live_changes(v_anchors, true, v_ddl_id);
    UPDATE pggit.ddl_log SET objects = v_changes WHERE id = v_ddl_id;
    IF jsonb_array_length(v_changes) = 0 THEN
        DELETE FROM pggit.ddl_log WHERE id = v_ddl_id;
    END IF;
    PERFORM pggit.record_operation('rescan', v_started, jsonb_array_length(v_changes), 0, v_branch,
        true, NULL, jsonb_build_object('reason', p_reason));
    RETURN jsonb_array_length(v_changes);
END;
$$;

------------------------------------------------------------------------------------------------
-- Branch operations, recorded (sql/003_core.sql's definitions plus the recording)
------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pggit.branch_delete(p_name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v pggit.branches := pggit.active_branch(p_name);
BEGIN
    IF v.name = 'main' THEN
        PERFORM pggit.raise_error('PROTECTED', 'branch main cannot be deleted');
    ELSIF v.protected THEN
        PERFORM pggit.raise_error('PROTECTED', format('branch %L is protected', p_name),
                                  format('SELECT pggit.branch_protect(%L, false) first', p_name));
    ELSIF v.id = (SELECT branch_id FROM pggit.head) THEN
        PERFORM pggit.raise_error('BRANCH_IS_HEAD', format('branch %L is checked out', p_name),
                                  'check out another branch first');
    END IF;
    UPDATE pggit.branches SET status = 'DELETED', deleted_at = now(), updated_at = now()
     WHERE id = v.id;
    PERFORM pggit.emit_event('branch.deleted', jsonb_build_object('branch', p_name, 'commit', v.head_commit));
    PERFORM pggit.record_operation('branch_delete', v_started, 0, 0, p_name, true, NULL,
        jsonb_build_object('commit', v.head_commit));
END;
$$;

CREATE OR REPLACE FUNCTION pggit.branch_rename(p_old text, p_new text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v pggit.branches := pggit.active_branch(p_old);
BEGIN
    PERFORM pggit.validate_branch_name(p_new);
    IF v.name = 'main' THEN
        PERFORM pggit.raise_error('PROTECTED', 'branch main cannot be renamed');
    ELSIF v.protected THEN
        PERFORM pggit.raise_error('PROTECTED', format('branch %L is protected', p_old));
    ELSIF EXISTS (SELECT 1 FROM pggit.branches WHERE name = p_new AND status <> 'DELETED') THEN
        PERFORM pggit.raise_error('BRANCH_EXISTS', format('branch %L already exists', p_new));
    END IF;
    UPDATE pggit.branches SET name = p_new, updated_at = now() WHERE id = v.id;
    UPDATE pggit.branches SET parent_branch = p_new WHERE parent_branch = p_old AND status <> 'DELETED';
    PERFORM pggit.record_operation('branch_rename', v_started, 0, 0, p_new, true, NULL,
        jsonb_build_object('from', p_old));
END;
$$;

CREATE OR REPLACE FUNCTION pggit.branch_protect(p_name text, p_protected boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v pggit.branches := pggit.active_branch(p_name);
BEGIN
    IF p_protected IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'protected must be true or false');
    END IF;
    UPDATE pggit.branches SET protected = p_protected, updated_at = now() WHERE id = v.id;
    PERFORM pggit.record_operation('branch_protect', v_started, 0, 0, p_name, true, NULL,
        jsonb_build_object('protected', p_protected));
END;
$$;
