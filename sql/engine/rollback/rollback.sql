-- Rollback: revert a commit, reset a branch to a commit or a time, undo single objects. Each one
-- validates first, has a dry run (the exact DDL and the findings, nothing changed), and when
-- executed is a new commit on the branch (history is never rewritten), applied to the live schema
-- in the same transaction when the branch is HEAD (pggit.apply_to_head, the merge's path).
-- Re-runnable: applied again by the loader whenever this file changes.

-- An engine error that carries structured findings: the message as pggit.raise_error writes it,
-- and DETAIL = {"findings": [...]} for clients that show them (the console answers them in
-- "errors").
CREATE OR REPLACE FUNCTION pggit.raise_refusal(p_code text, p_message text, p_findings jsonb,
                                               p_hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = format('[PGGIT-%s] %s', p_code, p_message),
                          DETAIL = jsonb_build_object('findings', coalesce(p_findings, '[]'))::text,
                          HINT = coalesce(p_hint, 'run it with dry_run => true to see the findings'),
                          ERRCODE = 'P0001';
END;
$$;

CREATE OR REPLACE FUNCTION pggit.finding(p_check text, p_level text, p_message text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$ SELECT jsonb_build_object('check', p_check, 'level', p_level, 'message', p_message) $$;

-- Dependencies a change of tree would break: an object of the result that depends on an object
-- the result no longer has, or that names a column a table of the result lacks or has retyped
-- compared with the tree it was written against (p_from for objects the change leaves alone;
-- p_origin, when given, for the objects the change brings in: a merge's source). Only objects the
-- change touches, or that depend on one it touches, are checked.
CREATE OR REPLACE FUNCTION pggit.dependency_findings(p_from jsonb, p_to jsonb, p_changes jsonb,
                                                     p_origin jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_findings jsonb;
    v_gone text[];
    v_tables jsonb;
BEGIN
    p_from := coalesce(p_from, '{}');
    -- only what actually differs from p_from
    SELECT coalesce(jsonb_object_agg(c.key, c.value), '{}') INTO p_changes
      FROM jsonb_each(coalesce(p_changes, '{}')) c
     WHERE (p_from->>c.key) IS DISTINCT FROM (c.value #>> '{}');
    -- objects the change brings in (added or changed): their own dependencies, against the
    -- tree they were written against (p_origin, else p_from) for the columns they use
    WITH brought AS (
        SELECT c.key, b.definition, d.dep
          FROM jsonb_each_text(p_changes) c
          JOIN pggit.blobs b ON b.hash = c.value,
               LATERAL jsonb_array_elements_text(coalesce(b.meta->'deps', '[]')) d(dep)
         WHERE c.value IS NOT NULL AND p_to->>c.key = c.value
    )
    SELECT coalesce(jsonb_agg(f ORDER BY f->>'message'), '[]') INTO v_findings FROM (
        SELECT pggit.finding('dependency', 'error',
                   format('%s depends on %s, which would no longer exist', x.key, x.dep)) AS f
          FROM brought x WHERE NOT p_to ? x.dep
        UNION ALL
        SELECT pggit.finding('dependency', 'error',
                   format('%s uses column(s) %s of %s, which would be missing or retyped', x.key,
                          array_to_string(l.columns, ', '), x.dep))
          FROM brought x
          JOIN pggit.blobs nb ON nb.hash = p_to->>x.dep AND nb.kind = 'table'
          JOIN pggit.blobs ob ON ob.hash = coalesce(p_origin->>x.dep, p_from->>x.dep)
                             AND ob.kind = 'table' AND ob.hash <> nb.hash,
               LATERAL (SELECT pggit.columns_lost(ob.meta, nb.meta) AS columns) l
         WHERE cardinality(l.columns) > 0 AND pggit.definition_mentions(x.definition, l.columns)
    ) s;
    -- objects the change leaves alone that depend on an object it removes, or on a table whose
    -- columns it drops or retypes: found by reading the dependencies of the whole result only
    -- when there is such a change
    SELECT coalesce(array_agg(c.key) FILTER (WHERE c.value IS NULL), '{}'),
           coalesce(jsonb_object_agg(c.key, l.columns) FILTER (WHERE cardinality(l.columns) > 0), '{}')
      INTO v_gone, v_tables
      FROM jsonb_each_text(p_changes) c
      LEFT JOIN pggit.blobs ob ON ob.hash = p_from->>c.key AND ob.kind = 'table'
      LEFT JOIN pggit.blobs nb ON nb.hash = c.value AND nb.kind = 'table'
      LEFT JOIN LATERAL (SELECT pggit.columns_lost(ob.meta, nb.meta) AS columns
                          WHERE ob.hash IS NOT NULL AND nb.hash IS NOT NULL) l ON true
     WHERE p_from ? c.key;
    IF cardinality(v_gone) = 0 AND v_tables = '{}'::jsonb THEN
        RETURN v_findings;
    END IF;
    SELECT v_findings || coalesce(jsonb_agg(f ORDER BY f->>'message'), '[]') INTO v_findings FROM (
        SELECT CASE WHEN d.dep = ANY (v_gone)
                    THEN pggit.finding('dependency', 'error',
                             format('%s depends on %s, which would no longer exist', e.key, d.dep))
                    ELSE pggit.finding('dependency', 'error',
                             format('%s uses column(s) %s of %s, which would be missing or retyped',
                                    e.key,
                                    array_to_string(ARRAY(SELECT jsonb_array_elements_text(v_tables->d.dep)), ', '),
                                    d.dep)) END AS f
          FROM jsonb_each_text(p_to) e
          JOIN pggit.blobs b ON b.hash = e.value,
               LATERAL jsonb_array_elements_text(coalesce(b.meta->'deps', '[]')) d(dep)
         WHERE NOT p_changes ? e.key
           AND coalesce(b.meta->'deps', '[]') ?| (v_gone || ARRAY(SELECT jsonb_object_keys(v_tables)))
           AND (d.dep = ANY (v_gone)
                OR (v_tables ? d.dep
                    AND pggit.definition_mentions(b.definition,
                            ARRAY(SELECT jsonb_array_elements_text(v_tables->d.dep)))))
    ) s;
    RETURN v_findings;
END;
$$;

-- The common path of revert, reset and undo: validates p_changes ({key: blob, or JSON null to
-- remove}) against the branch, and either answers the dry run or makes the commit (kind =
-- p_operation) and, when the branch is HEAD, migrates the live schema. Refusing findings (level
-- error; data_loss ones only without p_force) raise ROLLBACK_REFUSED with the findings in DETAIL.
CREATE OR REPLACE FUNCTION pggit.rollback_run(
    p_operation text, p_branch pggit.branches, p_target text, p_changes jsonb, p_findings jsonb,
    p_message text, p_dry_run boolean, p_force boolean, p_author text, p_started timestamptz)
RETURNS TABLE (status text, commit_hash text, script text, findings jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_tree jsonb := pggit.commit_tree(p_branch.head_commit);
    v_to jsonb;
    v_m record;
    v_is_head boolean := p_branch.id = (SELECT branch_id FROM pggit.head);
    v_changes jsonb;
    v_findings jsonb := coalesce(p_findings, '[]');
    v_script text;
    v_plan jsonb;
    v_refusing jsonb;
    v_done text[];
    v_commit pggit.commits;
    v_n integer;
BEGIN
    -- only what differs from the branch's tree
    SELECT coalesce(jsonb_object_agg(c.key, c.value), '{}') INTO v_changes
      FROM jsonb_each(coalesce(p_changes, '{}')) c
     WHERE (v_tree->>c.key) IS DISTINCT FROM (c.value #>> '{}');
    IF v_changes = '{}'::jsonb THEN
        PERFORM pggit.raise_error('NOTHING_TO_' || upper(p_operation),
            format('%s: %s already has that schema (no object would change)', p_operation, p_branch.name));
    END IF;
    v_to := pggit.tree_with_changes(v_tree, v_changes);
    v_findings := v_findings || pggit.dependency_findings(v_tree, v_to, v_changes);
    -- one plan: the script shown, the data-loss check and what the execution runs
    IF v_is_head THEN
        v_m := pggit.head_migration(v_to);
        IF v_m.pending > 0 THEN
            v_findings := v_findings || jsonb_build_array(pggit.finding('working_changes', 'error',
                format('%s uncommitted change(s) on %s; commit them first', v_m.pending, p_branch.name)));
        END IF;
        v_findings := v_findings || v_m.data_loss;
        v_plan := v_m.plan;
    ELSE
        v_plan := pggit.migration_plan_json(v_tree, v_to);
    END IF;
    v_script := pggit.plan_script(p_branch.name, format('%s %s', p_operation, p_target),
                                  pggit.plan_statements(v_plan));
    v_n := (SELECT count(*) FROM jsonb_object_keys(v_changes))::integer;
    IF coalesce(p_dry_run, true) THEN
        PERFORM pggit.record_operation(p_operation, p_started, v_n, 0, p_branch.name, true, NULL,
            jsonb_build_object('dry_run', true, 'target', p_target));
        RETURN QUERY SELECT 'dry_run'::text, NULL::text, v_script, v_findings;
        RETURN;
    END IF;
    SELECT jsonb_agg(f) INTO v_refusing FROM jsonb_array_elements(v_findings) f
     WHERE f->>'level' = 'error' AND (f->>'check' <> 'data_loss' OR NOT coalesce(p_force, false));
    IF v_refusing IS NOT NULL THEN
        PERFORM pggit.raise_refusal('ROLLBACK_REFUSED',
            format('%s of %s refused: %s', p_operation, p_branch.name,
                   (SELECT string_agg(f->>'message', '; ') FROM jsonb_array_elements(v_refusing) f)),
            v_findings,
            CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(v_refusing) f WHERE f->>'check' <> 'data_loss')
                 THEN 'the findings say what stands in the way; dry_run => true shows the script'
                 ELSE 'run it with force => true to destroy that data' END);
    END IF;
    -- working changes and data loss were findings (refused above unless forced)
    v_done := CASE WHEN v_is_head THEN pggit.apply_steps(p_operation, v_plan, v_to) ELSE '{}' END;
    v_commit := pggit.commit_create(p_branch.id, v_changes, ARRAY[p_branch.head_commit], p_message,
                                    p_author, p_operation);
    INSERT INTO pggit.rollbacks (operation, branch, target, result_commit, script, findings, forced)
    VALUES (p_operation, p_branch.name, p_target, v_commit.hash, v_script, v_findings,
            coalesce(p_force, false));
    PERFORM pggit.emit_event('revert.completed', jsonb_build_object(
        'operation', p_operation, 'branch', p_branch.name, 'target', p_target,
        'commit', v_commit.hash, 'change_count', v_commit.change_count,
        'statement_count', cardinality(v_done), 'forced', coalesce(p_force, false)));
    PERFORM pggit.record_operation(p_operation, p_started, v_n, cardinality(v_done), p_branch.name,
        true, NULL, jsonb_build_object('dry_run', false, 'target', p_target, 'commit', v_commit.hash));
    RETURN QUERY SELECT 'completed'::text, v_commit.hash, v_script, v_findings;
END;
$$;

-- The branch a rollback works on: the named one, or HEAD's.
CREATE OR REPLACE FUNCTION pggit.rollback_branch(p_branch text)
RETURNS pggit.branches
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_branch IS NULL OR upper(btrim(p_branch)) = 'HEAD' THEN
        RETURN pggit.head_branch();
    END IF;
    RETURN pggit.active_branch(p_branch);
END;
$$;

-- The start of revert, reset and undo: the engine lock when the operation is executed (a dry run
-- changes nothing and waits for nobody), then the branch it works on (pggit.rollback_branch).
CREATE OR REPLACE FUNCTION pggit.rollback_start(p_operation text, p_branch text, p_dry_run boolean)
RETURNS pggit.branches
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF NOT coalesce(p_dry_run, true) THEN
        PERFORM pggit.engine_lock(p_operation);
    END IF;
    RETURN pggit.rollback_branch(p_branch);
END;
$$;

-- Reverts a commit: a new commit on the branch (default HEAD's) that sets every object the commit
-- changed back to what it was before it (its first parent, for a merge commit: what the merge
-- brought in). Dry run by default.
CREATE OR REPLACE FUNCTION pggit.revert(p_commit text, p_dry_run boolean DEFAULT true,
                                        p_force boolean DEFAULT false, p_branch text DEFAULT NULL,
                                        p_message text DEFAULT NULL, p_author text DEFAULT NULL)
RETURNS TABLE (status text, commit_hash text, script text, findings jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_branch pggit.branches;
    v_commit pggit.commits;
    v_changes jsonb;
    v_findings jsonb;
BEGIN
    SELECT * INTO v_commit FROM pggit.commits WHERE hash = pggit.resolve_ref(p_commit);
    v_branch := pggit.rollback_start('revert', p_branch, p_dry_run);
    IF v_commit.kind = 'root' OR cardinality(v_commit.parents) = 0 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'the root commit cannot be reverted',
                                  'reset the branch to a commit instead (pggit.reset)');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pggit.commit_ancestors(v_branch.head_commit) a WHERE a.hash = v_commit.hash) THEN
        PERFORM pggit.raise_error('COMMIT_NOT_ON_BRANCH',
            format('commit %s is not in the history of %s', left(v_commit.hash, 12), v_branch.name),
            'give the branch the commit was made on');
    END IF;
    SELECT coalesce(jsonb_object_agg(cc.object_key, cc.old_blob), '{}') INTO v_changes
      FROM pggit.commit_changes cc WHERE cc.commit_id = v_commit.id;
    -- later commits that changed the same objects: reverting would throw their work away
    SELECT coalesce(jsonb_agg(pggit.finding('later_change', 'error',
               format('%s was changed again after %s (by %s); undo it explicitly with pggit.undo',
                      cc.object_key, left(v_commit.hash, 12),
                      coalesce((SELECT left(c2.hash, 12) FROM pggit.commit_changes x
                                  JOIN pggit.commits c2 ON c2.id = x.commit_id
                                 WHERE x.object_key = cc.object_key AND x.commit_id > v_commit.id
                                 ORDER BY x.commit_id DESC LIMIT 1), 'a later commit')))
               ORDER BY cc.object_key), '[]')
      INTO v_findings
      FROM pggit.commit_changes cc
     WHERE cc.commit_id = v_commit.id
       AND pggit.tree_lookup((SELECT tree_hash FROM pggit.commits WHERE hash = v_branch.head_commit),
                             cc.object_key) IS DISTINCT FROM cc.new_blob;
    RETURN QUERY SELECT * FROM pggit.rollback_run('revert', v_branch, v_commit.hash, v_changes,
        v_findings,
        coalesce(nullif(btrim(p_message), ''),
                 format(E'Revert "%s"\n\nThis reverts commit %s.', split_part(v_commit.message, E'\n', 1),
                        v_commit.hash)),
        p_dry_run, p_force, p_author, v_started);
END;
$$;

-- Resets a branch to a commit or to a point in time (an ISO timestamp: the last commit of the
-- branch's first-parent history at or before it): a new commit whose tree equals the target's.
CREATE OR REPLACE FUNCTION pggit.reset(p_branch text, p_to text, p_dry_run boolean DEFAULT true,
                                       p_force boolean DEFAULT false, p_message text DEFAULT NULL,
                                       p_author text DEFAULT NULL)
RETURNS TABLE (status text, commit_hash text, script text, findings jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_branch pggit.branches;
    v_at timestamptz;
    v_target text;
    v_later integer;
    v_findings jsonb := '[]';
BEGIN
    v_branch := pggit.rollback_start('reset', p_branch, p_dry_run);
    IF p_to ~ '^\d{4}-\d{2}-\d{2}' THEN
        BEGIN
            v_at := p_to::timestamptz;
        EXCEPTION WHEN OTHERS THEN
            PERFORM pggit.raise_error('INVALID_REF', format('%L is not a valid timestamp', p_to));
        END;
        SELECT w.hash INTO v_target FROM pggit.first_parent_walk(v_branch.head_commit) w
          JOIN pggit.commits c ON c.hash = w.hash
         WHERE c.committed_at <= v_at ORDER BY w.depth LIMIT 1;
        IF v_target IS NULL THEN
            PERFORM pggit.raise_error('REF_NOT_FOUND',
                format('%s has no commit at or before %s', v_branch.name, v_at));
        END IF;
    ELSE
        v_target := pggit.resolve_ref(p_to);
    END IF;
    SELECT min(w.depth) INTO v_later FROM pggit.first_parent_walk(v_branch.head_commit) w
     WHERE w.hash = v_target;
    IF v_later > 0 THEN
        v_findings := jsonb_build_array(pggit.finding('later_commits', 'info',
            format('the changes of the %s commit(s) of %s after %s are undone (they stay in the history)',
                   v_later, v_branch.name, left(v_target, 12))));
    END IF;
    RETURN QUERY SELECT * FROM pggit.rollback_run('reset', v_branch, v_target,
        pggit.tree_changes_map(pggit.commit_tree(v_branch.head_commit), pggit.commit_tree(v_target)),
        v_findings,
        coalesce(nullif(btrim(p_message), ''), format('Reset %s to %s', v_branch.name, left(v_target, 12))),
        p_dry_run, p_force, p_author, v_started);
END;
$$;

-- Sets some objects (keys such as 'table:public.users', or 'schema.name' / 'name' when that names
-- one object) back to their definition at a ref (absent there: removed), leaving every other object
-- as it is.
CREATE OR REPLACE FUNCTION pggit.undo(p_objects text[], p_to_ref text, p_dry_run boolean DEFAULT true,
                                      p_force boolean DEFAULT false, p_branch text DEFAULT NULL,
                                      p_message text DEFAULT NULL, p_author text DEFAULT NULL)
RETURNS TABLE (status text, commit_hash text, script text, findings jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_branch pggit.branches;
    v_target text;
    v_now jsonb;
    v_then jsonb;
    v_item text;
    v_keys text[] := '{}';
    v_match text[];
BEGIN
    IF p_objects IS NULL OR cardinality(p_objects) = 0 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'give at least one object to undo');
    END IF;
    v_branch := pggit.rollback_start('undo', p_branch, p_dry_run);
    v_target := pggit.resolve_ref(p_to_ref);
    v_now := pggit.commit_tree(v_branch.head_commit);
    v_then := pggit.commit_tree(v_target);
    FOREACH v_item IN ARRAY p_objects LOOP
        IF v_now ? v_item OR v_then ? v_item THEN
            v_keys := v_keys || v_item;
            CONTINUE;
        END IF;
        SELECT array_agg(DISTINCT e.key) INTO v_match
          FROM (SELECT key, value FROM jsonb_each_text(v_now)
                UNION SELECT key, value FROM jsonb_each_text(v_then)) e
          JOIN pggit.blobs b ON b.hash = e.value
         WHERE b.kind <> 'comment'
           AND (b.schema_name || '.' || b.object_name = v_item
                OR (b.object_name = v_item AND position('.' IN v_item) = 0));
        IF v_match IS NULL THEN
            PERFORM pggit.raise_error('OBJECT_NOT_FOUND',
                format('no object %L on %s or at %s', v_item, v_branch.name, p_to_ref),
                'name it by key (e.g. table:public.users) or schema.name');
        ELSIF cardinality(v_match) > 1 THEN
            PERFORM pggit.raise_error('AMBIGUOUS_OBJECT',
                format('%L names %s objects: %s', v_item, cardinality(v_match), array_to_string(v_match, ', ')),
                'name it by its key');
        END IF;
        v_keys := v_keys || v_match[1];
    END LOOP;
    RETURN QUERY SELECT * FROM pggit.rollback_run('undo', v_branch, v_target,
        (SELECT jsonb_object_agg(k, v_then->k) FROM unnest(v_keys) k),
        '[]'::jsonb,
        coalesce(nullif(btrim(p_message), ''),
                 format('Undo %s to %s', array_to_string(v_keys, ', '), left(v_target, 12))),
        p_dry_run, p_force, p_author, v_started);
END;
$$;
