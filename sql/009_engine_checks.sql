-- pgGit engine, part 9: stricter checks. verify() also proves each commit's recorded changes and
-- the stored definitions; branch_create refuses an explicit NULL ref; the public functions that take
-- trees or refs as arguments refuse malformed ones with INVALID_ARGUMENT instead of a raw error.
-- Loaded by a Django migration (vcs 0010); runnable with psql after sql/001-008.

-- Recomputes every commit's hash from its content and every tree's hash from its entries; checks
-- that parents and subtrees exist, that each commit's recorded changes (pggit.commit_changes) are
-- exactly the difference between its first parent's tree (the empty tree for a root) and its own,
-- with the names of the definitions they point at, that change_count counts them, and that every
-- definition in the history still hashes to its content hash. ok = no break found.
--
-- Cost: set-based and proportional to what commits changed, not to the size of their trees. For
-- each commit, the shards its recorded changes fall into are compared entry by entry; the other
-- shards are compared as a whole (one jsonb comparison of the two shard maps without those shards)
-- and only a commit where they differ (a change row deleted) has all its differing shards expanded.
CREATE OR REPLACE FUNCTION pggit.verify()
RETURNS TABLE (ok boolean, checked integer, breaks jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_breaks jsonb;
BEGIN
    WITH pair AS MATERIALIZED (
        -- each commit whose first parent exists (or a root), with both trees' shard maps
        SELECT c.id, c.tree_hash, ct.entries AS new_shards, coalesce(pt.entries, '{}') AS old_shards,
               coalesce(rs.shards, '{}') AS recorded_shards
          FROM pggit.commits c
          JOIN pggit.trees ct ON ct.hash = c.tree_hash
          LEFT JOIN pggit.commits p ON p.hash = c.parents[1]
          LEFT JOIN pggit.trees pt ON pt.hash = p.tree_hash
          LEFT JOIN (SELECT cc.commit_id, array_agg(DISTINCT pggit.tree_shard(cc.object_key)) AS shards
                       FROM pggit.commit_changes cc GROUP BY cc.commit_id) rs ON rs.commit_id = c.id
         WHERE cardinality(c.parents) = 0 OR p.id IS NOT NULL
    ), shard AS (
        -- the shards to compare entry by entry: those of the recorded changes, and every shard
        -- that differs when the rest of the two trees is not equal
        SELECT pr.id, s.shard
          FROM pair pr, unnest(pr.recorded_shards) s(shard)
        UNION
        SELECT pr.id, d.shard
          FROM pair pr
          CROSS JOIN LATERAL (
              SELECT coalesce(o.key, n.key) AS shard
                FROM jsonb_each_text(pr.old_shards) o
                FULL JOIN jsonb_each_text(pr.new_shards) n ON n.key = o.key
               WHERE o.value IS DISTINCT FROM n.value) d
         WHERE (pr.old_shards - pr.recorded_shards) <> (pr.new_shards - pr.recorded_shards)
    ), expected AS (
        -- the difference of the two trees in those shards
        SELECT s.id AS commit_id, d.key AS object_key, d.old_blob, d.new_blob
          FROM shard s
          JOIN pair pr ON pr.id = s.id
          LEFT JOIN pggit.subtrees os ON os.hash = pr.old_shards->>s.shard
          LEFT JOIN pggit.subtrees ns ON ns.hash = pr.new_shards->>s.shard
          CROSS JOIN LATERAL (
              SELECT coalesce(o.key, n.key) AS key, o.value AS old_blob, n.value AS new_blob
                FROM jsonb_each_text(coalesce(os.entries, '{}')) o
                FULL JOIN jsonb_each_text(coalesce(ns.entries, '{}')) n ON n.key = o.key
               WHERE o.value IS DISTINCT FROM n.value) d
         WHERE os.hash IS DISTINCT FROM ns.hash
    ), expected_change AS (
        SELECT e.*, CASE WHEN e.old_blob IS NULL THEN 'ADDED' WHEN e.new_blob IS NULL THEN 'REMOVED'
                         ELSE 'MODIFIED' END AS change
          FROM expected e
    ), recorded AS (
        SELECT cc.* FROM pggit.commit_changes cc WHERE cc.commit_id IN (SELECT id FROM pair)
    ), found AS (
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason', 'hash does not match the commit content') AS b
          FROM pggit.commits c
         WHERE c.hash <> pggit.sha256_hex(pggit.commit_payload(c.parents, c.tree_hash, c.branch,
                   c.author, c.committer, c.committed_at, c.kind, c.message))
        UNION ALL
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason', 'tree ' || c.tree_hash || ' does not match its entries')
          FROM pggit.commits c JOIN pggit.trees t ON t.hash = c.tree_hash
         WHERE t.hash <> pggit.entries_hash(t.entries)
            OR EXISTS (SELECT 1 FROM jsonb_each_text(t.entries) s
                        WHERE s.value IN (SELECT st.hash FROM pggit.subtrees st
                                           WHERE st.hash <> pggit.entries_hash(st.entries)))
        UNION ALL
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason',
                   'subtree ' || s.value || ' of tree ' || c.tree_hash || ' is missing')
          FROM pggit.commits c JOIN pggit.trees t ON t.hash = c.tree_hash, jsonb_each_text(t.entries) s
         WHERE NOT EXISTS (SELECT 1 FROM pggit.subtrees st WHERE st.hash = s.value)
        UNION ALL
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason', 'parent ' || p || ' is missing')
          FROM pggit.commits c, unnest(c.parents) p
         WHERE NOT EXISTS (SELECT 1 FROM pggit.commits x WHERE x.hash = p)
        UNION ALL
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason', CASE
                   WHEN r.object_key IS NULL THEN
                       format('change of %s (%s) is not recorded', e.object_key, e.change)
                   WHEN e.object_key IS NULL THEN
                       format('recorded change of %s (%s) is not a difference of the trees',
                              r.object_key, r.change)
                   ELSE format('recorded change of %s is %s %s -> %s, the trees say %s %s -> %s',
                               r.object_key, r.change, coalesce(r.old_blob, 'none'),
                               coalesce(r.new_blob, 'none'), e.change, coalesce(e.old_blob, 'none'),
                               coalesce(e.new_blob, 'none')) END)
          FROM recorded r
          FULL JOIN expected_change e ON e.commit_id = r.commit_id AND e.object_key = r.object_key
          JOIN pggit.commits c ON c.id = coalesce(r.commit_id, e.commit_id)
         WHERE r.object_key IS NULL OR e.object_key IS NULL
            OR (r.change, r.old_blob, r.new_blob) IS DISTINCT FROM (e.change, e.old_blob, e.new_blob)
        UNION ALL
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason',
                   format('recorded change of %s names %s %s, its definition is %s %s', r.object_key,
                          r.kind, concat_ws('.', r.schema_name, r.object_name),
                          b.kind, concat_ws('.', b.schema_name, b.object_name)))
          FROM pggit.commit_changes r
          JOIN pggit.commits c ON c.id = r.commit_id
          JOIN pggit.blobs b ON b.hash = coalesce(r.new_blob, r.old_blob)
         WHERE (r.kind, r.schema_name, r.object_name) IS DISTINCT FROM (b.kind, b.schema_name, b.object_name)
        UNION ALL
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason',
                   format('change_count %s does not match its %s recorded changes', c.change_count,
                          (SELECT count(*) FROM pggit.commit_changes cc WHERE cc.commit_id = c.id)))
          FROM pggit.commits c
         WHERE c.change_count <> (SELECT count(*) FROM pggit.commit_changes cc WHERE cc.commit_id = c.id)
        UNION ALL
        -- a stored definition that no longer hashes to its hash, reported on the first commit that
        -- recorded it (definitions only in working changes are checked once committed)
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason',
                   'definition of ' || bl.object_key || ' does not match its hash ' || bl.hash)
          FROM pggit.blobs bl
          JOIN LATERAL (SELECT min(cc.commit_id) AS commit_id FROM pggit.commit_changes cc
                         WHERE cc.new_blob = bl.hash) first ON first.commit_id IS NOT NULL
          JOIN pggit.commits c ON c.id = first.commit_id
         WHERE bl.hash <> pggit.sha256_hex(bl.definition)
    )
    SELECT coalesce(jsonb_agg(f.b ORDER BY f.id, f.b->>'reason'), '[]') INTO v_breaks FROM found f;
    ok := jsonb_array_length(v_breaks) = 0;
    checked := (SELECT count(*) FROM pggit.commits);
    breaks := v_breaks;
    RETURN NEXT;
END;
$$;

-- An explicit NULL ref is refused (it used to mean HEAD); callers who want HEAD omit the argument.
CREATE OR REPLACE FUNCTION pggit.branch_create(p_name text, p_from_ref text DEFAULT 'HEAD',
                                               p_description text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_commit text;
    v_parent text;
BEGIN
    PERFORM pggit.validate_branch_name(p_name);
    IF p_from_ref IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'from_ref must not be NULL',
                                  'give a branch, a commit or HEAD, or omit it for HEAD');
    END IF;
    IF EXISTS (SELECT 1 FROM pggit.branches WHERE name = p_name AND status <> 'DELETED') THEN
        PERFORM pggit.raise_error('BRANCH_EXISTS', format('branch %L already exists', p_name));
    END IF;
    v_commit := pggit.resolve_ref(p_from_ref);
    v_parent := CASE WHEN upper(p_from_ref) = 'HEAD' THEN (pggit.head_branch()).name
                     ELSE (SELECT b.name FROM pggit.branches b
                            WHERE b.name = p_from_ref AND b.status <> 'DELETED') END;
    INSERT INTO pggit.branches (name, head_commit, parent_branch, base_commit, description)
    VALUES (p_name, v_commit, v_parent, v_commit, p_description);
    PERFORM pggit.emit_event('branch.created', jsonb_build_object(
        'branch', p_name, 'commit', v_commit, 'from', p_from_ref));
    PERFORM pggit.record_operation('branch_create', v_started, 0, 0, p_name);
    RETURN v_commit;
END;
$$;

