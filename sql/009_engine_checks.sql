-- pgGit engine, part 9: stricter checks. verify() also proves each commit's recorded changes and
-- the stored definitions; branch_create refuses an explicit NULL ref; migration_plan refuses
-- malformed trees, and tree_entries a missing or unknown tree, with INVALID_ARGUMENT (they raised a
-- raw error or read as the empty tree).
-- Loaded by a Django migration (vcs 0010); runnable with psql after sql/001-008.

-- Recomputes every commit's hash from its content and every tree's hash from its entries; checks
-- that parents and subtrees exist, that each commit's recorded changes (pggit.commit_changes) are
-- exactly the difference between its first parent's tree (the empty tree for a root) and its own,
-- with the names of the definitions they point at, that change_count counts them, and that every
-- definition in the history still hashes to its content hash. ok = no break found.
--
-- Cost: set-based. The recorded-changes check follows what commits changed, not the size of their
-- trees: for each commit, the shards its recorded changes fall into are compared entry by entry;
-- the other shards are compared as a whole (one jsonb comparison of the two shard maps without
-- those shards) and only a commit where they differ (a change row deleted) has all its differing
-- shards expanded. Each tree's shard map is hashed once and each subtree once (the version of
-- sql/005 recomputed a subtree's hash for every tree naming it).
CREATE OR REPLACE FUNCTION pggit.verify()
RETURNS TABLE (ok boolean, checked integer, breaks jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
-- the query's estimated cost puts it above the JIT thresholds; compiling it cost about a second
-- (1.1 s against 0.18 s at 2,000 commits) and saved nothing at 100,000
SET jit = off
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
    ), bad_subtree AS MATERIALIZED (
        -- each subtree's hash is recomputed once (not once per tree naming it)
        SELECT st.hash FROM pggit.subtrees st WHERE st.hash <> pggit.entries_hash(st.entries)
    ), missing_subtree AS MATERIALIZED (
        SELECT r.hash
          FROM (SELECT DISTINCT s.value AS hash FROM pggit.trees t, jsonb_each_text(t.entries) s) r
         WHERE NOT EXISTS (SELECT 1 FROM pggit.subtrees st WHERE st.hash = r.hash)
    ), found AS (
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason', 'hash does not match the commit content') AS b
          FROM pggit.commits c
         WHERE c.hash <> pggit.sha256_hex(pggit.commit_payload(c.parents, c.tree_hash, c.branch,
                   c.author, c.committer, c.committed_at, c.kind, c.message))
        UNION ALL
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason', 'tree ' || c.tree_hash || ' does not match its entries')
          FROM pggit.commits c JOIN pggit.trees t ON t.hash = c.tree_hash
         WHERE t.hash <> pggit.entries_hash(t.entries)
            OR (EXISTS (SELECT 1 FROM bad_subtree)
                AND EXISTS (SELECT 1 FROM jsonb_each_text(t.entries) s
                             WHERE s.value IN (SELECT b.hash FROM bad_subtree b)))
        UNION ALL
        SELECT c.id, jsonb_build_object('commit', c.hash, 'reason',
                   'subtree ' || s.value || ' of tree ' || c.tree_hash || ' is missing')
          FROM pggit.commits c JOIN pggit.trees t ON t.hash = c.tree_hash, jsonb_each_text(t.entries) s
         WHERE EXISTS (SELECT 1 FROM missing_subtree)
           AND s.value IN (SELECT m.hash FROM missing_subtree m)
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


-- A tree given as an argument: NULL (the empty tree) or a JSON object whose values are strings.
-- Raises INVALID_ARGUMENT naming the argument otherwise.
CREATE OR REPLACE FUNCTION pggit.check_tree_argument(p_name text, p_tree jsonb)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_key text;
BEGIN
    IF p_tree IS NULL THEN
        RETURN;
    END IF;
    IF jsonb_typeof(p_tree) <> 'object' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            format('%s must be a tree: a JSON object {object key: definition hash}, not %s %s',
                   p_name, jsonb_typeof(p_tree), left(p_tree::text, 100)),
            'SELECT pggit.tree_entries(tree_hash) gives the tree of a commit');
    END IF;
    v_key := jsonb_path_query_first(p_tree, '$.keyvalue() ? (@.value.type() != "string").key') #>> '{}';
    IF v_key IS NOT NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            format('%s: the entry %L must be a definition hash (a string), not %s', p_name, v_key,
                   p_tree->v_key));
    END IF;
END;
$$;

-- The steps that turn tree p_from into tree p_to (see sql/004_diff.sql); malformed trees and
-- entries naming definitions that are not stored are refused with INVALID_ARGUMENT.
CREATE OR REPLACE FUNCTION pggit.migration_plan(p_from jsonb, p_to jsonb)
RETURNS TABLE (step integer, phase text, object_key text, kind text, statement text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_changes jsonb;
    v_unknown jsonb;
    v_seeds text[];
    v_closure text[];
    v_actions jsonb;
BEGIN
    PERFORM pggit.check_tree_argument('from', p_from);
    PERFORM pggit.check_tree_argument('to', p_to);
    p_from := coalesce(p_from, '{}');
    p_to := coalesce(p_to, '{}');
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'key', d.object_key, 'change', d.change,
               'alter', CASE WHEN d.change = 'MODIFIED' AND o.kind = n.kind THEN
                        to_jsonb(pggit.sql_alter(o.kind, o.definition, o.meta, n.definition, n.meta)) END,
               'destructive', d.change = 'MODIFIED' AND o.kind = 'table'
                              AND pggit.table_change_is_destructive(o.meta, n.meta)))
               FILTER (WHERE (d.old_blob IS NULL OR o.hash IS NOT NULL)
                                            AND (d.new_blob IS NULL OR n.hash IS NOT NULL)), '[]'),
           (array_agg(jsonb_build_array(CASE WHEN o.hash IS NULL AND d.old_blob IS NOT NULL
                                             THEN 'from' ELSE 'to' END, d.object_key,
                                        CASE WHEN o.hash IS NULL AND d.old_blob IS NOT NULL
                                             THEN d.old_blob ELSE d.new_blob END)
                      ORDER BY d.object_key)
               FILTER (WHERE (d.old_blob IS NOT NULL AND o.hash IS NULL)
                          OR (d.new_blob IS NOT NULL AND n.hash IS NULL)))[1]
      INTO v_changes, v_unknown
      FROM pggit.tree_diff(p_from, p_to) d
      LEFT JOIN pggit.blobs o ON o.hash = d.old_blob
      LEFT JOIN pggit.blobs n ON n.hash = d.new_blob;
    IF v_unknown IS NOT NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            format('%s: the entry %L names no stored definition (%s)', v_unknown->>0, v_unknown->>1,
                   v_unknown->>2));
    END IF;

    -- seeds: removed objects, objects that cannot be altered in place, views over tables that
    -- lose or retype a column
    SELECT coalesce(array_agg(c->>'key'), '{}') INTO v_seeds
      FROM jsonb_array_elements(v_changes) c
     WHERE c->>'change' = 'REMOVED'
        OR (c->>'change' = 'MODIFIED' AND jsonb_typeof(c->'alter') IS DISTINCT FROM 'array');
    SELECT v_seeds || coalesce(array_agg(DISTINCT e.key), '{}') INTO v_seeds
      FROM jsonb_array_elements(v_changes) c
      JOIN jsonb_each_text(p_from) e ON true
      JOIN pggit.blobs b ON b.hash = e.value AND b.kind IN ('view', 'materialized_view')
     WHERE (c->>'destructive')::boolean AND b.meta->'deps' ? (c->>'key');
    v_closure := pggit.recreate_closure(p_from, v_seeds);
    v_closure := pggit.recreate_closure(p_from,
        v_closure || pggit.owned_sequences(p_from, v_closure));

    SELECT coalesce(jsonb_agg(a ORDER BY a->>'phase', a->>'key'), '[]') INTO v_actions FROM (
        SELECT jsonb_build_object('phase', 'drop', 'key', k, 'blob', p_from->>k) AS a
          FROM unnest(v_closure) k WHERE p_from ? k
        UNION ALL
        SELECT jsonb_build_object('phase', 'create', 'key', k, 'blob', p_to->>k)
          FROM unnest(v_closure) k WHERE p_to ? k
        UNION ALL
        SELECT jsonb_build_object('phase', 'create', 'key', c->>'key', 'blob', p_to->>(c->>'key'))
          FROM jsonb_array_elements(v_changes) c
         WHERE c->>'change' = 'ADDED' AND NOT (c->>'key' = ANY (v_closure))
        UNION ALL
        SELECT jsonb_build_object('phase', 'alter', 'key', c->>'key', 'blob', p_to->>(c->>'key'),
                                  'old_blob', p_from->>(c->>'key'), 'alter', c->'alter')
          FROM jsonb_array_elements(v_changes) c
         WHERE c->>'change' = 'MODIFIED' AND NOT (c->>'key' = ANY (v_closure))
    ) s;

    RETURN QUERY SELECT * FROM pggit.plan_order(v_actions);
END;
$$;

-- The full {key: blob} map of a tree; NULL or an unknown tree is refused (it read as the empty
-- tree).
CREATE OR REPLACE FUNCTION pggit.tree_entries(p_tree text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_entries jsonb;
BEGIN
    IF p_tree IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'a tree hash is required',
                                  'SELECT tree_hash FROM pggit.head() gives HEAD''s');
    END IF;
    SELECT coalesce((SELECT jsonb_object_agg(e.key, e.value)
                       FROM jsonb_each_text(t.entries) s
                       JOIN pggit.subtrees st ON st.hash = s.value, jsonb_each(st.entries) e), '{}')
      INTO v_entries
      FROM pggit.trees t WHERE t.hash = p_tree;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', format('no tree %L', p_tree),
                                  'SELECT tree_hash FROM pggit.commits WHERE hash = ... gives a commit''s');
    END IF;
    RETURN v_entries;
END;
$$;

-- The log as in sql/005_history.sql, with p_query a literal text: it was an ILIKE pattern, so % and
-- _ in the searched text matched anything ('100%' found '100 tables'); now a case-insensitive
-- substring of the message, as the console's ?q= is.
CREATE OR REPLACE FUNCTION pggit.log(
    p_branch text DEFAULT NULL, p_author text DEFAULT NULL, p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL, p_object text DEFAULT NULL, p_query text DEFAULT NULL,
    p_limit integer DEFAULT 50, p_offset integer DEFAULT 0)
RETURNS TABLE (hash text, short_hash text, parents text[], branch text, author text, committer text,
               message text, committed_at timestamptz, kind text, change_count integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 OR coalesce(p_offset, 0) < 0 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'limit is 1..10000 and offset >= 0');
    END IF;
    IF p_branch IS NULL THEN
        RETURN QUERY
        SELECT c.hash, left(c.hash, 12), c.parents, c.branch, c.author, c.committer, c.message,
               c.committed_at, c.kind, c.change_count
          FROM pggit.commits c
         WHERE (p_author IS NULL OR c.author = p_author)
           AND (p_since IS NULL OR c.committed_at >= p_since)
           AND (p_until IS NULL OR c.committed_at <= p_until)
           AND (p_query IS NULL OR strpos(lower(c.message), lower(p_query)) > 0)
           AND (p_object IS NULL OR pggit.commit_touches(c.id, p_object))
         ORDER BY c.committed_at DESC, c.id DESC
         LIMIT p_limit OFFSET coalesce(p_offset, 0);
        RETURN;
    END IF;
    -- the walk is written out here (not a call to first_parent_walk) so that LIMIT stops it early
    RETURN QUERY
    WITH RECURSIVE walk AS (
        SELECT c.* FROM pggit.commits c WHERE c.hash = pggit.resolve_ref(p_branch)
        UNION ALL
        SELECT c.* FROM walk w JOIN pggit.commits c ON c.hash = w.parents[1]
    )
    SELECT c.hash, left(c.hash, 12), c.parents, c.branch, c.author, c.committer, c.message,
           c.committed_at, c.kind, c.change_count
      FROM walk c
     WHERE (p_author IS NULL OR c.author = p_author)
       AND (p_since IS NULL OR c.committed_at >= p_since)
       AND (p_until IS NULL OR c.committed_at <= p_until)
       AND (p_query IS NULL OR strpos(lower(c.message), lower(p_query)) > 0)
       AND (p_object IS NULL OR pggit.commit_touches(c.id, p_object))
     LIMIT p_limit OFFSET coalesce(p_offset, 0);
END;
$$;
