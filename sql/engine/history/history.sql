-- History: log, show, object history, blame, schema_at, audit, verify.
-- Re-runnable: applied again by the loader whenever this file changes.

-- A ref or a point in time: a timestamp resolves to the last commit of HEAD's first-parent history
-- made at or before it.
CREATE OR REPLACE FUNCTION pggit.resolve_ref_or_time(p_ref text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_at timestamptz;
    v_hash text;
BEGIN
    IF p_ref ~ '^\d{4}-\d{2}-\d{2}' THEN
        BEGIN
            v_at := p_ref::timestamptz;
        EXCEPTION WHEN OTHERS THEN
            PERFORM pggit.raise_error('INVALID_REF', format('%L is not a valid timestamp', p_ref));
        END;
        SELECT w.hash INTO v_hash FROM pggit.first_parent_walk((pggit.head_branch()).head_commit) w
          JOIN pggit.commits c ON c.hash = w.hash
         WHERE c.committed_at <= v_at ORDER BY w.depth LIMIT 1;
        IF v_hash IS NULL THEN
            PERFORM pggit.raise_error('REF_NOT_FOUND', format('no commit at or before %s', v_at));
        END IF;
        RETURN v_hash;
    END IF;
    RETURN pggit.resolve_ref(p_ref);
END;
$$;

-- First-parent history from a commit, newest first (lazy: callers with LIMIT stop early).
CREATE OR REPLACE FUNCTION pggit.first_parent_walk(p_hash text)
RETURNS TABLE (hash text, depth integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    WITH RECURSIVE walk(hash, depth) AS (
        SELECT p_hash, 0
        UNION ALL
        SELECT c.parents[1], w.depth + 1
          FROM walk w JOIN pggit.commits c ON c.hash = w.hash
         WHERE c.parents[1] IS NOT NULL
    )
    SELECT hash, depth FROM walk
$$;

CREATE OR REPLACE FUNCTION pggit.commit_touches(p_commit_id bigint, p_object text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT EXISTS (
        SELECT 1 FROM pggit.commit_changes cc
         WHERE cc.commit_id = p_commit_id
           AND (cc.object_key = p_object OR cc.schema_name || '.' || cc.object_name = p_object
                OR cc.object_name = p_object))
$$;

-- The log. With a branch (or HEAD, or any ref): its first-parent history, newest first (like
-- git log --first-parent); without one: every commit of every branch, newest first. p_query is a
-- literal text, a case-insensitive substring of the message (% and _ match only themselves), as
-- the console's ?q= is.
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

CREATE OR REPLACE FUNCTION pggit.show(p_ref text DEFAULT 'HEAD')
RETURNS TABLE (hash text, parents text[], branch text, author text, committer text, message text,
               committed_at timestamptz, kind text, tree_hash text, changes jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT c.hash, c.parents, c.branch, c.author, c.committer, c.message, c.committed_at, c.kind,
           c.tree_hash,
           coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'object_type', cc.kind, 'schema_name', cc.schema_name,
                        'object_name', cc.object_name, 'object_key', cc.object_key,
                        'change', cc.change) ORDER BY cc.object_key)
                       FROM pggit.commit_changes cc WHERE cc.commit_id = c.id), '[]')
      FROM pggit.commits c
     WHERE c.hash = pggit.resolve_ref(p_ref)
$$;

-- Every commit that changed an object (by key, or "schema.name"), newest first, with the
-- definition it left. Bad paging arguments and an empty object are INVALID_ARGUMENT (here and in
-- pggit.audit), not PostgreSQL's own "LIMIT must not be negative".
CREATE OR REPLACE FUNCTION pggit.object_history(p_object text, p_limit integer DEFAULT 100)
RETURNS TABLE (commit_hash text, committed_at timestamptz, author text, message text, branch text,
               object_key text, change text, definition text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
BEGIN
    IF p_object IS NULL OR btrim(p_object) = '' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'an object key or schema.name is required');
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'limit is 1..10000');
    END IF;
    RETURN QUERY
    SELECT c.hash, c.committed_at, c.author, c.message, c.branch, cc.object_key, cc.change, b.definition
      FROM pggit.commit_changes cc
      JOIN pggit.commits c ON c.id = cc.commit_id
      LEFT JOIN pggit.blobs b ON b.hash = cc.new_blob
     WHERE cc.object_key = p_object OR cc.schema_name || '.' || cc.object_name = p_object
     ORDER BY cc.commit_id DESC
     LIMIT p_limit;
END;
$$;

-- For every object of a ref's tree: the commit that gave it its current definition.
CREATE OR REPLACE FUNCTION pggit.blame(p_ref text DEFAULT 'HEAD')
RETURNS TABLE (object_type text, schema_name text, object_name text, object_key text,
               commit_hash text, author text, committed_at timestamptz, message text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    WITH target AS (
        SELECT c.id, pggit.tree_entries(c.tree_hash) AS entries FROM pggit.commits c
         WHERE c.hash = pggit.resolve_ref(p_ref)
    )
    SELECT b.kind, b.schema_name, b.object_name, e.key, lc.hash, lc.author, lc.committed_at, lc.message
      FROM target, jsonb_each_text(target.entries) e
      JOIN pggit.blobs b ON b.hash = e.value
      LEFT JOIN LATERAL (
          SELECT c.hash, c.author, c.committed_at, c.message
            FROM pggit.commit_changes cc JOIN pggit.commits c ON c.id = cc.commit_id
           WHERE cc.object_key = e.key AND cc.new_blob = e.value AND cc.commit_id <= target.id
           ORDER BY cc.commit_id DESC LIMIT 1) lc ON true
     ORDER BY b.schema_name, b.kind, e.key
$$;

-- The full DDL of the schema at a ref or a time, in dependency order.
CREATE OR REPLACE FUNCTION pggit.schema_at(p_ref text DEFAULT 'HEAD')
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_tree jsonb;
    v_label text;
BEGIN
    IF upper(btrim(coalesce(p_ref, ''))) = 'WORKING' THEN
        v_tree := pggit.live_tree();
        v_label := 'WORKING';
    ELSE
        v_label := pggit.resolve_ref_or_time(p_ref);
        v_tree := pggit.commit_tree(v_label);
    END IF;
    RETURN replace(pggit.script_text('(empty)', v_label, '{}', v_tree),
                   '-- pgGit migration: (empty) -> ', '-- pgGit schema at ');
END;
$$;

-- The raw DDL audit trail: every captured statement with who ran it.
CREATE OR REPLACE VIEW pggit.audit_log AS
SELECT l.id, l.captured_at, l.command_tag, coalesce(l.statement, q.query) AS statement, l.targets,
       l.objects,
       l.role_name, l.session_role, l.application_name, l.client_addr, l.actor, l.branch,
       l.engine_operation, l.txid, l.backend_pid, c.hash AS commit_hash
  FROM pggit.ddl_log l
  LEFT JOIN pggit.ddl_queries q ON q.id = l.query_id
  LEFT JOIN pggit.commits c ON c.id = l.commit_id;

CREATE OR REPLACE FUNCTION pggit.audit(
    p_since timestamptz DEFAULT NULL, p_until timestamptz DEFAULT NULL, p_role text DEFAULT NULL,
    p_actor text DEFAULT NULL, p_limit integer DEFAULT 100, p_offset integer DEFAULT 0)
RETURNS SETOF pggit.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 OR p_offset IS NULL OR p_offset < 0 THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'limit is 1..10000 and offset >= 0');
    END IF;
    RETURN QUERY
    SELECT * FROM pggit.audit_log a
     WHERE (p_since IS NULL OR a.captured_at >= p_since)
       AND (p_until IS NULL OR a.captured_at <= p_until)
       AND (p_role IS NULL OR a.role_name = p_role OR a.session_role = p_role)
       AND (p_actor IS NULL OR a.actor = p_actor)
     ORDER BY a.captured_at DESC, a.id DESC
     LIMIT p_limit OFFSET p_offset;
END;
$$;

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
-- shards expanded. Each tree's shard map is hashed once and each subtree once.
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
