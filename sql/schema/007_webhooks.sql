CREATE TABLE IF NOT EXISTS pggit.webhook_endpoints (
    id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    url                         text NOT NULL CHECK (url ~* '^https?://'),
    description                 text NOT NULL DEFAULT '',
    is_active                   boolean NOT NULL DEFAULT true,
    event_types                 text[] NOT NULL DEFAULT ARRAY['*'],
    secret_encrypted            bytea NOT NULL,
    secret_hint                 text NOT NULL,
    previous_secret_encrypted   bytea,
    previous_secret_expires_at  timestamptz,
    total_deliveries            bigint NOT NULL DEFAULT 0,
    successful_deliveries       bigint NOT NULL DEFAULT 0,
    failed_deliveries           bigint NOT NULL DEFAULT 0,
    consecutive_failures        integer NOT NULL DEFAULT 0,
    failing_since               timestamptz,
    last_delivery_at            timestamptz,
    last_success_at             timestamptz,
    last_failure_at             timestamptz,
    disabled_reason             text,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS webhook_endpoints_event_types_idx
    ON pggit.webhook_endpoints USING gin (event_types) WHERE is_active;

CREATE TABLE IF NOT EXISTS pggit.webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id      bigint NOT NULL REFERENCES pggit.webhook_endpoints (id) ON DELETE CASCADE,
    event_id         bigint NOT NULL REFERENCES pggit.events (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivering', 'delivered', 'failed', 'cancelled')),
    attempt_count    integer NOT NULL DEFAULT 0,
    -- attempts since the delivery was (re)queued: the index into the retry schedule
    round_attempts   integer NOT NULL DEFAULT 0,
    -- when pending: the next attempt; when delivering: the end of the claim's lease
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claim_token      uuid,
    claimed_by       text,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (endpoint_id, event_id)
);

CREATE INDEX IF NOT EXISTS webhook_deliveries_due_idx
    ON pggit.webhook_deliveries (next_attempt_at, id) WHERE status IN ('pending', 'delivering');

CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint_idx
    ON pggit.webhook_deliveries (endpoint_id, created_at DESC, id DESC);

CREATE INDEX IF NOT EXISTS webhook_deliveries_event_idx ON pggit.webhook_deliveries (event_id);

CREATE TABLE IF NOT EXISTS pggit.webhook_attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      bigint NOT NULL REFERENCES pggit.webhook_deliveries (id) ON DELETE CASCADE,
    number           integer NOT NULL CHECK (number >= 1),
    started_at       timestamptz NOT NULL,
    duration_ms      double precision NOT NULL,
    status_code      integer,
    error            text,
    request_headers  jsonb NOT NULL DEFAULT '{}',
    response_excerpt text NOT NULL DEFAULT '',
    worker           text,
    UNIQUE (delivery_id, number)
);

-- One row per worker process: its heartbeat feeds /health/deep.
CREATE TABLE IF NOT EXISTS pggit.webhook_workers (
    name          text PRIMARY KEY,
    hostname      text NOT NULL,
    pid           integer NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    stopped_at    timestamptz,
    in_flight     integer NOT NULL DEFAULT 0,
    attempts      bigint NOT NULL DEFAULT 0
);

-- due deliveries of one endpoint, oldest first; deliveries under a lease, per endpoint
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint_due_idx
    ON pggit.webhook_deliveries (endpoint_id, next_attempt_at, id)
    WHERE status IN ('pending', 'delivering');

CREATE INDEX IF NOT EXISTS webhook_deliveries_in_flight_idx
    ON pggit.webhook_deliveries (endpoint_id) WHERE status = 'delivering';
