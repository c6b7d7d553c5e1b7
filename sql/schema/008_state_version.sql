-- The engine-state version: a counter that moves with every transaction that appends to the
-- outbox (pggit.events), in commit order. Its functions and trigger: engine/cache/state_version.sql.

CREATE TABLE IF NOT EXISTS pggit.state_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL DEFAULT 0
);
INSERT INTO pggit.state_version (singleton, version) VALUES (true, 0) ON CONFLICT DO NOTHING;
