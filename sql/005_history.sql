-- pgGit engine, part 5: history and audit -- log, show, object history, blame, schema as of a ref
-- or a time, the raw DDL audit trail, and verification of the hash chain.

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
-- git log --first-parent); without one: every commit of every branch, newest first.
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
           AND (p_query IS NULL OR c.message ILIKE '%' || p_query || '%')
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
       AND (p_query IS NULL OR c.message ILIKE '%' || p_query || '%')
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
-- definition it left.
CREATE OR REPLACE FUNCTION pggit.object_history(p_object text, p_limit integer DEFAULT 100)
RETURNS TABLE (commit_hash text, committed_at timestamptz, author text, message text, branch text,
               object_key text, change text, definition text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT c.hash, c.committed_at, c.author, c.message, c.branch, cc.object_key, cc.change, b.definition
      FROM pggit.commit_changes cc
      JOIN pggit.commits c ON c.id = cc.commit_id
      LEFT JOIN pggit.blobs b ON b.hash = cc.new_blob
     WHERE cc.object_key = p_object OR cc.schema_name || '.' || cc.object_name = p_object
     ORDER BY cc.commit_id DESC
     LIMIT p_limit
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
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT * FROM pggit.audit_log a
     WHERE (p_since IS NULL OR a.captured_at >= p_since)
       AND (p_until IS NULL OR a.captured_at <= p_until)
       AND (p_role IS NULL OR a.role_name = p_role OR a.session_role = p_role)
       AND (p_actor IS NULL OR a.actor = p_actor)
     ORDER BY a.captured_at DESC, a.id DESC
     LIMIT p_limit OFFSET p_offset
$$;

-- Recomputes every commit's hash from its content and every tree's hash from its entries, and
-- checks that parents and branch heads exist. ok = no break found.
CREATE OR REPLACE FUNCTION pggit.verify()
RETURNS TABLE (ok boolean, checked integer, breaks jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_breaks jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(b ORDER BY b->>'commit'), '[]') INTO v_breaks FROM (
        SELECT jsonb_build_object('commit', c.hash, 'reason', 'hash does not match the commit content') AS b
          FROM pggit.commits c
         WHERE c.hash <> pggit.sha256_hex(pggit.commit_payload(c.parents, c.tree_hash, c.branch,
                   c.author, c.committer, c.committed_at, c.kind, c.message))
        UNION ALL
        SELECT jsonb_build_object('commit', c.hash, 'reason', 'tree ' || c.tree_hash || ' does not match its entries')
          FROM pggit.commits c JOIN pggit.trees t ON t.hash = c.tree_hash
         WHERE t.hash <> pggit.entries_hash(t.entries)
            OR EXISTS (SELECT 1 FROM jsonb_each_text(t.entries) s
                        WHERE s.value IN (SELECT st.hash FROM pggit.subtrees st
                                           WHERE st.hash <> pggit.entries_hash(st.entries)))
        UNION ALL
        SELECT jsonb_build_object('commit', c.hash, 'reason', 'parent ' || p || ' is missing')
          FROM pggit.commits c, unnest(c.parents) p
         WHERE NOT EXISTS (SELECT 1 FROM pggit.commits x WHERE x.hash = p)
        UNION ALL
        SELECT jsonb_build_object('commit', coalesce(
                   (SELECT c.hash FROM pggit.commit_changes cc JOIN pggit.commits c ON c.id = cc.commit_id
                     WHERE cc.new_blob = bl.hash ORDER BY cc.commit_id LIMIT 1), bl.hash),
                   'reason', 'definition of ' || bl.object_key || ' does not match its hash ' || bl.hash)
          FROM pggit.blobs bl
         WHERE bl.hash <> pggit.sha256_hex(bl.definition)
    ) s;
    ok := jsonb_array_length(v_breaks) = 0;
    checked := (SELECT count(*) FROM pggit.commits);
    breaks := v_breaks;
    RETURN NEXT;
END;
$$;
