-- pgGit engine, part 3: content-addressed storage (blobs, trees), commits, branches, HEAD, the live
-- state that capture keeps, working changes, DDL capture (event trigger functions), status, commit.
-- The event triggers themselves are created by sql/006_install.sql, after every function exists.

-- Canonical definitions, stored once per content hash (sha256 of the definition text).
CREATE TABLE IF NOT EXISTS pggit.blobs (
    hash        text PRIMARY KEY,
    kind        text NOT NULL,
    object_key  text NOT NULL,
    schema_name text,
    object_name text NOT NULL,
    parent_name text,
    definition  text NOT NULL,
    meta        jsonb NOT NULL DEFAULT '{}'
);

-- A tree: the set of (object key -> blob hash) at a commit, stored in two levels so that a commit
-- changing one object writes one small subtree, not the whole schema. Objects fall into one of 256
-- shards (the first two hex digits of md5(key)); a subtree holds one shard's entries, the tree
-- maps shard -> subtree hash. Both are content-addressed (commits with the same schema share
-- rows). subtree hash = sha256 of its sorted "key blob" lines; tree hash = sha256 of its sorted
-- "shard subtree" lines.
CREATE TABLE IF NOT EXISTS pggit.subtrees (
    hash     text PRIMARY KEY,
    entries  jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS pggit.trees (
    hash          text PRIMARY KEY,
    entries       jsonb NOT NULL,
    object_count  integer NOT NULL
);

CREATE TABLE IF NOT EXISTS pggit.commits (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash          text NOT NULL UNIQUE,
    parents       text[] NOT NULL DEFAULT '{}',
    tree_hash     text NOT NULL REFERENCES pggit.trees (hash),
    branch        text NOT NULL,
    author        text NOT NULL,
    committer     text NOT NULL,
    message       text NOT NULL,
    committed_at  timestamptz NOT NULL,
    kind          text NOT NULL DEFAULT 'commit'
                  CHECK (kind IN ('root', 'commit', 'auto', 'merge', 'revert', 'reset', 'undo')),
    change_count  integer NOT NULL DEFAULT 0,
    txid          xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX IF NOT EXISTS commits_committed_at_idx ON pggit.commits (committed_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS commits_branch_idx ON pggit.commits (branch, id DESC);
CREATE INDEX IF NOT EXISTS commits_author_idx ON pggit.commits (author, id DESC);
CREATE INDEX IF NOT EXISTS commits_parents_idx ON pggit.commits USING gin (parents);

-- What each commit changed, per object (the log's object filter, timelines and blame read this).
CREATE TABLE IF NOT EXISTS pggit.commit_changes (
    commit_id    bigint NOT NULL REFERENCES pggit.commits (id) ON DELETE CASCADE,
    object_key   text NOT NULL,
    kind         text NOT NULL,
    schema_name  text,
    object_name  text NOT NULL,
    change       text NOT NULL CHECK (change IN ('ADDED', 'MODIFIED', 'REMOVED')),
    old_blob     text REFERENCES pggit.blobs (hash),
    new_blob     text REFERENCES pggit.blobs (hash),
    PRIMARY KEY (commit_id, object_key)
);
CREATE INDEX IF NOT EXISTS commit_changes_object_idx ON pggit.commit_changes (object_key, commit_id DESC);

CREATE TABLE IF NOT EXISTS pggit.branches (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL,
    head_commit    text NOT NULL REFERENCES pggit.commits (hash),
    parent_branch  text,
    base_commit    text REFERENCES pggit.commits (hash),
    status         text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'MERGED', 'DELETED')),
    protected      boolean NOT NULL DEFAULT false,
    description    text,
    created_by     text NOT NULL DEFAULT pggit.current_actor(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);
-- A name is unique among branches that are not deleted; deleted ones stay for the history.
CREATE UNIQUE INDEX IF NOT EXISTS branches_live_name_idx ON pggit.branches (name)
    WHERE status <> 'DELETED';

-- HEAD: the branch whose tree the live schema is. One row, shared by every connection.
CREATE TABLE IF NOT EXISTS pggit.head (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    branch_id   bigint NOT NULL REFERENCES pggit.branches (id),
    moved_at    timestamptz NOT NULL DEFAULT now(),
    moved_by    text NOT NULL DEFAULT pggit.current_actor()
);

-- What capture knows of the live schema: one row per tracked object, with the catalog row it hangs
-- off (its anchor). Invariant: live_state = HEAD's tree + working changes.
CREATE TABLE IF NOT EXISTS pggit.live_state (
    object_key      text PRIMARY KEY,
    kind            text NOT NULL,
    schema_name     text,
    object_name     text NOT NULL,
    parent_name     text,
    blob_hash       text NOT NULL REFERENCES pggit.blobs (hash),
    anchor_classid  oid NOT NULL,
    anchor_objid    oid NOT NULL
);
CREATE INDEX IF NOT EXISTS live_state_anchor_idx ON pggit.live_state (anchor_classid, anchor_objid);
CREATE INDEX IF NOT EXISTS live_state_name_idx ON pggit.live_state (kind, schema_name, object_name);

-- The statement texts seen by capture (a multi-statement script is stored once, not once per DDL).
CREATE TABLE IF NOT EXISTS pggit.ddl_queries (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    md5    text NOT NULL,
    query  text NOT NULL
);

-- The raw DDL audit trail: one row per captured DDL command, with who ran it.
CREATE TABLE IF NOT EXISTS pggit.ddl_log (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    query_id          bigint REFERENCES pggit.ddl_queries (id),
    statement         text,
    command_tag       text NOT NULL,
    targets           jsonb NOT NULL DEFAULT '[]',  -- what the statement named: [{type, identity}]
    anchors           jsonb NOT NULL DEFAULT '[]',  -- catalog rows to re-read: [[classid, objid]]
    objects           jsonb NOT NULL DEFAULT '[]',  -- definitions it changed: [{key, change, blob}]
    flushed_at        timestamptz,                  -- when its anchors were re-read
    capture_ms        double precision,             -- time the synchronous capture took
    role_name         text NOT NULL DEFAULT current_user,
    session_role      text NOT NULL DEFAULT session_user,
    application_name  text,
    client_addr       inet,
    txid              xid8 NOT NULL DEFAULT pg_current_xact_id(),
    backend_pid       integer NOT NULL DEFAULT pg_backend_pid(),
    actor             text,
    branch            text,
    engine_operation  text,
    captured_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    commit_id         bigint REFERENCES pggit.commits (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS ddl_log_captured_at_idx ON pggit.ddl_log (captured_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS ddl_log_uncommitted_idx ON pggit.ddl_log (id) WHERE commit_id IS NULL;
CREATE INDEX IF NOT EXISTS ddl_log_unflushed_idx ON pggit.ddl_log (id) WHERE flushed_at IS NULL;

-- Working changes: one row per object whose live definition differs from HEAD's tree.
CREATE TABLE IF NOT EXISTS pggit.working (
    object_key   text PRIMARY KEY,
    kind         text NOT NULL,
    schema_name  text,
    object_name  text NOT NULL,
    parent_name  text,
    base_blob    text REFERENCES pggit.blobs (hash),
    new_blob     text REFERENCES pggit.blobs (hash),
    ddl_id       bigint REFERENCES pggit.ddl_log (id),
    captured_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Capture failures (lenient mode): the DDL went through, the failure is kept here.
CREATE TABLE IF NOT EXISTS pggit.capture_errors (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    sqlstate     text NOT NULL,
    message      text NOT NULL,
    detail       text,
    context      text,
    command_tag  text,
    statement    text,
    role_name    text NOT NULL DEFAULT current_user,
    actor        text
);

------------------------------------------------------------------------------------------------
-- Small helpers
------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pggit.sha256_hex(p_text text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog
AS $$ SELECT encode(sha256(convert_to(p_text, 'UTF8')), 'hex') $$;

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
    WITH ch AS (
        SELECT pggit.tree_shard(key) AS shard, key, value FROM jsonb_each(p_changes)
    ), touched AS (
        SELECT DISTINCT shard FROM ch
    ), merged AS (
        SELECT t.shard,
               (coalesce(st.entries, '{}')
                  - coalesce((SELECT array_agg(key) FROM ch WHERE ch.shard = t.shard), '{}'))
               || coalesce((SELECT jsonb_object_agg(key, value) FROM ch
                             WHERE ch.shard = t.shard AND jsonb_typeof(value) <> 'null'), '{}') AS sub,
               (SELECT count(*) FROM jsonb_object_keys(coalesce(st.entries, '{}'))) AS before
          FROM touched t
          LEFT JOIN pggit.subtrees st ON st.hash = v_tree.entries->>t.shard
    )
    SELECT jsonb_object_agg(shard, sub),
           sum((SELECT count(*) FROM jsonb_object_keys(sub)) - before)::integer
      INTO v_new, v_delta
      FROM merged;
    RETURN pggit.tree_store(v_tree.entries, v_new, v_tree.object_count + coalesce(v_delta, 0));
END;
$$;

-- The full {key: blob} map of a tree.
CREATE OR REPLACE FUNCTION pggit.tree_entries(p_tree text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}')
      FROM pggit.trees t, jsonb_each_text(t.entries) s
      JOIN pggit.subtrees st ON st.hash = s.value, jsonb_each(st.entries) e
     WHERE t.hash = p_tree
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
    SELECT b.* INTO v FROM pggit.head h JOIN pggit.branches b ON b.id = h.branch_id;
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
-- Live state maintenance (capture's memory of the live schema)
------------------------------------------------------------------------------------------------

-- Re-reads the given anchors from the catalogs, compares with live_state and applies the difference.
-- Returns one row per object whose definition changed: key, change, old and new blob.
CREATE OR REPLACE FUNCTION pggit.refresh_anchors(p_anchors jsonb)
RETURNS TABLE (object_key text, kind text, schema_name text, object_name text, parent_name text,
               change text, old_blob text, new_blob text, anchor_classid oid, anchor_objid oid)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH req AS (
        SELECT DISTINCT (a->>0)::oid AS classid, (a->>1)::oid AS objid
          FROM jsonb_array_elements(p_anchors) a
    ), fresh AS (
        SELECT DISTINCT ON (o.object_key) o.*
          FROM req, LATERAL pggit.anchor_objects(req.classid, req.objid) o
    ), covered AS (
        SELECT classid, objid FROM req
        UNION SELECT anchor_classid, anchor_objid FROM fresh
    ), old AS (
        SELECT l.* FROM pggit.live_state l
          JOIN covered c ON c.classid = l.anchor_classid AND c.objid = l.anchor_objid
    ), fresh_hashed AS (
        SELECT f.*, pggit.blob_put(f::pggit.catalog_object) AS blob FROM fresh f
    )
    SELECT coalesce(f.object_key, o.object_key), coalesce(f.kind, o.kind),
           coalesce(f.schema_name, o.schema_name), coalesce(f.object_name, o.object_name),
           coalesce(f.parent_name, o.parent_name),
           CASE WHEN o.object_key IS NULL THEN 'ADDED' WHEN f.object_key IS NULL THEN 'REMOVED'
                ELSE 'MODIFIED' END,
           o.blob_hash, f.blob, f.anchor_classid, f.anchor_objid
      FROM fresh_hashed f
      FULL JOIN old o ON o.object_key = f.object_key
     WHERE o.blob_hash IS DISTINCT FROM f.blob
        OR o.anchor_objid IS DISTINCT FROM f.anchor_objid;
END;
$$;

-- Applies a set of changes (from refresh_anchors) to live_state, and to the working changes when
-- p_record is true. Returns the changes as a JSON array for the audit row.
CREATE OR REPLACE FUNCTION pggit.apply_live_changes(p_anchors jsonb, p_record boolean, p_ddl_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    r record;
    v_out jsonb := '[]';
BEGIN
    FOR r IN SELECT * FROM pggit.refresh_anchors(p_anchors) LOOP
        IF r.new_blob IS NULL THEN
            DELETE FROM pggit.live_state WHERE object_key = r.object_key;
        ELSE
            INSERT INTO pggit.live_state (object_key, kind, schema_name, object_name, parent_name,
                                          blob_hash, anchor_classid, anchor_objid)
            VALUES (r.object_key, r.kind, r.schema_name, r.object_name, r.parent_name, r.new_blob,
                    r.anchor_classid, r.anchor_objid)
            ON CONFLICT (object_key) DO UPDATE
               SET blob_hash = EXCLUDED.blob_hash, kind = EXCLUDED.kind,
                   schema_name = EXCLUDED.schema_name, object_name = EXCLUDED.object_name,
                   parent_name = EXCLUDED.parent_name, anchor_classid = EXCLUDED.anchor_classid,
                   anchor_objid = EXCLUDED.anchor_objid;
        END IF;
        IF r.old_blob IS DISTINCT FROM r.new_blob THEN
            v_out := v_out || jsonb_build_object('key', r.object_key, 'kind', r.kind,
                'schema', r.schema_name, 'name', r.object_name, 'change', r.change, 'blob', r.new_blob);
            IF p_record THEN
                PERFORM pggit.working_note(r.object_key, r.kind, r.schema_name, r.object_name,
                                           r.parent_name, r.old_blob, r.new_blob, p_ddl_id);
            END IF;
        END IF;
    END LOOP;
    RETURN v_out;
END;
$$;

-- Records one object's change in the working set. base_blob is HEAD's definition: the live one
-- before the first change since HEAD (live_state = HEAD + working). A change back to HEAD's
-- definition removes the row: the object is clean again.
CREATE OR REPLACE FUNCTION pggit.working_note(
    p_key text, p_kind text, p_schema text, p_name text, p_parent text,
    p_old_blob text, p_new_blob text, p_ddl_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_base text;
BEGIN
    SELECT base_blob INTO v_base FROM pggit.working WHERE object_key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        v_base := p_old_blob;
    END IF;
    IF v_base IS NOT DISTINCT FROM p_new_blob THEN
        DELETE FROM pggit.working WHERE object_key = p_key;
        RETURN;
    END IF;
    INSERT INTO pggit.working (object_key, kind, schema_name, object_name, parent_name,
                               base_blob, new_blob, ddl_id, captured_at)
    VALUES (p_key, p_kind, p_schema, p_name, p_parent, v_base, p_new_blob, p_ddl_id, clock_timestamp())
    ON CONFLICT (object_key) DO UPDATE
       SET new_blob = EXCLUDED.new_blob, ddl_id = EXCLUDED.ddl_id, captured_at = EXCLUDED.captured_at,
           kind = EXCLUDED.kind, schema_name = EXCLUDED.schema_name,
           object_name = EXCLUDED.object_name, parent_name = EXCLUDED.parent_name;
END;
$$;

------------------------------------------------------------------------------------------------
-- Capture
------------------------------------------------------------------------------------------------

-- 'on' (record working changes), 'engine' (the engine applies DDL: keep live_state only) or 'off'.
CREATE OR REPLACE FUNCTION pggit.capture_state()
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_tx text := current_setting('pggit.capture', true);
BEGIN
    IF v_tx = 'engine' THEN
        RETURN 'engine';
    END IF;
    IF v_tx = 'off' OR coalesce((pggit.config_get('capture_enabled'))::boolean, true) = false THEN
        RETURN 'off';
    END IF;
    RETURN 'on';
END;
$$;

CREATE OR REPLACE FUNCTION pggit.set_capture(p_enabled boolean, p_scope text DEFAULT 'transaction')
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_was boolean := coalesce((pggit.config_get('capture_enabled'))::boolean, true);
    v_found integer;
BEGIN
    IF p_enabled IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'enabled must be true or false');
    END IF;
    IF p_scope = 'transaction' THEN
        PERFORM set_config('pggit.capture', CASE WHEN p_enabled THEN 'on' ELSE 'off' END, true);
        RETURN format('capture %s for this transaction', CASE WHEN p_enabled THEN 'on' ELSE 'off' END);
    ELSIF p_scope = 'global' THEN
        PERFORM pggit.config_set('capture_enabled', to_jsonb(p_enabled));
        IF p_enabled AND NOT v_was THEN
            v_found := pggit.rescan('(changed while capture was off)');
            RETURN format('capture on globally; %s change(s) made while it was off were recorded', v_found);
        END IF;
        RETURN format('capture %s globally', CASE WHEN p_enabled THEN 'on' ELSE 'off' END);
    END IF;
    PERFORM pggit.raise_error('INVALID_ARGUMENT', format('scope %L is not transaction or global', p_scope));
    RETURN NULL;
END;
$$;

-- Compares the whole live schema with live_state and records every difference as a working change
-- (used after capture was off, and by operators to heal after a recorded capture failure).
CREATE OR REPLACE FUNCTION pggit.rescan(p_reason text DEFAULT '(rescan)')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_anchors jsonb;
    v_ddl_id bigint;
    v_changes jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(DISTINCT jsonb_build_array(a.classid, a.objid)), '[]') INTO v_anchors
      FROM (SELECT anchor_classid AS classid, anchor_objid AS objid FROM pggit.live_objects()
            UNION SELECT anchor_classid, anchor_objid FROM pggit.live_state) a;
    PERFORM pggit.capture_flush();
    INSERT INTO pggit.ddl_log (statement, command_tag, application_name, client_addr, actor, branch,
                               flushed_at)
    VALUES (p_reason, 'RESCAN', current_setting('application_name', true), inet_client_addr(),
            pggit.current_actor(), (pggit.head_branch()).name, clock_timestamp())
    RETURNING id INTO v_ddl_id;
    v_changes := pggit.apply_live_changes(v_anchors, true, v_ddl_id);
    UPDATE pggit.ddl_log SET objects = v_changes WHERE id = v_ddl_id;
    IF jsonb_array_length(v_changes) = 0 THEN
        DELETE FROM pggit.ddl_log WHERE id = v_ddl_id;
    END IF;
    RETURN jsonb_array_length(v_changes);
END;
$$;

-- Anchors touched by this statement and not seen by ddl_command_end (drops), passed from the
-- sql_drop trigger through a transaction-local setting.
CREATE OR REPLACE FUNCTION pggit.pending_anchors_push(p_anchors jsonb)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    SELECT set_config('pggit.pending_anchors',
        (coalesce(nullif(current_setting('pggit.pending_anchors', true), ''), '[]')::jsonb || p_anchors)::text,
        true)
$$;

CREATE OR REPLACE FUNCTION pggit.on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_anchors jsonb;
BEGIN
    IF pggit.capture_state() = 'off' THEN
        RETURN;
    END IF;
    -- A dropped anchor (table, view, function, type...) is found by its oid; a dropped sub-object
    -- (index, constraint, trigger, policy) by its name, and then its anchor is re-read.
    SELECT jsonb_agg(DISTINCT jsonb_build_array(l.anchor_classid, l.anchor_objid)) INTO v_anchors
      FROM pg_event_trigger_dropped_objects() d
      JOIN pggit.live_state l
        ON (l.anchor_classid = d.classid AND l.anchor_objid = d.objid)
        OR (d.object_type = 'index' AND l.kind = 'index'
            AND l.schema_name = d.address_names[1] AND l.object_name = d.address_names[2])
        OR (d.object_type IN ('table constraint', 'trigger', 'policy')
            AND l.kind = CASE d.object_type WHEN 'table constraint' THEN 'constraint' ELSE d.object_type END
            AND l.schema_name = d.address_names[1] AND l.parent_name = d.address_names[2]
            AND l.object_name = d.address_names[3]);
    IF v_anchors IS NOT NULL THEN
        PERFORM pggit.pending_anchors_push(v_anchors);
    END IF;
    PERFORM set_config('pggit.pending_dropped',
        (coalesce(nullif(current_setting('pggit.pending_dropped', true), ''), '[]')::jsonb
         || coalesce((SELECT jsonb_agg(jsonb_build_object('type', d.object_type, 'identity',
                          d.object_identity, 'change', 'dropped'))
                        FROM pg_event_trigger_dropped_objects() d
                       WHERE d.original AND (d.schema_name IS NULL
                                             OR pggit.is_tracked_schema(d.schema_name))), '[]'))::text,
        true);
EXCEPTION WHEN OTHERS THEN
    PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, 'sql_drop');
END;
$$;

-- Records a capture failure; re-raises in strict mode.
CREATE OR REPLACE FUNCTION pggit.capture_failed(p_sqlstate text, p_message text, p_tag text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF pggit.config_get('capture_mode') = '"strict"' THEN
        RAISE EXCEPTION USING
            MESSAGE = format('[PGGIT-CAPTURE_FAILED] capture failed (strict mode): %s', p_message),
            ERRCODE = p_sqlstate;
    END IF;
    INSERT INTO pggit.capture_errors (sqlstate, message, command_tag, statement, actor)
    VALUES (p_sqlstate, p_message, p_tag, left(current_query(), 10000), pggit.current_actor());
    RAISE WARNING 'pgGit: capture of this % failed and was recorded (%); run SELECT pggit.rescan() to resync',
        coalesce(p_tag, 'statement'), p_message;
END;
$$;

-- The text of the statement being captured: the engine sets pggit.statement for the DDL it runs;
-- otherwise the client's query (stored once per distinct text).
CREATE OR REPLACE FUNCTION pggit.capture_query_id()
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_query text := current_query();
    v_md5 text := md5(v_query);
    v_cached text := current_setting('pggit.last_query', true);
    v_id bigint;
BEGIN
    IF v_cached LIKE v_md5 || ':%' THEN
        RETURN split_part(v_cached, ':', 2)::bigint;
    END IF;
    INSERT INTO pggit.ddl_queries (md5, query) VALUES (v_md5, v_query) RETURNING id INTO v_id;
    PERFORM set_config('pggit.last_query', v_md5 || ':' || v_id, true);
    RETURN v_id;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.on_ddl_command_end()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_state text := pggit.capture_state();
    v_tag text := tg_tag;
BEGIN
    IF v_state = 'off' THEN
        PERFORM set_config('pggit.pending_anchors', '', true);
        PERFORM set_config('pggit.pending_dropped', '', true);
        RETURN;
    END IF;
    PERFORM pggit.capture_command(v_state, v_tag);
EXCEPTION WHEN OTHERS THEN
    PERFORM set_config('pggit.pending_anchors', '', true);
    PERFORM set_config('pggit.pending_dropped', '', true);
    IF v_state = 'engine' THEN
        RAISE;  -- the engine's own apply step must never go unrecorded
    END IF;
    PERFORM pggit.capture_failed(SQLSTATE, SQLERRM, v_tag);
END;
$$;

-- What a DDL command touched, from one read of pg_event_trigger_ddl_commands(): the identities it
-- named (for the audit row and the event) and the catalog rows to re-read, resolved cheaply to
-- the row that owns them (an index, constraint, trigger, policy, default or rewrite rule to its
-- table; a domain constraint to its domain). Only tracked schemas; never members of extensions.
CREATE OR REPLACE FUNCTION pggit.command_capture(OUT anchors jsonb, OUT targets jsonb)
LANGUAGE plpgsql  -- not sql: PL/pgSQL keeps the plan across calls (this runs on every DDL)
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    WITH cmd AS (
        SELECT c.* FROM pg_event_trigger_ddl_commands() c
          LEFT JOIN pg_namespace n ON c.classid = 'pg_namespace'::regclass AND n.oid = c.objid
         WHERE NOT c.in_extension
           AND pggit.is_tracked_schema(coalesce(c.schema_name, n.nspname, 'public'))
    )
    SELECT jsonb_agg(DISTINCT jsonb_build_array(
               CASE WHEN con.contypid <> 0 THEN 'pg_type'::regclass::oid
                    WHEN i.indrelid IS NOT NULL OR con.oid IS NOT NULL OR tg.oid IS NOT NULL
                         OR pol.oid IS NOT NULL OR ad.oid IS NOT NULL OR rw.oid IS NOT NULL
                    THEN 'pg_class'::regclass::oid
                    ELSE c.classid END,
               coalesce(i.indrelid, nullif(con.conrelid, 0), nullif(con.contypid, 0), tg.tgrelid,
                        pol.polrelid, ad.adrelid, rw.ev_class, c.objid))),
           coalesce(jsonb_agg(jsonb_build_object('type', c.object_type, 'identity', c.object_identity,
                                                 'change', lower(split_part(c.command_tag, ' ', 1))))
                    FILTER (WHERE c.object_identity IS NOT NULL), '[]')
      INTO anchors, targets
      FROM cmd c
      LEFT JOIN pg_index i ON c.classid = 'pg_class'::regclass AND i.indexrelid = c.objid
      LEFT JOIN pg_constraint con ON c.classid = 'pg_constraint'::regclass AND con.oid = c.objid
      LEFT JOIN pg_trigger tg ON c.classid = 'pg_trigger'::regclass AND tg.oid = c.objid
      LEFT JOIN pg_policy pol ON c.classid = 'pg_policy'::regclass AND pol.oid = c.objid
      LEFT JOIN pg_attrdef ad ON c.classid = 'pg_attrdef'::regclass AND ad.oid = c.objid
      LEFT JOIN pg_rewrite rw ON c.classid = 'pg_rewrite'::regclass AND rw.oid = c.objid;
END;
$$;

-- Capture, synchronous part (runs inside the user's DDL, so it stays cheap): one audit row with
-- the statement, who ran it and the catalog rows it touched, a ddl.captured event, the timing.
-- Reading the canonical definitions of those rows is deferred to pggit.capture_flush(), which
-- every reader of the working state calls first (status, commit, checkout, ...), batching and
-- de-duplicating the work of many statements. capture_sync (or auto_commit) flushes at once.
CREATE OR REPLACE FUNCTION pggit.capture_command(p_state text, p_tag text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_anchors jsonb;
    v_targets jsonb;
    v_pending text := nullif(current_setting('pggit.pending_anchors', true), '');
    v_dropped jsonb := coalesce(nullif(current_setting('pggit.pending_dropped', true), ''), '[]')::jsonb;
    v_actor text := pggit.current_actor();
    v_statement text := nullif(current_setting('pggit.statement', true), '');
    v_ddl_id bigint;
    v_branch text;
BEGIN
    SELECT c.anchors, c.targets || v_dropped INTO v_anchors, v_targets FROM pggit.command_capture() c;
    IF v_pending IS NOT NULL THEN
        v_anchors := coalesce(v_anchors, '[]') || v_pending::jsonb;
        PERFORM set_config('pggit.pending_anchors', '', true);
    END IF;
    PERFORM set_config('pggit.pending_dropped', '', true);
    IF v_anchors IS NULL AND jsonb_array_length(v_dropped) = 0 THEN
        RETURN;  -- nothing tracked was touched
    END IF;
    SELECT b.name INTO v_branch FROM pggit.head h JOIN pggit.branches b ON b.id = h.branch_id;
    INSERT INTO pggit.ddl_log (query_id, statement, command_tag, targets, anchors, application_name,
                               client_addr, actor, branch, engine_operation)
    VALUES (CASE WHEN v_statement IS NULL THEN pggit.capture_query_id() END, v_statement, p_tag,
            v_targets, coalesce(v_anchors, '[]'), current_setting('application_name', true),
            inet_client_addr(), v_actor, v_branch,
            nullif(current_setting('pggit.operation', true), ''))
    RETURNING id INTO v_ddl_id;
    IF p_state = 'on' THEN
        PERFORM pggit.emit_event('ddl.captured', jsonb_build_object(
            'ddl_id', v_ddl_id, 'command_tag', p_tag, 'branch', v_branch, 'role', current_user,
            'actor', v_actor, 'application_name', current_setting('application_name', true),
            'objects', v_targets));
        IF coalesce((pggit.config_get('auto_commit'))::boolean, false) THEN
            PERFORM pggit.capture_flush();
            PERFORM pggit.auto_commit(v_ddl_id);
        ELSIF coalesce((pggit.config_get('capture_sync'))::boolean, false) THEN
            PERFORM pggit.capture_flush();
        END IF;
    END IF;
    -- the operation log gets one 'capture' row per flush (see capture_flush); each statement's own
    -- capture time stays on its audit row
    UPDATE pggit.ddl_log SET capture_ms = extract(epoch FROM clock_timestamp() - v_started) * 1000.0
     WHERE id = v_ddl_id;
END;
$$;

-- Capture, deferred part: re-reads the catalog rows of every captured statement not flushed yet
-- (each row once, attributed to the last statement that touched it), updates the live state and,
-- for users' statements, the working changes. Returns how many statements it flushed.
CREATE OR REPLACE FUNCTION pggit.capture_flush()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_ids bigint[];
    v_objects integer := 0;
    g record;
BEGIN
    IF current_setting('transaction_read_only') = 'on' THEN
        RETURN 0;
    END IF;
    SELECT array_agg(id ORDER BY id) INTO v_ids
      FROM (SELECT id FROM pggit.ddl_log WHERE flushed_at IS NULL ORDER BY id FOR UPDATE) l;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    -- anchors of each statement; after ALTER/COMMENT also the anchors whose text names them
    FOR g IN
        WITH touched AS (
            SELECT l.id, l.engine_operation IS NULL AS record, a.value AS anchor
              FROM pggit.ddl_log l, jsonb_array_elements(l.anchors) a
             WHERE l.id = ANY (v_ids)
            UNION ALL
            SELECT l.id, l.engine_operation IS NULL, jsonb_build_array(d.classid, d.objid)
              FROM pggit.ddl_log l, jsonb_array_elements(l.anchors) a,
                   LATERAL pggit.anchor_dependents((a->>0)::oid, (a->>1)::oid) d
             WHERE l.id = ANY (v_ids)
               AND (l.command_tag LIKE 'ALTER %' OR l.command_tag LIKE 'COMMENT%')
        ), last_touch AS (
            SELECT DISTINCT ON (anchor) anchor, id, record FROM touched ORDER BY anchor, id DESC
        )
        SELECT id, record, jsonb_agg(anchor) AS anchors FROM last_touch GROUP BY id, record ORDER BY id
    LOOP
        UPDATE pggit.ddl_log SET objects = pggit.apply_live_changes(g.anchors, g.record, g.id)
         WHERE id = g.id
        RETURNING v_objects + jsonb_array_length(objects) INTO v_objects;
    END LOOP;
    UPDATE pggit.ddl_log SET flushed_at = clock_timestamp() WHERE id = ANY (v_ids);
    PERFORM pggit.record_operation('capture', v_started, v_objects, cardinality(v_ids),
        (SELECT b.name FROM pggit.head h JOIN pggit.branches b ON b.id = h.branch_id), true, NULL,
        jsonb_build_object('statements', cardinality(v_ids),
            'capture_ms', (SELECT sum(capture_ms) FROM pggit.ddl_log WHERE id = ANY (v_ids))));
    RETURN cardinality(v_ids);
END;
$$;

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
    INSERT INTO pggit.commit_changes (commit_id, object_key, kind, schema_name, object_name, change,
                                      old_blob, new_blob)
    SELECT v_commit.id, c.key, n.kind, n.schema_name, n.object_name,
           CASE WHEN c.old_blob IS NULL THEN 'ADDED' WHEN c.value IS NULL THEN 'REMOVED'
                ELSE 'MODIFIED' END,
           c.old_blob, c.value
      FROM (SELECT e.key, e.value, pggit.tree_lookup(v_parent_tree, e.key) AS old_blob
              FROM jsonb_each_text(p_changes) e) c,
           LATERAL pggit.object_names(c.key, coalesce(c.value, c.old_blob)) n
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

CREATE OR REPLACE FUNCTION pggit.status()
RETURNS TABLE (object_type text, schema_name text, object_name text, change_type text,
               statement text, actor text, captured_at timestamptz, object_key text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pggit.capture_flush();
    RETURN QUERY
    SELECT w.kind, w.schema_name, w.object_name,
           CASE WHEN w.base_blob IS NULL THEN 'ADDED' WHEN w.new_blob IS NULL THEN 'REMOVED'
                ELSE 'MODIFIED' END,
           coalesce(l.statement, q.query), l.actor, w.captured_at, w.object_key
      FROM pggit.working w
      LEFT JOIN pggit.ddl_log l ON l.id = w.ddl_id
      LEFT JOIN pggit.ddl_queries q ON q.id = l.query_id
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

-- auto_commit: each DDL transaction becomes one commit. Later DDL of the same transaction amends
-- the commit that transaction made (nobody else can have seen it yet).
CREATE OR REPLACE FUNCTION pggit.auto_commit(p_ddl_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_branch pggit.branches := pggit.head_branch();
    v_prev pggit.commits;
    v_parents text[] := ARRAY[v_branch.head_commit];
    v_commit pggit.commits;
    v_changes jsonb := pggit.working_changes_map();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pggit.working) THEN
        RETURN;
    END IF;
    SELECT * INTO v_prev FROM pggit.commits WHERE hash = v_branch.head_commit;
    IF v_prev.kind = 'auto' AND v_prev.txid = pg_current_xact_id() THEN
        v_parents := v_prev.parents;
        v_changes := coalesce((SELECT jsonb_object_agg(object_key, new_blob) FROM pggit.commit_changes
                                WHERE commit_id = v_prev.id), '{}') || v_changes;
        UPDATE pggit.branches SET head_commit = v_prev.parents[1] WHERE id = v_branch.id;
        UPDATE pggit.ddl_log SET commit_id = NULL WHERE commit_id = v_prev.id;
        DELETE FROM pggit.events WHERE type = 'commit.created' AND data->>'hash' = v_prev.hash
                                   AND txid = pg_current_xact_id();
        DELETE FROM pggit.commits WHERE id = v_prev.id;
    END IF;
    v_commit := pggit.commit_create(v_branch.id, v_changes, v_parents,
        'auto-commit: ' || coalesce((SELECT string_agg(DISTINCT command_tag, ', ') FROM pggit.ddl_log
                                      WHERE commit_id IS NULL AND txid = pg_current_xact_id()), 'DDL'),
        NULL, 'auto');
    UPDATE pggit.ddl_log SET commit_id = v_commit.id WHERE commit_id IS NULL AND engine_operation IS NULL;
    DELETE FROM pggit.working;
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
    IF EXISTS (SELECT 1 FROM pggit.branches WHERE name = p_name AND status <> 'DELETED') THEN
        PERFORM pggit.raise_error('BRANCH_EXISTS', format('branch %L already exists', p_name));
    END IF;
    v_commit := pggit.resolve_ref(coalesce(p_from_ref, 'HEAD'));
    v_parent := CASE WHEN upper(coalesce(p_from_ref, 'HEAD')) = 'HEAD' THEN (pggit.head_branch()).name
                     ELSE (SELECT b.name FROM pggit.branches b
                            WHERE b.name = p_from_ref AND b.status <> 'DELETED') END;
    INSERT INTO pggit.branches (name, head_commit, parent_branch, base_commit, description)
    VALUES (p_name, v_commit, v_parent, v_commit, p_description);
    PERFORM pggit.emit_event('branch.created', jsonb_build_object(
        'branch', p_name, 'commit', v_commit, 'from', coalesce(p_from_ref, 'HEAD')));
    PERFORM pggit.record_operation('branch_create', v_started, 0, 0, p_name);
    RETURN v_commit;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.branch_delete(p_name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
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
END;
$$;

CREATE OR REPLACE FUNCTION pggit.branch_rename(p_old text, p_new text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
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
END;
$$;

CREATE OR REPLACE FUNCTION pggit.branch_protect(p_name text, p_protected boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v pggit.branches := pggit.active_branch(p_name);
BEGIN
    IF p_protected IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'protected must be true or false');
    END IF;
    UPDATE pggit.branches SET protected = p_protected, updated_at = now() WHERE id = v.id;
END;
$$;
