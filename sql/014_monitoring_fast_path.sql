-- pgGit engine, Phase 7 (part 5): a cheaper judgement of each recorded operation.
-- The trigger's common case (a successful run within its threshold, or without a baseline) is
-- one primary-key lookup with no subtransaction; only a run that raises an alert enters the
-- guarded block (monitoring never makes the engine operation fail). It stays AFTER INSERT: the
-- trace links children to the new row, which the foreign key needs to exist. The trace stack tolerates a value
-- that is not its own (a client that set pggit.trace_stack) by starting afresh, and keeps its
-- newest 4,000 characters (~150 spans): in a transaction recording thousands of operations the
-- oldest finished siblings are not linked to an enclosing span, rather than every record paying
-- for copying an ever longer stack.

CREATE OR REPLACE FUNCTION pggit.trace_link(p_id bigint, p_started_at timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_stack text := coalesce(current_setting('pggit.trace_stack', true), '');
    v_start double precision := extract(epoch FROM p_started_at);
    v_top text;
    v_comma integer;
    v_children bigint[] := '{}';
BEGIN
    LOOP
        EXIT WHEN v_stack = '';
        v_comma := position(',' IN reverse(v_stack));
        v_top := CASE WHEN v_comma = 0 THEN v_stack ELSE right(v_stack, v_comma - 1) END;
        IF v_top !~ '^[0-9]+@[0-9.]+$' THEN
            v_stack := '';
            EXIT;
        END IF;
        EXIT WHEN split_part(v_top, '@', 2)::double precision < v_start;
        v_children := v_children || split_part(v_top, '@', 1)::bigint;
        v_stack := left(v_stack, greatest(length(v_stack) - length(v_top) - 1, 0));
    END LOOP;
    IF cardinality(v_children) > 0 THEN
        UPDATE pggit.operations SET parent_id = p_id
         WHERE id = ANY (v_children) AND parent_id IS NULL;
    END IF;
    v_stack := CASE WHEN v_stack = '' THEN '' ELSE v_stack || ',' END || p_id || '@' || v_start;
    IF length(v_stack) > 4000 THEN
        v_stack := substring(v_stack FROM position(',' IN right(v_stack, 4000)) + length(v_stack) - 3999);
    END IF;
    PERFORM set_config('pggit.trace_stack', v_stack, true);
END;
$$;

CREATE OR REPLACE FUNCTION pggit.on_operation_recorded()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_threshold double precision;
BEGIN
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
    BEGIN
        PERFORM pggit.perf_check_run(NEW);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'pgGit: monitoring of operation % (%) failed: %', NEW.id, NEW.operation, SQLERRM;
    END;
    RETURN NULL;
END;
$$;
