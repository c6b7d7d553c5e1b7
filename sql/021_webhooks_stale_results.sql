-- pgGit webhooks, after sql/020_webhooks.sql: pggit.webhook_record_attempt counts a result
-- towards the endpoint's health counters only when it comes from the delivery's current claim.
-- Loaded by the webhooks app's migration 0003; also runnable with psql after 020.

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
