-- Version control: blobs, trees, commits, branches, HEAD, status and commit.
-- Re-runnable: applied again by the loader whenever this file changes.

------------------------------------------------------------------------------------------------
-- Small helpers
------------------------------------------------------------------------------------------------
-- No SET clause (its names are schema-qualified instead): a SET clause keeps the planner from
-- inlining the function, and a call then cost more than the hashing, per object. STABLE, not
-- IMMUTABLE: convert_to is stable, and the planner inlines no IMMUTABLE function whose body calls
-- a stable one (as IMMUTABLE it ran as a SQL function call per definition: an executor started
-- and ended for each, about as much again as the hashing itself).
CREATE OR REPLACE FUNCTION pggit.sha256_hex(p_text text)
RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $$ SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_text, 'UTF8')), 'hex') $$;

-- Stores definitions (each once) with one INSERT: the set-based blob_put. Only the definitions
-- not stored yet are inserted (looked up by hash first, so that a tree of stored definitions
-- writes nothing). Returns how many were inserted. (The capture flush stores its definitions in
-- its own statement, pggit.refresh_anchors, with the hashes it compares.)
CREATE OR REPLACE FUNCTION pggit.blobs_put(p_objects pggit.catalog_object[])
RETURNS integer
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    WITH stored AS (
        INSERT INTO pggit.blobs (hash, kind, object_key, schema_name, object_name, parent_name,
                                 definition, meta)
        -- (hashes sorted bytewise: hex digits, in the same order as under the database's
        -- collation, without calling its comparison function per pair)
        SELECT DISTINCT ON (o.hash COLLATE "C") o.hash, o.kind, o.object_key, o.schema_name,
               o.object_name, o.parent_name, o.definition, coalesce(o.meta, '{}')
          FROM (SELECT o.*, pggit.sha256_hex(o.definition) AS hash FROM unnest(p_objects) o) o
         WHERE NOT EXISTS (SELECT 1 FROM pggit.blobs b WHERE b.hash = o.hash)
         ORDER BY o.hash COLLATE "C", o.object_key
        ON CONFLICT (hash) DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer FROM stored
$$;

-- Stores a definition (once) and returns its hash.
CREATE OR REPLACE FUNCTION pggit.blob_put(o pggit.catalog_object)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_hash text := pggit.sha256_hex(o.definition);
BEGIN
    INSERT INTO pggit.blobs (hash, kind, object_key, schema_name, object_name, parent_name,
                             definition, meta)
    VALUES (v_hash, o.kind, o.object_key, o.schema_name, o.object_name, o.parent_name,
            o.definition, coalesce(o.meta, '{}'))
    ON CONFLICT (hash) DO NOTHING;
    RETURN v_hash;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.tree_shard(p_key text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog
AS $$ SELECT left(md5(p_key), 2) $$;

-- sha256 of the sorted "key value" lines of a JSON object (the hash of a subtree or a tree).
CREATE OR REPLACE FUNCTION pggit.entries_hash(p_entries jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT pggit.sha256_hex(coalesce(string_agg(key || ' ' || value, E'\n' ORDER BY key COLLATE "C"), ''))
      FROM jsonb_each_text(p_entries)
$$;

-- The hash the tree of a full {key: blob} map has (without storing anything).
CREATE OR REPLACE FUNCTION pggit.tree_hash_of(p_entries jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT pggit.entries_hash(coalesce(jsonb_object_agg(shard, pggit.entries_hash(sub)), '{}'))
      FROM (SELECT pggit.tree_shard(key) AS shard, jsonb_object_agg(key, value) AS sub
              FROM jsonb_each(p_entries) GROUP BY 1) s
$$;

-- Stores subtrees given as {shard: {key: blob}} plus the unchanged shards of a base tree; returns
-- the new tree's hash.
CREATE OR REPLACE FUNCTION pggit.tree_store(p_base_shards jsonb, p_new_shards jsonb, p_object_count integer)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_shards jsonb := coalesce(p_base_shards, '{}');
    r record;
    v_sub text;
    v_hash text;
BEGIN
    FOR r IN SELECT key AS shard, value AS sub FROM jsonb_each(coalesce(p_new_shards, '{}')) LOOP
        IF r.sub = '{}'::jsonb THEN
            v_shards := v_shards - r.shard;
            CONTINUE;
        END IF;
        v_sub := pggit.entries_hash(r.sub);
        INSERT INTO pggit.subtrees (hash, entries) VALUES (v_sub, r.sub) ON CONFLICT (hash) DO NOTHING;
        v_shards := v_shards || jsonb_build_object(r.shard, v_sub);
    END LOOP;
    v_hash := pggit.entries_hash(v_shards);
    INSERT INTO pggit.trees (hash, entries, object_count) VALUES (v_hash, v_shards, p_object_count)
    ON CONFLICT (hash) DO NOTHING;
    RETURN v_hash;
END;
$$;

-- Stores a full {key: blob} map as a tree; returns its hash.
CREATE OR REPLACE FUNCTION pggit.tree_put(p_entries jsonb)
RETURNS text
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    SELECT pggit.tree_store('{}', coalesce(jsonb_object_agg(shard, sub), '{}'),
                            coalesce(sum(n), 0)::integer)
      FROM (SELECT pggit.tree_shard(key) AS shard, jsonb_object_agg(key, value) AS sub, count(*) AS n
              FROM jsonb_each(coalesce(p_entries, '{}')) GROUP BY 1) s
$$;

-- A tree with changes applied ({key: blob}, a JSON null removes the key), touching only the
-- shards the changes fall into; returns the new tree's hash.
CREATE OR REPLACE FUNCTION pggit.tree_apply(p_tree text, p_changes jsonb)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_tree pggit.trees;
    v_new jsonb;
    v_delta integer;
BEGIN
    SELECT * INTO v_tree FROM pggit.trees WHERE hash = p_tree;
    -- grouped by shard first (one pass over the changes, not one per touched shard)
    WITH grp AS (
        SELECT pggit.tree_shard(key) AS shard, array_agg(key) AS keys,
               coalesce(jsonb_object_agg(key, value) FILTER (WHERE jsonb_typeof(value) <> 'null'),
                        '{}') AS puts
          FROM jsonb_each(p_changes) GROUP BY 1
    ), cur AS (
        -- each touched shard's subtree by its key (a scalar subquery: with a join the planner
        -- hashed the whole subtrees table for a handful of shards, a cost growing with history)
        SELECT g.*, coalesce((SELECT st.entries FROM pggit.subtrees st
                               WHERE st.hash = v_tree.entries->>g.shard), '{}') AS entries
          FROM grp g
    ), merged AS (
        SELECT c.shard, (c.entries - c.keys) || c.puts AS sub,
               (SELECT count(*) FROM jsonb_object_keys(c.entries)) AS before
          FROM cur c
    )
    SELECT jsonb_object_agg(shard, sub),
           sum((SELECT count(*) FROM jsonb_object_keys(sub)) - before)::integer
      INTO v_new, v_delta
      FROM merged;
    RETURN pggit.tree_store(v_tree.entries, v_new, v_tree.object_count + coalesce(v_delta, 0));
END;
$$;

-- The full {key: blob} map of a tree; NULL or an unknown tree is refused (INVALID_ARGUMENT).
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

-- The text a commit hash covers: parents, tree and metadata. verify() recomputes it.
CREATE OR REPLACE FUNCTION pggit.commit_payload(
    p_parents text[], p_tree text, p_branch text, p_author text, p_committer text,
    p_committed_at timestamptz, p_kind text, p_message text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT concat_ws(E'\n',
        'tree ' || p_tree,
        (SELECT string_agg('parent ' || p, E'\n' ORDER BY o) FROM unnest(p_parents) WITH ORDINALITY AS u(p, o)),
        'branch ' || p_branch,
        'kind ' || p_kind,
        'author ' || p_author,
        'committer ' || p_committer,
        'date ' || to_char(p_committed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        '',
        p_message)
$$;

CREATE OR REPLACE FUNCTION pggit.validate_branch_name(p_name text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_name IS NULL OR p_name !~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$' OR p_name ~ '\.\.|//|/$|\.$'
       OR upper(p_name) IN ('HEAD', 'WORKING') OR p_name ~ '^[0-9a-f]{7,64}$' THEN
        PERFORM pggit.raise_error('INVALID_BRANCH_NAME',
            format('invalid branch name %L', p_name),
            'use 1-100 characters: letters, digits, ".", "_", "-", "/"; not HEAD, WORKING or a hex string');
    END IF;
END;
$$;

-- The HEAD branch row (locked FOR SHARE by callers that need it stable).
CREATE OR REPLACE FUNCTION pggit.head_branch()
RETURNS pggit.branches
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v pggit.branches;
BEGIN
    SELECT b.* INTO v FROM pggit.branches b WHERE b.id = (SELECT h.branch_id FROM pggit.head h);
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('NOT_INSTALLED', 'pgGit has no HEAD: the engine is not initialised',
                                  'run the Django migrations or SELECT pggit.install()');
    END IF;
    RETURN v;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.head()
RETURNS TABLE (branch text, commit_hash text, tree_hash text, object_count integer, clean boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pggit.capture_flush();
    RETURN QUERY
    SELECT b.name, c.hash, c.tree_hash, t.object_count, NOT EXISTS (SELECT 1 FROM pggit.working)
      FROM pggit.head h
      JOIN pggit.branches b ON b.id = h.branch_id
      JOIN pggit.commits c ON c.hash = b.head_commit
      JOIN pggit.trees t ON t.hash = c.tree_hash;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.active_branch(p_name text)
RETURNS pggit.branches
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v pggit.branches;
BEGIN
    SELECT * INTO v FROM pggit.branches WHERE name = p_name AND status <> 'DELETED';
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('BRANCH_NOT_FOUND', format('branch %L does not exist', p_name),
                                  'SELECT * FROM pggit.branches() lists the branches');
    END IF;
    RETURN v;
END;
$$;

-- Resolves a ref (branch, HEAD, full hash or unique prefix of >= 7 hex digits, with an optional
-- ~N suffix walking first parents) to a commit hash. WORKING is not a commit: see pggit.ref_tree().
CREATE OR REPLACE FUNCTION pggit.resolve_ref(p_ref text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_base text := p_ref;
    v_steps integer := 0;
    v_hash text;
    v_count integer;
BEGIN
    IF p_ref IS NULL OR btrim(p_ref) = '' THEN
        PERFORM pggit.raise_error('INVALID_REF', 'a ref is required (branch, commit hash, HEAD or WORKING)');
    END IF;
    IF p_ref ~ '~[0-9]+$' THEN
        IF p_ref !~ '~[0-9]{1,9}$' THEN
            PERFORM pggit.raise_error('INVALID_REF', format('%L walks back too far', p_ref));
        END IF;
        v_base := substring(p_ref FROM '^(.*)~[0-9]+$');
        v_steps := substring(p_ref FROM '~([0-9]+)$')::integer;
    END IF;
    IF upper(v_base) = 'WORKING' THEN
        PERFORM pggit.raise_error('INVALID_REF', 'WORKING is the live schema, not a commit');
    ELSIF upper(v_base) = 'HEAD' THEN
        v_hash := (pggit.head_branch()).head_commit;
    ELSE
        SELECT head_commit INTO v_hash FROM pggit.branches WHERE name = v_base AND status <> 'DELETED';
        IF v_hash IS NULL AND v_base ~ '^[0-9a-f]{7,64}$' THEN
            SELECT count(*), min(hash) INTO v_count, v_hash
              FROM pggit.commits WHERE hash LIKE v_base || '%';
            IF v_count > 1 THEN
                PERFORM pggit.raise_error('AMBIGUOUS_REF',
                    format('commit prefix %L matches %s commits', v_base, v_count), 'give more digits');
            END IF;
        END IF;
    END IF;
    IF v_hash IS NULL THEN
        PERFORM pggit.raise_error('REF_NOT_FOUND', format('no branch or commit named %L', v_base),
            'a ref is a branch name, HEAD, WORKING, or a commit hash (at least 7 hex digits)');
    END IF;
    FOR i IN 1 .. v_steps LOOP
        SELECT parents[1] INTO v_hash FROM pggit.commits WHERE hash = v_hash;
        IF v_hash IS NULL THEN
            PERFORM pggit.raise_error('REF_NOT_FOUND', format('%s goes past the root commit', p_ref));
        END IF;
    END LOOP;
    RETURN v_hash;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.commit_tree(p_hash text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$ SELECT pggit.tree_entries(c.tree_hash) FROM pggit.commits c WHERE c.hash = p_hash $$;

------------------------------------------------------------------------------------------------
-- Trees and commits
------------------------------------------------------------------------------------------------

-- Per-object difference of two trees (NULL = empty tree).
CREATE OR REPLACE FUNCTION pggit.tree_diff(p_from jsonb, p_to jsonb)
RETURNS TABLE (object_key text, change text, old_blob text, new_blob text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(f.key, t.key),
           CASE WHEN f.key IS NULL THEN 'ADDED' WHEN t.key IS NULL THEN 'REMOVED' ELSE 'MODIFIED' END,
           f.value, t.value
      FROM jsonb_each_text(coalesce(p_from, '{}')) f
      FULL JOIN jsonb_each_text(coalesce(p_to, '{}')) t ON t.key = f.key
     WHERE f.value IS DISTINCT FROM t.value
$$;

-- Kind, schema and name of an object key, read from its blob (keys are not parsed).
CREATE OR REPLACE FUNCTION pggit.object_names(p_key text, p_blob text)
RETURNS TABLE (kind text, schema_name text, object_name text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT b.kind, b.schema_name, b.object_name FROM pggit.blobs b WHERE b.hash = p_blob
$$;

-- One object's blob in a tree (NULL when the tree does not have it).
CREATE OR REPLACE FUNCTION pggit.tree_lookup(p_tree text, p_key text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT st.entries->>p_key FROM pggit.trees t
      JOIN pggit.subtrees st ON st.hash = t.entries->>pggit.tree_shard(p_key)
     WHERE t.hash = p_tree
$$;

-- The changes ({key: new blob, or JSON null when removed}) that turn tree p_from into p_to.
CREATE OR REPLACE FUNCTION pggit.tree_changes_map(p_from jsonb, p_to jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(jsonb_object_agg(object_key, new_blob), '{}') FROM pggit.tree_diff(p_from, p_to)
$$;

-- Creates a commit on a branch and moves the branch to it: the first parent's tree with p_changes
-- ({key: new blob, or JSON null to remove}) applied. The single place that writes commits:
-- commit, auto-commit, merge, revert, reset and undo all go through it.
CREATE OR REPLACE FUNCTION pggit.commit_create(
    p_branch_id bigint, p_changes jsonb, p_parents text[], p_message text, p_author text,
    p_kind text DEFAULT 'commit')
RETURNS pggit.commits
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_branch pggit.branches;
    v_parent_tree text := (SELECT tree_hash FROM pggit.commits WHERE hash = p_parents[1]);
    v_tree text;
    v_now timestamptz := clock_timestamp();
    v_committer text := pggit.current_actor();
    v_author text := coalesce(nullif(btrim(p_author), ''), v_committer);
    v_commit pggit.commits;
BEGIN
    SELECT * INTO v_branch FROM pggit.branches WHERE id = p_branch_id FOR UPDATE;
    v_tree := CASE WHEN v_parent_tree IS NULL THEN pggit.tree_put(jsonb_strip_nulls(p_changes))
                   ELSE pggit.tree_apply(v_parent_tree, p_changes) END;
    INSERT INTO pggit.commits (hash, parents, tree_hash, branch, author, committer, message,
                               committed_at, kind)
    VALUES (pggit.sha256_hex(pggit.commit_payload(p_parents, v_tree, v_branch.name, v_author,
                v_committer, v_now, p_kind, p_message)),
            p_parents, v_tree, v_branch.name, v_author, v_committer, p_message, v_now, p_kind)
    RETURNING * INTO v_commit;
    -- the parent's blob of each changed key, read from the subtrees of the shards touched
    INSERT INTO pggit.commit_changes (commit_id, object_key, kind, schema_name, object_name, change,
                                      old_blob, new_blob)
    WITH ch AS (
        SELECT e.key, e.value, pggit.tree_shard(e.key) AS shard FROM jsonb_each_text(p_changes) e
    ), sub AS (
        -- by key, one index lookup per touched shard (see tree_apply)
        SELECT s.shard,
               (SELECT st.entries FROM pggit.subtrees st
                 WHERE st.hash = (SELECT t.entries->>s.shard FROM pggit.trees t
                                   WHERE t.hash = v_parent_tree)) AS entries
          FROM (SELECT DISTINCT ch.shard FROM ch) s
    ), c AS (
        SELECT ch.key, ch.value, sub.entries->>ch.key AS old_blob
          FROM ch LEFT JOIN sub ON sub.shard = ch.shard
    )
    SELECT v_commit.id, c.key, n.kind, n.schema_name, n.object_name,
           CASE WHEN c.old_blob IS NULL THEN 'ADDED' WHEN c.value IS NULL THEN 'REMOVED'
                ELSE 'MODIFIED' END,
           c.old_blob, c.value
      FROM c
      -- by key (LIMIT 1 keeps it a per-row index lookup: as a join the planner hashed the whole
      -- blobs table for a few changes, a cost growing with history)
      CROSS JOIN LATERAL (SELECT b.kind, b.schema_name, b.object_name FROM pggit.blobs b
                           WHERE b.hash = coalesce(c.value, c.old_blob) LIMIT 1) n
     WHERE c.old_blob IS DISTINCT FROM c.value;
    GET DIAGNOSTICS v_commit.change_count = ROW_COUNT;
    UPDATE pggit.commits SET change_count = v_commit.change_count WHERE id = v_commit.id;
    UPDATE pggit.branches SET head_commit = v_commit.hash, updated_at = v_now WHERE id = p_branch_id;
    PERFORM pggit.emit_event('commit.created', jsonb_build_object(
        'hash', v_commit.hash, 'branch', v_branch.name, 'parents', to_jsonb(p_parents),
        'author', v_author, 'message', p_message, 'kind', p_kind,
        'change_count', v_commit.change_count));
    RETURN v_commit;
END;
$$;

-- The working changes as commit changes: {key: new blob, or JSON null when removed}.
CREATE OR REPLACE FUNCTION pggit.working_changes_map()
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$ SELECT coalesce(jsonb_object_agg(object_key, new_blob), '{}') FROM pggit.working $$;

-- The working changes with the statement that last changed each: the client's message as captured
-- when at most 500 characters (or the engine's own statement text, rescan's reason); a longer one
-- (a script of many statements sent as one message, shared by all its entries) is cut to its first
-- 500 characters and a line "-- (N more characters: the audit log has the whole message)". Each
-- message is read and cut once, not once per change: 30,000 changes of a 500-statement script
-- carried its ~50 KB text on every row.
CREATE OR REPLACE FUNCTION pggit.status()
RETURNS TABLE (object_type text, schema_name text, object_name text, change_type text,
               statement text, actor text, captured_at timestamptz, object_key text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SET jit = off  -- (at 50,000 changes JIT compiled this query for 0.9 s)
-- its sorts (the changes by statement, then by time and key) and the rows it returns in memory: at
-- 4 MB the 50,000 changes of a first status after 10,000 tables wrote ~75 MB of temp files
SET work_mem = '64MB'
AS $$
BEGIN
    PERFORM pggit.capture_flush();
    RETURN QUERY
    WITH entries AS MATERIALIZED (
        SELECT l.id, l.actor, l.query_id, l.statement
          FROM pggit.ddl_log l
         WHERE l.id IN (SELECT w.ddl_id FROM pggit.working w)
    ), messages AS MATERIALIZED (
        -- each message shared by entries read and cut once
        SELECT q.id, left(q.query, 500)
                     || CASE WHEN length(q.query) > 500
                             THEN format(E'\n-- (%s more characters: the audit log has the whole message)',
                                         length(q.query) - 500)
                             ELSE '' END AS text
          FROM pggit.ddl_queries q
         WHERE q.id IN (SELECT e.query_id FROM entries e WHERE e.statement IS NULL)
    ), texts AS MATERIALIZED (
        SELECT e.id, e.actor, coalesce(e.statement, m.text) AS full_text
          FROM entries e
          LEFT JOIN messages m ON m.id = e.query_id AND e.statement IS NULL
    )
    SELECT w.kind, w.schema_name, w.object_name,
           CASE WHEN w.base_blob IS NULL THEN 'ADDED' WHEN w.new_blob IS NULL THEN 'REMOVED'
                ELSE 'MODIFIED' END,
           t.full_text, t.actor, w.captured_at, w.object_key
      FROM pggit.working w
      LEFT JOIN texts t ON t.id = w.ddl_id
     ORDER BY w.captured_at, w.object_key;
END;
$$;

-- Serialises the operations that move HEAD or rewrite the live schema. The loser gets an error at
-- once instead of queueing behind a long checkout.
CREATE OR REPLACE FUNCTION pggit.engine_lock(p_operation text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('pggit.engine')::bigint) THEN
        PERFORM pggit.raise_error('LOCKED',
            format('another checkout, merge, revert or commit is running; %s was not started', p_operation),
            'retry when it has finished');
    END IF;
END;
$$;

-- Commits the working changes on HEAD's branch. Opens its span (pggit.trace_begin) and ends it
-- together with its capture flush in one recording (pggit.record_span).
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
    v_lock_timeout text;
BEGIN
    v_span := pggit.trace_begin('commit', v_started);
    IF p_message IS NULL OR btrim(p_message) = '' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'a commit message is required');
    END IF;
    PERFORM pggit.engine_lock('commit');
    -- The working changes held still until this transaction ends: a flush in another session (a
    -- status read after a DDL transaction that committed after the flush below) waits for the
    -- commit, then records its changes against the new HEAD. Without it, a flush that committed
    -- between the read of the changes below and their removal had its statements marked with
    -- this commit and its working changes removed, though the commit did not hold them. Taken
    -- before the flush, while this transaction holds nothing another one could wait for (after
    -- it, a session that flushed in a transaction still open and then flushed again waited for
    -- the audit rows this flush locked: a deadlock). It waits for the transactions that wrote
    -- working changes and are still open, at most 30 s (or the session's shorter lock_timeout).
    -- (the session's lock_timeout in milliseconds, set back as it was after the lock)
    v_lock_timeout := (SELECT s.setting FROM pg_settings s WHERE s.name = 'lock_timeout');
    IF v_lock_timeout::bigint NOT BETWEEN 1 AND 30000 THEN
        PERFORM set_config('lock_timeout', '30s', true);
    END IF;
    BEGIN
        LOCK TABLE pggit.working IN SHARE MODE;
    EXCEPTION WHEN lock_not_available THEN
        PERFORM pggit.raise_error('LOCKED',
            'another session has working changes it has not committed yet (its transaction read '
            'the status or ran DDL with capture_sync); the commit was not started',
            'end that transaction and retry (pg_locks shows who holds pggit.working)');
    END;
    PERFORM set_config('lock_timeout', v_lock_timeout, true);
    v_flush := pggit.capture_flush_run();
    v_branch := pggit.head_branch();
    PERFORM 1 FROM pggit.working FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('NOTHING_TO_COMMIT',
            format('nothing to commit on %s: the schema equals HEAD', v_branch.name));
    END IF;
    v_commit := pggit.commit_create(v_branch.id, pggit.working_changes_map(),
                                    ARRAY[v_branch.head_commit], btrim(p_message), p_author, 'commit');
    -- (the rows flushed: those of a transaction committed after the flush above are flushed by a
    -- later read, and a row not flushed has no commit, as ddl_log_commit_flushed_idx finds them)
    UPDATE pggit.ddl_log SET commit_id = v_commit.id
     WHERE commit_id IS NULL AND flushed_at IS NOT NULL AND engine_operation IS NULL;
    DELETE FROM pggit.working;
    PERFORM pggit.record_span(v_span, v_flush, 'commit', v_started, v_commit.change_count, 0,
                              v_branch.name);
    RETURN v_commit.hash;
END;
$$;

------------------------------------------------------------------------------------------------
-- Branches
------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pggit.branches()
RETURNS TABLE (name text, head text, parent text, status text, is_head boolean, protected boolean,
               created_by text, created_at timestamptz, base_commit text, description text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT b.name, b.head_commit, b.parent_branch, lower(b.status),
           b.id = (SELECT branch_id FROM pggit.head), b.protected, b.created_by, b.created_at,
           b.base_commit, b.description
      FROM pggit.branches b
     WHERE b.status <> 'DELETED'
     ORDER BY b.name
$$;

-- Creates a branch at p_from_ref. An explicit NULL ref is refused; callers who want HEAD omit the
-- argument.
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

-- Branch operations below (delete, rename, protect) record themselves like every other engine
-- operation (pggit.record_operation).
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
    ELSIF v.name = 'main' AND NOT p_protected THEN
        PERFORM pggit.raise_error('PROTECTED', 'branch main is always protected',
                                  'work on another branch and merge it into main');
    END IF;
    UPDATE pggit.branches SET protected = p_protected, updated_at = now() WHERE id = v.id;
    PERFORM pggit.record_operation('branch_protect', v_started, 0, 0, p_name, true, NULL,
        jsonb_build_object('protected', p_protected));
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
    -- the first entry (in the tree's own key order) that is not a string
    SELECT e.key INTO v_key
      FROM jsonb_each(p_tree) e WHERE jsonb_typeof(e.value) <> 'string' LIMIT 1;
    IF v_key IS NOT NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            format('%s: the entry %L must be a definition hash (a string), not %s', p_name, v_key,
                   p_tree->v_key));
    END IF;
END;
$$;
