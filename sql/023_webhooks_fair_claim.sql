-- pgGit webhooks, after sql/020-022: a fair claim. sql/020's pggit.webhook_claim handed out due
-- deliveries oldest first across all endpoints, so a backlog at one endpoint (a receiver down for
-- hours whose retries come due together) was worked through before anything newer for a healthy
-- one, and an endpoint whose attempts hang until the timeout could hold every slot of every
-- worker. Now:
--   * turns: a claim fills the endpoints' attempts in flight level by level: first one more for
--     each endpoint with the fewest in flight, and so on (oldest first within a level). An
--     endpoint whose attempts end quickly (a healthy receiver) has few in flight, so its due
--     deliveries come before those of endpoints whose attempts hang, however long their queues
--     are. An endpoint whose last attempt failed counts eight times its attempts (a healthy one
--     gets about eight deliveries for each retry to a failing one, and a failing one is never
--     starved); a delivery to an idle healthy endpoint goes with the next claim unless more
--     healthy endpoints than the batch holds have nothing in flight either;
--   * a cap on attempts in flight per endpoint across all workers (p_per_endpoint; NULL: none):
--     deliveries under a live lease count, so an endpoint at its cap gets nothing more until its
--     attempts end. An endpoint whose last attempt failed has one attempt in flight at a time
--     (a probe) until one succeeds, so endpoints that are down (their attempts hang until the
--     timeout, or a slow DNS failure) hold one slot each, not the workers' slots;
--   * claims are serialised (a transaction-level advisory lock; a claim takes a few ms): each
--     one sees what the one before it took, so it chooses without locking candidates and locks
--     only the deliveries it takes (sql/020 locked while it scanned);
--   * a dead worker's leases end at the next claim, not when they expire: a worker holds a
--     session-level advisory lock on its claim connection while it runs
--     (pggit.webhook_worker_hold); a worker that is registered (pggit.webhook_workers, not
--     stopped) but whose lock nobody holds any more (killed, crashed, its connection gone) is
--     marked stopped and its deliveries in flight become due again at once, so its attempts do
--     not count against the per-endpoint cap for the rest of their lease (a killed worker
--     holding 32 leases stalled its endpoint for the whole lease, 33-45 s).
-- Loaded by the webhooks app's migration 0005; also runnable with psql after 020.

-- due deliveries of one endpoint, oldest first; deliveries under a lease, per endpoint
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint_due_idx
    ON pggit.webhook_deliveries (endpoint_id, next_attempt_at, id)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX IF NOT EXISTS webhook_deliveries_in_flight_idx
    ON pggit.webhook_deliveries (endpoint_id) WHERE status = 'delivering';

DROP FUNCTION IF EXISTS pggit.webhook_claim(text, integer, double precision);

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
