-- Webhooks: the fan-out of outbox events to subscribed endpoints, and the functions the delivery
-- workers use (claim with a lease, record an attempt, release). docs/webhooks.md describes them.
-- Re-runnable: applied again by the loader whenever this file changes.

-- Fan-out (a statement-level trigger on pggit.events, reading the statement's new events through
-- its transition table): a batch of N events (pggit.capture_announce writes one per captured DDL
-- statement) costs one call, not N. 'webhook.test' goes only to the endpoint it names
-- (data.webhook_id). It first looks for an active endpoint: most databases have none, and the
-- INSERT ... SELECT ... ON CONFLICT costs its set-up (the deliveries table, its arbiter index) even
-- when it selects no row, while a look at the small endpoint table costs a few us. An endpoint
-- committed between the look and the insert is treated as if the events had come first (no
-- delivery), the same as for an endpoint created just after them. Deliveries are created in the
-- events' order (then the endpoints'), and the workers are woken once.
CREATE OR REPLACE FUNCTION pggit.webhook_fan_out()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_count integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pggit.webhook_endpoints e WHERE e.is_active) THEN
        RETURN NULL;
    END IF;
    INSERT INTO pggit.webhook_deliveries (endpoint_id, event_id, event_type, payload)
    SELECT e.id, n.id, n.type,
           pggit.event_envelope(n)
      FROM new_events n
      JOIN pggit.webhook_endpoints e
        ON e.is_active
       AND CASE WHEN n.type = 'webhook.test'
                THEN e.id::text = n.data ->> 'webhook_id'
                ELSE e.event_types && ARRAY['*', n.type] END
     ORDER BY n.id, e.id
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
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION pggit.webhook_fan_out();

-- Held by a delivery worker on its claim connection for as long as it runs (taken again after a
-- reconnection): the session lock that tells a claim the worker is alive.
CREATE OR REPLACE FUNCTION pggit.webhook_worker_hold(p_worker text)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    SELECT pg_advisory_lock(hashtext('pggit.webhook_worker'), hashtext(p_worker))
$$;

-- Claim up to p_limit due deliveries for one worker, each with a lease of p_lease_seconds, in
-- turns across endpoints, at most p_per_endpoint in flight per endpoint (NULL: no cap).
--   * turns: a claim fills the endpoints' attempts in flight level by level: first one more for
--     each endpoint with the fewest in flight, and so on (oldest first within a level). An
--     endpoint whose attempts end quickly (a healthy receiver) has few in flight, so its due
--     deliveries come before those of endpoints whose attempts hang, however long their queues
--     are. An endpoint whose last attempt failed counts eight times its attempts (a healthy one
--     gets about eight deliveries for each retry to a failing one, and a failing one is never
--     starved);
--   * the cap counts deliveries under a live lease across all workers. An endpoint whose last
--     attempt failed has one attempt in flight at a time (a probe) until one succeeds, so
--     endpoints that are down hold one slot each, not the workers' slots;
--   * claims are serialised (a transaction-level advisory lock; a claim takes a few ms): each
--     one sees what the one before it took, so it chooses without locking candidates and locks
--     only the deliveries it takes;
--   * a dead worker's leases end at the next claim, not when they expire: a worker holds a
--     session-level advisory lock on its claim connection while it runs
--     (pggit.webhook_worker_hold); a worker that is registered (pggit.webhook_workers, not
--     stopped) but whose lock nobody holds any more (killed, crashed, its connection gone) is
--     marked stopped and its deliveries in flight become due again at once, so its attempts do
--     not count against the per-endpoint cap for the rest of their lease.
CREATE OR REPLACE FUNCTION pggit.webhook_claim(p_worker text, p_limit integer,
                                               p_lease_seconds double precision,
                                               p_per_endpoint integer DEFAULT NULL)
RETURNS TABLE (delivery_id bigint, claim_token uuid, attempt_number integer,
               round_attempts integer, endpoint_id bigint, event_id bigint, event_type text,
               payload jsonb, url text, secret_encrypted bytea, previous_secret_encrypted bytea)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
BEGIN
    -- claims take turns: each one sees what the one before it claimed (as in flight, not due),
    -- so it can choose without locking candidates and lock only what it takes (the lock ends
    -- with the claim's transaction; a claim takes a few ms)
    PERFORM pg_advisory_xact_lock(hashtext('pggit.webhook_claim')::bigint);
    -- workers registered as running whose session lock nobody holds are gone: marked stopped,
    -- their leases end now (the try-lock is taken last, and only ends with this transaction)
    WITH gone AS MATERIALIZED (
        SELECT w.name
          FROM pggit.webhook_workers w
         WHERE w.stopped_at IS NULL AND w.name <> p_worker
           AND CASE WHEN w.stopped_at IS NULL AND w.name <> p_worker
                    THEN pg_try_advisory_xact_lock(hashtext('pggit.webhook_worker'),
                                                   hashtext(w.name))
                    ELSE false END
    ), stopped AS (
        UPDATE pggit.webhook_workers w SET stopped_at = clock_timestamp()
          FROM gone WHERE w.name = gone.name
    )
    UPDATE pggit.webhook_deliveries d
       SET next_attempt_at = now(), updated_at = now()
      FROM gone
     WHERE d.claimed_by = gone.name AND d.status = 'delivering' AND d.next_attempt_at > now();
    RETURN QUERY
    WITH busy AS (
        -- active endpoints with something due, and their attempts in flight
        SELECT e.id, e.consecutive_failures > 0 AS failing,
               (SELECT count(*) FROM pggit.webhook_deliveries f
                 WHERE f.endpoint_id = e.id AND f.status = 'delivering'
                   AND f.next_attempt_at > now())::integer AS in_flight
          FROM pggit.webhook_endpoints e
         -- a lookup per endpoint (LIMIT keeps the planner from scanning all due deliveries)
         CROSS JOIN LATERAL (SELECT 1 FROM pggit.webhook_deliveries d
                              WHERE d.endpoint_id = e.id AND d.status IN ('pending', 'delivering')
                                AND d.next_attempt_at <= now()
                              LIMIT 1) due_one
         WHERE e.is_active
    ), ready AS (
        -- how many more attempts each may have
        SELECT b.id, b.in_flight, b.failing,
               CASE WHEN b.failing THEN least(p_limit, greatest(1 - b.in_flight, 0))
                    WHEN p_per_endpoint IS NULL THEN p_limit
                    ELSE least(p_limit, greatest(p_per_endpoint - b.in_flight, 0)) END AS room
          FROM busy b
    ), candidates AS (
        -- the oldest due deliveries of each endpoint, within its room; turn: how many attempts
        -- the endpoint would have in flight with this one, eight times as many for an endpoint
        -- whose last attempt failed
        SELECT c.id, c.next_attempt_at,
               (r.in_flight
                + row_number() OVER (PARTITION BY r.id ORDER BY c.next_attempt_at, c.id))
               * CASE WHEN r.failing THEN 8 ELSE 1 END AS turn
          FROM ready r
          CROSS JOIN LATERAL (
              SELECT d.id, d.next_attempt_at
                FROM pggit.webhook_deliveries d
               WHERE d.endpoint_id = r.id AND d.status IN ('pending', 'delivering')
                 AND d.next_attempt_at <= now()
               ORDER BY d.next_attempt_at, d.id
               LIMIT r.room
          ) c
         WHERE r.room > 0
    ), picked AS (
        -- locked now; one changed meanwhile by something else than a claim (an attempt's
        -- result, a requeue) is rechecked, one locked by it is left for the next claim
        SELECT d.id
          FROM pggit.webhook_deliveries d
         WHERE d.id IN (SELECT candidates.id FROM candidates
                         ORDER BY candidates.turn, candidates.next_attempt_at, candidates.id
                         LIMIT p_limit)
           AND d.status IN ('pending', 'delivering') AND d.next_attempt_at <= now()
           FOR UPDATE OF d SKIP LOCKED
    ), claimed AS (
        UPDATE pggit.webhook_deliveries d
           SET status = 'delivering', claim_token = gen_random_uuid(), claimed_by = p_worker,
               attempt_count = d.attempt_count + 1, round_attempts = d.round_attempts + 1,
               next_attempt_at = now() + make_interval(secs => p_lease_seconds),
               updated_at = now()
          FROM picked
         WHERE d.id = picked.id
        RETURNING d.*
    )
    SELECT c.id, c.claim_token, c.attempt_count, c.round_attempts, c.endpoint_id, c.event_id,
           c.event_type, c.payload, e.url, e.secret_encrypted,
           CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_encrypted END
      FROM claimed c
      JOIN pggit.webhook_endpoints e ON e.id = c.endpoint_id
     ORDER BY c.next_attempt_at, c.id;
END;
$$;

-- The alert raised when an endpoint is disabled, through the alert engine (engine/alerts/alerts.sql)
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
-- or 'missing' when the delivery no longer exists. A 410 disables the endpoint even from a
-- stale claim (the receiver said so); a stale result does not change the health counters.
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
    -- Only the current claim's result counts towards the endpoint's health: a result that lost
    -- its claim (the lease expired and another worker took the delivery over) is kept as an
    -- attempt, but counting it too would count the delivery's one attempt twice.
    IF v_status IS NOT NULL THEN
        PERFORM pggit.webhook_endpoint_account(v_endpoint_id, p_outcome = 'delivered',
                                               p_disable_after);
    END IF;
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
    PERFORM pggit.announce_change('pggit.webhook_deliveries');  -- the dashboard's counts
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
        -- the dashboard counts queued and failed deliveries (engine/cache/announce.sql)
        PERFORM pggit.announce_change('pggit.webhook_deliveries');
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
