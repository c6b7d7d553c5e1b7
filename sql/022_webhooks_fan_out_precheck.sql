-- pgGit webhooks, after sql/021: the fan-out trigger on pggit.events first looks for a subscriber.
-- Loaded by the webhooks app's migration 0004; also runnable with psql after 021.
--
-- Every captured DDL statement is an event, and most events have no subscribed endpoint. The
-- INSERT ... SELECT ... ON CONFLICT below costs its set-up (the deliveries table, its arbiter
-- index) even when it selects no row: about 38 us per event, most of what capture costs a DDL
-- statement beyond its audit row. A look at the small endpoint table first costs a few us.
-- An endpoint committed between the look and the insert is treated as if the event had come
-- first (no delivery), the same as for an endpoint created just after the event.
CREATE OR REPLACE FUNCTION pggit.webhook_fan_out()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_count integer;
BEGIN
    IF NOT EXISTS (
        SELECT 1
          FROM pggit.webhook_endpoints e
         WHERE e.is_active
           AND CASE WHEN NEW.type = 'webhook.test'
                    THEN e.id::text = NEW.data ->> 'webhook_id'
                    ELSE e.event_types && ARRAY['*', NEW.type] END
    ) THEN
        RETURN NULL;
    END IF;
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
