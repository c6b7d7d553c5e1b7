-- Version control: blobs, trees, commits, branches, HEAD, the live state, capture's audit trail
-- and working changes.

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
    blob_hash       text NOT NULL,  -- a pggit.blobs hash (no foreign key: see pggit.working)
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
    -- pggit.ddl_queries.id; no foreign key: capture writes the statement text in the same
    -- statement as the row (and never deletes it), and the check cost a lookup per captured DDL
    query_id          bigint,
    statement         text,
    command_tag       text NOT NULL,
    targets           jsonb NOT NULL DEFAULT '[]',  -- what the statement named: [{type, identity}]
    anchors           jsonb NOT NULL DEFAULT '[]',  -- catalog rows to re-read: [[classid, objid]]
    objects           jsonb NOT NULL DEFAULT '[]',  -- definitions it changed: [{key, change, blob}]
    flushed_at        timestamptz,                  -- when its anchors were re-read
    capture_ms        double precision,             -- time the synchronous capture took
    -- who ran it: SET ROLE's role, else the session's user (current_user, inside capture's
    -- SECURITY DEFINER triggers, is the engine's owner)
    role_name         text NOT NULL DEFAULT pggit.invoking_role(),
    session_role      text NOT NULL DEFAULT session_user,
    application_name  text,
    client_addr       inet,
    txid              xid8 NOT NULL DEFAULT pg_current_xact_id(),
    backend_pid       integer NOT NULL DEFAULT pg_backend_pid(),
    actor             text,
    branch            text,
    engine_operation  text,
    captured_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- pggit.commits.id; no foreign key, as for query_id: capture writes a row per statement and
    -- the check was queued and run for each (commits are never deleted but by auto_commit, which
    -- clears this column first)
    commit_id         bigint
);

CREATE INDEX IF NOT EXISTS ddl_log_captured_at_idx ON pggit.ddl_log (captured_at DESC, id DESC);

-- A commit's rows (commit_id), the rows not committed yet (commit_id NULL) and, among those, the
-- rows not flushed yet (flushed_at NULL too), all in id order, by one index: a row is committed
-- only once it is flushed (pggit.commit and pggit.auto_commit set commit_id on flushed rows only),
-- so every row not flushed has no commit. One plain index, not partial ones nor one per question:
-- capture writes a row per statement, every INSERT into a table with a partial index copies and
-- prepares the index's predicate again, and each index costs that INSERT ~10 k instructions.
CREATE INDEX IF NOT EXISTS ddl_log_commit_flushed_idx ON pggit.ddl_log (commit_id, flushed_at, id);

-- The data of a ddl.captured event (docs/api.md, the events), as pggit.ddl_captured_data builds it
-- from an audit row: to_jsonb of a row of this type names its fields once for all events, where
-- jsonb_build_object looked up the type of each of its fourteen arguments for every event.
DO $$
BEGIN
    IF to_regtype('pggit.ddl_captured_event') IS NULL THEN
        CREATE TYPE pggit.ddl_captured_event AS (
            ddl_id           bigint,
            command_tag      text,
            branch           text,
            role             text,
            actor            text,
            application_name text,
            objects          jsonb
        );
    END IF;
END;
$$;

-- Working changes: one row per object whose live definition differs from HEAD's tree.
-- No foreign keys here nor on live_state.blob_hash: the capture flush writes these rows with one
-- INSERT each, set-based, and the checks ran one row at a time, a lookup and a row lock each (about
-- a fifth of the first status after a large load: 3 s of 15 at 10,000 tables). Only the engine
-- writes these rows; it stores every definition (pggit.blobs, never deleted) before the rows naming
-- it, in the same statement, and an audit row before the working rows naming it (the audit log
-- keeps its rows; rescan deletes only its own row when it found no change, which no working row
-- names), as ddl_log.query_id is kept without one.
CREATE TABLE IF NOT EXISTS pggit.working (
    object_key   text PRIMARY KEY,
    kind         text NOT NULL,
    schema_name  text,
    object_name  text NOT NULL,
    parent_name  text,
    base_blob    text,  -- pggit.blobs hashes
    new_blob     text,
    ddl_id       bigint,  -- pggit.ddl_log.id
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
    role_name    text NOT NULL DEFAULT pggit.invoking_role(),
    actor        text
);

-- Capture's announcements (engine/capture/capture.sql): a transaction's first audit row of users'
-- DDL inserts one row here, with the last audit row id whose ddl.captured event is written
-- (announced); pggit.capture_announce writes the events of the later ones at the first read that
-- needs them, and at commit through this table's deferred constraint trigger
-- (pggit.capture_announce_at_commit), which removes the row. Unlogged: a row lives only inside
-- its own transaction.
CREATE UNLOGGED TABLE IF NOT EXISTS pggit.capture_pending (
    txid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
    announced  bigint NOT NULL  -- pggit.ddl_log.id
);
