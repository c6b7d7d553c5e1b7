-- pgGit webhooks: endpoints, per-endpoint deliveries fanned out from the event outbox, attempts,
-- and the functions the delivery workers use (claim with a lease, record an attempt, release).
-- Loaded by the webhooks app's migration; also runnable with psql after sql/001_foundation.sql.
--
-- Invariants:
-- * Fan-out is exactly once: the AFTER INSERT trigger on pggit.events creates one delivery per
--   active subscribed endpoint in the transaction of the event itself (UNIQUE (endpoint_id,
--   event_id) makes it structural), whatever number of workers run or crash.
-- * A delivery is sent by the worker holding its claim (claim_token); a claim is a lease: when
--   it expires (next_attempt_at passes while 'delivering') any worker may claim it again, which is
--   how the deliveries of a crashed worker are retried (at least once).
-- * An attempt number is given out once per delivery (UNIQUE (delivery_id, number)); a result
--   only changes the delivery when it comes from the current claim.
-- * Secrets are stored encrypted (Fernet, done by the console); SQL only keeps the bytes.

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

-- Fan-out. 'webhook.test' goes only to the endpoint it names (data.webhook_id).
CREATE OR REPLACE FUNCTION pggit.webhook_fan_out()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_count integer;
BEGIN
    INSERT INTO pggit.webhook_deliveries (endpoint_id, event_id, event_type, payload)
    SELECT e.id, NEW.id, NEW.type, pggit.event_envelope(NEW)
      FROM pggit.webhook_endpoints e
     WHERE e.is_active
       AND CASE WHEN NEW.type = 'webhook.test'
                THEN e.id::text = NEW.data ->> 'webhook_id'
                ELSE e.event_types && ARRAY['*', NEW.type] END
    ON CONFLICT (endpoint_id, event_id) DO NOTHING;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
        PERFORM pg_notify('pggit_webhook_deliveries', '');
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS webhook_fan_out ON pggit.events;
CREATE TRIGGER webhook_fan_out AFTER INSERT ON pggit.events
    FOR EACH ROW EXECUTE FUNCTION pggit.webhook_fan_out();

-- Claim up to p_limit due deliveries for one worker, each with a lease of p_lease_seconds.
CREATE OR REPLACE FUNCTION pggit.webhook_claim(p_worker text, p_limit integer,
                                               p_lease_seconds double precision)
RETURNS TABLE (delivery_id bigint, claim_token uuid, attempt_number integer,
               round_attempts integer, endpoint_id bigint, event_id bigint, event_type text,
               payload jsonb, url text, secret_encrypted bytea, previous_secret_encrypted bytea)
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    WITH due AS (
        SELECT d.id
          FROM pggit.webhook_deliveries d
          JOIN pggit.webhook_endpoints e ON e.id = d.endpoint_id AND e.is_active
         WHERE d.status IN ('pending', 'delivering') AND d.next_attempt_at <= now()
         ORDER BY d.next_attempt_at, d.id
         LIMIT p_limit
           FOR UPDATE OF d SKIP LOCKED
    ), claimed AS (
        UPDATE pggit.webhook_deliveries d
           SET status = 'delivering', claim_token = gen_random_uuid(), claimed_by = p_worker,
               attempt_count = d.attempt_count + 1, round_attempts = d.round_attempts + 1,
               next_attempt_at = now() + make_interval(secs => p_lease_seconds),
               updated_at = now()
          FROM due
         WHERE d.id = due.id
        RETURNING d.*
    )
    SELECT c.id, c.claim_token, c.attempt_count, c.round_attempts, c.endpoint_id, c.event_id,
           c.event_type, c.payload, e.url, e.secret_encrypted,
           CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_encrypted END
      FROM claimed c
      JOIN pggit.webhook_endpoints e ON e.id = c.endpoint_id
     ORDER BY c.next_attempt_at, c.id
$$;

-- The alert raised when an endpoint is disabled, through the alert engine (sql/011_alerts.sql)
-- when it is installed; resolved at run time so that this file loads with or without it.
CREATE OR REPLACE FUNCTION pggit.webhook_alert(p_endpoint_id bigint, p_name text, p_reason text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF to_regprocedure('pggit.alert_raise(text,text,text,text,text,jsonb)') IS NULL THEN
        RETURN;  -- no alert engine: the webhook.endpoint_disabled event is the notification
    END IF;
    PERFORM pggit.alert_raise(
        format('webhooks:endpoint_disabled:%s', p_endpoint_id), 'webhooks', 'error',
        format('Webhook endpoint %s disabled', left(p_name, 200)), p_reason,
        jsonb_build_object('webhook_id', p_endpoint_id, 'name', p_name));
END;
$$;

-- Disable an endpoint: cancel what is queued for it, emit webhook.endpoint_disabled, raise an
-- alert. False when it was already disabled (or does not exist).
CREATE OR REPLACE FUNCTION pggit.webhook_endpoint_disable(p_endpoint_id bigint, p_reason text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_name text;
BEGIN
    UPDATE pggit.webhook_endpoints
       SET is_active = false, disabled_reason = p_reason, updated_at = now()
     WHERE id = p_endpoint_id AND is_active
    RETURNING name INTO v_name;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE pggit.webhook_deliveries
       SET status = 'cancelled', claim_token = NULL, claimed_by = NULL, updated_at = now()
     WHERE endpoint_id = p_endpoint_id AND status IN ('pending', 'delivering');
    PERFORM pggit.emit_event('webhook.endpoint_disabled',
        jsonb_build_object('webhook_id', p_endpoint_id, 'name', v_name, 'reason', p_reason));
    PERFORM pggit.webhook_alert(p_endpoint_id, v_name, p_reason);
    RETURN true;
END;
$$;

-- The endpoint's health counters after one attempt; disables it after p_disable_after of failure.
CREATE OR REPLACE FUNCTION pggit.webhook_endpoint_account(p_endpoint_id bigint, p_success boolean,
                                                          p_disable_after interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_failing_since timestamptz;
BEGIN
    UPDATE pggit.webhook_endpoints
       SET total_deliveries = total_deliveries + 1,
           successful_deliveries = successful_deliveries + p_success::integer,
           failed_deliveries = failed_deliveries + (NOT p_success)::integer,
           consecutive_failures = CASE WHEN p_success THEN 0 ELSE consecutive_failures + 1 END,
           failing_since = CASE WHEN p_success THEN NULL ELSE coalesce(failing_since, now()) END,
           last_delivery_at = now(),
           last_success_at = CASE WHEN p_success THEN now() ELSE last_success_at END,
           last_failure_at = CASE WHEN p_success THEN last_failure_at ELSE now() END
     WHERE id = p_endpoint_id
    RETURNING failing_since INTO v_failing_since;
    IF NOT p_success AND v_failing_since <= now() - p_disable_after THEN
        PERFORM pggit.webhook_endpoint_disable(p_endpoint_id,
            format('failing continuously since %s', to_char(v_failing_since AT TIME ZONE 'UTC',
                                                            'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
    END IF;
END;
$$;

-- Record one attempt and move the delivery on. p_outcome: 'delivered', 'retry' (at
-- p_next_attempt_at), 'failed' (retries exhausted) or 'gone' (410: failed, endpoint disabled).
-- Returns the delivery's new status, 'stale' when the claim was lost (the attempt is still kept),
-- or 'missing' when the delivery no longer exists.
CREATE OR REPLACE FUNCTION pggit.webhook_record_attempt(
    p_delivery_id bigint, p_claim_token uuid, p_number integer, p_started_at timestamptz,
    p_duration_ms double precision, p_status_code integer, p_error text,
    p_request_headers jsonb, p_response_excerpt text, p_outcome text,
    p_next_attempt_at timestamptz, p_disable_after interval, p_worker text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_endpoint_id bigint;
    v_status text;
BEGIN
    IF p_outcome NOT IN ('delivered', 'retry', 'failed', 'gone') THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', format('unknown outcome %L', p_outcome));
    END IF;
    SELECT endpoint_id INTO v_endpoint_id FROM pggit.webhook_deliveries WHERE id = p_delivery_id;
    IF NOT FOUND THEN
        RETURN 'missing';
    END IF;
    INSERT INTO pggit.webhook_attempts (delivery_id, number, started_at, duration_ms, status_code,
                                        error, request_headers, response_excerpt, worker)
    VALUES (p_delivery_id, p_number, p_started_at, p_duration_ms, p_status_code, p_error,
            coalesce(p_request_headers, '{}'), coalesce(p_response_excerpt, ''), p_worker);
    UPDATE pggit.webhook_deliveries
       SET status = CASE p_outcome WHEN 'delivered' THEN 'delivered'
                                   WHEN 'retry' THEN 'pending' ELSE 'failed' END,
           next_attempt_at = CASE WHEN p_outcome = 'retry' THEN p_next_attempt_at
                                  ELSE next_attempt_at END,
           delivered_at = CASE WHEN p_outcome = 'delivered' THEN now() ELSE delivered_at END,
           last_status_code = p_status_code, last_error = p_error,
           claim_token = NULL, claimed_by = NULL, updated_at = now()
     WHERE id = p_delivery_id AND status = 'delivering' AND claim_token = p_claim_token
    RETURNING status INTO v_status;
    PERFORM pggit.webhook_endpoint_account(v_endpoint_id, p_outcome = 'delivered', p_disable_after);
    IF p_outcome = 'gone' THEN
        PERFORM pggit.webhook_endpoint_disable(v_endpoint_id,
            format('the endpoint answered 410 Gone (delivery %s)', p_delivery_id));
    END IF;
    RETURN coalesce(v_status, 'stale');
END;
$$;

-- Queue a delivery again now (redeliver). Refused while it is being sent.
CREATE OR REPLACE FUNCTION pggit.webhook_requeue(p_delivery_id bigint)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_status text;
    v_active boolean;
BEGIN
    SELECT d.status, e.is_active INTO v_status, v_active
      FROM pggit.webhook_deliveries d JOIN pggit.webhook_endpoints e ON e.id = d.endpoint_id
     WHERE d.id = p_delivery_id
       FOR UPDATE OF d;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('DELIVERY_NOT_FOUND', format('no webhook delivery %s', p_delivery_id));
    END IF;
    IF v_status = 'delivering' THEN
        PERFORM pggit.raise_error('DELIVERY_IN_PROGRESS',
            format('webhook delivery %s is being sent right now', p_delivery_id),
            'wait for the attempt to finish, then redeliver');
    END IF;
    IF NOT v_active THEN
        PERFORM pggit.raise_error('WEBHOOK_DISABLED_CONFLICT',
            format('the endpoint of webhook delivery %s is disabled', p_delivery_id),
            'enable the endpoint first');
    END IF;
    UPDATE pggit.webhook_deliveries
       SET status = 'pending', next_attempt_at = now(), round_attempts = 0, updated_at = now()
     WHERE id = p_delivery_id;
    PERFORM pg_notify('pggit_webhook_deliveries', '');
    RETURN 'pending';
END;
$$;

-- Re-queue an endpoint's failed and cancelled deliveries created since p_since; returns how many.
CREATE OR REPLACE FUNCTION pggit.webhook_replay(p_endpoint_id bigint, p_since timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_active boolean;
    v_count integer;
BEGIN
    SELECT is_active INTO v_active FROM pggit.webhook_endpoints WHERE id = p_endpoint_id;
    IF NOT FOUND THEN
        PERFORM pggit.raise_error('WEBHOOK_NOT_FOUND', format('no webhook %s', p_endpoint_id));
    END IF;
    IF NOT v_active THEN
        PERFORM pggit.raise_error('WEBHOOK_DISABLED_CONFLICT',
            format('webhook %s is disabled', p_endpoint_id), 'enable the endpoint first');
    END IF;
    UPDATE pggit.webhook_deliveries
       SET status = 'pending', next_attempt_at = now(), round_attempts = 0, updated_at = now()
     WHERE endpoint_id = p_endpoint_id AND status IN ('failed', 'cancelled')
       AND created_at >= p_since;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
        PERFORM pg_notify('pggit_webhook_deliveries', '');
    END IF;
    RETURN v_count;
END;
$$;

-- A worker's heartbeat (and its stop, with p_stopped).
CREATE OR REPLACE FUNCTION pggit.webhook_worker_beat(p_name text, p_hostname text, p_pid integer,
                                                     p_in_flight integer, p_attempts bigint,
                                                     p_stopped boolean DEFAULT false)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    INSERT INTO pggit.webhook_workers (name, hostname, pid, in_flight, attempts, stopped_at)
    VALUES (p_name, p_hostname, p_pid, p_in_flight, p_attempts,
            CASE WHEN p_stopped THEN clock_timestamp() END)
    ON CONFLICT (name) DO UPDATE
       SET heartbeat_at = clock_timestamp(), in_flight = EXCLUDED.in_flight,
           attempts = EXCLUDED.attempts, stopped_at = EXCLUDED.stopped_at
$$;
