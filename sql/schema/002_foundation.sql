-- The pggit schema's foundation tables: configuration, the event outbox, the operation log.

-- Configuration: one row per key. Changes to it are audited in pggit.config_audit.
CREATE TABLE IF NOT EXISTS pggit.config (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    description text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT pggit.invoking_role()
);

INSERT INTO pggit.config (key, value, description) VALUES
    ('capture_enabled', 'true',
     'Global capture switch (emergency off). Change it with pggit.set_capture(enabled, ''global'').'),
    ('capture_mode', '"lenient"',
     'lenient: a capture failure is recorded and the DDL succeeds; strict: a capture failure aborts the DDL.'),
    ('auto_commit', 'false',
     'When true, each DDL transaction becomes its own commit.'),
    ('capture_sync', 'false',
     'When true, capture reads canonical definitions during each DDL statement (slower DDL); by default they are read when the working state is next needed (status, commit, checkout...).'),
    ('excluded_schemas', '["pggit_console"]',
     'Schemas never tracked besides pggit*, pg_catalog, information_schema and pg_toast (pggit_console holds the console''s own tables).')
ON CONFLICT (key) DO NOTHING;

CREATE TABLE IF NOT EXISTS pggit.config_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text NOT NULL,
    old_value   jsonb,
    new_value   jsonb NOT NULL,
    role_name   text NOT NULL DEFAULT pggit.invoking_role(),
    actor       text,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- The event outbox. Every state change of interest is appended here in the transaction that makes
-- it, and announced on channel 'pggit_events' with the event id as payload (delivered on commit).
-- Envelope: {"id", "type", "occurred_at", "data"} -- see pggit.event_envelope().
CREATE TABLE IF NOT EXISTS pggit.events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- (ddl.captured, the event written once per captured DDL statement, is compared first: the
    -- pattern costs a regular expression's run per row)
    type         text NOT NULL CHECK (type = 'ddl.captured' OR type ~ '^[a-z_]+\.[a-z_]+$'),
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    data         jsonb NOT NULL DEFAULT '{}',
    actor        text,
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);

-- The outbox is read by id (the listener, the WebSocket replay, GET /api/v1/events, the lag of the
-- deep health check: id ranges) and by type and id; no query reads it by occurred_at, so that
-- column has no index (an entry per event is one per captured DDL statement). The index by type
-- leaves out ddl.captured, the event of every captured DDL statement and so most of the outbox:
-- capture writes no index entry per statement, and a read of ddl.captured finds its newest rows
-- by the primary key. A read by a list of types without it is planned with the list's values
-- (the live page's and the replay's: custom plans, which PostgreSQL keeps for them) and reads
-- this index; a generic plan of a list read reads the primary key, as it did with an index of
-- every type (a list parameter is estimated to match most rows).
CREATE INDEX IF NOT EXISTS events_type_id_idx ON pggit.events (type, id)
    WHERE type <> 'ddl.captured';

-- The engine-state version: a counter that moves with every transaction that appends to the
-- outbox, in commit order. Its functions and trigger: engine/cache/state_version.sql.
CREATE TABLE IF NOT EXISTS pggit.state_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL DEFAULT 0
);
INSERT INTO pggit.state_version (singleton, version) VALUES (true, 0) ON CONFLICT DO NOTHING;

-- A transaction that appends to the outbox inserts one row here (its first such statement); the
-- row's deferred constraint trigger bumps the version at commit and removes the row (both in
-- engine/cache/state_version.sql). Unlogged: a row lives only inside its own transaction.
CREATE UNLOGGED TABLE IF NOT EXISTS pggit.state_version_queue (
    txid xid8 NOT NULL DEFAULT pg_current_xact_id()
);

-- The operation log (monitoring builds baselines and alerts on it). Every engine operation records one
-- row: what it was, how long it took, how much it touched, on which branch, for whom.
CREATE TABLE IF NOT EXISTS pggit.operations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation     text NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   double precision NOT NULL,
    object_count  integer NOT NULL DEFAULT 0,
    statement_count integer NOT NULL DEFAULT 0,
    branch        text,
    actor         text NOT NULL DEFAULT pggit.current_actor(),
    success       boolean NOT NULL DEFAULT true,
    error         text,
    -- the enclosing span; no foreign key: a child is inserted before its parent's row (see
    -- pggit.trace_begin), and deleting operations clears their children's parent_id (trigger
    -- operations_orphan_children)
    parent_id     bigint,
    details       jsonb NOT NULL DEFAULT '{}',
    judged        boolean NOT NULL DEFAULT false
);

COMMENT ON COLUMN pggit.operations.judged IS
    'true: judged against its baseline when it was recorded (pggit.record_operation, '
    'pggit.record_span); false: inserted otherwise, judged by the operations_monitor trigger';

CREATE INDEX IF NOT EXISTS operations_operation_started_idx ON pggit.operations (operation, started_at);

CREATE INDEX IF NOT EXISTS operations_started_idx ON pggit.operations (started_at);

-- A trace is read down its parent links (pggit.operation_trace, and the self time of each span)
-- and deleting operations clears their children's parent_id: without an index each of them
-- scanned the whole table (~0.5 s for one trace among 1,000,000 runs). Not partial
-- (WHERE parent_id IS NOT NULL): a partial index's predicate is prepared again at every INSERT,
-- which measured no cheaper than the top-level rows' entries.
CREATE INDEX IF NOT EXISTS operations_parent_idx ON pggit.operations (parent_id);
