-- Merge: merge base, three-way merge with typed conflicts, strategies, resolution, completion,
-- abort. Trees, commits and the migration of the live schema reuse the core (commit_create,
-- tree_entries) and the diff machinery (migration_plan, data_loss_findings, apply_plan).
-- Re-runnable: applied again by the loader whenever this file changes.

-- Every ancestor of a commit, itself included (all parents, not only first parents).
CREATE OR REPLACE FUNCTION pggit.commit_ancestors(p_hash text)
RETURNS TABLE (hash text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    WITH RECURSIVE anc(hash) AS (
        SELECT p_hash
        UNION
        SELECT unnest(c.parents) FROM anc JOIN pggit.commits c ON c.hash = anc.hash
    )
    SELECT anc.hash FROM anc
$$;

-- The lowest common ancestors of two commits: common ancestors that are no ancestor of another
-- common ancestor. One row in an ordinary history; several in a criss-cross one.
CREATE OR REPLACE FUNCTION pggit.merge_bases(p_a text, p_b text)
RETURNS TABLE (hash text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    WITH RECURSIVE common AS (
        SELECT a.hash FROM pggit.commit_ancestors(p_a) a
        INTERSECT
        SELECT b.hash FROM pggit.commit_ancestors(p_b) b
    ), below(hash) AS (
        SELECT unnest(c.parents) FROM common JOIN pggit.commits c ON c.hash = common.hash
        UNION
        SELECT unnest(c.parents) FROM below JOIN pggit.commits c ON c.hash = below.hash
    )
    SELECT common.hash FROM common
    EXCEPT
    SELECT below.hash FROM below
$$;

-- The merge base: the lowest common ancestor; when there are several (criss-cross merges), the
-- most recent of them (committed_at, then the later commit id). NULL when the commits share no
-- history.
CREATE OR REPLACE FUNCTION pggit.merge_base(p_a text, p_b text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT c.hash FROM pggit.merge_bases(p_a, p_b) m JOIN pggit.commits c ON c.hash = m.hash
     ORDER BY c.committed_at DESC, c.id DESC LIMIT 1
$$;

CREATE OR REPLACE FUNCTION pggit.conflict_severity(p_type text, p_kind text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT CASE
        WHEN p_type = 'DEPENDENCY' THEN 'high'
        WHEN p_kind IN ('table', 'materialized_view', 'sequence') THEN 'high'
        WHEN p_kind = 'comment' THEN 'low'
        ELSE 'medium' END
$$;

-- Columns of a table that a change drops or retypes (from its old to its new meta).
CREATE OR REPLACE FUNCTION pggit.columns_lost(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT coalesce(array_agg(oc->>'name'), '{}')
      FROM jsonb_array_elements(coalesce(p_old->'columns', '[]')) oc
     WHERE NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements(coalesce(p_new->'columns', '[]')) nc
         WHERE nc->>'name' = oc->>'name' AND nc->>'type' = oc->>'type'
           AND (nc->>'collation') IS NOT DISTINCT FROM (oc->>'collation'))
$$;

-- Whether a definition names one of these identifiers (as a whole word).
CREATE OR REPLACE FUNCTION pggit.definition_mentions(p_definition text, p_names text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT EXISTS (
        SELECT 1 FROM unnest(p_names) n
         WHERE p_definition ~ ('(^|[^A-Za-z0-9_$])'
                              || regexp_replace(n, '([^A-Za-z0-9_ ])', '\\\1', 'g')
                              || '($|[^A-Za-z0-9_$])'))
$$;

-- The three-way merge of trees (flat {key: blob} maps). Per object: changed on one side only ->
-- that side's version; the same on both sides -> taken once; different changes on both sides ->
-- a conflict typed by what each side did (source first): BOTH_MODIFIED, MODIFY_DELETE (source
-- modified, target deleted), DELETE_MODIFY (source deleted, target modified), ADD_ADD (added on
-- both sides with different definitions). Then DEPENDENCY: an object one side added or changed
-- that depends on an object the other side removed, or on a table the other side changed by
-- dropping or retyping a column the object's definition names.
-- Returns the conflict-free changes to the target's tree ({key: blob, or JSON null to remove};
-- conflicted objects are left out) and the conflicts, ordered by object key.
CREATE OR REPLACE FUNCTION pggit.merge_analyze(p_base jsonb, p_source jsonb, p_target jsonb,
                                               OUT changes jsonb, OUT conflicts jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_k jsonb;
    v_conflicted jsonb;
BEGIN
    p_base := coalesce(p_base, '{}');
    -- every object that differs between the sides: {key: {s, t, b, o (outcome: source, target
    -- or conflict), c (conflict type)}}. Later steps look objects up in it by key (no joins
    -- between sets whose size the planner cannot know).
    SELECT coalesce(jsonb_object_agg(x.key, jsonb_build_object(
               's', x.s, 't', x.t, 'b', x.b,
               'o', CASE WHEN x.b IS NOT DISTINCT FROM x.t THEN 'source'
                         WHEN x.b IS NOT DISTINCT FROM x.s THEN 'target'
                         ELSE 'conflict' END,
               'c', CASE WHEN x.b IS NOT DISTINCT FROM x.t OR x.b IS NOT DISTINCT FROM x.s THEN NULL
                         WHEN x.b IS NULL THEN 'ADD_ADD'
                         WHEN x.s IS NULL THEN 'DELETE_MODIFY'
                         WHEN x.t IS NULL THEN 'MODIFY_DELETE'
                         ELSE 'BOTH_MODIFIED' END)), '{}')
      INTO v_k
      FROM (SELECT coalesce(s.key, t.key) AS key, s.value AS s, t.value AS t,
                   p_base->>coalesce(s.key, t.key) AS b
              FROM jsonb_each_text(coalesce(p_source, '{}')) s
              FULL JOIN jsonb_each_text(coalesce(p_target, '{}')) t ON t.key = s.key
             WHERE s.value IS DISTINCT FROM t.value) x;

    WITH k AS (
        SELECT e.key, e.value->>'s' AS s, e.value->>'t' AS t, e.value->>'b' AS b,
               e.value->>'o' AS outcome, e.value->>'c' AS conflict_type
          FROM jsonb_each(v_k) e
    ), three_way AS (
        SELECT k.key, k.conflict_type, k.b, k.s, k.t, NULL::text AS related_key,
               NULL::text AS rs, NULL::text AS rt,
               format('%s: %s', k.conflict_type, CASE k.conflict_type
                   WHEN 'BOTH_MODIFIED' THEN 'both sides changed it differently'
                   WHEN 'MODIFY_DELETE' THEN 'the source changed it, the target removed it'
                   WHEN 'DELETE_MODIFY' THEN 'the source removed it, the target changed it'
                   ELSE 'both sides added it with different definitions' END) AS detail
          FROM k WHERE k.outcome = 'conflict'
    ), taken AS (
        -- objects that end up in the result from one side's change: (key, side, blob)
        SELECT k.key, k.outcome AS side, CASE k.outcome WHEN 'source' THEN k.s ELSE k.t END AS blob,
               k.b, k.s, k.t
          FROM k
         WHERE k.outcome IN ('source', 'target')
           AND (CASE k.outcome WHEN 'source' THEN k.s ELSE k.t END) IS DISTINCT FROM k.b
    ), pairs AS (
        -- (dependent taken from one side, dependency taken from the other)
        SELECT d.key, d.side, d.b, d.s, d.t, db.definition, dep.key AS related_key,
               v_k->dep.key AS r
          FROM taken d
          JOIN pggit.blobs db ON db.hash = d.blob
          CROSS JOIN LATERAL jsonb_array_elements_text(coalesce(db.meta->'deps', '[]')) dep(key)
         WHERE v_k ? dep.key
    ), dependency AS (
        SELECT DISTINCT ON (p.key) p.key, 'DEPENDENCY'::text AS conflict_type, p.b, p.s, p.t,
               p.related_key, p.r->>'s' AS rs, p.r->>'t' AS rt,
               CASE WHEN rn.hash IS NULL
                    THEN format('DEPENDENCY: the %s %s it, which depends on %s; the %s removed %s',
                                p.side, CASE WHEN p.b IS NULL THEN 'added' ELSE 'changed' END,
                                p.related_key, p.r->>'o', p.related_key)
                    ELSE format('DEPENDENCY: the %s %s it, which uses column(s) %s of %s; the %s dropped or retyped them',
                                p.side, CASE WHEN p.b IS NULL THEN 'added' ELSE 'changed' END,
                                array_to_string(pggit.columns_lost(rb.meta, rn.meta), ', '),
                                p.related_key, p.r->>'o') END AS detail
          FROM pairs p
          LEFT JOIN pggit.blobs rb ON rb.hash = p.r->>'b'
          LEFT JOIN pggit.blobs rn ON rn.hash = CASE p.r->>'o' WHEN 'source' THEN p.r->>'s'
                                                               ELSE p.r->>'t' END
         WHERE p.r->>'o' IN ('source', 'target') AND p.r->>'o' <> p.side
           AND (CASE p.r->>'o' WHEN 'source' THEN p.r->>'s' ELSE p.r->>'t' END)
               IS DISTINCT FROM p.r->>'b'
           AND (rn.hash IS NULL
                OR (rb.kind = 'table' AND rn.kind = 'table'
                    AND pggit.definition_mentions(p.definition, pggit.columns_lost(rb.meta, rn.meta))))
         ORDER BY p.key, p.related_key
    ), allc AS (
        SELECT * FROM three_way
        UNION ALL
        SELECT * FROM dependency
    ), numbered AS (
        SELECT allc.*, row_number() OVER (ORDER BY allc.key COLLATE "C") AS n FROM allc
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'conflict_id', c.n, 'object_key', c.key, 'conflict_type', c.conflict_type,
               'base_blob', c.b, 'source_blob', c.s, 'target_blob', c.t,
               'related_key', c.related_key, 'related_source_blob', c.rs,
               'related_target_blob', c.rt, 'detail', c.detail) ORDER BY c.n), '[]')
      INTO conflicts
      FROM numbered c;

    SELECT coalesce(jsonb_object_agg(c->>'object_key', true), '{}') INTO v_conflicted
      FROM jsonb_array_elements(conflicts) c;
    SELECT coalesce(jsonb_object_agg(e.key, e.value->'s'), '{}') INTO changes
      FROM jsonb_each(v_k) e
     WHERE e.value->>'o' = 'source' AND NOT v_conflicted ? e.key;
END;
$$;

-- The changes ({key: blob or null}) a merge makes to its target's tree: the conflict-free part,
-- then each conflict's resolution in conflict id order (SOURCE/TARGET take that side's version of
-- the object and, for a DEPENDENCY conflict, of the object it depends on; CUSTOM the proven
-- definition). Unresolved conflicts are refused.
CREATE OR REPLACE FUNCTION pggit.merge_changes(p_merge_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_changes jsonb := (SELECT changes FROM pggit.merges WHERE id = p_merge_id);
    v_open integer;
    r pggit.conflicts;
BEGIN
    SELECT count(*) INTO v_open FROM pggit.conflicts WHERE merge_id = p_merge_id AND resolution IS NULL;
    IF v_open > 0 THEN
        PERFORM pggit.raise_error('UNRESOLVED_CONFLICTS',
            format('merge %s has %s unresolved conflict(s)', p_merge_id, v_open),
            format('SELECT * FROM pggit.merge_conflicts(%s) lists them; resolve each with pggit.merge_resolve', p_merge_id));
    END IF;
    FOR r IN SELECT * FROM pggit.conflicts WHERE merge_id = p_merge_id ORDER BY conflict_id LOOP
        IF r.resolution = 'SOURCE' THEN
            v_changes := v_changes || jsonb_build_object(r.object_key, r.source_blob);
            IF r.related_key IS NOT NULL THEN
                v_changes := v_changes || jsonb_build_object(r.related_key, r.related_source_blob);
            END IF;
        ELSIF r.resolution = 'TARGET' THEN
            v_changes := v_changes || jsonb_build_object(r.object_key, r.target_blob);
            IF r.related_key IS NOT NULL THEN
                v_changes := v_changes || jsonb_build_object(r.related_key, r.related_target_blob);
            END IF;
        ELSE
            v_changes := v_changes || jsonb_build_object(r.object_key, r.resolved_blob);
        END IF;
    END LOOP;
    RETURN v_changes;
END;
$$;

-- A flat tree with changes ({key: blob, or JSON null to remove}) applied.
CREATE OR REPLACE FUNCTION pggit.tree_with_changes(p_tree jsonb, p_changes jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT (coalesce(p_tree, '{}') - coalesce(ARRAY(SELECT jsonb_object_keys(p_changes)), '{}'))
           || jsonb_strip_nulls(coalesce(p_changes, '{}'))
$$;

-- Moves a branch's live schema (when it is HEAD) from its current state to p_to, refusing with
-- working changes and, unless p_force, with data-loss findings (pggit.head_migration prepares it).
-- Returns the statements run (none when the branch is not HEAD).
CREATE OR REPLACE FUNCTION pggit.apply_to_head(p_operation text, p_branch_id bigint, p_to jsonb,
                                               p_force boolean)
RETURNS text[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_m record;
BEGIN
    IF p_branch_id IS DISTINCT FROM (SELECT branch_id FROM pggit.head) THEN
        RETURN '{}';
    END IF;
    v_m := pggit.head_migration(p_to);
    IF v_m.pending > 0 THEN
        PERFORM pggit.raise_error('WORKING_CHANGES',
            format('%s uncommitted change(s) on the checked-out branch; %s would mix them in', v_m.pending, p_operation),
            'commit them first (SELECT pggit.commit(''message''))');
    END IF;
    IF v_m.data_loss <> '[]'::jsonb AND NOT coalesce(p_force, false) THEN
        PERFORM pggit.raise_error('DATA_LOSS', format('%s refused: %s', p_operation,
                                  (SELECT string_agg(f->>'message', '; ') FROM jsonb_array_elements(v_m.data_loss) f)),
                                  'run it with p_force => true to destroy that data');
    END IF;
    RETURN pggit.apply_steps(p_operation, v_m.plan, p_to);
END;
$$;

-- The statements an engine operation ran on the live schema in this transaction, in order (its
-- audit rows: pggit.apply_steps).
CREATE OR REPLACE FUNCTION pggit.engine_statements(p_operation text)
RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(array_agg(statement ORDER BY id), '{}') FROM pggit.ddl_log
     WHERE txid = pg_current_xact_id() AND engine_operation = p_operation
$$;
CREATE OR REPLACE FUNCTION pggit.merge_get(p_merge_id bigint, p_lock boolean DEFAULT false)
RETURNS pggit.merges
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v pggit.merges;
BEGIN
    IF p_lock THEN
        SELECT * INTO v FROM pggit.merges WHERE id = p_merge_id FOR UPDATE;
    ELSE
        SELECT * INTO v FROM pggit.merges WHERE id = p_merge_id;
    END IF;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('MERGE_NOT_FOUND', format('no merge %s', p_merge_id),
                                  'SELECT id, source, target, status FROM pggit.merges lists them');
    END IF;
    RETURN v;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.merge_event_data(m pggit.merges)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT jsonb_build_object('merge_id', m.id, 'source', m.source, 'target', m.target,
        'strategy', m.strategy, 'status', m.status, 'base', m.base,
        'result_commit', m.result_commit, 'conflict_count', m.conflict_count)
$$;

-- Makes the merge commit (two parents: the target's head, then the source's) with the merge's
-- changes, migrating the live schema first when the target is HEAD. The target must not have moved
-- since the merge was made.
CREATE OR REPLACE FUNCTION pggit.merge_finish(p_merge_id bigint, p_force boolean, p_author text)
RETURNS pggit.merges
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_merge pggit.merges := pggit.merge_get(p_merge_id, true);
    v_target pggit.branches;
    v_changes jsonb;
    v_tree jsonb;
    v_to jsonb;
    v_broken jsonb;
    v_done text[];
    v_commit pggit.commits;
BEGIN
    SELECT * INTO v_target FROM pggit.branches WHERE id = v_merge.target_branch_id FOR UPDATE;
    IF v_target.status = 'DELETED' THEN
        PERFORM pggit.raise_error('BRANCH_NOT_FOUND', format('branch %L was deleted', v_merge.target));
    END IF;
    IF v_target.head_commit <> v_merge.target_commit THEN
        PERFORM pggit.raise_error('TARGET_MOVED',
            format('branch %s moved since merge %s was made (%s -> %s)', v_target.name, v_merge.id,
                   left(v_merge.target_commit, 12), left(v_target.head_commit, 12)),
            format('abort it (SELECT pggit.merge_abort(%s)) and merge again', v_merge.id));
    END IF;
    v_changes := pggit.merge_changes(v_merge.id);
    v_tree := pggit.commit_tree(v_merge.target_commit);
    v_to := pggit.tree_with_changes(v_tree, v_changes);
    -- the result must hold together (e.g. no view over a column the other side dropped)
    v_broken := pggit.dependency_findings(v_tree, v_to, v_changes,
                                          pggit.commit_tree(v_merge.source_commit));
    IF v_broken <> '[]'::jsonb THEN
        PERFORM pggit.raise_refusal('MERGE_DEPENDENCY',
            format('merge %s would leave a broken schema: %s', v_merge.id,
                   (SELECT string_agg(f->>'message', '; ') FROM jsonb_array_elements(v_broken) f)),
            v_broken, 'resolve the conflicts differently (CUSTOM definitions), or abort the merge');
    END IF;
    v_done := pggit.apply_to_head('merge', v_target.id, v_to, p_force);
    v_commit := pggit.commit_create(v_target.id, v_changes,
                                    ARRAY[v_merge.target_commit, v_merge.source_commit],
                                    v_merge.message, p_author, 'merge');
    UPDATE pggit.merges SET status = 'completed', result_commit = v_commit.hash, finished_at = now()
     WHERE id = v_merge.id RETURNING * INTO v_merge;
    PERFORM pggit.emit_event('merge.completed', pggit.merge_event_data(v_merge)
        || jsonb_build_object('statement_count', cardinality(v_done), 'change_count', v_commit.change_count));
    RETURN v_merge;
END;
$$;

-- Merges a branch (or any ref) into a target branch. See docs/engine.md ("Merge").
CREATE OR REPLACE FUNCTION pggit.merge(p_source text, p_target text,
                                       p_strategy text DEFAULT 'ABORT_ON_CONFLICT',
                                       p_message text DEFAULT NULL, p_force boolean DEFAULT false,
                                       p_author text DEFAULT NULL)
RETURNS pggit.merges
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_strategy text := upper(btrim(coalesce(p_strategy, 'ABORT_ON_CONFLICT')));
    v_target pggit.branches;
    v_source_commit text;
    v_base text;
    v_open bigint;
    v_merge pggit.merges;
    v_result record;
    v_done text[] := '{}';
    v_objects integer := 0;
BEGIN
    PERFORM pggit.trace_begin('merge', v_started);
    IF v_strategy NOT IN ('ABORT_ON_CONFLICT', 'SOURCE_WINS', 'TARGET_WINS', 'MANUAL_REVIEW') THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', format('unknown merge strategy %L', p_strategy),
            'use ABORT_ON_CONFLICT, SOURCE_WINS, TARGET_WINS or MANUAL_REVIEW');
    END IF;
    IF p_target IS NULL OR btrim(p_target) = '' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'a target branch is required');
    END IF;
    PERFORM pggit.engine_lock('merge');
    v_target := CASE WHEN upper(btrim(p_target)) = 'HEAD' THEN pggit.head_branch()
                     ELSE pggit.active_branch(p_target) END;
    v_source_commit := pggit.resolve_ref(p_source);
    SELECT id INTO v_open FROM pggit.merges WHERE target_branch_id = v_target.id AND status = 'conflicted';
    IF v_open IS NOT NULL THEN
        PERFORM pggit.raise_error('MERGE_IN_PROGRESS',
            format('merge %s into %s is open (conflicted)', v_open, v_target.name),
            format('complete it (pggit.merge_complete(%s)) or abort it (pggit.merge_abort(%s))', v_open, v_open));
    END IF;
    v_base := pggit.merge_base(v_source_commit, v_target.head_commit);
    IF v_base IS NULL THEN
        PERFORM pggit.raise_error('NO_MERGE_BASE',
            format('%s and %s share no history', p_source, v_target.name));
    END IF;
    INSERT INTO pggit.merges (source, target, target_branch_id, strategy, status, source_commit,
                              target_commit, base, message)
    VALUES (btrim(p_source), v_target.name, v_target.id, v_strategy, 'up_to_date', v_source_commit,
            v_target.head_commit, v_base,
            coalesce(nullif(btrim(p_message), ''), format('Merge %s into %s', btrim(p_source), v_target.name)))
    RETURNING * INTO v_merge;

    IF v_base = v_source_commit THEN
        -- the target already has everything the source has (re-merging a merged branch)
        UPDATE pggit.merges SET finished_at = now(), result_commit = v_target.head_commit
         WHERE id = v_merge.id RETURNING * INTO v_merge;
    ELSIF v_base = v_target.head_commit THEN
        -- fast-forward: the target has not moved since the source left it
        v_done := pggit.apply_to_head('merge', v_target.id, pggit.commit_tree(v_source_commit), p_force);
        UPDATE pggit.branches SET head_commit = v_source_commit, updated_at = now() WHERE id = v_target.id;
        SELECT count(*)::integer INTO v_objects
          FROM pggit.tree_diff(pggit.commit_tree(v_target.head_commit), pggit.commit_tree(v_source_commit));
        UPDATE pggit.merges SET status = 'fast_forward', result_commit = v_source_commit, finished_at = now()
         WHERE id = v_merge.id RETURNING * INTO v_merge;
        PERFORM pggit.emit_event('merge.completed', pggit.merge_event_data(v_merge)
            || jsonb_build_object('statement_count', cardinality(v_done)));
    ELSE
        SELECT * INTO v_result FROM pggit.merge_analyze(pggit.commit_tree(v_base),
            pggit.commit_tree(v_source_commit), pggit.commit_tree(v_target.head_commit));
        INSERT INTO pggit.conflicts (merge_id, conflict_id, object_key, kind, schema_name, object_name,
                                     conflict_type, severity, base_blob, source_blob, target_blob,
                                     related_key, related_source_blob, related_target_blob, detail)
        SELECT v_merge.id, (c->>'conflict_id')::integer, c->>'object_key', n.kind, n.schema_name,
               n.object_name, c->>'conflict_type', pggit.conflict_severity(c->>'conflict_type', n.kind),
               c->>'base_blob', c->>'source_blob', c->>'target_blob', c->>'related_key',
               c->>'related_source_blob', c->>'related_target_blob', c->>'detail'
          FROM jsonb_array_elements(v_result.conflicts) c
          JOIN pggit.blobs n ON n.hash = coalesce(c->>'source_blob', c->>'target_blob', c->>'base_blob');
        v_objects := (SELECT count(*) FROM jsonb_object_keys(v_result.changes))::integer
                     + jsonb_array_length(v_result.conflicts);
        UPDATE pggit.merges SET changes = v_result.changes,
               conflict_count = jsonb_array_length(v_result.conflicts), status = 'conflicted'
         WHERE id = v_merge.id RETURNING * INTO v_merge;
        IF v_merge.conflict_count > 0 AND v_strategy IN ('SOURCE_WINS', 'TARGET_WINS') THEN
            UPDATE pggit.conflicts
               SET resolution = CASE v_strategy WHEN 'SOURCE_WINS' THEN 'SOURCE' ELSE 'TARGET' END,
                   resolved_blob = CASE v_strategy WHEN 'SOURCE_WINS' THEN source_blob ELSE target_blob END,
                   resolved_by = pggit.current_actor(), resolved_at = now()
             WHERE merge_id = v_merge.id;
        END IF;
        IF v_merge.conflict_count > 0 AND v_strategy IN ('ABORT_ON_CONFLICT', 'MANUAL_REVIEW') THEN
            IF v_strategy = 'ABORT_ON_CONFLICT' THEN
                UPDATE pggit.merges SET status = 'aborted', finished_at = now()
                 WHERE id = v_merge.id RETURNING * INTO v_merge;
            END IF;
            PERFORM pggit.emit_event('merge.conflicted', pggit.merge_event_data(v_merge));
        ELSE
            v_merge := pggit.merge_finish(v_merge.id, p_force, p_author);
            v_done := pggit.engine_statements('merge');
        END IF;
    END IF;
    PERFORM pggit.record_operation('merge', v_started, v_objects, cardinality(v_done), v_target.name,
        true, NULL, jsonb_build_object('merge_id', v_merge.id, 'source', v_merge.source,
                                       'status', v_merge.status, 'strategy', v_strategy,
                                       'conflict_count', v_merge.conflict_count));
    RETURN v_merge;
END;
$$;

-- The conflicts of a merge with the three definitions (NULL where that side has no object).
CREATE OR REPLACE FUNCTION pggit.merge_conflicts(p_merge_id bigint)
RETURNS TABLE (conflict_id integer, object_key text, object_type text, schema_name text,
               object_name text, conflict_type text, severity text, base text, source text,
               target text, related_key text, detail text, resolution text, resolved text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pggit.merge_get(p_merge_id);
    RETURN QUERY
    SELECT c.conflict_id, c.object_key, c.kind, c.schema_name, c.object_name, c.conflict_type,
           c.severity, b.definition, s.definition, t.definition, c.related_key, c.detail,
           c.resolution, r.definition
      FROM pggit.conflicts c
      LEFT JOIN pggit.blobs b ON b.hash = c.base_blob
      LEFT JOIN pggit.blobs s ON s.hash = c.source_blob
      LEFT JOIN pggit.blobs t ON t.hash = c.target_blob
      LEFT JOIN pggit.blobs r ON r.hash = c.resolved_blob
     WHERE c.merge_id = p_merge_id
     ORDER BY c.conflict_id;
END;
$$;

-- Proves a custom definition of one object: applies it to the live schema inside a savepoint that
-- is always rolled back, and reads what it defined. When the object exists already, a CREATE
-- that fails because it exists is retried after dropping the object (still inside the savepoint).
-- It must change exactly that object (CUSTOM_MISMATCH otherwise); PostgreSQL's error is reported
-- as CUSTOM_INVALID. Returns the stored definition's hash.
CREATE OR REPLACE FUNCTION pggit.custom_definition_prove(p_key text, p_definition text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_before jsonb;
    v_changed jsonb;
    v_blob pggit.blobs;
    v_live pggit.blobs;
    v_err text;
    v_stmt text;
BEGIN
    IF p_definition IS NULL OR btrim(p_definition) = '' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'a CUSTOM resolution needs custom_definition');
    END IF;
    IF p_definition !~* '^\s*(CREATE|ALTER|COMMENT)\s' THEN
        PERFORM pggit.raise_error('CUSTOM_INVALID',
            format('the custom definition of %s must be DDL (CREATE, ALTER or COMMENT)', p_key));
    END IF;
    IF pggit.capture_state() = 'off' THEN
        PERFORM pggit.raise_error('CAPTURE_DISABLED', 'proving a custom definition needs capture on',
                                  'SELECT pggit.set_capture(true, ''global'')');
    END IF;
    PERFORM pggit.capture_flush();
    v_before := pggit.live_state_tree();
    SELECT b.* INTO v_live FROM pggit.live_state l JOIN pggit.blobs b ON b.hash = l.blob_hash
     WHERE l.object_key = p_key;
    BEGIN
        BEGIN
            EXECUTE p_definition;
        EXCEPTION WHEN duplicate_table OR duplicate_object OR duplicate_function
                       OR duplicate_schema THEN
            IF v_live.hash IS NULL THEN
                RAISE;
            END IF;
            FOREACH v_stmt IN ARRAY pggit.sql_drop(v_live.kind, p_key, v_live.meta) LOOP
                EXECUTE v_stmt;
            END LOOP;
            EXECUTE p_definition;
        END;
        PERFORM pggit.capture_flush();
        SELECT coalesce(jsonb_agg(jsonb_build_object('key', d.object_key, 'change', d.change)
                                  ORDER BY d.object_key), '[]')
          INTO v_changed FROM pggit.tree_diff(v_before, pggit.live_state_tree()) d;
        SELECT b.* INTO v_blob FROM pggit.live_state l JOIN pggit.blobs b ON b.hash = l.blob_hash
         WHERE l.object_key = p_key;
        RAISE EXCEPTION USING ERRCODE = 'PGG01', MESSAGE = 'custom definition proven; rolled back';
    EXCEPTION
        WHEN SQLSTATE 'PGG01' THEN
            NULL;
        WHEN OTHERS THEN
            v_err := SQLERRM;
    END;
    IF v_err IS NOT NULL THEN
        PERFORM pggit.raise_error('CUSTOM_INVALID',
            format('the custom definition of %s does not apply: %s', p_key, v_err),
            'give DDL that creates the object (CREATE ...) or turns the live one into it (ALTER ..., CREATE OR REPLACE ...)');
    END IF;
    IF v_blob.hash IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_changed) c
                                       WHERE c->>'key' <> p_key) THEN
        PERFORM pggit.raise_error('CUSTOM_MISMATCH',
            format('the custom definition must define exactly %s; it changed: %s', p_key,
                   coalesce((SELECT string_agg((c->>'change') || ' ' || (c->>'key'), ', ')
                               FROM jsonb_array_elements(v_changed) c), 'nothing')),
            'give DDL for that object only');
    END IF;
    -- the savepoint took the stored definition with it: store it again
    INSERT INTO pggit.blobs VALUES (v_blob.*) ON CONFLICT (hash) DO NOTHING;
    RETURN v_blob.hash;
END;
$$;

-- Resolves one conflict of an open merge: SOURCE, TARGET, or CUSTOM with a definition proven by
-- pggit.custom_definition_prove. A conflict may be resolved again until the merge is completed.
CREATE OR REPLACE FUNCTION pggit.merge_resolve(p_merge_id bigint, p_conflict_id integer,
                                               p_resolution text, p_custom_definition text DEFAULT NULL)
RETURNS TABLE (conflict_id integer, object_key text, resolution text, resolved text, remaining integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_started timestamptz := clock_timestamp();
    v_resolution text := upper(btrim(coalesce(p_resolution, '')));
    v_merge pggit.merges;
    v_conflict pggit.conflicts;
    v_blob text;
BEGIN
    IF v_resolution NOT IN ('SOURCE', 'TARGET', 'CUSTOM') THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', format('unknown resolution %L', p_resolution),
                                  'use SOURCE, TARGET or CUSTOM');
    END IF;
    IF v_resolution <> 'CUSTOM' AND p_custom_definition IS NOT NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'custom_definition goes with the CUSTOM resolution only');
    END IF;
    PERFORM pggit.engine_lock('merge_resolve');
    v_merge := pggit.merge_get(p_merge_id, true);
    IF v_merge.status <> 'conflicted' THEN
        PERFORM pggit.raise_error('MERGE_NOT_OPEN',
            format('merge %s is %s, not open for resolution', p_merge_id, v_merge.status));
    END IF;
    SELECT * INTO v_conflict FROM pggit.conflicts c
     WHERE c.merge_id = p_merge_id AND c.conflict_id = p_conflict_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('CONFLICT_NOT_FOUND',
            format('merge %s has no conflict %s', p_merge_id, p_conflict_id),
            format('SELECT * FROM pggit.merge_conflicts(%s) lists them', p_merge_id));
    END IF;
    v_blob := CASE v_resolution WHEN 'SOURCE' THEN v_conflict.source_blob
                                WHEN 'TARGET' THEN v_conflict.target_blob
                                ELSE pggit.custom_definition_prove(v_conflict.object_key, p_custom_definition) END;
    UPDATE pggit.conflicts c SET resolution = v_resolution, resolved_blob = v_blob,
           resolved_by = pggit.current_actor(), resolved_at = now()
     WHERE c.merge_id = p_merge_id AND c.conflict_id = p_conflict_id;
    PERFORM pggit.record_operation('merge_resolve', v_started, 1, 0, v_merge.target, true, NULL,
        jsonb_build_object('merge_id', p_merge_id, 'conflict_id', p_conflict_id, 'resolution', v_resolution));
    conflict_id := p_conflict_id;
    object_key := v_conflict.object_key;
    resolution := v_resolution;
    resolved := (SELECT definition FROM pggit.blobs WHERE hash = v_blob);
    remaining := (SELECT count(*) FROM pggit.conflicts c WHERE c.merge_id = p_merge_id AND c.resolution IS NULL);
    RETURN NEXT;
END;
$$;

-- Completes an open merge whose conflicts are all resolved.
CREATE OR REPLACE FUNCTION pggit.merge_complete(p_merge_id bigint, p_force boolean DEFAULT false,
                                                p_author text DEFAULT NULL)
RETURNS pggit.merges
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_merge pggit.merges;
BEGIN
    PERFORM pggit.trace_begin('merge_complete', v_started);
    PERFORM pggit.engine_lock('merge_complete');
    v_merge := pggit.merge_get(p_merge_id, true);
    IF v_merge.status <> 'conflicted' THEN
        PERFORM pggit.raise_error('MERGE_NOT_OPEN',
            format('merge %s is %s, not open', p_merge_id, v_merge.status));
    END IF;
    v_merge := pggit.merge_finish(p_merge_id, p_force, p_author);
    PERFORM pggit.record_operation('merge_complete', v_started, v_merge.conflict_count,
        cardinality(pggit.engine_statements('merge')),
        v_merge.target, true, NULL, jsonb_build_object('merge_id', p_merge_id));
    RETURN v_merge;
END;
$$;

-- Aborts an open merge: nothing of it is applied; its conflicts stay for the record.
CREATE OR REPLACE FUNCTION pggit.merge_abort(p_merge_id bigint)
RETURNS pggit.merges
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_merge pggit.merges;
BEGIN
    PERFORM pggit.engine_lock('merge_abort');
    v_merge := pggit.merge_get(p_merge_id, true);
    IF v_merge.status <> 'conflicted' THEN
        PERFORM pggit.raise_error('MERGE_NOT_OPEN',
            format('merge %s is %s; only an open (conflicted) merge can be aborted', p_merge_id, v_merge.status));
    END IF;
    UPDATE pggit.merges SET status = 'aborted', finished_at = now() WHERE id = p_merge_id
    RETURNING * INTO v_merge;
    PERFORM pggit.emit_event('merge.aborted', pggit.merge_event_data(v_merge));
    PERFORM pggit.record_operation('merge_abort', v_started, 0, 0, v_merge.target, true, NULL,
        jsonb_build_object('merge_id', p_merge_id));
    RETURN v_merge;
END;
$$;
