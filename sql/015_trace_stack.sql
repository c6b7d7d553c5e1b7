-- pgGit engine, Phase 7 (part 6): the transaction's trace stack kept newest-first, so reading
-- and popping its top costs the same however many spans the transaction recorded; it is cut back
-- to its newest ~1,000 characters (~35 spans) when it passes 2,000, once in a while rather than
-- at every record. Spans cut off are finished siblings that stay unlinked to an enclosing span.
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
    IF v_stack <> '' AND left(v_stack, 1) <> '|' THEN
        v_stack := '';  -- not a stack this function wrote: start afresh
    END IF;
    LOOP
        EXIT WHEN v_stack = '';
        v_comma := position(',' IN v_stack);
        v_top := substr(v_stack, 2, CASE WHEN v_comma = 0 THEN length(v_stack) ELSE v_comma - 2 END);
        IF v_top !~ '^[0-9]+@[0-9.]+$' THEN
            v_stack := '';
            EXIT;
        END IF;
        EXIT WHEN split_part(v_top, '@', 2)::double precision < v_start;
        v_children := v_children || split_part(v_top, '@', 1)::bigint;
        v_stack := CASE WHEN v_comma = 0 THEN '' ELSE substr(v_stack, v_comma + 1) END;
    END LOOP;
    IF cardinality(v_children) > 0 THEN
        UPDATE pggit.operations SET parent_id = p_id
         WHERE id = ANY (v_children) AND parent_id IS NULL;
    END IF;
    -- entries are "|id@epoch", newest first
    v_stack := '|' || p_id || '@' || v_start || CASE WHEN v_stack = '' THEN '' ELSE ',' || v_stack END;
    IF length(v_stack) > 2000 THEN
        v_stack := left(v_stack, 1000);
        v_stack := left(v_stack, length(v_stack) - position(',' IN reverse(v_stack)));
    END IF;
    PERFORM set_config('pggit.trace_stack', v_stack, true);
END;
$$;
