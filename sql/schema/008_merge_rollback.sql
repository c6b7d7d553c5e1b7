-- Merges (with their conflicts) and executed rollbacks (revert, reset, undo).

-- One row per merge. status: up_to_date, fast_forward, completed (a merge commit was made),
-- conflicted (open: MANUAL_REVIEW waiting for resolutions), aborted (ABORT_ON_CONFLICT found
-- conflicts, or merge_abort). changes: the conflict-free part of the three-way merge, as changes
-- to the target's tree ({key: blob, or JSON null to remove}).
CREATE TABLE IF NOT EXISTS pggit.merges (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          text NOT NULL,
    target          text NOT NULL,
    target_branch_id bigint NOT NULL REFERENCES pggit.branches (id),
    strategy        text NOT NULL
                    CHECK (strategy IN ('ABORT_ON_CONFLICT', 'SOURCE_WINS', 'TARGET_WINS', 'MANUAL_REVIEW')),
    status          text NOT NULL
                    CHECK (status IN ('up_to_date', 'fast_forward', 'completed', 'conflicted', 'aborted')),
    source_commit   text NOT NULL REFERENCES pggit.commits (hash),
    target_commit   text NOT NULL REFERENCES pggit.commits (hash),
    base            text REFERENCES pggit.commits (hash),
    result_commit   text REFERENCES pggit.commits (hash),
    conflict_count  integer NOT NULL DEFAULT 0,
    message         text,
    changes         jsonb NOT NULL DEFAULT '{}',
    created_by      text NOT NULL DEFAULT pggit.current_actor(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

-- At most one open merge per target branch.
CREATE UNIQUE INDEX IF NOT EXISTS merges_one_open_per_target_idx ON pggit.merges (target_branch_id)
    WHERE status = 'conflicted';

CREATE INDEX IF NOT EXISTS merges_created_idx ON pggit.merges (created_at DESC, id DESC);

-- The conflicts of a merge; conflict_id is stable (1..n in object key order, fixed when the merge
-- is made). Blobs NULL = absent on that side. related_key: for DEPENDENCY conflicts, the object
-- the other side removed or changed destructively (a SOURCE/TARGET resolution takes that side's
-- version of both).
CREATE TABLE IF NOT EXISTS pggit.conflicts (
    merge_id        bigint NOT NULL REFERENCES pggit.merges (id) ON DELETE CASCADE,
    conflict_id     integer NOT NULL,
    object_key      text NOT NULL,
    kind            text NOT NULL,
    schema_name     text,
    object_name     text NOT NULL,
    conflict_type   text NOT NULL
                    CHECK (conflict_type IN ('BOTH_MODIFIED', 'MODIFY_DELETE', 'DELETE_MODIFY', 'ADD_ADD', 'DEPENDENCY')),
    severity        text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    base_blob       text REFERENCES pggit.blobs (hash),
    source_blob     text REFERENCES pggit.blobs (hash),
    target_blob     text REFERENCES pggit.blobs (hash),
    related_key     text,
    related_source_blob text REFERENCES pggit.blobs (hash),
    related_target_blob text REFERENCES pggit.blobs (hash),
    detail          text NOT NULL,
    resolution      text CHECK (resolution IN ('SOURCE', 'TARGET', 'CUSTOM')),
    resolved_blob   text REFERENCES pggit.blobs (hash),
    resolved_by     text,
    resolved_at     timestamptz,
    PRIMARY KEY (merge_id, conflict_id)
);

-- Executed rollbacks (dry runs change nothing and are not recorded here).
CREATE TABLE IF NOT EXISTS pggit.rollbacks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation       text NOT NULL CHECK (operation IN ('revert', 'reset', 'undo')),
    branch          text NOT NULL,
    target          text NOT NULL,
    result_commit   text NOT NULL REFERENCES pggit.commits (hash),
    script          text NOT NULL,
    findings        jsonb NOT NULL DEFAULT '[]',
    forced          boolean NOT NULL DEFAULT false,
    created_by      text NOT NULL DEFAULT pggit.current_actor(),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS rollbacks_created_idx ON pggit.rollbacks (created_at DESC, id DESC);
